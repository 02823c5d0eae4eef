-- The composite risk level per pupil at each as-of date. Each domain (attendance,
-- performance, progression, social) that fires counts with the highest severity among its
-- rules; the level follows the sum (rules.toml: composite): none, low, medium or high. The
-- reasons are the evidence of every rule that fired, most severe first, so a flag leaves the
-- level when its evidence expires.
-- @incremental
WITH cut AS (
    SELECT
        (SELECT number FROM reference.parameters WHERE name = 'composite.low') AS low,
        (SELECT number FROM reference.parameters WHERE name = 'composite.medium') AS medium,
        (SELECT number FROM reference.parameters WHERE name = 'composite.high') AS high
),
domains AS (
    SELECT semester_id, as_of, kind, pupil_key, school_id, reporting_school_id, class_label,
        grade, grade_band, domain,
        max(severity) FILTER (WHERE fired) AS severity,
        list(rule_id || ': ' || evidence ORDER BY severity DESC, rule_id) FILTER (WHERE fired)
            AS reasons
    FROM indicators.pupil_indicators
    WHERE semester_id >= getvariable('rebuild_from')
    GROUP BY ALL
),
pupils AS (
    SELECT semester_id, as_of, kind, pupil_key, school_id, reporting_school_id, class_label,
        grade, grade_band,
        coalesce(sum(severity), 0) AS risk_score,
        count(severity) AS domains_fired,
        list(domain ORDER BY domain) FILTER (WHERE severity IS NOT NULL) AS domains,
        flatten(list(reasons ORDER BY severity DESC, domain) FILTER (WHERE reasons IS NOT NULL))
            AS reasons
    FROM domains
    GROUP BY ALL
)
SELECT
    p.* EXCLUDE (domains, reasons),
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
    coalesce(p.domains, []) AS domains,
    coalesce(p.reasons, []) AS reasons
FROM pupils AS p, cut
