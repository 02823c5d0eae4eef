-- Project support spells per pupil: activity, school, start and end (open while ongoing),
-- hours delivered so far, provider and individual support plan, with the pupil's grade and
-- repeating flag from the spell at the start, and whether the pupil was in the activity's
-- target group then (data/reference/activities.csv, checked against every school's register).
WITH spells AS (
    SELECT
        s.*,
        md5(concat_ws('|', s.pupil_key, s.activity, s.school_id, s.start_date))[:16]
            AS support_id,
        e.grade, e.repeating,
        p.birth_year, p.birth_month,
        c.semester_id AS start_semester_id
    FROM staging.support AS s
    LEFT JOIN core.enrolment_spells AS e
        ON e.pupil_key = s.pupil_key AND s.start_date BETWEEN e.start_date AND e.end_date
    LEFT JOIN core.pupils AS p ON p.pupil_key = s.pupil_key
    LEFT JOIN core.calendar AS c ON c.day = s.start_date AND c.grade = 5
)
SELECT
    s.support_id, s.pupil_key, s.school_id, s.activity, s.start_date, s.end_date, s.hours,
    s.provider, s.iap, s.grade, s.repeating, s.start_semester_id,
    EXISTS (
        SELECT 1
        FROM reference.activities AS a
        WHERE a.activity = s.activity
            AND s.grade BETWEEN a.grade_min AND a.grade_max
            AND s.start_semester_id >= a.from_semester
            AND (NOT a.repeaters_only OR s.repeating)
            AND (a.min_age IS NULL
                OR (year(s.start_date) * 12 + month(s.start_date)
                    - s.birth_year * 12 - s.birth_month) >= a.min_age * 12)
    ) AS in_target_group
FROM spells AS s
