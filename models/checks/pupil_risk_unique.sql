-- One risk level per pupil and as-of date.
-- asset: indicators.pupil_risk
SELECT pupil_key, semester_id, as_of, kind, count(*) AS copies
FROM indicators.pupil_risk
GROUP BY ALL
HAVING count(*) > 1
