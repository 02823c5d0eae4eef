-- Grades as staged: grade type, the value as delivered and parsed (mark, level, percent, nv, atb).
SELECT school_id, delivery_sha, source_row, pupil_key, class_label, grade, subject, date,
    grade_type, value, value_kind, mark_value, percent
FROM staged('grades')
