-- Project support spells per pupil as delivered by the municipality.
SELECT delivery_sha, source_row, pupil_key, school_id, activity, "start" AS start_date,
    "end" AS end_date, hours, provider, iap
FROM staged('support')
