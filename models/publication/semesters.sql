-- Every reporting period of the project, 2025/26 S1 to 2028/29 S2, with its status at the data
-- cut-off: `final` once the semester has ended, `in progress` while it runs (figures to the
-- cut-off), `not yet due` before it begins; and whether its dates are projected.
WITH cutoff AS (
    SELECT max(as_of) AS cutoff FROM indicators.as_of_dates
)
SELECT
    s.semester_id, s.school_year, s.number, s.start_date, s.last_day, s.projected,
    CASE
        WHEN s.last_day <= c.cutoff THEN 'final'
        WHEN s.start_date <= c.cutoff THEN 'in progress'
        ELSE 'not yet due'
    END AS status,
    CASE WHEN s.start_date <= c.cutoff THEN least(s.last_day, c.cutoff) END AS as_of
FROM reference.semesters AS s, cutoff AS c
