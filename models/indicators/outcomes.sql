-- The outcomes the indicators try to foresee, one row per pupil and event, with the day it
-- happened, reported separately (docs/indicators.md, "The evaluation"):
-- `left_without_completing`: leaving with one of the leaving reasons in rules.toml
--   (backtest.dropout_leave_reasons), on the day of leaving;
-- `not_reenrolled`: enrolled on a school year's last day without completing it (grades 9 and
--   12 complete with "ieguva izglītību") and in no Ogre school's register the next year (on
--   the school year's end), or leaving for another school that is not an Ogre school (on the
--   day of leaving). Counted only once the next year has run 30 days in the data;
-- `not_promoted`: repeating the grade in the next school year, on the end of the year before
--   (the school year's end, when promotion is decided after the supplementary exams, not the
--   grade's last lesson). A repeater who changes school within the year is one outcome.
-- @analysis
WITH spells AS (
    SELECT s.*, y.last_day AS year_last_day, y.next_year_start,
        lead(s.start_date) OVER (PARTITION BY s.pupil_key ORDER BY s.start_date, s.school_id)
            AS next_start_date,
        lead(s.school_year) OVER (PARTITION BY s.pupil_key ORDER BY s.start_date, s.school_id)
            AS next_school_year
    FROM core.enrolment_spells AS s
    JOIN (
        SELECT school_year, grade, max(day) AS last_day,
            (SELECT min(n.day) FROM core.calendar AS n
                WHERE n.day > max(c.day) AND n.in_semester AND n.grade = c.grade) AS next_year_start
        FROM core.calendar AS c
        WHERE in_semester
        GROUP BY school_year, grade
    ) AS y USING (school_year, grade)
),
cutoff AS (
    SELECT max(as_of) AS cutoff FROM indicators.as_of_dates
),
year_ends AS (
    SELECT DISTINCT school_year, year_end FROM reference.semesters
)
SELECT pupil_key, school_id, 'left_without_completing' AS outcome, left_on AS occurred_on
FROM spells
WHERE list_contains(
    (SELECT texts FROM reference.parameters WHERE name = 'backtest.dropout_leave_reasons'),
    leave_reason
)
UNION ALL
SELECT s.pupil_key, s.school_id, 'not_reenrolled' AS outcome,
    CASE WHEN s.left_on IS NULL THEN y.year_end ELSE s.left_on END AS occurred_on
FROM spells AS s
JOIN year_ends AS y USING (school_year)
CROSS JOIN cutoff
WHERE s.next_start_date IS NULL AND s.next_year_start + 30 <= cutoff.cutoff
    AND ((s.left_on IS NULL AND s.end_date = s.year_last_day)
        OR s.leave_reason = 'pāriet uz citu izglītības iestādi')
UNION ALL
SELECT s.pupil_key, s.school_id, 'not_promoted' AS outcome, y.year_end AS occurred_on
FROM spells AS s
JOIN core.enrolment_spells AS previous ON previous.spell_id = s.previous_spell_id
JOIN year_ends AS y ON y.school_year = previous.school_year
WHERE s.repeating AND previous.school_year < s.school_year
