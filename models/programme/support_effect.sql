-- Did support change the outcome? A matched comparison (docs/indicators.md, "Support"): on
-- each as-of date of `indicators.evaluation_pupils`, the pupils whose first project support
-- begins before the next date (at most evaluation.support_start_days later) against pupils
-- never supported by the school year's end, matched on the date, the grade band and the tenth
-- of the score that day. Both groups must have no outcome until that window closes (a pupil
-- who leaves cannot begin support), and outcomes count after it, by the year's end. Per
-- stratum with both, the difference in the share with an outcome, weighed by the supported
-- pupils (the effect on the supported), with a 95% bootstrap interval
-- (`indicators.bootstrap_weights`), for all support and per the activity it began with. With
-- fewer matched supported pupils than evaluation.min_supported_pupils there is no estimate: a
-- share of a handful of pupils, and its bootstrap, say nothing (no outcome among 16 pupils
-- gives an interval of 0 to 0). What the score does not see still differs between the groups:
-- the project chooses whom to support, so this is a comparison, not an experiment.
-- @analysis
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
dates AS (
    SELECT d.as_of, least(d.as_of + settings.start_days,
            coalesce(lead(d.as_of) OVER (ORDER BY d.as_of), d.as_of + settings.start_days))
            AS window_end,
        s.year_end
    FROM (SELECT DISTINCT semester_id, as_of FROM indicators.evaluation_pupils) AS d
    JOIN reference.semesters AS s USING (semester_id)
    CROSS JOIN settings
),
pupil_dates AS (
    SELECT e.as_of, e.pupil_key, e.grade_band, e.supported,
        (rank() OVER (PARTITION BY e.as_of ORDER BY e.score) - 1) * 10
            // count(*) OVER (PARTITION BY e.as_of) + 1 AS score_decile,
        f.started_on, f.activity, d.window_end, d.year_end
    FROM indicators.evaluation_pupils AS e
    JOIN dates AS d USING (as_of)
    LEFT JOIN first_support AS f USING (pupil_key)
    WHERE e.outcome = 'any' AND e.horizon = 'year'
),
first_outcomes AS (
    SELECT p.as_of, p.pupil_key, min(o.occurred_on) AS first_outcome
    FROM pupil_dates AS p
    JOIN indicators.outcomes AS o
        ON o.pupil_key = p.pupil_key AND o.occurred_on > p.as_of AND o.occurred_on <= p.year_end
    GROUP BY ALL
),
compared AS (
    SELECT p.*,
        coalesce(p.started_on > p.as_of AND p.started_on <= p.window_end, false) AS treated,
        o.first_outcome IS NOT NULL AS happened
    FROM pupil_dates AS p
    LEFT JOIN first_outcomes AS o USING (as_of, pupil_key)
    WHERE NOT p.supported
        AND (p.started_on IS NULL OR p.started_on > p.year_end
            OR (p.started_on > p.as_of AND p.started_on <= p.window_end))
        AND (o.first_outcome IS NULL OR o.first_outcome > p.window_end)
),
weights AS (
    SELECT pupil_key, 0 AS replicate, 1 AS weight FROM (SELECT DISTINCT pupil_key FROM compared)
    UNION ALL
    SELECT pupil_key, replicate + 1, weight FROM indicators.bootstrap_weights
),
treated AS (
    SELECT s.support, c.as_of, c.grade_band, c.score_decile, w.replicate,
        sum(w.weight) AS treated,
        sum(w.weight) FILTER (WHERE c.happened) AS treated_outcomes,
        list(c.pupil_key) FILTER (WHERE w.replicate = 0) AS treated_pupils
    FROM compared AS c
    CROSS JOIN LATERAL (SELECT 'all' AS support UNION ALL SELECT c.activity) AS s
    JOIN weights AS w USING (pupil_key)
    WHERE c.treated
    GROUP BY ALL
),
-- Controls are weighed only in the strata with a supported pupil, the only ones matched: each
-- control pupil-date joins every replicate's weight, and most are in a stratum without one
-- (four in five at scale 30).
treated_strata AS (
    SELECT DISTINCT as_of, grade_band, score_decile FROM compared WHERE treated
),
controls AS (
    SELECT c.as_of, c.grade_band, c.score_decile, w.replicate, sum(w.weight) AS controls,
        sum(w.weight) FILTER (WHERE c.happened) AS control_outcomes
    FROM compared AS c
    SEMI JOIN treated_strata AS t USING (as_of, grade_band, score_decile)
    JOIN weights AS w USING (pupil_key)
    WHERE NOT c.treated
    GROUP BY ALL
),
strata AS (
    SELECT t.support, t.replicate, t.treated, t.treated_pupils, coalesce(c.controls, 0) AS controls,
        coalesce(t.treated_outcomes, 0) / nullif(t.treated, 0) AS treated_rate,
        coalesce(c.control_outcomes, 0) / nullif(c.controls, 0) AS control_rate
    FROM treated AS t
    LEFT JOIN controls AS c USING (as_of, grade_band, score_decile, replicate)
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
