"""Every indicator rule on a hand-built school year, with the answers worked out by hand.

The calendar facts used below (grade 5, 2025/26 semester 1): 74 school days; 22 in September,
18 in October (autumn break 20-24.10), 19 in November (18.11 is a holiday), 15 in December to
the 19th. OCP's class 5.a sends a timetable of 30 lessons a week (6 a day); elsewhere grade 5
has the reference load of 28 (5.6 a day).
"""

from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from warehouse_scenario import Scenario

from pipelines.reference.rules import rules as rule_set
from pipelines.warehouse.as_of import indicators_as_of
from pipelines.warehouse.build import connect_read_only

S1 = "2025/26-S1"
S2 = "2025/26-S2"
S1_END = date(2025, 12, 19)
S2_END = date(2026, 6, 19)
YEAR_GRADE = "gada vērtējums"
DAILY = "ikdienas"
TRANSFER = "pāriet uz citu izglītības iestādi"


def weekdays(start: date, end: date) -> list[date]:
    days = (start + timedelta(days=n) for n in range((end - start).days + 1))
    return [d for d in days if d.weekday() < 5]


def school_year(s: Scenario, key: str, school_id: str, grade: int, **register) -> None:
    """Listed in the semester 1 and semester 2 snapshots of 2025/26."""
    s.pupil(key, school_id, grade, **register)
    s.pupil(key, school_id, grade, period=(date(2026, 1, 5), S2_END), **register)


def unjustified_in_october(s: Scenario, key: str) -> None:
    """21 unjustified lessons: 3 a day on 6-10 and 13-14 October, no note."""
    days = weekdays(date(2025, 10, 6), date(2025, 10, 14))  # the weekend drops out
    s.absent(key, "OCP", 5, days, lessons=3)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """The hand-built school year's staging and warehouse."""
    s = Scenario(cutoff=date(2026, 9, 30))
    s.timetable("OCP", "5.a", 5, 30)

    # A: MK 89, a break, a note covering part of an absence, a note handed in late.
    school_year(s, "A", "OCP", 5)
    unjustified_in_october(s, "A")
    s.absent("A", "OCP", 5, [date(2025, 10, 21)], lessons=5)  # autumn break: ignored
    s.absent("A", "OCP", 5, [date(2025, 11, 3), date(2025, 11, 4), date(2025, 11, 5)], lessons=2)
    s.note("A", "OCP", date(2025, 11, 3), date(2025, 11, 4), date(2025, 11, 6), "slimība")
    s.absent("A", "OCP", 5, [date(2025, 11, 10)], lessons=2)
    s.note("A", "OCP", date(2025, 11, 10), date(2025, 11, 10), date(2025, 11, 20), "slimība")

    # B: 60 lessons missed through illness (6 a day, 15-19 and 22-26 September).
    school_year(s, "B", "OCP", 5)
    s.absent("B", "OCP", 5, weekdays(date(2025, 9, 15), date(2025, 9, 26)), lessons=6, mark="ns")

    # C: transfers from OCP to JOP mid-semester, 10 lessons missed at each.
    s.pupil("C", "OCP", 5, left=date(2025, 11, 1), leave_reason=TRANSFER)
    s.pupil("C", "JOP", 5, admitted=date(2025, 11, 3))
    s.absent("C", "OCP", 5, [date(2025, 9, 8), date(2025, 9, 9)], lessons=5, mark="ns")
    s.absent("C", "JOP", 5, [date(2025, 11, 24), date(2025, 11, 25)], lessons=5, mark="ns")

    # O: moves from OCP to JOP over the summer: a change of school, not one during a year.
    s.pupil("O", "OCP", 5, left=date(2026, 5, 29), leave_reason=TRANSFER)
    s.pupil("O", "JOP", 6, period=(date(2026, 9, 1), date(2026, 9, 30)), admitted=date(2026, 9, 1))

    # D: two changes of school in one semester.
    s.pupil("D", "OCP", 5, left=date(2025, 10, 1), leave_reason=TRANSFER)
    s.pupil(
        "D", "JOP", 5, admitted=date(2025, 10, 1), left=date(2025, 11, 15), leave_reason=TRANSFER
    )
    s.pupil("D", "IKV", 5, admitted=date(2025, 11, 17))

    # E, F, F2, G, H: year grades and the promotion rule of each grade band.
    for key, grade, school_id in [("E", 6, "OCP"), ("F", 6, "OCP"), ("F2", 6, "OCP"),
                                  ("G", 10, "OVG"), ("H", 2, "OCP")]:  # fmt: skip
        school_year(s, key, school_id, grade)
    may_29 = date(2026, 5, 29)
    for subject, value in [("Matemātika", "3"), ("Latviešu valoda", "nv"),
                           ("Angļu valoda", "atb"), ("Vēsture", "7")]:  # fmt: skip
        s.graded("E", "OCP", 6, subject, may_29, YEAR_GRADE, value)
    s.graded("F", "OCP", 6, "Matemātika", may_29, YEAR_GRADE, "3")
    s.graded("F", "OCP", 6, "Vēsture", may_29, YEAR_GRADE, "6")
    s.graded("F2", "OCP", 6, "Matemātika", may_29, YEAR_GRADE, "3")
    s.graded("F2", "OCP", 6, "Matemātika", date(2026, 6, 6), "pēcpārbaudījums", "5")
    s.graded("G", "OVG", 10, "Matemātika", may_29, YEAR_GRADE, "3")
    s.graded("G", "OVG", 10, "Vēsture", may_29, YEAR_GRADE, "8")
    for subject, value in [("Latviešu valoda", "A"), ("Matemātika", "T"), ("Dabaszinības", "nv")]:
        s.graded("H", "OCP", 2, subject, may_29, YEAR_GRADE, value)

    # H2: grade 2 levels in semester 1; English does not count.
    school_year(s, "H2", "OCP", 2)
    for day, subject, level in [(1, "Latviešu valoda", "S"), (2, "Matemātika", "S"),
                                (3, "Latviešu valoda", "S"), (6, "Matemātika", "A"),
                                (7, "Angļu valoda", "S")]:  # fmt: skip
        s.graded("H2", "OCP", 2, subject, date(2025, 10, day), DAILY, level)

    # I: average 8 in semester 1, 6 in semester 2. I2: too few marks in semester 2.
    school_year(s, "I", "OCP", 7)
    school_year(s, "I2", "OCP", 7)
    for key in ("I", "I2"):
        for day in weekdays(date(2025, 10, 1), date(2025, 10, 7)):
            s.graded(key, "OCP", 7, "Vēsture", day, DAILY, "8")
    for day in weekdays(date(2026, 2, 2), date(2026, 2, 6)):
        s.graded("I", "OCP", 7, "Vēsture", day, DAILY, "6")
    for day in weekdays(date(2026, 2, 2), date(2026, 2, 5)):
        s.graded("I2", "OCP", 7, "Vēsture", day, DAILY, "4")

    # N: failing mathematics (2.5 over two marks) and two missing assessments in physics during
    # semester 1, passing history. N2: one low mark, and one nv, are not enough to tell.
    school_year(s, "N", "OCP", 8)
    school_year(s, "N2", "OCP", 8)
    for day, subject, value in [(6, "Matemātika", "3"), (7, "Matemātika", "2"),
                                (6, "Vēsture", "7"), (8, "Fizika", "nv"),
                                (9, "Fizika", "nv")]:  # fmt: skip
        s.graded("N", "OCP", 8, subject, date(2025, 10, day), DAILY, value)
    s.graded("N2", "OCP", 8, "Matemātika", date(2025, 10, 6), DAILY, "2")
    s.graded("N2", "OCP", 8, "Fizika", date(2025, 10, 6), DAILY, "nv")

    # J: repeating grade 5, a year older than it expects. K: a social status and special needs.
    school_year(s, "J", "OCP", 5, repeating=True, birth_year=2013)
    school_year(s, "K", "OCP", 5, special_needs=True)
    s.social_status("K", "maznodrošināta ģimene", date(2025, 9, 1), date(2025, 9, 15))
    s.social_status("K", "trūcīga ģimene", date(2025, 10, 1), None)

    # L: MK 89, two years over age and a social status. Z: nothing at all.
    school_year(s, "L", "OCP", 5, birth_year=2012)
    unjustified_in_october(s, "L")
    s.social_status("L", "ārpusģimenes aprūpe", date(2025, 9, 1), None)
    school_year(s, "Z", "OCP", 5)

    # M: at Madlienas vidusskola, then at its successor after the merger on 01.07.2026.
    school_year(s, "M", "MAV", 4)
    s.pupil("M", "MRV", 5, period=(date(2026, 9, 1), date(2026, 9, 30)))
    folder = tmp_path_factory.mktemp("scenario")
    s.build(folder).close()
    return folder


@pytest.fixture(scope="module")
def warehouse(root) -> duckdb.DuckDBPyConnection:
    return connect_read_only(root / "warehouse.duckdb", root / "staging")


def indicator(con, key: str, rule: str, semester: str = S1, as_of: date | None = None) -> dict:
    """The rule's row for the pupil at the semester's `semester` point, or at `as_of`."""
    rows = con.sql(
        "SELECT * FROM indicators.pupil_indicators "
        "WHERE pupil_key = ? AND rule_id = ? AND semester_id = ? "
        "AND (as_of = ? OR (? IS NULL AND kind = 'semester'))",
        params=[key, rule, semester, as_of, as_of],
    ).pl()
    assert rows.height == 1, (key, rule, semester)
    return rows.row(0, named=True)


def measures(con, key: str, semester: str = S1) -> dict:
    return (
        con.sql(
            f"FROM indicators.pupil_measures WHERE pupil_key = '{key}' "
            f"AND semester_id = '{semester}' AND kind = 'semester'"
        )
        .pl()
        .row(0, named=True)
    )


def test_unjustified_lessons_follow_notes_breaks_and_deadlines(warehouse):
    a = measures(warehouse, "A")
    # 21 in October + 2 on 5.11 (the note covered 3-4.11 only) + 2 on 10.11 (note too late);
    # the 5 lessons on the autumn break are not counted.
    assert a["unjustified_lessons"] == 25
    assert a["missed_lessons"] == 29  # plus the 4 justified by the on-time note
    assert a["expected_lessons"] == pytest.approx(444)  # 74 days x 6 lessons
    assert a["attendance_rate"] == pytest.approx(1 - 29 / 444)
    reasons = warehouse.sql(
        "SELECT date, reason, counted FROM core.lesson_absences "
        "WHERE pupil_key = 'A' AND date IN ('2025-10-21', '2025-11-03', '2025-11-05')"
        " ORDER BY date, lesson"
    ).fetchall()
    assert [(r[1], r[2]) for r in reasons] == [("unjustified", False)] * 5 + [
        ("illness", True)
    ] * 2 + [("unjustified", True)] * 2


def test_mk89_fires_above_20_with_the_day_it_was_crossed(warehouse):
    # Each lesson becomes unjustified on the 4th school day after it: the 19th-21st (14.10)
    # on 27.10, after the autumn break.
    mk89 = indicator(warehouse, "A", "MK89_UNJUSTIFIED")
    assert mk89["fired"] and mk89["value"] == 25 and mk89["threshold"] == 20
    assert mk89["crossed_on"] == date(2025, 10, 27)
    assert mk89["evidence"] == (
        "25 unjustified lessons in 2025/26 S1 (threshold 20, Cabinet Regulation No. 89), "
        "crossed on 27.10.2025"
    )
    assert mk89["expires_on"] == S1_END
    assert mk89["rule_version"] == "1"
    october = warehouse.execute(
        "SELECT as_of, value, fired FROM indicators.pupil_indicators WHERE pupil_key = 'A' "
        "AND rule_id = 'MK89_UNJUSTIFIED' AND kind = 'month' AND semester_id = ? ORDER BY as_of",
        [S1],
    ).fetchall()
    assert october[:2] == [(date(2025, 9, 30), 0, False), (date(2025, 10, 31), 21, True)]
    listed = warehouse.sql(
        "SELECT school_id, pupil_key, unjustified_lessons, crossed_on FROM programme.mk89_list "
        f"WHERE semester_id = '{S1}' ORDER BY pupil_key"
    ).fetchall()
    assert listed == [
        ("OCP", "A", 25, date(2025, 10, 27)),
        ("OCP", "L", 21, date(2025, 10, 27)),
    ]


def test_attendance_thresholds_and_chronic_absence(warehouse):
    # 60 of 444 lessons missed through illness: 86.5% attendance, 13.5% missed. The early
    # warning (below 88%) is chronic absence since rules 2026.12.3: no rule of its own; and
    # illness is no attendance risk.
    at_risk = indicator(warehouse, "B", "ATTENDANCE_AT_RISK")
    assert not at_risk["fired"] and at_risk["value"] == 0
    chronic = indicator(warehouse, "B", "CHRONIC_ABSENCE")
    assert chronic["fired"] and chronic["value"] == pytest.approx(60 / 444)
    assert chronic["evidence"] == (
        "60 of 444 expected lessons missed in 2025/26 S1 (13.5%, threshold 10%)"
    )
    assert not indicator(warehouse, "B", "MK89_UNJUSTIFIED")["fired"]
    assert not indicator(warehouse, "A", "CHRONIC_ABSENCE")["fired"]  # 93.5% attendance
    rules = {
        r
        for (r,) in warehouse.sql(
            "SELECT DISTINCT rule_id FROM indicators.pupil_indicators"
        ).fetchall()
    }
    assert "ATTENDANCE_EARLY_WARNING" not in rules


def test_attendance_at_risk_counts_what_is_not_illness_after_20_school_days(warehouse, root):
    a, l_ = measures(warehouse, "A"), measures(warehouse, "L")
    at_risk = indicator(warehouse, "A", "ATTENDANCE_AT_RISK")
    share = a["non_illness_lessons"] / a["expected_lessons"]
    assert a["non_illness_lessons"] == 25 and share >= 0.05
    assert at_risk["fired"] and at_risk["value"] == pytest.approx(share)
    assert at_risk["evidence"].startswith("25 of 444 expected lessons missed for reasons other")
    assert l_["non_illness_lessons"] == 21  # 4.7%: on the MK 89 list, not at this threshold
    assert not indicator(warehouse, "L", "ATTENDANCE_AT_RISK")["fired"]
    # On 19.09.2025 nobody has 20 school days yet: the rule has no value.
    early = indicators_as_of(root / "warehouse.duckdb", root / "staging", date(2025, 9, 19))
    rule = early["indicators.pupil_indicators"].filter(pl.col("rule_id") == "ATTENDANCE_AT_RISK")
    assert rule.height > 0 and rule["value"].null_count() == rule.height


def test_a_transfer_mid_semester_sums_both_schools(warehouse):
    c = measures(warehouse, "C")
    # OCP 1.9-31.10: 40 days x 6; JOP 3.11-19.12: 34 days x 5.6 (the reference load).
    assert c["expected_lessons"] == pytest.approx(40 * 6 + 34 * 5.6)
    assert c["missed_lessons"] == 20
    assert c["school_id"] == "JOP"
    spells = warehouse.sql(
        "SELECT school_id, start_date, end_date, is_school_change, transferred_from_school_id "
        "FROM core.enrolment_spells WHERE pupil_key = 'C' ORDER BY start_date"
    ).fetchall()
    assert spells == [
        ("OCP", date(2025, 9, 1), date(2025, 10, 31), False, None),
        ("JOP", date(2025, 11, 3), date(2026, 5, 29), True, "OCP"),
    ]
    assert c["school_changes"] == 1
    change = indicator(warehouse, "C", "SCHOOL_CHANGES")
    assert change["fired"]  # one change of school within a year is enough since 2026.12.3
    assert change["evidence"].startswith("1 change(s) of school in the 365 days to")
    assert not indicator(warehouse, "Z", "SCHOOL_CHANGES")["fired"]


def test_a_move_over_the_summer_is_no_change_during_the_year(warehouse):
    moved = warehouse.sql(
        "SELECT school_id, is_school_change FROM core.enrolment_spells "
        "WHERE pupil_key = 'O' ORDER BY start_date"
    ).fetchall()
    assert moved == [("OCP", False), ("JOP", True)]
    changes = indicator(warehouse, "O", "SCHOOL_CHANGES", "2026/27-S1")
    assert changes["value"] == 0 and not changes["fired"]


def test_more_than_one_school_change_in_a_year_fires(warehouse):
    changes = indicator(warehouse, "D", "SCHOOL_CHANGES")
    assert changes["fired"] and changes["value"] == 2
    assert changes["expires_on"] == date(2026, 10, 1)  # the first change leaves the window
    assert indicator(warehouse, "D", "SCHOOL_CHANGES", S2)["fired"]


def test_no_pupil_is_at_two_schools_on_one_day(warehouse):
    overlaps = warehouse.sql(
        "SELECT count(*) FROM core.enrolment_spells a JOIN core.enrolment_spells b "
        "ON a.pupil_key = b.pupil_key AND a.spell_id < b.spell_id "
        "AND a.start_date <= b.end_date AND b.start_date <= a.end_date"
    ).fetchall()
    assert overlaps == [(0,)]


def test_atb_is_excluded_and_nv_counts_as_insufficient(warehouse):
    e = measures(warehouse, "E", S2)
    assert e["insufficient_subjects"] == 2 and e["nv_subjects"] == 1
    assert e["insufficient_subject_list"] == ["Latviešu valoda", "Matemātika"]
    assert indicator(warehouse, "E", "INSUFFICIENT_GRADES", S2)["fired"]
    assert not indicator(warehouse, "E", "INSUFFICIENT_GRADES", S1)["fired"]


@pytest.mark.parametrize(
    ("key", "grade", "insufficient", "at_risk"),
    [
        ("E", 6, 2, True),  # grades 4-8: more than one subject below 4
        ("F", 6, 1, False),  # one subject may be made up in a supplementary exam
        ("F2", 6, 0, False),  # ...and this one was: 5 in the supplementary exam
        ("G", 10, 1, True),  # grades 10-11: every subject at least 4
        ("H", 2, 1, True),  # grades 1-3: an assessment in every planned result
    ],
)
def test_promotion_rule_per_grade_band(warehouse, key, grade, insufficient, at_risk):
    promotion = indicator(warehouse, key, "PROMOTION_AT_RISK", S2)
    assert promotion["grade"] == grade
    assert promotion["value"] == insufficient
    assert promotion["fired"] is at_risk


def test_grades_1_to_3_share_of_s_levels_in_latvian_and_mathematics(warehouse):
    share = indicator(warehouse, "H2", "EARLY_LEVEL_S_SHARE")
    assert share["fired"] and share["value"] == pytest.approx(3 / 4)
    assert share["evidence"] == (
        "3 of 4 levels in Latvian and mathematics are S in 2025/26 S1 (75%, threshold 50%)"
    )
    assert indicator(warehouse, "E", "EARLY_LEVEL_S_SHARE", S2)["value"] is None  # grade 6


def test_subjects_failing_during_the_term(warehouse):
    failing = indicator(warehouse, "N", "FAILING_COURSES")
    assert failing["fired"] and failing["value"] == 2
    assert failing["evidence"] == (
        "2 subject(s) below the pass mark or without an assessment so far in 2025/26 S1: "
        "Fizika, Matemātika"
    )
    assert not indicator(warehouse, "N", "FAILING_COURSES", as_of=date(2025, 9, 30))["fired"]
    assert indicator(warehouse, "N2", "FAILING_COURSES")["value"] == 0  # one of each only
    assert not indicator(warehouse, "I", "FAILING_COURSES")["fired"]  # average 8


def test_average_drop_needs_enough_marks(warehouse):
    drop = indicator(warehouse, "I", "AVERAGE_DROP", S2)
    assert drop["fired"] and drop["value"] == pytest.approx(2.0)
    assert not indicator(warehouse, "I2", "AVERAGE_DROP", S2)["fired"]
    assert indicator(warehouse, "I2", "AVERAGE_DROP", S2)["value"] is None


def test_progression_and_social_rules(warehouse):
    assert indicator(warehouse, "J", "REPEATING_GRADE")["fired"]
    over_age = indicator(warehouse, "J", "OVER_AGE")
    assert not over_age["fired"] and over_age["value"] == 1  # a deferred start is legal
    over_age = indicator(warehouse, "L", "OVER_AGE")
    assert over_age["fired"] and over_age["value"] == 2
    assert not indicator(warehouse, "Z", "OVER_AGE")["fired"]
    social = indicator(warehouse, "K", "SOCIAL_STATUS")
    assert social["fired"] and social["evidence"] == "needy family since 01.10.2025"
    assert social["expires_on"] is None  # open
    # On 30.09 the low-income status had ended and the needy one not begun.
    assert not indicator(warehouse, "K", "SOCIAL_STATUS", as_of=date(2025, 9, 30))["fired"]
    assert indicator(warehouse, "K", "SPECIAL_NEEDS_PROGRAMME")["fired"]


def test_composite_level_counts_domains_and_severity(warehouse):
    levels = dict(
        warehouse.sql(
            "SELECT pupil_key, risk_level FROM indicators.pupil_risk "
            f"WHERE semester_id = '{S1}' AND kind = 'semester'"
        ).fetchall()
    )
    assert levels["Z"] == "none"
    assert levels["B"] == "low"  # attendance, warnings only
    assert levels["K"] == "none"  # a status and a programme are context, not risk
    assert levels["A"] == "medium"  # attendance, serious (MK 89)
    assert levels["J"] == "medium"  # progression, serious (repeating)
    assert levels["L"] == "high"  # attendance serious + progression (over-age by 2)
    reasons, context = warehouse.sql(
        "SELECT reasons, context FROM indicators.pupil_risk "
        f"WHERE pupil_key = 'L' AND semester_id = '{S1}' AND kind = 'semester'"
    ).fetchall()[0]
    assert reasons[0].startswith("MK89_UNJUSTIFIED: 21 unjustified lessons in 2025/26 S1")
    assert reasons[-1].startswith("OVER_AGE: born 2012")
    assert not any(r.startswith("SOCIAL_STATUS") for r in reasons)
    assert context == ["SOCIAL_STATUS: out-of-family care since 01.09.2025"]
    k = warehouse.sql(
        "SELECT reasons, context FROM indicators.pupil_risk "
        f"WHERE pupil_key = 'K' AND semester_id = '{S1}' AND kind = 'semester'"
    ).fetchall()[0]
    assert k == ([], ["SOCIAL_STATUS: needy family since 01.10.2025",
                      "SPECIAL_NEEDS_PROGRAMME: in a special-needs programme in 2025/26"])  # fmt: skip


def test_flags_expire_with_their_evidence(warehouse):
    # A's MK 89 flag belongs to semester 1; in semester 2 the count starts again.
    assert not indicator(warehouse, "A", "MK89_UNJUSTIFIED", S2)["fired"]
    level = warehouse.sql(
        "SELECT risk_level FROM indicators.pupil_risk "
        f"WHERE pupil_key = 'A' AND semester_id = '{S2}' AND kind = 'semester'"
    ).fetchall()
    assert level == [("none",)]


def test_the_merger_rolls_history_up_to_the_successor(warehouse):
    schools = dict(
        warehouse.sql(
            "SELECT school_id, reporting_school_id FROM core.schools "
            "WHERE school_id IN ('MAV', 'KPP', 'TAP', 'MRV', 'OCP')"
        ).fetchall()
    )
    assert schools == {"MAV": "MRV", "KPP": "MRV", "TAP": "MRV", "MRV": "MRV", "OCP": "OCP"}
    spells = warehouse.sql(
        "SELECT school_id, reporting_school_id, school_year, is_school_change "
        "FROM core.enrolment_spells WHERE pupil_key = 'M' ORDER BY start_date"
    ).fetchall()
    assert spells == [("MAV", "MRV", "2025/26", False), ("MRV", "MRV", "2026/27", False)]
    assert measures(warehouse, "M", "2026/27-S1")["school_changes"] == 0


def test_every_pupil_has_every_rule_at_every_date(warehouse):
    counts = warehouse.sql(
        "SELECT DISTINCT count(*) FROM indicators.pupil_indicators "
        "GROUP BY pupil_key, semester_id, as_of, kind"
    ).fetchall()
    rules = warehouse.sql("SELECT count(*) FROM reference.rules").fetchall()
    assert counts == rules == [(len(rule_set()["rule"]),)]


def test_indicators_as_of_any_date(root):
    database, staging = root / "warehouse.duckdb", root / "staging"
    # A's 21st unjustified lesson is known from 27.10 (after the autumn break).
    before = indicators_as_of(database, staging, date(2025, 10, 24))["indicators.pupil_indicators"]
    after = indicators_as_of(database, staging, date(2025, 10, 27))["indicators.pupil_indicators"]
    mk89 = pl.col("rule_id") == "MK89_UNJUSTIFIED"
    a_before = before.filter(mk89 & (pl.col("pupil_key") == "A")).row(0, named=True)
    a_after = after.filter(mk89 & (pl.col("pupil_key") == "A")).row(0, named=True)
    assert (a_before["value"], a_before["fired"]) == (18, False)
    assert (a_after["value"], a_after["fired"]) == (21, True)
    assert a_after["crossed_on"] == date(2025, 10, 27)
    assert after["pupil_key"].n_unique() * len(rule_set()["rule"]) == after.height


def test_weekly_absence_counts_every_school_day_and_each_pupil_once_a_week(warehouse):
    """The heatmap's pupils and expected lessons, recounted day by day from the spells: a
    pupil who changes school within a week (D, 1.10.2025) counts at both schools and once
    in the municipality, and the cut-off's week (30.9.2026, a Wednesday) counts to it."""
    recount = warehouse.sql(
        """
        WITH days AS (
            SELECT s.reporting_school_id AS school_id, date_trunc('week', c.day)::DATE AS week,
                e.pupil_key, e.lessons_per_week
            FROM core.expected_lessons AS e
            JOIN core.calendar AS c
                ON c.grade = e.grade AND c.day BETWEEN e.from_day AND e.to_day
                AND c.is_school_day
            JOIN core.schools AS s USING (school_id)
            WHERE c.day <= (SELECT max(as_of) FROM indicators.as_of_dates)
        )
        SELECT school_id, week, count(DISTINCT pupil_key), round(sum(lessons_per_week) / 5, 1)
        FROM days GROUP BY ALL
        UNION ALL
        SELECT 'ALL', week, count(DISTINCT pupil_key), round(sum(lessons_per_week) / 5, 1)
        FROM days GROUP BY ALL
        """
    ).fetchall()
    table = warehouse.sql(
        "SELECT school_id, week_start, pupils, expected_lessons FROM publication.weekly_absence "
        "WHERE pupils > 0"
    ).fetchall()
    assert sorted(table) == sorted(recount)
    week = {school: pupils for school, start, pupils, _ in table if start == date(2025, 9, 29)}
    assert week["OCP"] > 0 and week["JOP"] > 0
    assert week["ALL"] == sum(pupils for school, pupils in week.items() if school != "ALL") - 1
    assert max(start for _, start, _, _ in table) == date(2026, 9, 28)
