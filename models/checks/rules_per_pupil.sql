-- The indicator count per pupil matches the rule set: each pupil at each as-of date has exactly
-- one row for every rule in models/rules.toml.
-- asset: indicators.pupil_indicators
SELECT pupil_key, semester_id, as_of, kind, count(DISTINCT rule_id) AS rules,
    (SELECT count(*) FROM reference.rules) AS expected_rules
FROM indicators.pupil_indicators
GROUP BY ALL
HAVING count(*) <> expected_rules OR count(DISTINCT rule_id) <> expected_rules
