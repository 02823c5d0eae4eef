-- Each staged grade row appears once.
-- asset: core.grades
SELECT school_id, delivery_sha, source_row, count(*) AS copies
FROM core.grades
GROUP BY ALL
HAVING count(*) > 1
