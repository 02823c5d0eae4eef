-- The indicators per semester, school and grade band, with the margins: every school over all
-- grade bands (`all`) and the municipality (`ALL`) per band and in total. Schools are the
-- reporting schools, so the three schools merged in 2026 count under their successor in every
-- semester. Every cell of the grid is present for every semester to 2028/29 S2; semesters not
-- yet due have no figures. Counts are pupils at the semester's as-of date (leavers: pupils who
-- left without completing during the semester); the lesson sums are the rates' parts. These
-- are not for publication as they are: publication suppresses small cells first.
WITH pupils AS (
    SELECT r.semester_id, r.reporting_school_id AS school_id, r.grade_band, r.pupil_key,
        r.risk_level, m.expected_lessons, m.missed_lessons, m.unjustified_lessons,
        m.repeating
    FROM indicators.pupil_risk AS r
    JOIN indicators.pupil_measures AS m USING (semester_id, as_of, kind, pupil_key)
    WHERE r.kind = 'semester'
),
fired AS (
    SELECT semester_id, pupil_key,
        bool_or(rule_id = 'MK89_UNJUSTIFIED') AS mk89,
        bool_or(rule_id = 'CHRONIC_ABSENCE') AS chronic,
        bool_or(rule_id = 'INSUFFICIENT_GRADES') AS insufficient,
        bool_or(rule_id = 'PROMOTION_AT_RISK') AS promotion
    FROM indicators.pupil_indicators
    WHERE kind = 'semester' AND fired
    GROUP BY ALL
),
supported AS (
    SELECT DISTINCT p.semester_id, p.pupil_key
    FROM pupils AS p
    JOIN reference.semesters AS s USING (semester_id)
    JOIN publication.semesters AS due USING (semester_id)
    JOIN core.support_spells AS sp
        ON sp.pupil_key = p.pupil_key AND sp.start_date <= due.as_of
        AND coalesce(sp.end_date, due.as_of) >= s.start_date
),
leavers AS (
    SELECT s.semester_id, e.reporting_school_id AS school_id, b.grade_band,
        count(DISTINCT e.pupil_key) AS left_without_completion
    FROM core.enrolment_spells AS e
    JOIN reference.semesters AS s ON e.left_on BETWEEN s.start_date AND s.last_day
    JOIN reference.grade_bands AS b ON e.grade BETWEEN b.grade_min AND b.grade_max
    WHERE list_contains(
        (SELECT texts FROM reference.parameters WHERE name = 'backtest.dropout_leave_reasons'),
        e.leave_reason
    )
    GROUP BY CUBE (e.reporting_school_id, b.grade_band), s.semester_id
),
cells AS (
    SELECT
        p.semester_id,
        coalesce(p.school_id, 'ALL') AS school_id,
        coalesce(p.grade_band, 'all') AS grade_band,
        count(*) AS pupils,
        count(*) FILTER (WHERE p.risk_level = 'none') AS risk_none,
        count(*) FILTER (WHERE p.risk_level = 'low') AS risk_low,
        count(*) FILTER (WHERE p.risk_level = 'medium') AS risk_medium,
        count(*) FILTER (WHERE p.risk_level = 'high') AS risk_high,
        count(*) FILTER (WHERE f.mk89) AS mk89_crossings,
        count(*) FILTER (WHERE f.chronic) AS chronic_absence,
        count(*) FILTER (WHERE f.insufficient) AS insufficient_grade,
        count(*) FILTER (WHERE f.promotion) AS promotion_at_risk,
        count(*) FILTER (WHERE p.repeating) AS repeaters,
        count(*) FILTER (WHERE p.risk_level IN ('medium', 'high') AND s.pupil_key IS NOT NULL)
            AS at_risk_supported,
        round(sum(p.expected_lessons), 1) AS expected_lessons,
        sum(p.missed_lessons) AS missed_lessons,
        sum(p.unjustified_lessons) AS unjustified_lessons
    FROM pupils AS p
    LEFT JOIN fired AS f USING (semester_id, pupil_key)
    LEFT JOIN supported AS s USING (semester_id, pupil_key)
    GROUP BY CUBE (p.school_id, p.grade_band), p.semester_id
),
grid AS (
    SELECT s.semester_id, s.status, unit.school_id, unit.school_name, band.grade_band
    FROM publication.semesters AS s
    CROSS JOIN publication.reporting_units AS unit
    CROSS JOIN (
        SELECT grade_band FROM reference.grade_bands UNION ALL SELECT 'all' AS grade_band
    ) AS band
)
SELECT
    g.semester_id, g.status, g.school_id, g.school_name, g.grade_band,
    CASE WHEN g.status <> 'not yet due' THEN coalesce(c.pupils, 0) END AS pupils,
    CASE WHEN g.status <> 'not yet due' THEN coalesce(c.risk_none, 0) END AS risk_none,
    CASE WHEN g.status <> 'not yet due' THEN coalesce(c.risk_low, 0) END AS risk_low,
    CASE WHEN g.status <> 'not yet due' THEN coalesce(c.risk_medium, 0) END AS risk_medium,
    CASE WHEN g.status <> 'not yet due' THEN coalesce(c.risk_high, 0) END AS risk_high,
    CASE WHEN g.status <> 'not yet due' THEN coalesce(c.mk89_crossings, 0) END
        AS mk89_crossings,
    CASE WHEN g.status <> 'not yet due' THEN coalesce(c.chronic_absence, 0) END
        AS chronic_absence,
    CASE WHEN g.status <> 'not yet due' THEN coalesce(c.insufficient_grade, 0) END
        AS insufficient_grade,
    CASE WHEN g.status <> 'not yet due' THEN coalesce(c.promotion_at_risk, 0) END
        AS promotion_at_risk,
    CASE WHEN g.status <> 'not yet due' THEN coalesce(c.repeaters, 0) END AS repeaters,
    CASE WHEN g.status <> 'not yet due' THEN coalesce(l.left_without_completion, 0) END
        AS left_without_completion,
    CASE WHEN g.status <> 'not yet due' THEN coalesce(c.at_risk_supported, 0) END
        AS at_risk_supported,
    c.expected_lessons, c.missed_lessons, c.unjustified_lessons
FROM grid AS g
LEFT JOIN cells AS c USING (semester_id, school_id, grade_band)
LEFT JOIN leavers AS l
    ON l.semester_id = g.semester_id AND coalesce(l.school_id, 'ALL') = g.school_id
    AND coalesce(l.grade_band, 'all') = g.grade_band
