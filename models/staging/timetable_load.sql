-- Weekly lessons per class from the schools that send their timetable load.
SELECT school_id, delivery_sha, source_row, class_label, grade, lessons_per_week
FROM staged('timetable_load')
