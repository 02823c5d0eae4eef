-- The outcomes the indicators try to foresee, with the day each happened: leaving school
-- without completing it (the leaving reasons in rules.toml: backtest), on the day of leaving;
-- and not being promoted, on the last day of the year the pupil then repeats (the first day
-- of the repeated year when that year is not in the data).
SELECT pupil_key, school_id, 'left_without_completing' AS outcome, left_on AS occurred_on
FROM core.enrolment_spells
WHERE list_contains(
    (SELECT texts FROM reference.parameters WHERE name = 'backtest.dropout_leave_reasons'),
    leave_reason
)
UNION ALL
SELECT s.pupil_key, s.school_id, 'not_promoted' AS outcome,
    coalesce(previous.end_date, s.start_date) AS occurred_on
FROM core.enrolment_spells AS s
LEFT JOIN core.enrolment_spells AS previous ON previous.spell_id = s.previous_spell_id
WHERE s.repeating
