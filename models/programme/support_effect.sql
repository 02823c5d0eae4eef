-- Did support change the outcome? A matched comparison (docs/indicators.md, "Support"): on
-- each as-of date of `indicators.evaluation_pupils`, the pupils whose first project support
-- begins within the next days (rules.toml: evaluation.support_start_days) against pupils
-- never supported by the school year's end, matched on the date, the grade band and the tenth
-- of the score that day. Per stratum with both, the difference in the share with any outcome
-- by the year's end, weighed by the supported pupils (the effect on the supported), with a
-- 95% bootstrap interval (`indicators.bootstrap_weights`), for all support and per the
-- activity it began with. With fewer matched supported pupils than
-- evaluation.min_supported_pupils there is no estimate: a share of a handful of pupils, and its
-- bootstrap, say nothing (no outcome among 16 pupils gives an interval of 0 to 0).
-- What the score does not see still differs between the groups: the project chooses whom to
-- support, so this is a comparison, not an experiment.
WITH settings AS (
    SELECT
        (SELECT number FROM reference.parameters
            WHERE name = 'evaluation.support_start_days')::INTEGER AS start_days,
        (SELECT number FROM reference.parameters
            WHERE name = 'evaluation.min_supported_pupils')::INTEGER AS min_pupils
),
first_support AS (
    SELECT pupil_key, min(start_date) AS started_on,
        arg_min(activity, (start_date, activity)) AS activity
    FROM core.support_spells
    GROUP BY pupil_key
),
pupil_dates AS (
    SELECT e.as_of, e.pupil_key, e.grade_band, e.happened, e.supported,
        ntile(10) OVER (PARTITION BY e.as_of ORDER BY e.score, e.pupil_key) AS score_decile,
        f.started_on, f.activity,
        (SELECT max(last_day) FROM reference.semesters AS s
            WHERE s.school_year = (SELECT school_year FROM reference.semesters AS t
                WHERE t.semester_id = e.semester_id)) AS year_end
    FROM indicators.evaluation_pupils AS e
    LEFT JOIN first_support AS f USING (pupil_key)
    WHERE e.outcome = 'any' AND e.horizon = 'year'
),
compared AS (
    SELECT p.*, p.started_on > p.as_of AND p.started_on <= p.as_of + settings.start_days
            AS treated
    FROM pupil_dates AS p, settings
    WHERE NOT p.supported
        AND (p.started_on IS NULL OR p.started_on > p.year_end
            OR (p.started_on > p.as_of AND p.started_on <= p.as_of + settings.start_days))
),
groups AS (
    SELECT c.*, 'all' AS support FROM compared AS c
    UNION ALL
    SELECT c.*, c.activity AS support FROM compared AS c WHERE c.treated
    UNION ALL
    SELECT c.*, a.activity AS support
    FROM compared AS c
    CROSS JOIN (SELECT DISTINCT activity FROM first_support) AS a
    WHERE NOT c.treated
),
weighted AS (
    SELECT g.support, g.as_of, g.grade_band, g.score_decile, g.treated, g.happened,
        0 AS replicate, 1 AS weight, g.pupil_key
    FROM groups AS g
    UNION ALL
    SELECT g.support, g.as_of, g.grade_band, g.score_decile, g.treated, g.happened,
        w.replicate + 1, w.weight, g.pupil_key
    FROM groups AS g
    JOIN indicators.bootstrap_weights AS w USING (pupil_key)
),
strata AS (
    SELECT support, replicate, as_of, grade_band, score_decile,
        sum(weight) FILTER (WHERE treated) AS treated,
        list(DISTINCT pupil_key) FILTER (WHERE treated AND replicate = 0) AS treated_pupils,
        sum(weight) FILTER (WHERE NOT treated) AS controls,
        coalesce(sum(weight) FILTER (WHERE treated AND happened), 0)
            / nullif(sum(weight) FILTER (WHERE treated), 0) AS treated_rate,
        coalesce(sum(weight) FILTER (WHERE NOT treated AND happened), 0)
            / nullif(sum(weight) FILTER (WHERE NOT treated), 0) AS control_rate
    FROM weighted
    GROUP BY ALL
),
estimates AS (
    SELECT support, replicate,
        sum(treated) AS treated_all,
        sum(treated) FILTER (WHERE controls > 0) AS matched,
        len(list_distinct(flatten(list(treated_pupils) FILTER (WHERE controls > 0))))
            AS matched_pupils,
        sum(controls) FILTER (WHERE treated > 0) AS matched_controls,
        sum(treated * treated_rate) FILTER (WHERE controls > 0 AND treated > 0)
            / nullif(sum(treated) FILTER (WHERE controls > 0), 0) AS supported_rate,
        sum(treated * control_rate) FILTER (WHERE controls > 0 AND treated > 0)
            / nullif(sum(treated) FILTER (WHERE controls > 0), 0) AS matched_control_rate
    FROM strata
    GROUP BY ALL
)
SELECT * FROM (
SELECT e.support, e.treated_all::INTEGER AS supported_pupil_dates,
    e.matched::INTEGER AS matched_pupil_dates, e.matched_pupils,
    e.matched_controls::INTEGER AS control_pupil_dates,
    e.supported_rate, e.matched_control_rate,
    CASE WHEN e.matched_pupils >= any_value(settings.min_pupils)
        THEN e.supported_rate - e.matched_control_rate END AS difference,
    CASE WHEN e.matched_pupils >= any_value(settings.min_pupils)
        THEN quantile_cont(b.supported_rate - b.matched_control_rate, 0.025) END
        AS difference_low,
    CASE WHEN e.matched_pupils >= any_value(settings.min_pupils)
        THEN quantile_cont(b.supported_rate - b.matched_control_rate, 0.975) END
        AS difference_high,
    (SELECT model FROM reference.score_model) AS score_model
FROM estimates AS e
JOIN estimates AS b ON b.support = e.support AND b.replicate > 0
CROSS JOIN settings
WHERE e.replicate = 0
GROUP BY e.support, e.treated_all, e.matched, e.matched_pupils, e.matched_controls,
    e.supported_rate, e.matched_control_rate
)
ORDER BY support = 'all' DESC, support
