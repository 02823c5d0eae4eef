-- Lesson absences with the reason resolved to illness, other justified, unjustified or late
-- (a note justifies as illness when it gives illness or a doctor's visit). An absence counts
-- when it falls on a school day of the pupil's grade inside an enrolment spell: absences dated
-- on a break, holiday or weekend are kept but not counted. `missed` excludes lateness.
-- An unjustified absence is known as unjustified from the first school day after the school's
-- note window (reference.schools) closes; one the journal marked unjustified, on its day.
-- `received_on` is the day (Riga time) the delivery the row comes from was first received;
-- for an absence a note justifies, `note_received_on` is the first day one of its notes was,
-- and `note_window_closes_on` the day it would count as unjustified without one: until the
-- note arrives, the warehouse saw an unjustified absence (`pupil_measures` at month points).
-- @incremental
WITH absences AS (
    SELECT a.*, c.semester_id, c.school_year, c.is_school_day, c.school_days_so_far
    FROM staging.absences AS a
    JOIN core.calendar AS c ON c.day = a.date AND c.grade = a.grade
    WHERE c.semester_id >= getvariable('rebuild_from')
),
note_reasons AS (
    SELECT a.school_id, a.delivery_sha, a.source_row,
        bool_or(n.reason IN ('slimība', 'ārsta apmeklējums')) AS illness,
        min(delivered.received_on) AS note_received_on
    FROM absences AS a
    JOIN staging.notes AS n
        ON n.pupil_key = a.pupil_key AND a.date BETWEEN n.from_date AND n.to_date
    JOIN core.deliveries AS delivered
        ON delivered.school_id = n.school_id AND delivered.sha256 = n.delivery_sha
    WHERE a.reason = 'justified_by_note'
    GROUP BY ALL
),
resolved AS (
    SELECT
        a.*,
        sp.spell_id,
        CASE
            WHEN a.reason = 'justified_by_note' AND nr.illness THEN 'illness'
            WHEN a.reason = 'justified_by_note' THEN 'other_justified'
            WHEN a.reason IN ('illness', 'other_justified', 'late') THEN a.reason
            ELSE 'unjustified'
        END AS resolved_reason,
        a.is_school_day AND sp.spell_id IS NOT NULL AS counted,
        nr.note_received_on
    FROM absences AS a
    LEFT JOIN note_reasons AS nr USING (school_id, delivery_sha, source_row)
    LEFT JOIN core.enrolment_spells AS sp
        ON sp.pupil_key = a.pupil_key AND sp.school_id = a.school_id
        AND a.date BETWEEN sp.start_date AND sp.end_date
)
SELECT
    r.school_id, r.delivery_sha, r.source_row, r.pupil_key, r.spell_id, r.class_label, r.grade,
    r.date, r.semester_id, r.school_year, r.lesson, r.subject, r.mark,
    r.reason AS delivered_reason, r.resolved_reason AS reason, r.counted,
    r.counted AND r.resolved_reason <> 'late' AS missed,
    r.counted AND r.resolved_reason = 'unjustified' AS unjustified,
    received.received_on,
    CASE
        WHEN NOT (r.counted AND r.resolved_reason = 'unjustified') THEN NULL
        WHEN r.mark = 'unjustified' THEN r.date
        ELSE coalesce(window_closed.day, r.date + 7 * school.note_deadline_school_days::INTEGER)
    END AS known_unjustified_on,
    r.note_received_on,
    CASE WHEN r.counted AND r.note_received_on IS NOT NULL
        THEN coalesce(window_closed.day, r.date + 7 * school.note_deadline_school_days::INTEGER)
    END AS note_window_closes_on
FROM resolved AS r
JOIN reference.schools AS school USING (school_id)
JOIN core.deliveries AS received
    ON received.school_id = r.school_id AND received.sha256 = r.delivery_sha
LEFT JOIN core.calendar AS window_closed
    ON window_closed.grade = r.grade AND window_closed.is_school_day
    AND window_closed.school_days_so_far
        = r.school_days_so_far + school.note_deadline_school_days + 1
