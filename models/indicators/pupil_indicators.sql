-- Every rule of models/rules.toml for every pupil at every as-of date: the rule's id and
-- version, its domain and severity, the threshold, the measured value, whether it fired, the
-- evidence in words when it did, and the day the evidence expires (the semester's end for
-- attendance and marks, the school year's end for term results, progression and the
-- special-needs programme, the end of a social status, the day the oldest counted school
-- change leaves the window). A rule that
-- does not apply (levels above grade 3, an average without enough marks) has no value and
-- does not fire.
-- A view: the rows are computed when read, from the incremental pupil_measures table.
-- @view
WITH thresholds AS (
    SELECT
        max(threshold) FILTER (WHERE rule_id = 'ATTENDANCE_AT_RISK') AS th_at_risk,
        max(min_count) FILTER (WHERE rule_id = 'ATTENDANCE_AT_RISK') AS th_at_risk_min_days,
        max(threshold) FILTER (WHERE rule_id = 'CHRONIC_ABSENCE') AS th_chronic,
        max(threshold) FILTER (WHERE rule_id = 'MK89_UNJUSTIFIED') AS th_mk89,
        max(threshold) FILTER (WHERE rule_id = 'INSUFFICIENT_GRADES') AS th_insufficient,
        max(threshold) FILTER (WHERE rule_id = 'FAILING_COURSES') AS th_failing,
        max(threshold) FILTER (WHERE rule_id = 'AVERAGE_DROP') AS th_average_drop,
        max(min_count) FILTER (WHERE rule_id = 'AVERAGE_DROP') AS th_average_min_marks,
        max(threshold) FILTER (WHERE rule_id = 'EARLY_LEVEL_S_SHARE') AS th_s_share,
        max(min_count) FILTER (WHERE rule_id = 'EARLY_LEVEL_S_SHARE') AS th_s_min_levels,
        max(threshold) FILTER (WHERE rule_id = 'OVER_AGE') AS th_over_age,
        max(threshold) FILTER (WHERE rule_id = 'SCHOOL_CHANGES') AS th_changes,
        max(window_days) FILTER (WHERE rule_id = 'SCHOOL_CHANGES') AS th_change_window_days
    FROM reference.rules
),
measures AS (
    SELECT
        m.*,
        replace(m.semester_id, '-', ' ') AS semester_label,
        strftime(m.as_of, '%d.%m.%Y') AS as_of_label,
        band.allowed_insufficient,
        CASE WHEN m.marks >= t.th_average_min_marks AND m.previous_marks >= t.th_average_min_marks
            THEN m.previous_average_mark - m.average_mark END AS average_drop,
        CASE WHEN m.core_levels >= t.th_s_min_levels THEN m.s_levels / m.core_levels END
            AS s_level_share,
        CASE WHEN m.school_days_enrolled >= t.th_at_risk_min_days THEN m.non_illness_share END
            AS non_illness_share_enrolled,
        year_end.last_day AS school_year_last_day,
        t.*
    FROM indicators.pupil_measures AS m
    CROSS JOIN thresholds AS t
    JOIN reference.promotion_bands AS band ON m.grade BETWEEN band.grade_min AND band.grade_max
    JOIN (SELECT DISTINCT school_year, year_end AS last_day FROM reference.semesters)
        AS year_end USING (school_year)
),
flagged AS (
    SELECT
        m.*,
        coalesce(m.non_illness_share_enrolled >= m.th_at_risk, false) AS fires_attendance_at_risk,
        coalesce(m.missed_share >= m.th_chronic, false) AS fires_chronic_absence,
        m.unjustified_lessons > m.th_mk89 AS fires_mk89_unjustified,
        m.insufficient_subjects >= m.th_insufficient AS fires_insufficient_grades,
        m.insufficient_subjects > m.allowed_insufficient AS fires_promotion_at_risk,
        m.failing_subjects >= m.th_failing AS fires_failing_courses,
        coalesce(m.average_drop >= m.th_average_drop, false) AS fires_average_drop,
        coalesce(m.s_level_share >= m.th_s_share, false) AS fires_early_level_s_share,
        m.repeating AS fires_repeating_grade,
        coalesce(m.over_age_years >= m.th_over_age, false) AS fires_over_age,
        m.school_changes >= m.th_changes AS fires_school_changes,
        len(m.social_statuses) > 0 AS fires_social_status,
        m.special_needs_programme AS fires_special_needs_programme
    FROM measures AS m
),
evaluated AS (
    SELECT
        m.semester_id, m.as_of, m.kind, m.pupil_key, m.school_id, m.reporting_school_id,
        m.class_label, m.grade, m.grade_band,
        unnest([
            {
                rule_id: 'ATTENDANCE_AT_RISK',
                value: m.non_illness_share_enrolled,
                fired: m.fires_attendance_at_risk,
                evidence: CASE WHEN m.fires_attendance_at_risk THEN format(
                    '{} of {:.0f} expected lessons missed for reasons other than illness in {} '
                    || 'to {} ({:.1f}%, threshold {:.0f}%)', m.non_illness_lessons,
                    m.expected_lessons, m.semester_label, m.as_of_label,
                    100 * m.non_illness_share, 100 * m.th_at_risk) END,
                crossed_on: NULL::DATE,
                expires_on: m.semester_last_day
            },
            {
                rule_id: 'CHRONIC_ABSENCE',
                value: m.missed_share,
                fired: m.fires_chronic_absence,
                evidence: CASE WHEN m.fires_chronic_absence THEN format(
                    '{} of {:.0f} expected lessons missed in {} ({:.1f}%, '
                    || 'threshold {:.0f}%)', m.missed_lessons, m.expected_lessons,
                    m.semester_label, 100 * m.missed_share, 100 * m.th_chronic) END,
                crossed_on: NULL::DATE,
                expires_on: m.semester_last_day
            },
            {
                rule_id: 'MK89_UNJUSTIFIED',
                value: m.unjustified_lessons,
                fired: m.fires_mk89_unjustified,
                evidence: CASE WHEN m.fires_mk89_unjustified THEN format(
                    '{} unjustified lessons in {} (threshold {:.0f}, Cabinet '
                    || 'Regulation No. 89), crossed on {}', m.unjustified_lessons,
                    m.semester_label, m.th_mk89, strftime(m.mk89_crossed_on, '%d.%m.%Y')) END,
                crossed_on: m.mk89_crossed_on,
                expires_on: m.semester_last_day
            },
            {
                rule_id: 'INSUFFICIENT_GRADES',
                value: m.insufficient_subjects,
                fired: m.fires_insufficient_grades,
                evidence: CASE WHEN m.fires_insufficient_grades THEN format(
                    '{} subject(s) with a term result below the pass mark or nv '
                    || 'in {}: {}', m.insufficient_subjects, m.school_year,
                    array_to_string(m.insufficient_subject_list, ', ')) END,
                crossed_on: NULL::DATE,
                expires_on: m.school_year_last_day
            },
            {
                rule_id: 'PROMOTION_AT_RISK',
                value: m.insufficient_subjects,
                fired: m.fires_promotion_at_risk,
                evidence: CASE WHEN m.fires_promotion_at_risk THEN format(
                    '{} insufficient subject(s) in grade {}, {} allowed (Cabinet '
                    || 'Regulation No. 11, p. 25)', m.insufficient_subjects, m.grade,
                    m.allowed_insufficient) END,
                crossed_on: NULL::DATE,
                expires_on: m.school_year_last_day
            },
            {
                rule_id: 'FAILING_COURSES',
                value: m.failing_subjects,
                fired: m.fires_failing_courses,
                evidence: CASE WHEN m.fires_failing_courses THEN format(
                    '{} subject(s) below the pass mark or without an assessment so far in {}: {}',
                    m.failing_subjects, m.semester_label,
                    array_to_string(m.failing_subject_list, ', ')) END,
                crossed_on: NULL::DATE,
                expires_on: m.semester_last_day
            },
            {
                rule_id: 'AVERAGE_DROP',
                value: m.average_drop,
                fired: m.fires_average_drop,
                evidence: CASE WHEN m.fires_average_drop THEN format(
                    'average mark {:.1f} in {} against {:.1f} the semester before '
                    || '(drop {:.1f}, threshold {:.1f})', m.average_mark, m.semester_label,
                    m.previous_average_mark, m.average_drop, m.th_average_drop) END,
                crossed_on: NULL::DATE,
                expires_on: m.semester_last_day
            },
            {
                rule_id: 'EARLY_LEVEL_S_SHARE',
                value: m.s_level_share,
                fired: m.fires_early_level_s_share,
                evidence: CASE WHEN m.fires_early_level_s_share THEN format(
                    '{} of {} levels in Latvian and mathematics are S in {} '
                    || '({:.0f}%, threshold {:.0f}%)', m.s_levels, m.core_levels,
                    m.semester_label, 100 * m.s_level_share, 100 * m.th_s_share) END,
                crossed_on: NULL::DATE,
                expires_on: m.semester_last_day
            },
            {
                rule_id: 'REPEATING_GRADE',
                value: m.repeating::INTEGER,
                fired: m.fires_repeating_grade,
                evidence: CASE WHEN m.fires_repeating_grade THEN format(
                    'repeating grade {} in {}', m.grade, m.school_year) END,
                crossed_on: NULL::DATE,
                expires_on: m.school_year_last_day
            },
            {
                rule_id: 'OVER_AGE',
                value: m.over_age_years,
                fired: m.fires_over_age,
                evidence: CASE WHEN m.fires_over_age THEN format(
                    'born {}: {} year(s) older than grade {} expects',
                    m.birth_year, m.over_age_years, m.grade) END,
                crossed_on: NULL::DATE,
                expires_on: m.school_year_last_day
            },
            {
                rule_id: 'SCHOOL_CHANGES',
                value: m.school_changes,
                fired: m.fires_school_changes,
                evidence: CASE WHEN m.fires_school_changes THEN format(
                    '{} change(s) of school in the {} days to {} (threshold {:.0f})',
                    m.school_changes, m.th_change_window_days, m.as_of_label, m.th_changes) END,
                crossed_on: NULL::DATE,
                expires_on: (m.earliest_change_in_window + m.th_change_window_days)::DATE
            },
            {
                rule_id: 'SOCIAL_STATUS',
                value: len(m.social_statuses),
                fired: m.fires_social_status,
                evidence: CASE WHEN m.fires_social_status THEN format(
                    '{} since {}', array_to_string(m.social_statuses, ', '),
                    strftime(m.social_status_since, '%d.%m.%Y')) END,
                crossed_on: NULL::DATE,
                expires_on: m.social_status_until
            },
            {
                rule_id: 'SPECIAL_NEEDS_PROGRAMME',
                value: m.special_needs_programme::INTEGER,
                fired: m.fires_special_needs_programme,
                evidence: CASE WHEN m.fires_special_needs_programme THEN format(
                    'in a special-needs programme in {}', m.school_year) END,
                crossed_on: NULL::DATE,
                expires_on: m.school_year_last_day
            }
        ]) AS rule
    FROM flagged AS m
)
SELECT
    e.semester_id, e.as_of, e.kind, e.pupil_key, e.school_id, e.reporting_school_id,
    e.class_label, e.grade, e.grade_band, e.rule.rule_id, r.version AS rule_version,
    r.rule_set_version, r.domain, r.severity, r.threshold, e.rule.value::DOUBLE AS value,
    e.rule.fired, e.rule.evidence,
    CASE WHEN e.rule.fired THEN e.rule.crossed_on END AS crossed_on,
    CASE WHEN e.rule.fired THEN e.rule.expires_on END AS expires_on
FROM evaluated AS e
JOIN reference.rules AS r ON r.rule_id = e.rule.rule_id
