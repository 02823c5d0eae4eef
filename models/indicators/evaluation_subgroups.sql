-- Who the flags fall on: for the score's first K (the first capacity in rules.toml; pupils
-- tied with the K-th are in) and the
-- composite level medium or high, per group of sex, social-service status, grade band and
-- school, with any outcome by the year's end: the share flagged, the false-positive rate
-- (flagged among those without an outcome) and the recall (flagged among those with one);
-- per as-of date of `evaluation_pupils`, and pooled over the dates after the score's training
-- data (`as_of` empty; models/score.toml [trained] until). Internal: small groups are not
-- suppressed here.
-- @analysis
WITH settings AS (
    SELECT (SELECT texts[1] FROM reference.parameters
        WHERE name = 'evaluation.capacities')::INTEGER AS capacity
),
model AS (
    SELECT model, trained_until FROM reference.score_model
),
pupil_dates AS (
    SELECT e.*,
        rank() OVER (PARTITION BY e.as_of ORDER BY e.score DESC) AS score_rank
    FROM indicators.evaluation_pupils AS e
    WHERE e.outcome = 'any' AND e.horizon = 'year'
),
flags AS (
    SELECT p.*, 'SCORE_TOP_' || settings.capacity AS flag,
        p.score_rank <= settings.capacity AS flagged
    FROM pupil_dates AS p, settings
    UNION ALL
    SELECT p.*, 'COMPOSITE_MEDIUM_OR_HIGH' AS flag, p.risk_rank >= 2 AS flagged
    FROM pupil_dates AS p
),
dated AS (
    SELECT as_of AS reported_as_of, * FROM flags
    UNION ALL
    SELECT NULL AS reported_as_of, flags.*
    FROM flags, model
    WHERE flags.as_of > model.trained_until
),
grouped AS (
    SELECT reported_as_of, flag, 'sex' AS grouping, sex AS subgroup, flagged, happened
    FROM dated
    UNION ALL
    SELECT reported_as_of, flag, 'social_status', social_status, flagged, happened FROM dated
    UNION ALL
    SELECT reported_as_of, flag, 'grade_band', grade_band, flagged, happened FROM dated
    UNION ALL
    SELECT reported_as_of, flag, 'school', school_id, flagged, happened FROM dated
    UNION ALL
    SELECT reported_as_of, flag, 'all', 'all', flagged, happened FROM dated
)
SELECT g.reported_as_of AS as_of, g.flag, g.grouping, g.subgroup, count(*) AS pupil_dates,
    count(*) FILTER (WHERE g.happened) AS outcomes,
    count(*) FILTER (WHERE g.flagged) AS flagged,
    avg(g.flagged::INTEGER) AS flag_rate,
    count(*) FILTER (WHERE g.flagged AND NOT g.happened)
        / nullif(count(*) FILTER (WHERE NOT g.happened), 0) AS false_positive_rate,
    count(*) FILTER (WHERE g.flagged AND g.happened)
        / nullif(count(*) FILTER (WHERE g.happened), 0) AS recall_rate,
    any_value(model.model) AS score_model
FROM grouped AS g, model
GROUP BY g.reported_as_of, g.flag, g.grouping, g.subgroup
ORDER BY g.reported_as_of NULLS FIRST, g.flag, g.grouping, g.subgroup
