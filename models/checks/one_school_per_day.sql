-- No pupil is enrolled at two schools on one day: pairs of spells of a pupil that overlap.
-- asset: core.enrolment_spells
SELECT a.pupil_key, a.school_id, a.start_date, a.end_date,
    b.school_id AS other_school_id, b.start_date AS other_start_date,
    b.end_date AS other_end_date
FROM core.enrolment_spells AS a
JOIN core.enrolment_spells AS b
    ON a.pupil_key = b.pupil_key AND a.spell_id < b.spell_id
    AND a.start_date <= b.end_date AND b.start_date <= a.end_date
