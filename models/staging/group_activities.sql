-- Group activities (INIC, PART, PAS) with participant counts, as delivered.
SELECT delivery_sha, source_row, school_id, activity, title, date, pupils, parents, teachers
FROM staged('group_activities')
