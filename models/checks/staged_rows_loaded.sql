-- Nothing is dropped between staging and the core: every staged absence and grade row is in
-- core.lesson_absences or core.grades.
-- asset: core.lesson_absences
SELECT 'absences' AS staged_table, school_id, delivery_sha, source_row
FROM staging.absences
ANTI JOIN core.lesson_absences USING (school_id, delivery_sha, source_row)
UNION ALL
SELECT 'grades' AS staged_table, school_id, delivery_sha, source_row
FROM staging.grades
ANTI JOIN core.grades USING (school_id, delivery_sha, source_row)
