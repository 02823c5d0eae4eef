-- Pupils' risk level before support and one semester after, per activity and the semester the
-- support began: before is the latest as-of date before the first support day, after is the
-- next semester's `semester` point (absent while that semester has not begun).
WITH first_support AS (
    SELECT pupil_key, activity, min(start_date) AS started_on
    FROM core.support_spells
    GROUP BY ALL
),
semester_order AS (
    SELECT semester_id, lead(semester_id) OVER (ORDER BY start_date) AS next_semester_id,
        start_date, last_day
    FROM reference.semesters
),
paired AS (
    SELECT
        f.pupil_key, f.activity, s.semester_id AS started_in,
        arg_max(before.risk_level, before.as_of) AS level_before,
        any_value(after.risk_level) AS level_after
    FROM first_support AS f
    JOIN semester_order AS s ON f.started_on BETWEEN s.start_date AND s.last_day
    LEFT JOIN indicators.pupil_risk AS before
        ON before.pupil_key = f.pupil_key AND before.as_of < f.started_on
    LEFT JOIN indicators.pupil_risk AS after
        ON after.pupil_key = f.pupil_key AND after.semester_id = s.next_semester_id
        AND after.kind = 'semester'
    GROUP BY ALL
)
SELECT activity, started_in, coalesce(level_before, 'unknown') AS level_before,
    coalesce(level_after, 'not yet') AS level_after, count(*) AS pupils
FROM paired
GROUP BY ALL
