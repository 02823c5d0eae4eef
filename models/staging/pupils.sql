-- Pupil register rows as staged: one row per pupil per delivered register snapshot (its period),
-- pseudonymous key, sex, birth year and month, class, grade, flags, admission and leaving.
SELECT
    school_id, delivery_sha, source_row, period_start, period_end, pupil_key, sex, birth_year,
    birth_month, class_label, grade, special_needs_programme, admitted AS admitted_on,
    "left" AS left_on, leave_reason, repeating
FROM staged('pupils')
