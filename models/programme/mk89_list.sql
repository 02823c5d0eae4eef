-- The Cabinet Regulation No. 89 list: per school and semester, the pupils (pseudonymous) with
-- more unjustified lessons than the threshold, how many, and the day it was crossed. The
-- school is the one the pupil attends at the semester's as-of date; the series follows the
-- merger through `reporting_school_id`. A semester's rows follow from its own pupil measures
-- only, so the list is rebuilt from the same semester as they are.
-- @incremental
SELECT
    i.semester_id, i.as_of, i.school_id, i.reporting_school_id, i.pupil_key, i.class_label,
    i.grade, i.value::INTEGER AS unjustified_lessons, i.threshold, i.crossed_on, i.evidence,
    i.rule_version
FROM indicators.pupil_indicators AS i
WHERE i.kind = 'semester' AND i.rule_id = 'MK89_UNJUSTIFIED' AND i.fired
    AND i.semester_id >= getvariable('rebuild_from')
