-- Social-service status spells per pupil, as delivered.
SELECT delivery_sha, source_row, pupil_key, status, "start" AS start_date, "end" AS end_date
FROM staged('social_status')
