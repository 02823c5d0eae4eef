-- Each staged absence row appears once.
-- asset: core.lesson_absences
SELECT school_id, delivery_sha, source_row, count(*) AS copies
FROM core.lesson_absences
GROUP BY ALL
HAVING count(*) > 1
