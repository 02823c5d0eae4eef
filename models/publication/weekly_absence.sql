-- Absence per week and reporting school, with the municipality (`ALL`) as margin, for the
-- dashboard's heatmap: the school days of the week (0 on a break), the pupils enrolled on one
-- of them, and the lessons expected, missed and missed for illness on those days. Weeks run
-- through the whole school year, breaks and summer included; a week belongs to the earliest
-- semester among its days. Every week to 31.08.2029 is present for
-- every school; weeks after the data cut-off have no figures.
WITH cutoff AS (
    SELECT max(as_of) AS cutoff FROM indicators.as_of_dates
),
weeks AS (
    SELECT
        date_trunc('week', c.day)::DATE AS week_start,
        min(c.semester_id) AS semester_id,
        count(DISTINCT c.day) FILTER (WHERE c.is_school_day) AS school_days
    FROM core.calendar AS c
    GROUP BY ALL
),
-- Each spell's school days per week up to the cut-off (from the week's school days of its
-- grade, not day by day), and each pupil's lessons expected per reporting school and week, so
-- that the margins count pupils over weeks rather than over school days.
grade_weeks AS (
    SELECT grade, semester_id, date_trunc('week', day)::DATE AS week_start,
        list(day ORDER BY day) FILTER (WHERE is_school_day) AS school_days
    FROM core.calendar
    GROUP BY ALL
),
spell_weeks AS (
    SELECT e.school_id, e.pupil_key, e.lessons_per_week, w.week_start,
        len(list_filter(w.school_days, lambda d: d BETWEEN e.from_day AND e.last_day))
            AS school_days
    FROM (
        SELECT *, least(to_day, (SELECT cutoff FROM cutoff)) AS last_day
        FROM core.expected_lessons
    ) AS e
    JOIN grade_weeks AS w
        ON w.grade = e.grade AND w.semester_id = e.semester_id
        AND w.week_start BETWEEN date_trunc('week', e.from_day) AND e.last_day
),
enrolled_weeks AS (
    SELECT s.reporting_school_id, w.week_start, w.pupil_key,
        sum(w.school_days * (w.lessons_per_week / 5.0)) AS expected_lessons
    FROM spell_weeks AS w
    JOIN core.schools AS s USING (school_id)
    WHERE w.school_days > 0
    GROUP BY ALL
),
expected AS (
    SELECT reporting_school_id AS school_id, week_start, count(*) AS pupils,
        round(sum(expected_lessons), 1) AS expected_lessons
    FROM enrolled_weeks
    GROUP BY ALL
    UNION ALL
    SELECT 'ALL' AS school_id, week_start, count(DISTINCT pupil_key) AS pupils,
        round(sum(expected_lessons), 1) AS expected_lessons
    FROM enrolled_weeks
    GROUP BY ALL
),
missed AS (
    SELECT
        coalesce(s.reporting_school_id, 'ALL') AS school_id,
        date_trunc('week', a.date)::DATE AS week_start,
        count(*) AS missed_lessons,
        count(*) FILTER (WHERE a.reason = 'illness') AS illness_lessons
    FROM core.lesson_absences AS a
    JOIN core.schools AS s USING (school_id)
    WHERE a.counted AND a.missed AND a.date <= (SELECT cutoff FROM cutoff)
    GROUP BY GROUPING SETS ((s.reporting_school_id, date_trunc('week', a.date)),
        (date_trunc('week', a.date)))
)
SELECT
    w.semester_id, p.status, unit.school_id, unit.school_name, w.week_start, w.school_days,
    CASE WHEN w.week_start <= c.cutoff THEN coalesce(e.pupils, 0) END AS pupils,
    CASE WHEN w.week_start <= c.cutoff THEN coalesce(e.expected_lessons, 0) END
        AS expected_lessons,
    CASE WHEN w.week_start <= c.cutoff THEN coalesce(m.missed_lessons, 0) END AS missed_lessons,
    CASE WHEN w.week_start <= c.cutoff THEN coalesce(m.illness_lessons, 0) END
        AS illness_lessons
FROM weeks AS w
CROSS JOIN cutoff AS c
JOIN publication.semesters AS p USING (semester_id)
CROSS JOIN publication.reporting_units AS unit
LEFT JOIN expected AS e USING (school_id, week_start)
LEFT JOIN missed AS m USING (school_id, week_start)
