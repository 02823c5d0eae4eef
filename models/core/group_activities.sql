-- Group activities of the project (INIC, PART, PAS): school, activity, title, date, the
-- semester it reports to, and how many pupils, parents and teachers took part.
SELECT
    md5(concat_ws('|', g.delivery_sha, g.source_row))[:16] AS group_activity_id,
    g.school_id, g.activity, g.title, g.date, c.semester_id, g.pupils, g.parents, g.teachers,
    g.pupils + g.parents + g.teachers AS participants
FROM staging.group_activities AS g
LEFT JOIN core.calendar AS c ON c.day = g.date AND c.grade = 5
