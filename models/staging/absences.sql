-- Lesson absences as staged, with the journal mark and the reason ingest resolved from the
-- mark and the notes register.
SELECT school_id, delivery_sha, source_row, pupil_key, class_label, grade, date, lesson, subject,
    mark, reason
FROM staged('absences')
