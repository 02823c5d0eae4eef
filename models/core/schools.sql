-- Schools with their validity dates. `reporting_school_id` is the school whose series a
-- school's history rolls up to: its successor for the schools merged on 01.07.2026 into
-- Madlienas reģiona vidusskola, itself otherwise.
SELECT
    school_id, name, type, grade_min, grade_max, valid_from, valid_to, successor_id,
    coalesce(successor_id, school_id) AS reporting_school_id,
    successor_id IS NOT NULL AS merged
FROM reference.schools
