-- Project monitoring per activity, school and semester: unique pupils supported (a spell that
-- overlaps the semester), of them with an individual support plan, hours delivered (a spell's
-- hours spread evenly over its days, an open spell running to the data cut-off), and for group
-- activities the events and participants (pupils, parents, teachers).
WITH cutoff AS (
    SELECT max(as_of) AS cutoff FROM indicators.as_of_dates
),
individual AS (
    SELECT
        s.semester_id, sp.school_id, sp.activity,
        count(DISTINCT sp.pupil_key) AS pupils_supported,
        count(DISTINCT sp.pupil_key) FILTER (WHERE sp.iap) AS pupils_with_iap,
        sum(sp.hours
            * (least(coalesce(sp.end_date, c.cutoff), s.last_day)
                - greatest(sp.start_date, s.start_date) + 1)
            / (coalesce(sp.end_date, c.cutoff) - sp.start_date + 1)) AS hours
    FROM core.support_spells AS sp
    CROSS JOIN cutoff AS c
    JOIN reference.semesters AS s
        ON sp.start_date <= s.last_day AND coalesce(sp.end_date, c.cutoff) >= s.start_date
    GROUP BY ALL
),
groups AS (
    SELECT semester_id, school_id, activity,
        count(*) AS events, sum(pupils) AS pupil_participants,
        sum(parents) AS parent_participants, sum(teachers) AS teacher_participants
    FROM core.group_activities
    GROUP BY ALL
)
SELECT
    semester_id, school_id, activity, a.unit,
    coalesce(i.pupils_supported, 0) AS pupils_supported,
    coalesce(i.pupils_with_iap, 0) AS pupils_with_iap,
    coalesce(i.hours, 0) AS hours,
    coalesce(g.events, 0) AS events,
    coalesce(g.pupil_participants, 0) AS pupil_participants,
    coalesce(g.parent_participants, 0) AS parent_participants,
    coalesce(g.teacher_participants, 0) AS teacher_participants
FROM individual AS i
FULL JOIN groups AS g USING (semester_id, school_id, activity)
LEFT JOIN (SELECT DISTINCT activity, unit FROM reference.activities) AS a USING (activity)
