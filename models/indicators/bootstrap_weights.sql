-- The bootstrap of the evaluation: per replicate (rules.toml: evaluation.bootstrap_replicates),
-- a Poisson(1) weight for every pupil of `evaluation_pupils`, from a uniform hash of the pupil
-- and the replicate, so that resampling is reproducible and a pupil weighs alike on every date.
-- @analysis
WITH replicates AS (
    SELECT replicate
    FROM range((
        SELECT number FROM reference.parameters WHERE name = 'evaluation.bootstrap_replicates'
    )::INTEGER) AS t(replicate)
),
uniforms AS (
    SELECT p.pupil_key, r.replicate,
        hash(p.pupil_key || '#' || r.replicate) / 18446744073709551616.0 AS u
    FROM (SELECT DISTINCT pupil_key FROM indicators.evaluation_pupils) AS p
    CROSS JOIN replicates AS r
)
SELECT pupil_key, replicate,
    CASE
        WHEN u < 0.36787944 THEN 0 WHEN u < 0.73575888 THEN 1 WHEN u < 0.91969860 THEN 2
        WHEN u < 0.98101184 THEN 3 WHEN u < 0.99634015 THEN 4 WHEN u < 0.99940582 THEN 5
        ELSE 6
    END AS weight
FROM uniforms
