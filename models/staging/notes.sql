-- Justification notes as staged (dialect E schools): the days covered, why, and when handed in.
SELECT school_id, delivery_sha, source_row, pupil_key, "from" AS from_date, "to" AS to_date,
    reason, submitted
FROM staged('notes')
