-- Each pupil key appears once.
-- asset: core.pupils
SELECT pupil_key, count(*) AS copies
FROM core.pupils
GROUP BY ALL
HAVING count(*) > 1
