-- Pupils, pseudonymous: the key, sex, birth year and month (from the latest register row that
-- has them) and the first and last day a register lists them. No name, code or birth date.
SELECT
    pupil_key,
    arg_max(sex, period_end) FILTER (WHERE sex IS NOT NULL) AS sex,
    arg_max(birth_year, period_end) FILTER (WHERE birth_year IS NOT NULL) AS birth_year,
    arg_max(birth_month, period_end) FILTER (WHERE birth_month IS NOT NULL) AS birth_month,
    min(period_start) AS first_listed_on,
    max(period_end) AS last_listed_on
FROM staging.pupils
GROUP BY pupil_key
