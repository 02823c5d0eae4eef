-- Support coverage lies in [0, 1] and counts add up: supported at-risk pupils never exceed
-- at-risk pupils, nor supported pupils all pupils.
-- asset: programme.support_coverage
SELECT *
FROM programme.support_coverage
WHERE coverage NOT BETWEEN 0 AND 1
    OR pupils_at_risk_supported > pupils_at_risk
    OR pupils_supported > pupils
