-- Each enrolment spell has one row per spell id (pupil, school, school year).
-- asset: core.enrolment_spells
SELECT spell_id, count(*) AS copies
FROM core.enrolment_spells
GROUP BY ALL
HAVING count(*) > 1
