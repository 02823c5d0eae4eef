-- Social-service status spells per pupil (needy or low-income family, out-of-family care,
-- followed by the social service), with the English label; open while `end_date` is empty.
SELECT s.pupil_key, s.status, r.status_en, s.start_date, s.end_date
FROM staging.social_status AS s
LEFT JOIN reference.social_statuses AS r USING (status)
