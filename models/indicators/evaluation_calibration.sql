-- Is the score's chance right? Per as-of date of `evaluation_pupils`, and over the dates
-- after the score's training data (`as_of` empty; models/score.toml [trained] until), the
-- pupils in tenths by score (pupils with equal scores in the same tenth): the mean score
-- against the share that had any outcome by the school year's end (what the score
-- estimates).
-- @analysis
WITH scored AS (
    SELECT as_of, pupil_key, score, happened, score_model
    FROM indicators.evaluation_pupils
    WHERE outcome = 'any' AND horizon = 'year'
),
per_date AS (
    SELECT as_of,
        (rank() OVER (PARTITION BY as_of ORDER BY score) - 1) * 10
            // count(*) OVER (PARTITION BY as_of) + 1 AS decile,
        score, happened, score_model
    FROM scored
),
pooled AS (
    SELECT NULL::DATE AS as_of,
        (rank() OVER (ORDER BY score) - 1) * 10 // count(*) OVER () + 1 AS decile,
        score, happened, score_model
    FROM scored
    WHERE as_of > (SELECT trained_until FROM reference.score_model)
)
SELECT as_of, decile, count(*) AS pupil_dates, avg(score) AS mean_score,
    avg(happened::INTEGER) AS outcome_rate, count(*) FILTER (WHERE happened) AS outcomes,
    any_value(score_model) AS score_model
FROM (SELECT * FROM per_date UNION ALL SELECT * FROM pooled)
GROUP BY as_of, decile
ORDER BY as_of NULLS FIRST, decile
