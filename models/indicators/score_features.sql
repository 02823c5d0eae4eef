-- The risk score's inputs per pupil at each as-of date (models/score.toml weighs them), all
-- from `pupil_measures`, so a `month` point holds only what was known that day. Shares are of
-- the lessons expected so far; a measure without its evidence (no marks yet) is 0. Support
-- records, the social-service status, the special-needs programme and sex are never inputs
-- (docs/indicators.md, "The score").
-- @incremental
SELECT
    m.semester_id, m.as_of, m.kind, m.pupil_key,
    coalesce(unjustified_lessons / nullif(expected_lessons, 0), 0)::DOUBLE AS unjustified_share,
    coalesce(non_illness_share, 0)::DOUBLE AS non_illness_share,
    coalesce(missed_share, 0)::DOUBLE AS missed_share,
    coalesce(late_lessons / nullif(expected_lessons, 0), 0)::DOUBLE AS late_share,
    (mk89_crossed_on IS NOT NULL)::DOUBLE AS mk89_crossed,
    failing_subjects::DOUBLE AS failing_subjects,
    coalesce(greatest(7 - average_mark, 0), 0)::DOUBLE AS average_mark_below_7,
    CASE WHEN marks >= 5 AND previous_marks >= 5
        THEN greatest(previous_average_mark - average_mark, 0) ELSE 0
    END::DOUBLE AS average_mark_drop,
    insufficient_subjects::DOUBLE AS insufficient_subjects,
    coalesce(s_levels / nullif(core_levels, 0), 0)::DOUBLE AS s_level_share,
    repeating::DOUBLE AS repeating,
    least(greatest(over_age_years, 0), 3)::DOUBLE AS over_age_years,
    school_changes::DOUBLE AS school_changes,
    grade::DOUBLE AS grade,
    -- the share of a year left until the school year's end: the time an outcome has to happen
    (s.year_end - m.as_of) / 365.0 AS year_left
FROM indicators.pupil_measures AS m
JOIN reference.semesters AS s USING (semester_id)
WHERE m.semester_id >= getvariable('rebuild_from')
