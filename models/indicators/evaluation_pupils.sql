-- The pupil-dates the evaluation scores (docs/indicators.md, "The evaluation"): every `month`
-- as-of date whose school year's outcomes are all known (the next year began 30 days before
-- the cut-off), and every pupil enrolled that day at a school that had delivered by then, with
-- what was known that day (`pupil_measures` is bitemporal at month points): the score, the
-- composite level, the measures the single-measure baselines rank by, and the groups the
-- subgroup table splits by; whether the project supported the pupil that day; and, per outcome
-- and horizon (the semester's end, the school year's end), whether it happened after the day.
-- @analysis
WITH cutoff AS (
    SELECT max(as_of) AS cutoff FROM indicators.as_of_dates
),
years AS (
    SELECT school_year, year_end, lead(year_start) OVER (ORDER BY year_start) AS next_year_start
    FROM (SELECT DISTINCT school_year, year_start, year_end FROM reference.semesters)
),
points AS (
    SELECT d.semester_id, d.as_of, s.last_day AS semester_end, y.year_end
    FROM indicators.as_of_dates AS d
    JOIN reference.semesters AS s USING (semester_id)
    JOIN years AS y USING (school_year)
    CROSS JOIN cutoff
    WHERE d.kind = 'month' AND y.next_year_start + 30 <= cutoff.cutoff
),
supported AS (
    SELECT p.as_of, s.pupil_key
    FROM points AS p
    JOIN core.support_spells AS s
        ON s.start_date <= p.as_of AND coalesce(s.end_date, p.as_of) >= p.as_of
    GROUP BY ALL
),
horizons AS (
    SELECT as_of, 'semester' AS horizon, semester_end AS horizon_end FROM points
    UNION ALL
    SELECT as_of, 'year' AS horizon, year_end AS horizon_end FROM points
),
happened AS (
    SELECT h.as_of, h.horizon, o.pupil_key, list(DISTINCT o.outcome) AS outcomes
    FROM horizons AS h
    JOIN indicators.outcomes AS o ON o.occurred_on > h.as_of AND o.occurred_on <= h.horizon_end
    GROUP BY ALL
),
pupils AS (
    SELECT m.semester_id, m.as_of, m.pupil_key, m.school_id, m.grade, m.grade_band,
        coalesce(pupil.sex, 'unknown') AS sex,
        CASE WHEN len(m.social_statuses) > 0 THEN 'status' ELSE 'none' END AS social_status,
        m.unjustified_lessons, m.average_mark, m.failing_subjects, m.non_illness_share,
        r.risk_rank, r.risk_score, s.score, s.score_model,
        sup.pupil_key IS NOT NULL AS supported
    FROM indicators.pupil_measures AS m
    JOIN points USING (semester_id, as_of)
    JOIN indicators.pupil_risk AS r USING (semester_id, as_of, kind, pupil_key)
    JOIN indicators.pupil_score AS s USING (semester_id, as_of, kind, pupil_key)
    LEFT JOIN core.pupils AS pupil USING (pupil_key)
    LEFT JOIN supported AS sup USING (as_of, pupil_key)
    WHERE m.kind = 'month'
)
SELECT p.*, h.horizon, outcome.outcome,
    CASE outcome.outcome
        WHEN 'any' THEN coalesce(len(e.outcomes) > 0, false)
        ELSE coalesce(list_contains(e.outcomes, outcome.outcome), false)
    END AS happened
FROM pupils AS p
JOIN horizons AS h USING (as_of)
CROSS JOIN (VALUES ('any'), ('left_without_completing'), ('not_reenrolled'), ('not_promoted'))
    AS outcome(outcome)
LEFT JOIN happened AS e USING (as_of, horizon, pupil_key)
