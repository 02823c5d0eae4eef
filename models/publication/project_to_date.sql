-- The project to date at the end of each semester, against its eligible period (rules.toml:
-- project): per activity, the unique pupils supported since the start, the hours delivered,
-- the group events and their participants, and the share of the project period elapsed.
-- Semesters not yet begun have no figures; the one in progress runs to the data cut-off.
WITH settings AS (
    SELECT
        (SELECT day FROM reference.parameters WHERE name = 'project.eligible_from') AS first_day,
        (SELECT day FROM reference.parameters WHERE name = 'project.eligible_to') AS last_day
),
ends AS (
    SELECT semester_id, status, as_of FROM publication.semesters
),
activity AS (
    SELECT DISTINCT activity, unit FROM reference.activities
),
pupils AS (
    SELECT e.semester_id, sp.activity, count(DISTINCT sp.pupil_key) AS pupils_supported
    FROM ends AS e
    JOIN core.support_spells AS sp ON sp.start_date <= e.as_of
    GROUP BY ALL
),
hours AS (
    SELECT e.semester_id, m.activity, sum(m.hours) AS hours
    FROM ends AS e
    JOIN programme.project_monitoring AS m ON m.semester_id <= e.semester_id
    WHERE e.as_of IS NOT NULL
    GROUP BY ALL
),
groups AS (
    SELECT e.semester_id, g.activity, count(*) AS events, sum(g.pupils) AS pupil_participants,
        sum(g.parents) AS parent_participants, sum(g.teachers) AS teacher_participants
    FROM ends AS e
    JOIN core.group_activities AS g ON g.date <= e.as_of
    GROUP BY ALL
)
SELECT
    e.semester_id, e.status, a.activity, a.unit, s.first_day AS project_start,
    s.last_day AS project_end, e.as_of,
    round((e.as_of - s.first_day) / (s.last_day - s.first_day), 3) AS period_elapsed,
    CASE WHEN e.as_of IS NOT NULL AND a.unit = 'pupil' THEN coalesce(p.pupils_supported, 0) END
        AS pupils_supported,
    CASE WHEN e.as_of IS NOT NULL AND a.unit = 'pupil' THEN round(coalesce(h.hours, 0), 1) END
        AS hours,
    CASE WHEN e.as_of IS NOT NULL AND a.unit = 'group' THEN coalesce(g.events, 0) END AS events,
    CASE WHEN e.as_of IS NOT NULL AND a.unit = 'group' THEN coalesce(g.pupil_participants, 0)
    END AS pupil_participants,
    CASE WHEN e.as_of IS NOT NULL AND a.unit = 'group' THEN coalesce(g.parent_participants, 0)
    END AS parent_participants,
    CASE WHEN e.as_of IS NOT NULL AND a.unit = 'group' THEN coalesce(g.teacher_participants, 0)
    END AS teacher_participants
FROM ends AS e
CROSS JOIN settings AS s
CROSS JOIN activity AS a
LEFT JOIN pupils AS p USING (semester_id, activity)
LEFT JOIN hours AS h USING (semester_id, activity)
LEFT JOIN groups AS g USING (semester_id, activity)
