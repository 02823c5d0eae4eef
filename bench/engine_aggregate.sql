-- The engine's own limit: one hand-written DuckDB query over the staging Parquet that
-- aggregates the same absences and grades the indicators read, per pupil and semester:
-- lessons missed, unjustified lessons, the average 10-point mark, insufficient term results
-- and S levels. `$staging` is replaced by the staging folder.
WITH semesters AS (
    SELECT * FROM (VALUES
        ('2025/26-S1', DATE '2025-09-01', DATE '2026-01-04'),
        ('2025/26-S2', DATE '2026-01-05', DATE '2026-08-31'),
        ('2026/27-S1', DATE '2026-09-01', DATE '2027-01-03'),
        ('2026/27-S2', DATE '2027-01-04', DATE '2027-08-31')
    ) AS s(semester_id, first_day, last_day)
),
absences AS (
    SELECT a.pupil_key, s.semester_id,
        count(*) FILTER (WHERE a.reason <> 'late') AS missed,
        count(*) FILTER (WHERE a.reason IN ('unjustified', 'unjustified_late_note'))
            AS unjustified
    FROM read_parquet('$staging/absences/*/data*.parquet') AS a
    JOIN semesters AS s ON a.date BETWEEN s.first_day AND s.last_day
    GROUP BY ALL
),
grades AS (
    SELECT g.pupil_key, s.semester_id,
        avg(g.mark_value) FILTER (WHERE g.grade_type NOT IN
            ('semestra vērtējums', 'gada vērtējums', 'pēcpārbaudījums')) AS average_mark,
        count(*) FILTER (WHERE g.grade_type IN ('semestra vērtējums', 'gada vērtējums')
            AND (g.value_kind = 'nv' OR g.mark_value < 4)) AS insufficient,
        count(*) FILTER (WHERE g.value = 'S') AS s_levels
    FROM read_parquet('$staging/grades/*/data*.parquet') AS g
    JOIN semesters AS s ON g.date BETWEEN s.first_day AND s.last_day
    GROUP BY ALL
)
SELECT count(*) AS pupil_semesters, sum(missed) AS missed, sum(unjustified) AS unjustified,
    avg(average_mark) AS average_mark, sum(insufficient) AS insufficient
FROM absences FULL JOIN grades USING (pupil_key, semester_id)
