-- Delivery volume: a school's absence and grade rows per enrolled pupil and school day in a
-- school week, against the median of its own previous school weeks (`[volume]` in
-- rules.toml). Listed: the weeks below that share of the median while other schools delivered
-- as usual, which is how an export that lost rows shows. Weeks without school days, and days
-- after the last delivered date, do not count.
-- asset: core.lesson_absences
-- severity: warn
WITH settings AS (
    SELECT
        max(number) FILTER (WHERE name = 'volume.trailing_weeks')::INTEGER AS trailing_weeks,
        max(number) FILTER (WHERE name = 'volume.min_share_of_median') AS min_share
    FROM reference.parameters
),
delivered AS (
    SELECT school_id, 'absences' AS kind, date FROM staging.absences
    UNION ALL
    SELECT school_id, 'grades' AS kind, date FROM staging.grades
),
weeks AS (
    SELECT
        date_trunc('week', day)::DATE AS week,
        count(*) FILTER (WHERE is_school_day) AS school_days
    FROM core.calendar
    WHERE grade = 5 AND day <= (SELECT max(date) FROM delivered)
    GROUP BY ALL
    HAVING count(*) FILTER (WHERE is_school_day) > 0
),
numbered AS (
    SELECT *, row_number() OVER (ORDER BY week) AS week_number FROM weeks
),
enrolled AS (
    SELECT e.school_id, w.week, w.week_number, w.school_days, count(*) AS pupils
    FROM core.enrolment_spells AS e
    JOIN numbered AS w ON e.start_date <= w.week + 6 AND e.end_date >= w.week
    GROUP BY ALL
),
counted AS (
    SELECT school_id, kind, date_trunc('week', date)::DATE AS week, count(*) AS delivered_rows
    FROM delivered
    GROUP BY ALL
),
volume AS (
    SELECT
        e.school_id, k.kind, e.week, e.week_number, e.pupils, e.school_days,
        coalesce(c.delivered_rows, 0) AS delivered_rows,
        coalesce(c.delivered_rows, 0) / (e.pupils * e.school_days) AS per_pupil_day
    FROM enrolled AS e
    CROSS JOIN (VALUES ('absences'), ('grades')) AS k (kind)
    LEFT JOIN counted AS c USING (school_id, kind, week)
),
judged AS (
    SELECT
        v.school_id, v.kind, v.week, v.pupils, v.school_days, v.delivered_rows, v.per_pupil_day,
        median(p.per_pupil_day) AS usual
    FROM volume AS v
    JOIN volume AS p
        ON p.school_id = v.school_id AND p.kind = v.kind
        AND p.week_number BETWEEN v.week_number - (SELECT trailing_weeks FROM settings)
            AND v.week_number - 1
    GROUP BY ALL
),
low AS (
    SELECT *, per_pupil_day < (SELECT min_share FROM settings) * usual AS is_low
    FROM judged
    WHERE usual > 0
)
SELECT
    l.school_id, l.kind, l.week, l.pupils, l.school_days, l.delivered_rows,
    round(l.per_pupil_day, 4) AS per_pupil_day, round(l.usual, 4) AS usual_per_pupil_day
FROM low AS l
WHERE l.is_low
    AND EXISTS (
        SELECT 1 FROM low AS o
        WHERE o.kind = l.kind AND o.week = l.week AND o.school_id <> l.school_id AND NOT o.is_low
    )
ORDER BY l.week, l.school_id, l.kind
