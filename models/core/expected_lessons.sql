-- Expected lessons per enrolment spell and semester: the weekly load of the pupil's class from
-- the school's timetable for that school year, or else the reference load for the grade,
-- spread over five school days, times the school days of the grade inside both the spell and
-- the semester. Indicators count the same way up to their as-of date.
-- @incremental
WITH timetable AS (
    SELECT t.school_id, c.school_year, t.class_label,
        arg_max(t.lessons_per_week, (l.period_end, t.source_row)) AS lessons_per_week
    FROM staging.timetable_load AS t
    JOIN staging.delivery_log AS l ON l.sha256 = t.delivery_sha
    JOIN core.calendar AS c ON c.day = l.period_start AND c.grade = t.grade
    GROUP BY ALL
),
spans AS (
    SELECT
        sp.spell_id, sp.pupil_key, sp.school_id, sp.grade, sp.class_label, s.semester_id,
        greatest(sp.start_date, s.start_date) AS from_day,
        least(sp.end_date, s.last_day) AS to_day,
        coalesce(t.lessons_per_week, r.lessons_per_week) AS lessons_per_week,
        CASE WHEN t.lessons_per_week IS NULL THEN 'reference' ELSE 'timetable' END AS load_source
    FROM core.enrolment_spells AS sp
    JOIN reference.semesters AS s
        ON s.school_year = sp.school_year AND s.start_date <= sp.end_date
        AND s.last_day >= sp.start_date
    JOIN reference.lesson_load AS r ON r.grade = sp.grade
    LEFT JOIN timetable AS t
        ON t.school_id = sp.school_id AND t.school_year = sp.school_year
        AND t.class_label = sp.class_label
    WHERE s.semester_id >= getvariable('rebuild_from')
)
SELECT
    sp.spell_id, sp.pupil_key, sp.school_id, sp.semester_id, sp.grade, sp.from_day, sp.to_day,
    sp.lessons_per_week, sp.load_source,
    last.school_days_so_far - first.school_days_so_far + first.is_school_day::INTEGER
        AS school_days,
    school_days * sp.lessons_per_week / 5.0 AS expected_lessons
FROM spans AS sp
JOIN core.calendar AS first ON first.grade = sp.grade AND first.day = sp.from_day
JOIN core.calendar AS last ON last.grade = sp.grade AND last.day = sp.to_day
