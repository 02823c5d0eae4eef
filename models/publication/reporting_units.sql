-- The units publication reports on: every school that reports in its own name (the three
-- merged in 2026 report under their successor) and the municipality as `ALL`.
SELECT school_id, name AS school_name, 'school' AS level
FROM core.schools
WHERE NOT merged
UNION ALL
SELECT 'ALL' AS school_id, 'Ogres novads' AS school_name, 'municipality' AS level
