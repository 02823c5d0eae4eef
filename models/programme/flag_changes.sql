-- What changed since the previous warehouse run, per school and rule: flags that are new,
-- flags that cleared (their evidence expired or changed), and of the new ones the pupils who
-- newly crossed the Cabinet Regulation No. 89 threshold. Empty on the first run.
WITH now AS (
    SELECT pupil_key, school_id, rule_id, crossed_on FROM indicators.current_flags
),
before AS (
    SELECT pupil_key, school_id, rule_id, crossed_on
    FROM meta.indicators_current_flags_previous
),
new_flags AS (
    SELECT n.* FROM now AS n
    WHERE NOT EXISTS (
        SELECT 1 FROM before AS b WHERE b.pupil_key = n.pupil_key AND b.rule_id = n.rule_id
    )
),
cleared AS (
    SELECT b.* FROM before AS b
    WHERE NOT EXISTS (
        SELECT 1 FROM now AS n WHERE n.pupil_key = b.pupil_key AND n.rule_id = b.rule_id
    )
)
SELECT school_id, rule_id,
    count(*) FILTER (WHERE change = 'new') AS new_flags,
    count(*) FILTER (WHERE change = 'cleared') AS cleared_flags,
    count(*) FILTER (WHERE change = 'new' AND rule_id = 'MK89_UNJUSTIFIED') AS new_mk89_crossings
FROM (
    SELECT school_id, rule_id, 'new' AS change FROM new_flags
    UNION ALL
    SELECT school_id, rule_id, 'cleared' AS change FROM cleared
)
GROUP BY ALL
