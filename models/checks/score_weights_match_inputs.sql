-- The score's weights (models/score.toml) and its inputs (indicators.score_features) name the
-- same features: a weight for an input that does not exist, or an input without a weight,
-- would score every pupil without it and say nothing.
-- asset: indicators.pupil_score
WITH inputs AS (
    SELECT column_name AS feature
    FROM information_schema.columns
    WHERE table_schema = 'indicators' AND table_name = 'score_features'
        AND column_name NOT IN ('semester_id', 'as_of', 'kind', 'pupil_key')
)
SELECT coalesce(i.feature, w.feature) AS feature,
    CASE WHEN w.feature IS NULL THEN 'input without a weight' ELSE 'weight without an input' END
        AS problem
FROM inputs AS i
FULL JOIN reference.score_features AS w USING (feature)
WHERE i.feature IS NULL OR w.feature IS NULL
