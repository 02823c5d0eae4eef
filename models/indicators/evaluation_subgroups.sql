-- Who the flags fall on: for the score's first K (the first capacity in rules.toml) and the
-- composite level medium or high, per group of sex, social-service status, grade band and
-- school, over the pupil-dates of `evaluation_pupils` after the score's training data
-- (models/score.toml [trained] until), with any outcome by the year's end: the
-- share flagged, the false-positive rate (flagged among those without an outcome) and the
-- recall (flagged among those with one). Internal: small groups are not suppressed here.
WITH settings AS (
    SELECT (SELECT texts[1] FROM reference.parameters
        WHERE name = 'evaluation.capacities')::INTEGER AS capacity
),
pupil_dates AS (
    SELECT e.*,
        row_number() OVER (PARTITION BY e.as_of ORDER BY e.score DESC, e.pupil_key) AS score_rank
    FROM indicators.evaluation_pupils AS e
    WHERE e.outcome = 'any' AND e.horizon = 'year'
        AND e.as_of > (SELECT trained_until FROM reference.score_model)
),
flags AS (
    SELECT p.*, 'SCORE_TOP_' || settings.capacity AS flag,
        p.score_rank <= settings.capacity AS flagged
    FROM pupil_dates AS p, settings
    UNION ALL
    SELECT p.*, 'COMPOSITE_MEDIUM_OR_HIGH' AS flag, p.risk_rank >= 2 AS flagged
    FROM pupil_dates AS p
),
grouped AS (
    SELECT flag, 'sex' AS grouping, sex AS subgroup, flagged, happened FROM flags
    UNION ALL
    SELECT flag, 'social_status', social_status, flagged, happened FROM flags
    UNION ALL
    SELECT flag, 'grade_band', grade_band, flagged, happened FROM flags
    UNION ALL
    SELECT flag, 'school', school_id, flagged, happened FROM flags
    UNION ALL
    SELECT flag, 'all', 'all', flagged, happened FROM flags
)
SELECT flag, grouping, subgroup, count(*) AS pupil_dates,
    count(*) FILTER (WHERE happened) AS outcomes,
    count(*) FILTER (WHERE flagged) AS flagged,
    avg(flagged::INTEGER) AS flag_rate,
    count(*) FILTER (WHERE flagged AND NOT happened)
        / nullif(count(*) FILTER (WHERE NOT happened), 0) AS false_positive_rate,
    count(*) FILTER (WHERE flagged AND happened)
        / nullif(count(*) FILTER (WHERE happened), 0) AS recall_rate
FROM grouped
GROUP BY ALL
ORDER BY flag, grouping, subgroup
