-- Enrolment spells: one per pupil, school and school year, merged from every register
-- snapshot that lists the pupil there. Class, grade and flags come from the latest snapshot;
-- a pupil is repeating when a register says so or the grade equals last year's. The spell runs
-- from admission (or the first day of the year) to the day before leaving (or the year's last
-- day for the grade), and ends at the latest the day before the pupil's next spell begins.
-- A spell that follows one at another Ogre school within the year, or after leaving with
-- "pāriet uz citu izglītības iestādi", is a school change and is linked to it; moving to the
-- successor of a merged school is not a change.
WITH listed AS (
    SELECT p.*, c.school_year
    FROM staging.pupils AS p
    JOIN core.calendar AS c ON c.day = p.period_start AND c.grade = p.grade
),
year_bounds AS (
    SELECT school_year, grade, min(day) AS first_day, max(day) AS last_day
    FROM core.calendar
    WHERE in_semester
    GROUP BY school_year, grade
),
merged AS (
    SELECT
        pupil_key, school_id, school_year,
        arg_max(class_label, (period_end, source_row)) AS class_label,
        arg_max(grade, (period_end, source_row)) AS grade,
        coalesce(bool_or(special_needs_programme), false) AS special_needs_programme,
        coalesce(bool_or(repeating), false) AS repeating_listed,
        max(admitted_on) AS admitted_on,
        max(left_on) AS left_on,
        arg_max(leave_reason, left_on) FILTER (WHERE left_on IS NOT NULL) AS leave_reason,
        min(period_start) AS first_listed_on,
        max(period_end) AS last_listed_on
    FROM listed
    GROUP BY pupil_key, school_id, school_year
),
bounded AS (
    SELECT
        m.* EXCLUDE (left_on, leave_reason),
        CASE WHEN m.left_on >= m.admitted_on THEN m.left_on END AS left_on,
        CASE WHEN m.left_on >= m.admitted_on THEN m.leave_reason END AS leave_reason,
        greatest(m.admitted_on, b.first_day) AS start_date,
        CASE WHEN m.left_on >= m.admitted_on THEN m.left_on - 1 ELSE b.last_day END AS end_date
    FROM merged AS m
    JOIN year_bounds AS b USING (school_year, grade)
),
sequenced AS (
    SELECT
        b.*,
        s.reporting_school_id,
        md5(concat_ws('|', b.pupil_key, b.school_id, b.school_year))[:16] AS spell_id,
        lag(b.school_id) OVER pupil_spells AS previous_school_id,
        lag(b.school_year) OVER pupil_spells AS previous_school_year,
        lag(b.grade) OVER pupil_spells AS previous_grade,
        lag(b.leave_reason) OVER pupil_spells AS previous_leave_reason,
        lead(b.start_date) OVER pupil_spells AS next_start_date,
        lag(md5(concat_ws('|', b.pupil_key, b.school_id, b.school_year))[:16])
            OVER pupil_spells AS previous_spell_id
    FROM bounded AS b
    JOIN core.schools AS s USING (school_id)
    WINDOW pupil_spells AS (PARTITION BY b.pupil_key ORDER BY b.start_date, b.school_id)
)
SELECT
    q.spell_id, q.pupil_key, q.school_id, q.reporting_school_id, q.school_year, q.class_label,
    q.grade, q.special_needs_programme,
    q.repeating_listed
        OR coalesce(q.previous_school_year < q.school_year AND q.previous_grade = q.grade, false)
        AS repeating,
    q.start_date, least(q.end_date, q.next_start_date - 1) AS end_date, q.admitted_on,
    q.left_on, q.leave_reason, q.first_listed_on, q.last_listed_on, q.previous_spell_id,
    coalesce(
        q.previous_school_id <> q.school_id
        AND previous.successor_id IS DISTINCT FROM q.school_id
        AND (q.previous_school_year = q.school_year
            OR q.previous_leave_reason = 'pāriet uz citu izglītības iestādi'),
        false
    ) AS is_school_change,
    CASE WHEN is_school_change THEN q.previous_school_id END AS transferred_from_school_id
FROM sequenced AS q
LEFT JOIN core.schools AS previous ON previous.school_id = q.previous_school_id
