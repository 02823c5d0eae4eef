-- How well the score, the composite level, single measures and baselines find the pupils with
-- each outcome, per as-of date of `evaluation_pupils` and as the mean over the dates after
-- the score's training data ends (`as_of` empty: models/score.toml [trained] until, so the
-- mean is out of time for every data set). Each predictor ranks the pupils of a date; the first K are flagged, for
-- each capacity in rules.toml (evaluation.capacities) and the project's real caseload that day
-- (pupils with active support). Ties are broken at random, reproducibly. Precision and recall
-- come with 95% intervals from a bootstrap that resamples pupils (`bootstrap_weights`: a pupil
-- weighs alike on every date, so the mean's interval holds the dates' dependence);
-- AUC is over every pupil of the date, ties counting half. Predictors:
-- SCORE (the logistic score), COMPOSITE (level, then risk points), MEASURE_* (one measure:
-- unjustified lessons, the lowest average daily mark, failing subjects, the share missed for
-- reasons other than illness), BASELINE_GRADE_BAND (each pupil's grade band's rate of the
-- outcome on that date, known only afterwards: the best a band rule could do),
-- BASELINE_SCHOOL (the schools with the most unjustified lessons per pupil so far) and RANDOM.
-- @analysis
WITH model AS (
    SELECT model, trained_until FROM reference.score_model
),
settings AS (
    SELECT
        (SELECT texts FROM reference.parameters WHERE name = 'evaluation.capacities')
            AS capacities
),
pupil_dates AS (
    SELECT DISTINCT as_of, pupil_key, school_id, grade_band, unjustified_lessons, average_mark,
        failing_subjects, non_illness_share, risk_rank, risk_score, score, supported
    FROM indicators.evaluation_pupils
    WHERE outcome = 'any' AND horizon = 'year'
),
happened AS (
    SELECT as_of, horizon, outcome, pupil_key FROM indicators.evaluation_pupils WHERE happened
),
band_rates AS (
    SELECT as_of, grade_band, avg(happened::INTEGER) AS band_rate
    FROM indicators.evaluation_pupils
    WHERE outcome = 'any' AND horizon = 'year'
    GROUP BY ALL
),
school_absence AS (
    SELECT as_of, school_id, avg(unjustified_lessons) AS school_unjustified
    FROM pupil_dates
    GROUP BY ALL
),
-- Every pupil-date once per predictor (9 times the pupil-dates): recomputed where it is read
-- rather than kept, and read only where it shrinks at once (grouped by key, joined with the
-- pupils who had an outcome, or cut to the keys that can reach the first K).
keys AS NOT MATERIALIZED (
    SELECT p.as_of, p.pupil_key, predictor.name AS predictor,
        CASE predictor.name
            WHEN 'SCORE' THEN p.score
            WHEN 'COMPOSITE' THEN p.risk_rank * 100 + p.risk_score
            WHEN 'MEASURE_UNJUSTIFIED_LESSONS' THEN p.unjustified_lessons
            WHEN 'MEASURE_LOWEST_AVERAGE_MARK' THEN coalesce(-p.average_mark, -11)
            WHEN 'MEASURE_FAILING_SUBJECTS' THEN p.failing_subjects
            WHEN 'MEASURE_NON_ILLNESS_SHARE' THEN p.non_illness_share
            WHEN 'BASELINE_GRADE_BAND' THEN b.band_rate
            WHEN 'BASELINE_SCHOOL' THEN s.school_unjustified
            ELSE 0
        END::DOUBLE AS ranking_key,
        hash(p.pupil_key, p.as_of, predictor.name) AS tie_break
    FROM pupil_dates AS p
    JOIN band_rates AS b USING (as_of, grade_band)
    JOIN school_absence AS s USING (as_of, school_id)
    CROSS JOIN (VALUES ('SCORE'), ('COMPOSITE'), ('MEASURE_UNJUSTIFIED_LESSONS'),
        ('MEASURE_LOWEST_AVERAGE_MARK'), ('MEASURE_FAILING_SUBJECTS'),
        ('MEASURE_NON_ILLNESS_SHARE'), ('BASELINE_GRADE_BAND'), ('BASELINE_SCHOOL'), ('RANDOM'))
        AS predictor(name)
),
-- Per date, predictor and ranking key: its AUC rank (ascending, ties sharing the mean of their
-- places: the pupil-dates with a lower key, then the middle of its own; whole or halves, so
-- their sums are exact whatever their order), and how many pupil-dates rank ahead of it when
-- flagging (descending).
key_groups AS (
    SELECT as_of, predictor, ranking_key,
        coalesce(sum(count(*)) OVER (
            PARTITION BY as_of, predictor ORDER BY ranking_key
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ), 0) + 1 + (count(*) - 1) / 2.0 AS ascending_rank,
        coalesce(sum(count(*)) OVER (
            PARTITION BY as_of, predictor ORDER BY ranking_key DESC
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ), 0) AS ahead
    FROM keys
    GROUP BY as_of, predictor, ranking_key
),
capacities AS (
    SELECT d.as_of, c.capacity, c.capacity::VARCHAR AS capacity_kind
    FROM (SELECT DISTINCT as_of FROM pupil_dates) AS d,
        (SELECT unnest(capacities)::INTEGER AS capacity FROM settings) AS c
    UNION ALL
    SELECT as_of, count(*) FILTER (WHERE supported), 'caseload'
    FROM pupil_dates
    GROUP BY as_of
),
-- The first places of each date and predictor, up to the largest capacity: only the keys with
-- fewer pupil-dates ahead of them can hold one, so only theirs are ordered.
first_places AS (
    SELECT k.as_of, k.predictor, k.pupil_key,
        row_number() OVER (
            PARTITION BY k.as_of, k.predictor ORDER BY k.ranking_key DESC, k.tie_break
        ) AS position
    FROM keys AS k
    SEMI JOIN key_groups AS g ON g.as_of = k.as_of AND g.predictor = k.predictor
        AND g.ranking_key IS NOT DISTINCT FROM k.ranking_key
        AND g.ahead < (SELECT max(capacity) FROM capacities)
    QUALIFY position <= (SELECT max(capacity) FROM capacities)
),
selected AS (
    SELECT r.as_of, r.predictor, c.capacity_kind, c.capacity, r.pupil_key
    FROM first_places AS r
    JOIN capacities AS c ON c.as_of = r.as_of AND r.position <= c.capacity
),
flagged AS (
    SELECT o.as_of, o.horizon, o.outcome, f.predictor, f.capacity_kind, f.capacity,
        f.pupil_key, o.happened
    FROM selected AS f
    JOIN indicators.evaluation_pupils AS o USING (as_of, pupil_key)
),
events AS (
    SELECT as_of, horizon, outcome, count(*) FILTER (WHERE happened) AS events,
        count(*) AS pupil_dates
    FROM indicators.evaluation_pupils
    GROUP BY ALL
),
point AS (
    SELECT f.as_of, f.horizon, f.outcome, f.predictor, f.capacity_kind, any_value(f.capacity)
            AS capacity,
        count(*) AS flagged, count(*) FILTER (WHERE f.happened) AS true_positives
    FROM flagged AS f
    GROUP BY ALL
),
replicate_events AS (
    SELECT e.as_of, e.horizon, e.outcome, w.replicate, sum(w.weight) AS events
    FROM happened AS e
    JOIN indicators.bootstrap_weights AS w USING (pupil_key)
    GROUP BY ALL
),
replicate_flags AS (
    SELECT f.as_of, f.predictor, f.capacity_kind, w.replicate, sum(w.weight) AS flagged
    FROM selected AS f
    JOIN indicators.bootstrap_weights AS w USING (pupil_key)
    GROUP BY ALL
),
replicate_hits AS (
    SELECT f.as_of, f.horizon, f.outcome, f.predictor, f.capacity_kind, w.replicate,
        sum(w.weight) AS true_positives
    FROM flagged AS f
    JOIN indicators.bootstrap_weights AS w USING (pupil_key)
    WHERE f.happened
    GROUP BY ALL
),
replicate_rates AS (
    SELECT o.as_of, o.horizon, o.outcome, f.predictor, f.capacity_kind, f.replicate,
        coalesce(h.true_positives, 0) / nullif(f.flagged, 0) AS precision_rate,
        coalesce(h.true_positives, 0) / nullif(e.events, 0) AS recall_rate
    FROM replicate_flags AS f
    JOIN events AS o USING (as_of)
    LEFT JOIN replicate_events AS e USING (as_of, horizon, outcome, replicate)
    LEFT JOIN replicate_hits AS h
        USING (as_of, horizon, outcome, predictor, capacity_kind, replicate)
),
positive_keys AS (
    SELECT o.as_of, o.horizon, o.outcome, k.predictor, k.ranking_key, count(*) AS positives
    FROM happened AS o
    JOIN keys AS k ON k.as_of = o.as_of AND k.pupil_key = o.pupil_key
    GROUP BY ALL
),
auc AS (
    SELECT e.as_of, e.horizon, e.outcome, p.predictor,
        (sum(r.ascending_rank * p.positives)
            - any_value(e.events) * (any_value(e.events) + 1) / 2.0)
            / nullif(any_value(e.events) * (any_value(e.pupil_dates) - any_value(e.events)), 0)
            AS auc
    FROM positive_keys AS p
    JOIN key_groups AS r ON r.as_of = p.as_of AND r.predictor = p.predictor
        AND r.ranking_key IS NOT DISTINCT FROM p.ranking_key
    JOIN events AS e
        ON e.as_of = p.as_of AND e.horizon = p.horizon AND e.outcome = p.outcome
    GROUP BY ALL
),
per_date AS (
    SELECT p.as_of, p.horizon, p.outcome, p.predictor, p.capacity_kind, p.capacity,
        e.pupil_dates, e.events, p.flagged, p.true_positives,
        p.true_positives / p.flagged AS precision_rate,
        p.true_positives / nullif(e.events, 0) AS recall_rate, a.auc
    FROM point AS p
    JOIN events AS e USING (as_of, horizon, outcome)
    LEFT JOIN auc AS a USING (as_of, horizon, outcome, predictor)
),
intervals AS (
    SELECT as_of, horizon, outcome, predictor, capacity_kind,
        quantile_cont(precision_rate, 0.025) AS precision_low,
        quantile_cont(precision_rate, 0.975) AS precision_high,
        quantile_cont(recall_rate, 0.025) AS recall_low,
        quantile_cont(recall_rate, 0.975) AS recall_high
    FROM replicate_rates
    GROUP BY ALL
),
mean_intervals AS (
    SELECT horizon, outcome, predictor, capacity_kind,
        quantile_cont(precision_rate, 0.025) AS precision_low,
        quantile_cont(precision_rate, 0.975) AS precision_high,
        quantile_cont(recall_rate, 0.025) AS recall_low,
        quantile_cont(recall_rate, 0.975) AS recall_high
    FROM (
        SELECT horizon, outcome, predictor, capacity_kind, replicate,
            avg(precision_rate) AS precision_rate,
            avg(recall_rate) AS recall_rate
        FROM replicate_rates, model
        WHERE as_of > model.trained_until
        GROUP BY ALL
    )
    GROUP BY ALL
)
SELECT d.as_of, d.as_of > model.trained_until AS after_training, d.horizon, d.outcome,
    d.predictor, d.capacity_kind, d.capacity, d.pupil_dates,
    d.events, d.flagged, d.true_positives, d.precision_rate, i.precision_low, i.precision_high,
    d.recall_rate, i.recall_low, i.recall_high, d.auc, model.model AS score_model
FROM per_date AS d
JOIN intervals AS i USING (as_of, horizon, outcome, predictor, capacity_kind)
CROSS JOIN model
UNION ALL
SELECT NULL AS as_of, true AS after_training, d.horizon, d.outcome, d.predictor,
    d.capacity_kind,
    avg(d.capacity), avg(d.pupil_dates), avg(d.events), avg(d.flagged), avg(d.true_positives),
    avg(d.precision_rate), any_value(i.precision_low), any_value(i.precision_high),
    avg(d.recall_rate), any_value(i.recall_low), any_value(i.recall_high), avg(d.auc),
    any_value(model.model)
FROM per_date AS d
JOIN mean_intervals AS i USING (horizon, outcome, predictor, capacity_kind)
CROSS JOIN model
WHERE d.as_of > model.trained_until
GROUP BY d.horizon, d.outcome, d.predictor, d.capacity_kind
ORDER BY ALL NULLS FIRST
