-- Every absence belongs to an enrolment spell: listed here are absences of a pupil no register
-- lists at that school on that day (usually a register row that was quarantined). They are
-- kept but not counted in any indicator.
-- asset: core.lesson_absences
-- severity: warn
SELECT school_id, pupil_key, date, count(*) AS lessons
FROM core.lesson_absences
WHERE spell_id IS NULL
GROUP BY ALL
