-- Project activities per semester and school, with the municipality (`ALL`) as margin: for
-- support of individual pupils (LAS, R9, KONS, MENT) the pupils supported and the hours
-- delivered; for group activities (INIC, PART, PAS) the events and their pupils, parents and
-- teachers. Merged schools count under their successor. Every activity and school is present for every semester to 2028/29 S2.
WITH activity AS (
    SELECT DISTINCT activity, unit FROM reference.activities
),
monitoring AS (
    SELECT m.*, s.reporting_school_id
    FROM programme.project_monitoring AS m
    JOIN core.schools AS s USING (school_id)
),
individual AS (
    SELECT semester_id, coalesce(reporting_school_id, 'ALL') AS school_id, activity,
        sum(pupils_supported) AS pupils_supported, sum(hours) AS hours
    FROM monitoring
    WHERE unit = 'pupil'
    GROUP BY GROUPING SETS ((semester_id, reporting_school_id, activity), (semester_id, activity))
),
groups AS (
    SELECT semester_id, coalesce(reporting_school_id, 'ALL') AS school_id, activity,
        sum(events) AS events, sum(pupil_participants) AS pupil_participants,
        sum(parent_participants) AS parent_participants,
        sum(teacher_participants) AS teacher_participants
    FROM monitoring
    WHERE unit = 'group'
    GROUP BY GROUPING SETS ((semester_id, reporting_school_id, activity), (semester_id, activity))
)
SELECT
    s.semester_id, s.status, unit.school_id, unit.school_name, a.activity, a.unit,
    CASE WHEN s.status <> 'not yet due' AND a.unit = 'pupil'
        THEN coalesce(i.pupils_supported, 0) END AS pupils_supported,
    CASE WHEN s.status <> 'not yet due' AND a.unit = 'pupil'
        THEN round(coalesce(i.hours, 0), 1) END AS hours,
    CASE WHEN s.status <> 'not yet due' AND a.unit = 'group'
        THEN coalesce(g.events, 0) END AS events,
    CASE WHEN s.status <> 'not yet due' AND a.unit = 'group'
        THEN coalesce(g.pupil_participants, 0) END AS pupil_participants,
    CASE WHEN s.status <> 'not yet due' AND a.unit = 'group'
        THEN coalesce(g.parent_participants, 0) END AS parent_participants,
    CASE WHEN s.status <> 'not yet due' AND a.unit = 'group'
        THEN coalesce(g.teacher_participants, 0) END AS teacher_participants
FROM publication.semesters AS s
CROSS JOIN publication.reporting_units AS unit
CROSS JOIN activity AS a
LEFT JOIN individual AS i USING (semester_id, school_id, activity)
LEFT JOIN groups AS g USING (semester_id, school_id, activity)
