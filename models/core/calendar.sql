-- The school calendar, one row per day and grade: school year, the semester the day reports to
-- (the latest begun, so breaks and summer belong to the semester before), whether the day is
-- inside that semester for the grade, a school day, a holiday or a named break, whether the
-- dates are projected, and the running count of school days used for date arithmetic.
SELECT
    day, grade, school_year, semester_id, in_semester, is_school_day, is_holiday, break_name,
    projected,
    sum(is_school_day::INTEGER) OVER (PARTITION BY grade ORDER BY day) AS school_days_so_far
FROM reference.calendar
