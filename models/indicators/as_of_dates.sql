-- The dates indicators are evaluated on. Per semester begun by the data cut-off (the last day
-- any school's delivery covers): a `semester` point on its last day, or on the cut-off while it
-- runs; and a `month` point on the last school day of each month before that, which the
-- backtest and the evaluation use (`pupil_measures` holds what was known that day there).
-- `complete` says the semester has ended.
WITH cutoff AS (
    SELECT max(l.period_end) AS cutoff
    FROM staging.delivery_log AS l
    JOIN reference.schools AS s USING (school_id)
    WHERE l.status = 'loaded'
),
semester_points AS (
    SELECT s.semester_id, least(s.last_day, c.cutoff) AS as_of, 'semester' AS kind,
        s.last_day <= c.cutoff AS complete
    FROM reference.semesters AS s, cutoff AS c
    WHERE s.start_date <= c.cutoff
),
month_points AS (
    SELECT d.semester_id, max(d.day) AS as_of
    FROM core.calendar AS d, cutoff AS c
    WHERE d.grade = 5 AND d.is_school_day AND d.in_semester AND d.day < c.cutoff
    GROUP BY d.semester_id, date_trunc('month', d.day)
)
SELECT semester_id, as_of, kind, complete FROM semester_points
UNION ALL
SELECT m.semester_id, m.as_of, 'month' AS kind, true AS complete
FROM month_points AS m
JOIN semester_points AS s USING (semester_id)
WHERE m.as_of < s.as_of
