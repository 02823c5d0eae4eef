-- Grades, normalised: the 10-point mark (1-10), the level (S, T, A, P) for grades 1-3, the
-- percent, and nv (no assessment) and atb (exempt) as flags; the grade type, whether it is a
-- term result (semester or year grade, or a supplementary exam, which promotion uses), and
-- the semester it reports to. A grade belongs to the pupil's spell at the school that year.
-- `received_on` is the day (Riga time) the delivery the row comes from was first received.
-- @incremental
SELECT
    g.school_id, g.delivery_sha, g.source_row, g.pupil_key, sp.spell_id, g.class_label, g.grade,
    g.subject, g.date, c.semester_id, c.school_year, g.grade_type,
    g.grade_type IN ('semestra vērtējums', 'gada vērtējums', 'pēcpārbaudījums')
        AS is_term_result,
    g.value_kind,
    CASE WHEN g.value_kind = 'mark' THEN g.mark_value END AS mark,
    CASE WHEN g.value_kind = 'level' THEN g.value END AS level,
    CASE WHEN g.value_kind = 'percent' THEN g.percent END AS percent,
    g.value_kind = 'nv' AS is_nv,
    g.value_kind = 'atb' AS is_atb,
    received.received_on
FROM staging.grades AS g
JOIN core.calendar AS c ON c.day = g.date AND c.grade = g.grade
JOIN core.deliveries AS received
    ON received.school_id = g.school_id AND received.sha256 = g.delivery_sha
LEFT JOIN core.enrolment_spells AS sp
    ON sp.pupil_key = g.pupil_key AND sp.school_id = g.school_id
    AND sp.school_year = c.school_year
WHERE c.semester_id >= getvariable('rebuild_from')
