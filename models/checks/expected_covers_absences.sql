-- Expected lessons are at least the recorded absences: per spell and semester, the counted
-- missed lessons never exceed the lessons the pupil was expected at.
-- asset: core.expected_lessons
SELECT e.spell_id, e.semester_id, e.expected_lessons, count(*) AS missed_lessons
FROM core.expected_lessons AS e
JOIN core.lesson_absences AS a USING (spell_id, semester_id)
WHERE a.missed
GROUP BY ALL
HAVING count(*) > e.expected_lessons
