-- The composite risk level per pupil at each as-of date. Each domain (attendance,
-- performance, progression) that fires counts with the highest severity among its rules (1 or
-- 2, so 1 plus 1 more when a serious rule fired); the level follows the sum (rules.toml:
-- composite): none, low, medium or high. The reasons are the evidence of every rule that
-- fired, most severe first, so a flag leaves the level when its evidence expires. Context
-- (a social-service status, a special-needs programme) is listed beside them and adds nothing
-- to the level (docs/indicators.md). Beside them, the score (`pupil_score`: the chance of an
-- outcome by the year's end, with each input's contribution) and the pupil's place in the
-- municipality by score on the day (pupils with equal scores share a place), which is how
-- support within a capacity K is ranked.
-- @incremental
WITH cut AS (
    SELECT
        (SELECT number FROM reference.parameters WHERE name = 'composite.low') AS low,
        (SELECT number FROM reference.parameters WHERE name = 'composite.medium') AS medium,
        (SELECT number FROM reference.parameters WHERE name = 'composite.high') AS high
),
fired AS (
    SELECT semester_id, as_of, kind, pupil_key,
        count(DISTINCT domain) + count(DISTINCT domain) FILTER (WHERE severity = 2)
            AS risk_score,
        count(DISTINCT domain) AS domains_fired,
        list(DISTINCT domain ORDER BY domain) AS domains,
        list(rule_id || ': ' || evidence ORDER BY severity DESC, rule_id) AS reasons
    FROM indicators.pupil_indicators
    WHERE fired AND domain <> 'context' AND semester_id >= getvariable('rebuild_from')
    GROUP BY ALL
),
context AS (
    SELECT semester_id, as_of, kind, pupil_key,
        list(rule_id || ': ' || evidence ORDER BY rule_id) AS context
    FROM indicators.pupil_indicators
    WHERE fired AND domain = 'context' AND semester_id >= getvariable('rebuild_from')
    GROUP BY ALL
),
pupils AS (
    SELECT m.semester_id, m.as_of, m.kind, m.pupil_key, m.school_id, m.reporting_school_id,
        m.class_label, m.grade, m.grade_band,
        coalesce(f.risk_score, 0) AS risk_score,
        coalesce(f.domains_fired, 0) AS domains_fired,
        coalesce(f.domains, []) AS domains,
        coalesce(f.reasons, []) AS reasons,
        coalesce(c.context, []) AS context,
        s.score, s.score_contributions, s.score_model,
        rank() OVER (PARTITION BY m.semester_id, m.as_of, m.kind ORDER BY s.score DESC)
            AS score_rank
    FROM indicators.pupil_measures AS m
    JOIN indicators.pupil_score AS s USING (semester_id, as_of, kind, pupil_key)
    LEFT JOIN fired AS f USING (semester_id, as_of, kind, pupil_key)
    LEFT JOIN context AS c USING (semester_id, as_of, kind, pupil_key)
    WHERE m.semester_id >= getvariable('rebuild_from')
)
SELECT
    p.* EXCLUDE (domains, reasons, context, score, score_contributions, score_model, score_rank),
    CASE
        WHEN p.risk_score >= cut.high THEN 'high'
        WHEN p.risk_score >= cut.medium THEN 'medium'
        WHEN p.risk_score >= cut.low THEN 'low'
        ELSE 'none'
    END AS risk_level,
    CASE
        WHEN p.risk_score >= cut.high THEN 3
        WHEN p.risk_score >= cut.medium THEN 2
        WHEN p.risk_score >= cut.low THEN 1
        ELSE 0
    END AS risk_rank,
    p.domains,
    p.reasons,
    p.context,
    p.score,
    p.score_rank,
    p.score_contributions,
    p.score_model
FROM pupils AS p, cut
