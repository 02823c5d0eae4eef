-- The risk score per pupil at each as-of date: a logistic model (models/score.toml, its
-- version and SHA-256 in `score_model`) of the chance of an outcome by the school year's end.
-- Each input's contribution is its weight times its distance from the training average, in
-- the training spread, so the contributions and the intercept add up to the log-odds; they are
-- listed largest first, beside the rule evidence in `pupil_risk`.
-- Row by row: each row's inputs become one list of values that is weighed, summed and sorted
-- in place, so no aggregate holds every pupil-date's inputs in memory (an ordered list
-- aggregate over the unpivoted inputs did, 39 million rows at scale 30). The inputs' names
-- and weights are looked up once, in the order of the inputs, not in every row. An input
-- without a weight, or without a value, contributes nothing.
-- @incremental
WITH inputs AS (
    SELECT semester_id, as_of, kind, pupil_key,
        list_value(*COLUMNS(* EXCLUDE (semester_id, as_of, kind, pupil_key))) AS inputs
    FROM indicators.score_features
    WHERE semester_id >= getvariable('rebuild_from')
),
-- The inputs' names in the order of their values (the columns': any one row gives them), and
-- beside each its weight (NULL for an input without one).
features AS (
    SELECT struct_keys(struct_pack(*COLUMNS(* EXCLUDE (semester_id, as_of, kind, pupil_key))))
        AS features
    FROM indicators.score_features
    LIMIT 1
),
weights AS (
    SELECT list_transform(f.features, lambda x: {feature: x, weight: w.weights[x]}) AS weights
    FROM features AS f, (
        SELECT map(list(feature), list({coefficient: coefficient, center: center, spread: spread}))
            AS weights
        FROM reference.score_features
    ) AS w
),
contributions AS (
    SELECT i.semester_id, i.as_of, i.kind, i.pupil_key,
        list_transform(
            list_filter(
                list_zip(w.weights, i.inputs),
                lambda x: x[2] IS NOT NULL AND x[1].weight IS NOT NULL
            ),
            lambda x: {
                feature: x[1].feature,
                value: x[2],
                contribution: x[1].weight.coefficient * (x[2] - x[1].weight.center)
                    / x[1].weight.spread
            }
        ) AS contributions
    FROM inputs AS i, weights AS w
)
SELECT c.semester_id, c.as_of, c.kind, c.pupil_key,
    1 / (1 + exp(-(
        m.intercept + list_sum(list_transform(c.contributions, lambda x: x.contribution))
    ))) AS score,
    list_transform(
        list_sort(list_transform(c.contributions, lambda x: {
            largest_first: -abs(x.contribution), feature: x.feature, value: x.value,
            contribution: x.contribution
        })),
        lambda x: {feature: x.feature, value: x.value, contribution: x.contribution}
    ) AS score_contributions,
    m.model AS score_model
FROM contributions AS c, reference.score_model AS m
WHERE len(c.contributions) > 0
