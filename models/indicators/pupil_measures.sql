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
-- not one), active social statuses and the special-needs programme. A complete semester's
-- `semester` point counts every absence of the semester found unjustified, even after its
-- last day.
-- A `month` point is what could have been known that day (bitemporal): only absences and
-- grades from deliveries received by then count, an absence whose note came later counts as
-- not justified (and unjustified once its note window closed), and only pupils enrolled that
-- day at a school that had delivered data of the semester by then. The register, support and
-- social-service spells are taken as known now (docs/indicators.md, "The evaluation").
-- One pass over the facts, no fact joined to every later point (docs/scaling.md, "The
-- indicator models"): at month points a fact enters at the first month end on or after the
-- later of its date and its receipt, a state that ends (an illness note arriving, an unnoted
-- absence's note) leaves at the first one on or after that day, and running sums over each
-- pupil's sorted month ends give every point's totals; a failing subject is followed the same
-- way, and a term result holds until one ranking after it is known. A semester's point (or an
-- analyst's day) counts what is dated by then, in one aggregate.
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
kinds AS (
    SELECT DISTINCT kind FROM points
),
semester_order AS (
    SELECT semester_id, lag(semester_id) OVER (ORDER BY start_date) AS previous_semester_id
    FROM reference.semesters
),
-- Grades are read from the semester before the first one rebuilt: its marks are the previous
-- semester's average, and its term results count in the same school year.
grades_from AS (
    SELECT coalesce(max(semester_id), '') AS semester_id
    FROM reference.semesters
    WHERE semester_id < getvariable('rebuild_from')
),
-- Every day and the first month point on or after it (none after the last one).
month_days AS (
    SELECT d.day, p.as_of
    FROM (
        SELECT r.day::DATE AS day
        FROM range(
            (SELECT min(start_date) FROM reference.semesters), (SELECT max(as_of) + 1 FROM points),
            INTERVAL 1 DAY
        ) AS r(day)
    ) AS d
    ASOF JOIN (SELECT as_of FROM points WHERE kind = 'month') AS p ON d.day <= p.as_of
),
-- The points other than month ends (a semester's, or the one day an analyst asks about:
-- pipelines/warehouse/as_of.py) count what is dated by then, whenever it was received.
day_points AS (
    SELECT semester_id, kind, as_of, complete FROM points WHERE kind <> 'month'
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
pupil_points AS (
    SELECT e.*, p.school_year, o.previous_semester_id
    FROM expected AS e
    JOIN points AS p USING (semester_id, as_of, kind)
    JOIN semester_order AS o USING (semester_id)
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
-- At such a point, the absences of the semester dated by then (a complete semester's point
-- counts every absence found unjustified, even after its last day).
day_absences AS (
    SELECT a.pupil_key, a.semester_id, s.kind, s.as_of,
        count(*) FILTER (WHERE a.missed) AS missed,
        count(*) FILTER (WHERE a.missed AND a.reason <> 'illness') AS non_illness,
        count(*) FILTER (WHERE a.reason = 'late') AS late,
        count(*) FILTER (WHERE a.unjustified AND (a.known_unjustified_on <= s.as_of
            OR (s.kind = 'semester' AND s.complete))) AS unjustified
    FROM core.lesson_absences AS a
    JOIN day_points AS s USING (semester_id)
    WHERE a.counted AND a.date <= s.as_of
    GROUP BY ALL
),
-- At month points, an absence counts from the later of its date and its receipt; an illness
-- whose note came later counts as non-illness until the note arrives; an absence is
-- unjustified from the day it is known to be, and while its note window has closed with the
-- note still to come (that second span cut where the first begins). Read where it is used, not
-- materialised (DuckDB would otherwise keep every absence row of the build in memory).
month_absences AS NOT MATERIALIZED (
    SELECT *,
        CASE WHEN known_unjustified_on IS NOT NULL
            THEN greatest(entered_on, known_unjustified_on)
        END AS known_from,
        CASE WHEN note_window_closes_on IS NOT NULL AND note_received_on IS NOT NULL
            THEN greatest(entered_on, note_window_closes_on)
        END AS unnoted_from,
        CASE WHEN note_window_closes_on IS NOT NULL AND note_received_on IS NOT NULL
            THEN greatest(entered_on, note_window_closes_on, note_received_on)
        END AS unnoted_until
    FROM (
        SELECT pupil_key, semester_id, greatest(date, received_on) AS entered_on,
            coalesce(missed, false) AS missed,
            coalesce(reason = 'late', false) AS late,
            coalesce(reason <> 'illness', false) AS not_illness,
            coalesce(unjustified, false) AS unjustified,
            known_unjustified_on, note_received_on, note_window_closes_on
        FROM core.lesson_absences
        WHERE counted AND semester_id >= getvariable('rebuild_from')
    )
),
month_absence_changes AS (
    SELECT pupil_key, semester_id, entered_on AS day, missed::INTEGER AS missed,
        late::INTEGER AS late,
        (missed AND (not_illness OR note_received_on IS NOT NULL))::INTEGER AS non_illness,
        0 AS unjustified
    FROM month_absences
    UNION ALL
    SELECT pupil_key, semester_id, greatest(entered_on, note_received_on), 0, 0, -1, 0
    FROM month_absences
    WHERE missed AND NOT not_illness AND note_received_on IS NOT NULL
    UNION ALL
    SELECT pupil_key, semester_id, known_from, 0, 0, 0, 1
    FROM month_absences
    WHERE unjustified AND known_from IS NOT NULL
    UNION ALL
    SELECT pupil_key, semester_id, unnoted_from, 0, 0, 0, 1
    FROM month_absences
    WHERE unnoted_until > unnoted_from
    UNION ALL
    SELECT pupil_key, semester_id,
        CASE WHEN unjustified AND known_from IS NOT NULL
            THEN greatest(unnoted_from, least(unnoted_until, known_from))
            ELSE unnoted_until
        END, 0, 0, 0, -1
    FROM month_absences
    WHERE unnoted_until > unnoted_from
),
-- Daily marks and levels: at a day point those dated by then (and, as the next semester's
-- previous one, the whole semester's marks); at month points those received by then, entering
-- at the first month point on or after the later of their date and receipt. Read where it is
-- used, with only the columns each use needs: materialised, it held every grade row of the
-- build in memory (51 million at scale 30).
daily_grades AS NOT MATERIALIZED (
    SELECT g.pupil_key, g.semester_id, g.subject, g.date, g.received_on, g.is_term_result,
        g.mark, g.is_nv, g.level, coalesce(subject.core_literacy_numeracy, false) AS core
    FROM core.grades AS g
    LEFT JOIN reference.subjects AS subject USING (subject)
    WHERE g.semester_id >= (SELECT semester_id FROM grades_from)
),
day_grades AS (
    SELECT g.pupil_key, g.semester_id, s.kind, s.as_of,
        sum(g.mark) FILTER (WHERE NOT g.is_term_result) AS mark_sum,
        count(g.mark) FILTER (WHERE NOT g.is_term_result) AS marks,
        count(*) FILTER (WHERE g.core AND g.level IS NOT NULL) AS core_levels,
        count(*) FILTER (WHERE g.core AND g.level = 'S') AS s_levels
    FROM daily_grades AS g
    JOIN day_points AS s USING (semester_id)
    WHERE g.date <= s.as_of
    GROUP BY ALL
),
semester_marks AS (
    SELECT pupil_key, semester_id, sum(mark) AS mark_sum, count(mark) AS marks
    FROM daily_grades
    WHERE NOT is_term_result
    GROUP BY ALL
),
month_grades AS (
    SELECT g.*, d.as_of
    FROM daily_grades AS g
    JOIN month_days AS d ON d.day = greatest(g.date, g.received_on)
),
-- The additive measures' changes at month points, and a zero at every pupil's month point (in
-- its semester and the previous one), so that the running sums hold a row for each.
month_changes AS (
    SELECT c.pupil_key, c.semester_id, d.as_of, c.missed, c.non_illness, c.late,
        c.unjustified, 0 AS mark_sum, 0 AS marks, 0 AS core_levels, 0 AS s_levels
    FROM month_absence_changes AS c
    JOIN month_days AS d USING (day)
    UNION ALL
    SELECT pupil_key, semester_id, as_of, 0, 0, 0, 0,
        CASE WHEN NOT is_term_result THEN mark END,
        (NOT is_term_result AND mark IS NOT NULL)::INTEGER,
        (core AND level IS NOT NULL)::INTEGER, (core AND level = 'S')::INTEGER
    FROM month_grades
    WHERE (NOT is_term_result AND mark IS NOT NULL) OR (core AND level IS NOT NULL)
    UNION ALL
    SELECT pupil_key, semester_id, as_of, 0, 0, 0, 0, 0, 0, 0, 0
    FROM pupil_points
    WHERE kind = 'month'
    UNION ALL
    SELECT pupil_key, previous_semester_id, as_of, 0, 0, 0, 0, 0, 0, 0, 0
    FROM pupil_points
    WHERE kind = 'month' AND previous_semester_id IS NOT NULL
),
month_totals AS (
    SELECT pupil_key, semester_id, as_of,
        (sum(sum(missed)) OVER running)::BIGINT AS missed_lessons,
        (sum(sum(non_illness)) OVER running)::BIGINT AS non_illness_lessons,
        (sum(sum(late)) OVER running)::BIGINT AS late_lessons,
        (sum(sum(unjustified)) OVER running)::BIGINT AS unjustified_lessons,
        (sum(sum(mark_sum)) OVER running)::BIGINT AS mark_sum,
        (sum(sum(marks)) OVER running)::BIGINT AS marks,
        (sum(sum(core_levels)) OVER running)::BIGINT AS core_levels,
        (sum(sum(s_levels)) OVER running)::BIGINT AS s_levels
    FROM month_changes
    GROUP BY pupil_key, semester_id, as_of
    WINDOW running AS (PARTITION BY pupil_key, semester_id ORDER BY as_of)
),
totals AS (
    SELECT e.semester_id, e.as_of, e.kind, e.pupil_key, t.missed_lessons,
        t.non_illness_lessons, t.late_lessons, t.unjustified_lessons, t.mark_sum, t.marks,
        t.core_levels, t.s_levels, coalesce(pm.mark_sum, 0) AS previous_mark_sum,
        coalesce(pm.marks, 0) AS previous_marks
    FROM pupil_points AS e
    JOIN month_totals AS t
        ON t.pupil_key = e.pupil_key AND t.semester_id = e.semester_id AND t.as_of = e.as_of
    LEFT JOIN month_totals AS pm
        ON pm.pupil_key = e.pupil_key AND pm.semester_id = e.previous_semester_id
        AND pm.as_of = e.as_of
    WHERE e.kind = 'month'
    UNION ALL
    SELECT e.semester_id, e.as_of, e.kind, e.pupil_key,
        coalesce(a.missed, 0), coalesce(a.non_illness, 0), coalesce(a.late, 0),
        coalesce(a.unjustified, 0), coalesce(g.mark_sum, 0), coalesce(g.marks, 0),
        coalesce(g.core_levels, 0), coalesce(g.s_levels, 0),
        coalesce(pm.mark_sum, 0), coalesce(pm.marks, 0)
    FROM pupil_points AS e
    LEFT JOIN day_absences AS a
        ON a.pupil_key = e.pupil_key AND a.semester_id = e.semester_id AND a.kind = e.kind
        AND a.as_of = e.as_of
    LEFT JOIN day_grades AS g
        ON g.pupil_key = e.pupil_key AND g.semester_id = e.semester_id AND g.kind = e.kind
        AND g.as_of = e.as_of
    LEFT JOIN semester_marks AS pm
        ON pm.pupil_key = e.pupil_key AND pm.semester_id = e.previous_semester_id
    WHERE e.kind <> 'month'
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
-- A subject can fail only if one of its daily grades is below the pass mark or nv (or if the
-- rules ask for no marks at all): only those subjects are followed point by point.
failing_candidates AS (
    SELECT DISTINCT g.pupil_key, g.semester_id, g.subject
    FROM core.grades AS g, settings
    WHERE NOT g.is_term_result AND g.semester_id >= getvariable('rebuild_from')
        AND (g.mark < settings.pass_mark OR g.is_nv OR settings.failing_min_marks <= 0)
),
candidate_grades AS (
    SELECT g.*
    FROM daily_grades AS g
    JOIN failing_candidates AS c USING (pupil_key, semester_id, subject)
    WHERE NOT g.is_term_result AND (g.mark IS NOT NULL OR g.is_nv)
),
subject_states AS (
    SELECT g.pupil_key, g.semester_id, s.kind, g.subject, s.as_of,
        NULL::DATE AS until, sum(g.mark) AS mark_sum, count(g.mark) AS marks,
        count(*) FILTER (WHERE g.is_nv) AS nv_marks
    FROM candidate_grades AS g
    JOIN day_points AS s USING (semester_id)
    WHERE g.date <= s.as_of
    GROUP BY ALL
    UNION ALL
    SELECT g.pupil_key, g.semester_id, 'month', g.subject, d.as_of,
        lead(d.as_of) OVER (PARTITION BY g.pupil_key, g.semester_id, g.subject ORDER BY d.as_of),
        sum(sum(g.mark)) OVER running, sum(count(g.mark)) OVER running,
        sum(count(*) FILTER (WHERE g.is_nv)) OVER running
    FROM candidate_grades AS g
    JOIN month_days AS d ON d.day = greatest(g.date, g.received_on)
    GROUP BY g.pupil_key, g.semester_id, g.subject, d.as_of
    WINDOW running AS (PARTITION BY g.pupil_key, g.semester_id, g.subject ORDER BY d.as_of)
),
failing AS (
    SELECT s.*
    FROM subject_states AS s, settings
    WHERE (s.marks >= settings.failing_min_marks AND s.mark_sum / s.marks < settings.pass_mark)
        OR s.nv_marks >= settings.failing_min_marks
),
courses AS (
    SELECT e.semester_id, e.as_of, e.kind, e.pupil_key,
        count(*) AS failing_subjects,
        list(f.subject ORDER BY f.subject) AS failing_subject_list
    FROM pupil_points AS e
    JOIN failing AS f
        ON f.pupil_key = e.pupil_key AND f.semester_id = e.semester_id AND f.kind = e.kind
        AND f.as_of <= e.as_of AND (f.until IS NULL OR f.until > e.as_of)
    GROUP BY ALL
),
-- A term result holds from the day it counts from until one that ranks after it (a later
-- date, then the supplementary exam over the year grade over the semester grade) counts;
-- only the subjects with an insufficient one (below the pass mark, or nv) are followed.
term_candidates AS (
    SELECT DISTINCT g.pupil_key, g.school_year, g.subject
    FROM core.grades AS g, settings
    WHERE g.is_term_result AND g.semester_id >= (SELECT semester_id FROM grades_from)
        AND (g.is_nv OR g.mark < settings.pass_mark)
),
term_results AS (
    SELECT g.pupil_key, g.school_year, k.kind, g.subject, g.is_nv, g.is_atb, g.mark,
        CASE k.kind WHEN 'month' THEN greatest(g.date, g.received_on) ELSE g.date END
            AS entered_on,
        CASE g.grade_type WHEN 'pēcpārbaudījums' THEN 3 WHEN 'gada vērtējums' THEN 2 ELSE 1
        END AS type_rank,
        g.date
    FROM core.grades AS g
    JOIN term_candidates AS c USING (pupil_key, school_year, subject)
    CROSS JOIN kinds AS k
    WHERE g.is_term_result AND g.semester_id >= (SELECT semester_id FROM grades_from)
),
insufficient AS (
    SELECT t.*
    FROM (
        SELECT *,
            min(entered_on) OVER (
                PARTITION BY pupil_key, school_year, kind, subject
                ORDER BY date DESC, type_rank DESC, is_atb, is_nv, mark
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
            ) AS superseded_on
        FROM term_results
    ) AS t, settings
    WHERE NOT t.is_atb AND (t.is_nv OR t.mark < settings.pass_mark)
),
terms AS (
    SELECT e.semester_id, e.as_of, e.kind, e.pupil_key,
        count(*) AS insufficient_subjects,
        count(*) FILTER (WHERE t.is_nv) AS nv_subjects,
        list(t.subject ORDER BY t.subject) AS insufficient_subject_list
    FROM pupil_points AS e
    JOIN insufficient AS t
        ON t.pupil_key = e.pupil_key AND t.school_year = e.school_year AND t.kind = e.kind
        AND t.entered_on <= e.as_of AND (t.superseded_on IS NULL OR t.superseded_on > e.as_of)
    GROUP BY ALL
),
year_starts AS (
    SELECT DISTINCT school_year, year_start AS start_date FROM reference.semesters
),
changes_of_school AS (
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
    e.semester_id, e.as_of, e.kind, p.complete, e.pupil_key, e.spell_id,
    sp.school_id, sp.reporting_school_id, sp.class_label, sp.grade, band.grade_band,
    sp.school_year, p.semester_last_day,
    e.expected_lessons,
    a.missed_lessons, a.late_lessons, a.unjustified_lessons,
    CASE WHEN e.expected_lessons > 0 THEN 1 - a.missed_lessons / e.expected_lessons
    END AS attendance_rate,
    CASE WHEN e.expected_lessons > 0 THEN a.missed_lessons / e.expected_lessons
    END AS missed_share,
    e.school_days_enrolled,
    a.non_illness_lessons,
    CASE WHEN e.expected_lessons > 0 THEN a.non_illness_lessons / e.expected_lessons
    END AS non_illness_share,
    CASE
        WHEN e.kind = 'month' AND a.unjustified_lessons <= settings.mk89_threshold THEN NULL
        WHEN x.crossed_on <= e.as_of OR (e.kind = 'semester' AND p.complete) THEN x.crossed_on
    END AS mk89_crossed_on,
    coalesce(t.insufficient_subjects, 0) AS insufficient_subjects,
    coalesce(t.nv_subjects, 0) AS nv_subjects,
    coalesce(t.insufficient_subject_list, []) AS insufficient_subject_list,
    coalesce(co.failing_subjects, 0) AS failing_subjects,
    coalesce(co.failing_subject_list, []) AS failing_subject_list,
    a.mark_sum / nullif(a.marks, 0) AS average_mark, a.marks,
    a.previous_mark_sum / nullif(a.previous_marks, 0) AS previous_average_mark,
    a.previous_marks,
    CASE WHEN sp.grade <= 3 THEN a.core_levels END AS core_levels,
    CASE WHEN sp.grade <= 3 THEN a.s_levels END AS s_levels,
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
FROM pupil_points AS e
JOIN points AS p ON p.semester_id = e.semester_id AND p.as_of = e.as_of AND p.kind = e.kind
JOIN totals AS a
    ON a.pupil_key = e.pupil_key AND a.semester_id = e.semester_id AND a.kind = e.kind
    AND a.as_of = e.as_of
LEFT JOIN crossings AS x ON x.semester_id = e.semester_id AND x.pupil_key = e.pupil_key
LEFT JOIN terms AS t
    ON t.semester_id = e.semester_id AND t.as_of = e.as_of AND t.kind = e.kind
    AND t.pupil_key = e.pupil_key
LEFT JOIN courses AS co
    ON co.semester_id = e.semester_id AND co.as_of = e.as_of AND co.kind = e.kind
    AND co.pupil_key = e.pupil_key
LEFT JOIN changes_of_school AS c
    ON c.semester_id = e.semester_id AND c.as_of = e.as_of AND c.kind = e.kind
    AND c.pupil_key = e.pupil_key
LEFT JOIN social AS so
    ON so.semester_id = e.semester_id AND so.as_of = e.as_of AND so.kind = e.kind
    AND so.pupil_key = e.pupil_key
JOIN core.enrolment_spells AS sp ON sp.spell_id = e.spell_id
JOIN reference.grade_bands AS band ON sp.grade BETWEEN band.grade_min AND band.grade_max
JOIN core.pupils AS pupil ON pupil.pupil_key = e.pupil_key
JOIN year_starts AS school_year_start ON school_year_start.school_year = sp.school_year
LEFT JOIN known AS k
    ON k.semester_id = e.semester_id AND k.as_of = e.as_of AND k.kind = e.kind
    AND k.school_id = sp.school_id
CROSS JOIN settings
WHERE e.kind <> 'month' OR (sp.end_date >= e.as_of AND k.school_id IS NOT NULL)
