-- Support coverage per semester, school and grade band: pupils at medium or high risk at the
-- semester's as-of date, how many of them had any project support that semester, the share
-- covered, and the supported pupils who were not at risk (level none or low).
WITH supported AS (
    SELECT DISTINCT r.semester_id, r.pupil_key
    FROM indicators.pupil_risk AS r
    JOIN reference.semesters AS s USING (semester_id)
    JOIN core.support_spells AS sp
        ON sp.pupil_key = r.pupil_key AND sp.start_date <= r.as_of
        AND coalesce(sp.end_date, r.as_of) >= s.start_date
    WHERE r.kind = 'semester'
)
SELECT
    r.semester_id, r.school_id, r.reporting_school_id, r.grade_band,
    count(*) AS pupils,
    count(*) FILTER (WHERE r.risk_rank >= 2) AS pupils_at_risk,
    count(*) FILTER (WHERE r.risk_rank >= 2 AND s.pupil_key IS NOT NULL)
        AS pupils_at_risk_supported,
    pupils_at_risk_supported / nullif(pupils_at_risk, 0) AS coverage,
    count(s.pupil_key) AS pupils_supported,
    count(*) FILTER (WHERE r.risk_rank < 2 AND s.pupil_key IS NOT NULL)
        AS pupils_supported_not_at_risk
FROM indicators.pupil_risk AS r
LEFT JOIN supported AS s USING (semester_id, pupil_key)
WHERE r.kind = 'semester'
GROUP BY ALL
