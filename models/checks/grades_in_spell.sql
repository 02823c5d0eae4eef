-- Every grade belongs to an enrolment spell: listed here are grades of a pupil no register lists
-- at that school in that school year. They are kept but no indicator reads them.
-- asset: core.grades
-- severity: warn
SELECT school_id, pupil_key, school_year, count(*) AS grades
FROM core.grades
WHERE spell_id IS NULL
GROUP BY ALL
