-- The risk score per pupil at each as-of date: a logistic model (models/score.toml, its
-- version and SHA-256 in `score_model`) of the chance of an outcome by the school year's end.
-- Each input's contribution is its weight times its distance from the training average, in
-- the training spread, so the contributions and the intercept add up to the log-odds; they are
-- listed largest first, beside the rule evidence in `pupil_risk`.
-- @incremental
WITH inputs AS (
    UNPIVOT (
        SELECT * FROM indicators.score_features WHERE semester_id >= getvariable('rebuild_from')
    )
    ON COLUMNS(* EXCLUDE (semester_id, as_of, kind, pupil_key))
    INTO NAME feature VALUE value
),
contributions AS (
    SELECT i.semester_id, i.as_of, i.kind, i.pupil_key, i.feature, i.value,
        f.coefficient * (i.value - f.center) / f.spread AS contribution
    FROM inputs AS i
    JOIN reference.score_features AS f USING (feature)
)
SELECT c.semester_id, c.as_of, c.kind, c.pupil_key,
    1 / (1 + exp(-(any_value(m.intercept) + sum(c.contribution)))) AS score,
    list({feature: c.feature, value: c.value, contribution: c.contribution}
        ORDER BY abs(c.contribution) DESC, c.feature) AS score_contributions,
    any_value(m.model) AS score_model
FROM contributions AS c, reference.score_model AS m
GROUP BY c.semester_id, c.as_of, c.kind, c.pupil_key
