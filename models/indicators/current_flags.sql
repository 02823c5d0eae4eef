-- The flags in force at the data cut-off (the latest as-of date): one row per pupil and rule
-- that fired, with its evidence and, for Cabinet Regulation No. 89, the day the threshold was
-- crossed. The previous run's rows are kept for the change report.
-- @keeps-previous
SELECT semester_id, as_of, pupil_key, school_id, reporting_school_id, grade, rule_id,
    rule_version, domain, severity, evidence, crossed_on
FROM indicators.pupil_indicators
WHERE fired AND kind = 'semester'
    AND as_of = (SELECT max(as_of) FROM indicators.as_of_dates WHERE kind = 'semester')
