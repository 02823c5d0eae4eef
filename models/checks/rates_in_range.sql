-- Rates lie in [0, 1]: attendance rate, share of lessons missed, share of S levels.
-- asset: indicators.pupil_measures
SELECT pupil_key, semester_id, as_of, kind, attendance_rate, missed_share, s_levels, core_levels
FROM indicators.pupil_measures
WHERE attendance_rate NOT BETWEEN 0 AND 1
    OR missed_share NOT BETWEEN 0 AND 1
    OR s_levels > core_levels
