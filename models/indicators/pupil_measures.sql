-- What the rules measure, per pupil at each as-of date of a semester, from facts dated on or
-- before that date only: lessons expected and missed over the pupil's spells in the semester
-- (summed across schools after a transfer; the school is the latest), the school days
-- enrolled, the lessons missed for reasons other than illness, unjustified lessons known by
-- then and the day the Cabinet Regulation No. 89 threshold was crossed, the latest term
-- result per subject this school year (atb excluded, nv counted), the subjects failing so far
-- in the semester (an average daily mark below the pass mark over enough marks, or as many
-- missing assessments, nv), the average 10-point mark against the previous semester's, the
-- share of S levels in Latvian and mathematics (grades 1-3), repeating, years over age,
-- changes of school during a school year in the look-back window (a move over the summer is
-- not one), active social statuses and the special-needs
-- programme. A complete semester's `semester` point counts every absence of the semester
-- found unjustified, even after its last day.
-- A `month` point is what could have been known that day (bitemporal): only absences and
-- grades from deliveries received by then count, an absence whose note came later counts as
-- not justified (and unjustified once its note window closed), and only pupils enrolled that
-- day at a school that had delivered data of the semester by then. The register, support and social-service
-- spells are taken as known now (docs/indicators.md, "The evaluation").
-- @incremental
WITH points AS (
    SELECT d.semester_id, d.as_of, d.kind, d.complete, s.school_year,
        s.start_date AS semester_start, s.last_day AS semester_last_day
    FROM indicators.as_of_dates AS d
    JOIN reference.semesters AS s USING (semester_id)
    WHERE d.semester_id >= getvariable('rebuild_from')
),
settings AS (
    SELECT
        (SELECT threshold FROM reference.rules WHERE rule_id = 'MK89_UNJUSTIFIED')::INTEGER
            AS mk89_threshold,
        (SELECT window_days FROM reference.rules WHERE rule_id = 'SCHOOL_CHANGES')
            AS change_window_days,
        (SELECT number FROM reference.parameters WHERE name = 'grades.pass_mark') AS pass_mark,
        (SELECT min_count FROM reference.rules WHERE rule_id = 'FAILING_COURSES')
            AS failing_min_marks
),
spells AS (
    SELECT p.semester_id, p.as_of, p.kind, sp.pupil_key, sp.spell_id, sp.grade, sp.start_date,
        e.lessons_per_week,
        greatest(sp.start_date, p.semester_start) AS from_day,
        least(sp.end_date, p.as_of) AS to_day
    FROM points AS p
    JOIN core.enrolment_spells AS sp
        ON sp.school_year = p.school_year AND sp.start_date <= p.as_of
        AND sp.end_date >= p.semester_start
    JOIN core.expected_lessons AS e
        ON e.spell_id = sp.spell_id AND e.semester_id = p.semester_id
),
expected AS (
    SELECT s.semester_id, s.as_of, s.kind, s.pupil_key,
        sum((last.school_days_so_far - first.school_days_so_far + first.is_school_day::INTEGER)
            * s.lessons_per_week / 5.0) AS expected_lessons,
        sum(last.school_days_so_far - first.school_days_so_far + first.is_school_day::INTEGER)
            AS school_days_enrolled,
        arg_max(s.spell_id, s.start_date) AS spell_id
    FROM spells AS s
    JOIN core.calendar AS first ON first.grade = s.grade AND first.day = s.from_day
    JOIN core.calendar AS last ON last.grade = s.grade AND last.day = s.to_day
    GROUP BY ALL
),
known AS (
    SELECT p.semester_id, p.as_of, p.kind, d.school_id
    FROM points AS p
    JOIN core.deliveries AS d
        ON d.loaded AND d.received_on <= p.as_of AND d.period_end >= p.semester_start
        AND d.period_start <= p.as_of
    WHERE p.kind = 'month'
    GROUP BY ALL
),
absences AS (
    SELECT p.semester_id, p.as_of, p.kind, a.pupil_key,
        count(*) FILTER (WHERE a.missed) AS missed_lessons,
        count(*) FILTER (
            WHERE a.missed AND (a.reason <> 'illness'
                OR (p.kind = 'month' AND a.note_received_on > p.as_of))
        ) AS non_illness_lessons,
        count(*) FILTER (WHERE a.reason = 'late') AS late_lessons,
        count(*) FILTER (
            WHERE (a.unjustified
                AND (a.known_unjustified_on <= p.as_of OR (p.kind = 'semester' AND p.complete)))
            OR (p.kind = 'month' AND a.note_received_on > p.as_of
                AND a.note_window_closes_on <= p.as_of)
        ) AS unjustified_lessons
    FROM points AS p
    JOIN core.lesson_absences AS a
        ON a.semester_id = p.semester_id AND a.date <= p.as_of AND a.counted
        AND (p.kind <> 'month' OR a.received_on <= p.as_of)
    GROUP BY ALL
),
crossings AS (
    SELECT ranked.semester_id, ranked.pupil_key, ranked.known_unjustified_on AS crossed_on
    FROM (
        SELECT a.semester_id, a.pupil_key, a.known_unjustified_on,
            row_number() OVER (
                PARTITION BY a.semester_id, a.pupil_key
                ORDER BY a.known_unjustified_on, a.date, a.lesson
            ) AS position
        FROM core.lesson_absences AS a
        WHERE a.unjustified AND a.semester_id >= getvariable('rebuild_from')
    ) AS ranked, settings
    WHERE ranked.position = settings.mk89_threshold + 1
),
latest_terms AS (
    SELECT p.semester_id, p.as_of, p.kind, g.pupil_key, g.subject,
        arg_max(
            {is_nv: g.is_nv, is_atb: g.is_atb, mark: g.mark},
            (g.date, CASE g.grade_type WHEN 'pēcpārbaudījums' THEN 3
                WHEN 'gada vērtējums' THEN 2 ELSE 1 END)
        ) AS result
    FROM points AS p
    JOIN core.grades AS g
        ON g.school_year = p.school_year AND g.date <= p.as_of AND g.is_term_result
        AND (p.kind <> 'month' OR g.received_on <= p.as_of)
    GROUP BY ALL
),
terms AS (
    SELECT t.semester_id, t.as_of, t.kind, t.pupil_key,
        count(*) FILTER (WHERE t.result.is_nv OR t.result.mark < settings.pass_mark)
            AS insufficient_subjects,
        count(*) FILTER (WHERE t.result.is_nv) AS nv_subjects,
        list(t.subject ORDER BY t.subject)
            FILTER (WHERE t.result.is_nv OR t.result.mark < settings.pass_mark)
            AS insufficient_subject_list
    FROM latest_terms AS t, settings
    WHERE NOT t.result.is_atb
    GROUP BY ALL
),
marks AS (
    SELECT p.semester_id, p.as_of, p.kind, g.pupil_key,
        avg(g.mark) AS average_mark, count(*) AS marks
    FROM points AS p
    JOIN core.grades AS g
        ON g.semester_id = p.semester_id AND g.date <= p.as_of AND NOT g.is_term_result
        AND g.mark IS NOT NULL AND (p.kind <> 'month' OR g.received_on <= p.as_of)
    GROUP BY ALL
),
subjects AS (
    SELECT p.semester_id, p.as_of, p.kind, g.pupil_key, g.subject,
        (count(g.mark) >= any_value(settings.failing_min_marks)
            AND avg(g.mark) < any_value(settings.pass_mark))
        OR count(*) FILTER (WHERE g.is_nv) >= any_value(settings.failing_min_marks) AS failing
    FROM points AS p
    CROSS JOIN settings
    JOIN core.grades AS g
        ON g.semester_id = p.semester_id AND g.date <= p.as_of AND NOT g.is_term_result
        AND (g.mark IS NOT NULL OR g.is_nv) AND (p.kind <> 'month' OR g.received_on <= p.as_of)
    GROUP BY p.semester_id, p.as_of, p.kind, g.pupil_key, g.subject
),
courses AS (
    SELECT semester_id, as_of, kind, pupil_key,
        count(*) FILTER (WHERE failing) AS failing_subjects,
        list(subject ORDER BY subject) FILTER (WHERE failing) AS failing_subject_list
    FROM subjects
    GROUP BY ALL
),
semester_order AS (
    SELECT semester_id, lead(semester_id) OVER (ORDER BY start_date) AS next_semester_id
    FROM reference.semesters
),
previous_marks AS (
    SELECT p.semester_id, p.as_of, p.kind, g.pupil_key,
        avg(g.mark) AS previous_average_mark, count(*) AS previous_marks
    FROM points AS p
    JOIN semester_order AS o ON o.next_semester_id = p.semester_id
    JOIN core.grades AS g
        ON g.semester_id = o.semester_id AND NOT g.is_term_result AND g.mark IS NOT NULL
        AND (p.kind <> 'month' OR g.received_on <= p.as_of)
    GROUP BY ALL
),
levels AS (
    SELECT p.semester_id, p.as_of, p.kind, g.pupil_key,
        count(*) AS core_levels, count(*) FILTER (WHERE g.level = 'S') AS s_levels
    FROM points AS p
    JOIN core.grades AS g
        ON g.semester_id = p.semester_id AND g.date <= p.as_of AND g.level IS NOT NULL
        AND (p.kind <> 'month' OR g.received_on <= p.as_of)
    JOIN reference.subjects AS subject
        ON subject.subject = g.subject AND subject.core_literacy_numeracy
    GROUP BY ALL
),
year_starts AS (
    SELECT DISTINCT school_year, year_start AS start_date FROM reference.semesters
),
changes AS (
    SELECT p.semester_id, p.as_of, p.kind, sp.pupil_key,
        count(*) AS school_changes, min(sp.start_date) AS earliest_change_in_window
    FROM points AS p
    CROSS JOIN settings
    JOIN core.enrolment_spells AS sp
        ON sp.is_school_change AND sp.start_date <= p.as_of
        AND sp.start_date > p.as_of - settings.change_window_days
    JOIN year_starts AS y ON y.school_year = sp.school_year AND sp.start_date > y.start_date
    GROUP BY ALL
),
social AS (
    SELECT p.semester_id, p.as_of, p.kind, s.pupil_key,
        list(DISTINCT s.status_en ORDER BY s.status_en) AS social_statuses,
        min(s.start_date) AS social_status_since,
        max(coalesce(s.end_date, DATE '9999-12-31')) AS social_status_until
    FROM points AS p
    JOIN core.social_status_spells AS s
        ON s.start_date <= p.as_of AND (s.end_date IS NULL OR s.end_date >= p.as_of)
    GROUP BY ALL
)
SELECT
    p.semester_id, p.as_of, p.kind, p.complete, e.pupil_key, e.spell_id,
    sp.school_id, sp.reporting_school_id, sp.class_label, sp.grade, band.grade_band,
    sp.school_year, p.semester_last_day,
    e.expected_lessons,
    coalesce(a.missed_lessons, 0) AS missed_lessons,
    coalesce(a.late_lessons, 0) AS late_lessons,
    coalesce(a.unjustified_lessons, 0) AS unjustified_lessons,
    CASE WHEN e.expected_lessons > 0 THEN 1 - coalesce(a.missed_lessons, 0) / e.expected_lessons
    END AS attendance_rate,
    CASE WHEN e.expected_lessons > 0 THEN coalesce(a.missed_lessons, 0) / e.expected_lessons
    END AS missed_share,
    e.school_days_enrolled,
    coalesce(a.non_illness_lessons, 0) AS non_illness_lessons,
    CASE WHEN e.expected_lessons > 0
        THEN coalesce(a.non_illness_lessons, 0) / e.expected_lessons
    END AS non_illness_share,
    CASE
        WHEN p.kind = 'month' AND coalesce(a.unjustified_lessons, 0) <= settings.mk89_threshold
            THEN NULL
        WHEN x.crossed_on <= p.as_of OR (p.kind = 'semester' AND p.complete) THEN x.crossed_on
    END AS mk89_crossed_on,
    coalesce(t.insufficient_subjects, 0) AS insufficient_subjects,
    coalesce(t.nv_subjects, 0) AS nv_subjects,
    coalesce(t.insufficient_subject_list, []) AS insufficient_subject_list,
    coalesce(co.failing_subjects, 0) AS failing_subjects,
    coalesce(co.failing_subject_list, []) AS failing_subject_list,
    m.average_mark, coalesce(m.marks, 0) AS marks,
    pm.previous_average_mark, coalesce(pm.previous_marks, 0) AS previous_marks,
    CASE WHEN sp.grade <= 3 THEN coalesce(l.core_levels, 0) END AS core_levels,
    CASE WHEN sp.grade <= 3 THEN coalesce(l.s_levels, 0) END AS s_levels,
    sp.repeating,
    pupil.birth_year,
    (year(school_year_start.start_date) - 6 - sp.grade) - pupil.birth_year AS over_age_years,
    coalesce(c.school_changes, 0) AS school_changes,
    c.earliest_change_in_window,
    coalesce(so.social_statuses, []) AS social_statuses,
    so.social_status_since,
    CASE WHEN so.social_status_until < DATE '9999-12-31' THEN so.social_status_until
    END AS social_status_until,
    sp.special_needs_programme
FROM expected AS e
JOIN points AS p USING (semester_id, as_of, kind)
LEFT JOIN absences AS a USING (semester_id, as_of, kind, pupil_key)
LEFT JOIN crossings AS x USING (semester_id, pupil_key)
LEFT JOIN terms AS t USING (semester_id, as_of, kind, pupil_key)
LEFT JOIN marks AS m USING (semester_id, as_of, kind, pupil_key)
LEFT JOIN courses AS co USING (semester_id, as_of, kind, pupil_key)
LEFT JOIN previous_marks AS pm USING (semester_id, as_of, kind, pupil_key)
LEFT JOIN levels AS l USING (semester_id, as_of, kind, pupil_key)
LEFT JOIN changes AS c USING (semester_id, as_of, kind, pupil_key)
LEFT JOIN social AS so USING (semester_id, as_of, kind, pupil_key)
JOIN core.enrolment_spells AS sp ON sp.spell_id = e.spell_id
JOIN reference.grade_bands AS band ON sp.grade BETWEEN band.grade_min AND band.grade_max
JOIN core.pupils AS pupil ON pupil.pupil_key = e.pupil_key
JOIN year_starts AS school_year_start ON school_year_start.school_year = sp.school_year
LEFT JOIN known AS k
    ON k.semester_id = p.semester_id AND k.as_of = p.as_of AND k.kind = p.kind
    AND k.school_id = sp.school_id
CROSS JOIN settings
WHERE p.kind <> 'month' OR (sp.end_date >= p.as_of AND k.school_id IS NOT NULL)
