-- One row per pupil, as-of date and rule.
-- asset: indicators.pupil_indicators
SELECT pupil_key, semester_id, as_of, kind, rule_id, count(*) AS copies
FROM indicators.pupil_indicators
GROUP BY ALL
HAVING count(*) > 1
