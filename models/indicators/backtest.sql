-- How well each rule, the composite level and two baselines foresaw the outcomes. For every
-- `month` as-of date whose horizon (rules.toml: backtest) has passed by the cut-off, each
-- pupil enrolled then is flagged or not, using only what was known that day (received by
-- then, `pupil_measures`), and has an outcome (any of `outcomes`) or not within the horizon
-- after it. The score is evaluated in `evaluation`. Precision and recall pool the pupil-dates;
-- the lead time is, per outcome, the weeks from the first as-of date that flagged the pupil
-- within the horizon before it, and its median is reported. The baselines flag whole groups:
-- every pupil of the grades in `baseline_grades`, and every pupil of the schools with the most
-- unjustified lessons per pupil so far in the semester.
-- @analysis
WITH settings AS (
    SELECT
        (SELECT number FROM reference.parameters WHERE name = 'backtest.horizon_days')::INTEGER
            AS horizon_days,
        (SELECT number FROM reference.parameters
            WHERE name = 'backtest.baseline_top_schools')::INTEGER AS top_schools,
        (SELECT texts FROM reference.parameters WHERE name = 'backtest.baseline_grades')
            AS baseline_grades
),
points AS (
    SELECT d.semester_id, d.as_of
    FROM indicators.as_of_dates AS d, settings
    WHERE d.kind = 'month'
        AND d.as_of + settings.horizon_days
            <= (SELECT max(as_of) FROM indicators.as_of_dates)
),
population AS (
    SELECT m.as_of, m.pupil_key, m.school_id, m.grade, m.unjustified_lessons
    FROM indicators.pupil_measures AS m
    JOIN points USING (semester_id, as_of)
    WHERE m.kind = 'month'
),
events AS (
    SELECT p.as_of, p.pupil_key, min(o.occurred_on) AS occurred_on
    FROM population AS p
    CROSS JOIN settings
    JOIN indicators.outcomes AS o
        ON o.pupil_key = p.pupil_key AND o.occurred_on > p.as_of
        AND o.occurred_on <= p.as_of + settings.horizon_days
    GROUP BY ALL
),
worst_schools AS (
    SELECT as_of, school_id
    FROM (
        SELECT as_of, school_id,
            row_number() OVER (
                PARTITION BY as_of ORDER BY avg(unjustified_lessons) DESC, school_id
            ) AS position
        FROM population
        GROUP BY as_of, school_id
    ), settings
    WHERE position <= settings.top_schools
),
flags AS (
    SELECT i.as_of, i.pupil_key, i.rule_id AS predictor
    FROM indicators.pupil_indicators AS i
    JOIN points USING (semester_id, as_of)
    WHERE i.kind = 'month' AND i.fired
    UNION ALL
    SELECT r.as_of, r.pupil_key, 'RISK_MEDIUM_OR_HIGH' AS predictor
    FROM indicators.pupil_risk AS r
    JOIN points USING (semester_id, as_of)
    WHERE r.kind = 'month' AND r.risk_rank >= 2
    UNION ALL
    SELECT r.as_of, r.pupil_key, 'RISK_HIGH' AS predictor
    FROM indicators.pupil_risk AS r
    JOIN points USING (semester_id, as_of)
    WHERE r.kind = 'month' AND r.risk_rank >= 3
    UNION ALL
    SELECT p.as_of, p.pupil_key, 'BASELINE_GRADES' AS predictor
    FROM population AS p, settings
    WHERE list_contains(settings.baseline_grades, p.grade::VARCHAR)
    UNION ALL
    SELECT p.as_of, p.pupil_key, 'BASELINE_SCHOOLS' AS predictor
    FROM population AS p
    JOIN worst_schools USING (as_of, school_id)
),
predictors AS (
    SELECT rule_id AS predictor, 'rule' AS predictor_kind FROM reference.rules
    UNION ALL
    SELECT * FROM (VALUES
        ('RISK_MEDIUM_OR_HIGH', 'composite'), ('RISK_HIGH', 'composite'),
        ('BASELINE_GRADES', 'baseline'), ('BASELINE_SCHOOLS', 'baseline')
    ) AS extra(predictor, predictor_kind)
),
scored AS (
    SELECT f.predictor, count(*) AS flagged, count(e.pupil_key) AS true_positives
    FROM flags AS f
    LEFT JOIN events AS e USING (as_of, pupil_key)
    GROUP BY ALL
),
leads AS (
    SELECT predictor, median(weeks) AS median_lead_weeks
    FROM (
        SELECT f.predictor, e.pupil_key, e.occurred_on,
            (e.occurred_on - min(f.as_of)) / 7.0 AS weeks
        FROM events AS e
        JOIN flags AS f USING (as_of, pupil_key)
        GROUP BY f.predictor, e.pupil_key, e.occurred_on
    )
    GROUP BY ALL
)
SELECT
    p.predictor, p.predictor_kind,
    (SELECT count(*) FROM points) AS as_of_dates,
    (SELECT min(as_of) FROM points) AS first_as_of,
    (SELECT max(as_of) FROM points) AS last_as_of,
    (SELECT count(*) FROM population) AS pupil_dates,
    (SELECT count(*) FROM events) AS outcomes,
    coalesce(s.flagged, 0) AS flagged,
    coalesce(s.true_positives, 0) AS true_positives,
    CASE WHEN s.flagged > 0 THEN s.true_positives / s.flagged END AS precision_rate,
    s.true_positives / nullif((SELECT count(*) FROM events), 0) AS recall_rate,
    l.median_lead_weeks
FROM predictors AS p
LEFT JOIN scored AS s USING (predictor)
LEFT JOIN leads AS l USING (predictor)
ORDER BY p.predictor_kind DESC, p.predictor
