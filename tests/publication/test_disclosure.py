"""Disclosure control, hand-built cases: each relation of the attacker model
(docs/disclosure.md) discloses a cell of a naive pattern, and the project's protection holds
against it. The engine first (margins only), then the whole model over small releases built
from pupils (tests/small_release.py)."""

import pytest
from small_release import (
    ACTIVITIES,
    Pupil,
    Semester,
    at_least,
    lessons_for,
    published,
    release,
)

from pipelines.publication.disclosure import (
    attack,
    group_disclosure,
    primary_suppression,
    protect,
    sum_of,
)
from pipelines.publication.protection import (
    INDICATORS,
    PROJECT,
    SUPPORT,
    Version,
    attack_release,
    disclosed_before,
    primary_cells,
    release_relations,
    suppress_release,
)
from pipelines.reference.tables import activities

THRESHOLD = 5
S1 = "2025/26-S1"


def table(inner: dict[tuple[str, str], int]) -> tuple[dict, list]:
    """A two-way table with its margins ('T' row and column)."""
    rows = sorted({r for r, _ in inner})
    columns = sorted({c for _, c in inner})
    counts = dict(inner)
    relations = []
    for r in rows:
        counts[(r, "T")] = sum(inner[(r, c)] for c in columns)
        relations.append(sum_of((r, "T"), [(r, c) for c in columns]))
    for c in [*columns, "T"]:
        counts[("T", c)] = sum(counts[(r, c)] for r in rows)
        relations.append(sum_of(("T", c), [(r, c) for r in rows]))
    return counts, relations


def protected(counts: dict, relations: list) -> set:
    costs = {k: 1.0 + v for k, v in counts.items()}
    hidden, pinned = protect(
        counts, relations, primary_suppression(counts, THRESHOLD), THRESHOLD, costs, floor=1
    )
    assert not pinned  # nothing is fixed but zeros: every cell can be protected
    return hidden


def assert_protected(counts: dict, hidden: set, relations: list) -> None:
    known = {k: v for k, v in counts.items() if k not in hidden}
    found = attack(known, hidden, relations, floor=1)
    assert set(found) == hidden
    for key, interval in found.items():
        assert interval.low <= counts[key] <= interval.high, key
        assert interval.width >= THRESHOLD, (key, interval)


def test_a_lone_small_cell_is_exactly_derivable_until_protected():
    counts, relations = table(
        {("A", "x"): 3, ("A", "y"): 10, ("A", "z"): 12, ("B", "x"): 8, ("B", "y"): 9,
         ("B", "z"): 20, ("C", "x"): 15, ("C", "y"): 11, ("C", "z"): 7}
    )  # fmt: skip
    exposed = attack({k: v for k, v in counts.items() if k != ("A", "x")}, {("A", "x")}, relations)
    assert exposed[("A", "x")].low == exposed[("A", "x")].high == 3  # the row total gives it away
    hidden = protected(counts, relations)
    assert len(hidden) == 4  # a rectangle of inner cells: the cheapest protection
    assert not any(k[0] == "T" or k[1] == "T" for k in hidden)
    assert_protected(counts, hidden, relations)


def test_two_small_cells_that_would_reveal_each_other():
    # Only each other in their row: their sum (3) is published through the margin.
    counts, relations = table(
        {("A", "x"): 2, ("A", "y"): 1, ("A", "z"): 40, ("B", "x"): 30, ("B", "y"): 25,
         ("B", "z"): 33, ("C", "x"): 12, ("C", "y"): 18, ("C", "z"): 21}
    )  # fmt: skip
    primary = primary_suppression(counts, THRESHOLD)
    assert primary == {("A", "x"), ("A", "y")}
    known = {k: v for k, v in counts.items() if k not in primary}
    assert min(i.width for i in attack(known, primary, relations).values()) < THRESHOLD
    assert_protected(counts, protected(counts, relations), relations)


def test_zeros_are_published_so_a_suppressed_count_is_at_least_one():
    counts, relations = table(
        {("A", "x"): 4, ("A", "y"): 0, ("A", "z"): 9, ("B", "x"): 6, ("B", "y"): 0,
         ("B", "z"): 11, ("C", "x"): 7, ("C", "y"): 0, ("C", "z"): 13}
    )  # fmt: skip
    hidden = protected(counts, relations)
    assert not any(counts[k] == 0 for k in hidden)
    assert_protected(counts, hidden, relations)
    known = {k: v for k, v in counts.items() if k not in hidden}
    assert all(i.low >= 1 for i in attack(known, hidden, relations, floor=1).values())


def test_a_sparse_table_whose_weak_cell_has_only_suppressed_or_zero_neighbours():
    """Once raised `ValueError` and failed the whole publication."""
    counts, relations = table(
        {(0, 0): 4, (0, 1): 0, (0, 2): 0, (1, 0): 7, (1, 1): 4, (1, 2): 0, (2, 0): 0,
         (2, 1): 0, (2, 2): 4}
    )  # fmt: skip
    assert_protected(counts, protected(counts, relations), relations)


@pytest.mark.parametrize("suppress_zero", [False, True])
def test_primary_suppression_threshold(suppress_zero):
    counts = {"a": 0, "b": 1, "c": 4, "d": 5, "e": 100}
    expected = {"b", "c"} | ({"a"} if suppress_zero else set())
    assert primary_suppression(counts, THRESHOLD, suppress_zero) == expected


def test_group_disclosure_is_a_whole_group_with_the_attribute():
    counts = {"at_risk": 7, "pupils": 7, "none": 0, "empty": 0}
    assert group_disclosure(counts, "at_risk", ["pupils"])
    assert not group_disclosure(counts, "none", ["pupils"])
    assert not group_disclosure(counts, "empty", ["none"])  # a group of nobody


def pupils(school: str, band: str, n: int, **first: int) -> list[Pupil]:
    """`n` pupils of a school and band; `high=2` makes the first two high risk, `medium=3` the
    next three medium; a flag (`insufficient_grade=4`) or `supported=2` (KONS) applies to the
    first pupils, whose level is raised to the least their flags give."""
    found = []
    for i in range(n):
        level = (
            "high" if i < first.get("high", 0)
            else "medium" if i < first.get("high", 0) + first.get("medium", 0)
            else "none"
        )  # fmt: skip
        flags = frozenset(f for f, k in first.items() if f not in ("high", "medium", "supported")
                          and i < k)  # fmt: skip
        supported = frozenset({"KONS"}) if i < first.get("supported", 0) else frozenset()
        found.append(Pupil(school, band, at_least(level, flags), flags, supported,
                           lessons_for(flags, float(3 + i % 4))))  # fmt: skip
    return found


def cells(values: dict, table: str, measure: str) -> set:
    return {k for k in values if k[0] == table and k[2] == measure}


def promotion_grid() -> dict:
    """Grades 4-6 and 7-9 (where an insufficient subject is allowed) of schools A and B: few
    promotions at risk in A's grades 4-6, among 10 high-risk pupils (so that the levels do not
    cap them)."""
    semester = Semester(S1, [
        *pupils("A", "4-6", 20, high=10, insufficient_grade=5, promotion_at_risk=2),
        *pupils("A", "7-9", 20, high=10, insufficient_grade=9, promotion_at_risk=6),
        *pupils("B", "4-6", 20, high=10, insufficient_grade=9, promotion_at_risk=6),
        *pupils("B", "7-9", 20, high=10, insufficient_grade=9, promotion_at_risk=6),
    ])  # fmt: skip
    return release([semester], ["A", "B"], ["4-6", "7-9"])


def test_a_pair_revealed_through_a_subset_relation():
    """Promotion at risk is only among pupils with an insufficient grade: a small promotion
    count, protected by a rectangle in its own table, is pinned below its published
    insufficient count."""
    values = promotion_grid()
    promotion = (INDICATORS, S1, "promotion_at_risk", "A", "4-6")
    insufficient = (INDICATORS, S1, "insufficient_grade", "A", "4-6")
    naive = {(INDICATORS, S1, "promotion_at_risk", s, b) for s in "AB" for b in ("4-6", "7-9")}
    relations = release_relations(values)
    margins_only = [r for r in relations.holding if r.sense == "=="]
    lessons = {k for k in values if k[2] == "unjustified_lessons"}
    known = {k: v for k, v in values.items() if k not in naive | lessons}
    wide = attack(known, naive | lessons, margins_only, lessons, naive, floor=1)
    assert wide[promotion].width >= THRESHOLD
    narrow = attack(known, naive | lessons, relations.holding, lessons, naive, floor=1)
    assert (narrow[promotion].low, narrow[promotion].high) == (1, 5)  # at most insufficient
    protection = suppress_release(values, THRESHOLD, suppress_zero=False)
    assert {promotion, insufficient} <= protection.hidden
    found = attack_release(values, *published(values, protection.hidden, THRESHOLD), False)
    assert found["width"].min() >= THRESHOLD


def test_a_cell_a_revision_already_disclosed_is_reported_not_hidden_in_vain():
    """A revision sent under a weaker rule published the insufficient count beside its hidden
    promotion count (the naive pattern above): the promotion count is pinned for good. The
    next release cannot hide it; it says so instead of failing or suppressing everything."""
    values = promotion_grid()
    promotion = (INDICATORS, S1, "promotion_at_risk", "A", "4-6")
    naive = {(INDICATORS, S1, "promotion_at_risk", s, b) for s in "AB" for b in ("4-6", "7-9")}
    sent = Version("2025/26-S1 r1", values, *published(values, naive, THRESHOLD))
    protection = suppress_release(values, THRESHOLD, suppress_zero=False, versions=[sent])
    assert protection.pinned == {promotion}
    found = attack_release(values, *published(values, protection.hidden, THRESHOLD), False, [sent])
    narrow = found.filter(found["width"] < THRESHOLD)
    assert narrow.select("measure", "school_id", "dimension").rows() == [
        ("promotion_at_risk", "A", "4-6")
    ]
    assert disclosed_before(values, [promotion], THRESHOLD, False, [sent]) == {promotion}
    assert not disclosed_before(values, [promotion], THRESHOLD, False, [])


def test_promotion_at_risk_is_every_insufficient_grade_where_none_is_allowed():
    """Grades 1-3 and 10-12 allow no insufficient subject (rules.toml [[promotion_band]]):
    there promotion at risk equals the insufficient grades by rule, a relation the attacker
    uses, and no group disclosure (the rule says it, not the data); in grades 4-6 the same
    equality tells that every pupil with an insufficient grade is at risk, so it is primary."""
    semester = Semester(S1, [
        *pupils("A", "1-3", 30, insufficient_grade=7, promotion_at_risk=7),
        *pupils("A", "4-6", 30, insufficient_grade=7, promotion_at_risk=7),
        *pupils("B", "1-3", 30, insufficient_grade=9, promotion_at_risk=9),
        *pupils("B", "4-6", 30, insufficient_grade=9, promotion_at_risk=6),
    ])  # fmt: skip
    values = release([semester], ["A", "B"], ["1-3", "4-6"])
    relations = release_relations(values)
    identity = sum_of(
        (INDICATORS, S1, "insufficient_grade", "A", "1-3"),
        [(INDICATORS, S1, "promotion_at_risk", "A", "1-3")],
    )
    assert identity in relations.holding
    primary = primary_cells(values, relations, THRESHOLD, suppress_zero=False)
    assert (INDICATORS, S1, "promotion_at_risk", "A", "4-6") in primary
    assert (INDICATORS, S1, "promotion_at_risk", "A", "1-3") not in primary


def supported_semesters(first: int, second: int) -> list[Semester]:
    """KONS supports `first` pupils of school A in S1; in S2 `second` more, of school B."""
    a = pupils("A", "4-6", 30, medium=10, supported=first)
    b = pupils("B", "4-6", 30, medium=10)
    s2_b = [Pupil(p.school, p.band, p.level, p.flags, frozenset({"KONS"}) if i < second else
                  frozenset(), p.unjustified) for i, p in enumerate(b)]  # fmt: skip
    return [Semester(S1, a + b), Semester("2025/26-S2", a + s2_b)]


def test_a_project_to_date_difference():
    """The project to date of the first semester is that semester's municipality figure, and
    it grows by at most the next semester's: publishing it gives away what the support table
    hides."""
    values = release(supported_semesters(3, 6), ["A", "B"], ["4-6"])
    kons = {k for k in values if k[0] in (SUPPORT, PROJECT) and k[4] == "KONS"}
    small_support = {k for k in kons if k[0] == SUPPORT and 0 < values[k] < THRESHOLD}
    # A naive pattern: the support table protected alone (its municipality cell suppressed
    # with the small school cell), the project to date published as it is.
    naive = small_support | {(SUPPORT, S1, "pupils_supported", "ALL", "KONS")}
    found = attack_release(values, *published(values, naive, THRESHOLD), False)
    pinned = found.filter(found["width"] < THRESHOLD)
    assert (SUPPORT, S1, "pupils_supported", "A", "KONS") in set(
        zip(pinned["table"], pinned["semester_id"], pinned["measure"], pinned["school_id"],
            pinned["dimension"], strict=True)
    )  # fmt: skip
    protection = suppress_release(values, THRESHOLD, suppress_zero=False)
    assert (PROJECT, S1, "pupils_supported", "ALL", "KONS") in protection.hidden
    found = attack_release(values, *published(values, protection.hidden, THRESHOLD), False)
    assert found["width"].min() >= THRESHOLD


def test_a_rate_times_its_denominator():
    """The unjustified lessons per pupil, times the pupils, are lessons that add up over
    schools and bands: a rate published beside a suppressed pupil count pins it. The rule
    suppresses a rate with every count it is built from."""
    grid = [("A", "1-3", 20), ("A", "4-6", 25), ("B", "1-3", 22), ("B", "4-6", 31)]
    semester = Semester(S1, [p for s, b, n in grid for p in pupils(s, b, n)])
    for i, p in enumerate(semester.pupils):  # lessons that differ per cell
        semester.pupils[i] = Pupil(p.school, p.band, p.level, p.flags, p.supported_by,
                                   float(i % 7 + len(p.school) * 3 + int(p.band[0])))  # fmt: skip
    values = release([semester], ["A", "B"], ["1-3", "4-6"])
    rectangle = {(INDICATORS, S1, m, s, b) for m in ("pupils", "risk_none") for s, b, _ in grid}
    counts, rates = published(values, rectangle, THRESHOLD)
    assert not any(k[2] == "unjustified_per_pupil" and k[3:] in {(s, b) for s, b, _ in grid}
                   for k in rates)  # fmt: skip
    found = attack_release(values, counts, rates, False)
    assert found["width"].min() >= THRESHOLD
    leaked = dict(rates)
    for school, band, _ in grid:
        cell = (INDICATORS, S1, "unjustified_per_pupil", school, band)
        lessons = values[(INDICATORS, S1, "unjustified_lessons", school, band)]
        leaked[cell] = round(lessons / values[(INDICATORS, S1, "pupils", school, band)], 4)
    found = attack_release(values, counts, leaked, False)
    assert found["width"].min() < THRESHOLD


def crossing_grid(small: list[Pupil]) -> dict:
    """Schools A and B, grades 4-6 and 7-9, 30 pupils each: `small` are A's grades 7-9 (filled
    up with pupils at risk for no published rule and 10 lessons), every other cell has 6 MK 89
    crossings."""

    def cell(school: str, band: str, crossings: int) -> list[Pupil]:
        crossing = frozenset({"mk89_crossings"})
        return [Pupil(school, band, "medium", crossing, frozenset(), 25.0)] * crossings + [
            Pupil(school, band, "high", frozenset(), frozenset(), 10.0)
        ] * (30 - crossings)

    a79 = small + [Pupil("A", "7-9", "high", frozenset(), frozenset(), 10.0)] * (30 - len(small))
    group = [*a79, *cell("A", "4-6", 6), *cell("B", "7-9", 6), *cell("B", "4-6", 6)]
    return release([Semester(S1, group)], ["A", "B"], ["4-6", "7-9"])


def narrowed_by_the_rules(values: dict, leave_out_rates: bool = False) -> dict:
    """The attack on a naive pattern, MK 89 crossings hidden in a rectangle of their own table
    with nothing else: the interval of A's grades 7-9."""
    rectangle = {(INDICATORS, S1, "mk89_crossings", s, b) for s in "AB" for b in ("4-6", "7-9")}
    counts, rates = published(values, rectangle, THRESHOLD)
    found = attack_release(values, counts, {} if leave_out_rates else rates, False)
    row = found.filter((found["school_id"] == "A") & (found["dimension"] == "7-9")).row(
        0, named=True
    )
    return row


def test_mk89_crossings_against_the_lessons_the_rate_gives():
    """A pupil counted among the MK 89 crossings has more than 20 unjustified lessons: the
    published lessons per pupil, times the pupils, caps the crossings. Two crossings and
    nobody else absent are pinned to 1-2, until the rate goes with the count it is built on."""
    crossing = Pupil("A", "7-9", "medium", frozenset({"mk89_crossings"}), frozenset(), 21.0)
    quiet = [Pupil("A", "7-9", "high", frozenset(), frozenset(), 0.0)] * 28
    values = crossing_grid([crossing, crossing, *quiet])
    assert release_relations(values).broken == 0
    row = narrowed_by_the_rules(values)
    assert (row["low"], row["high"]) == (1, 2)
    assert narrowed_by_the_rules(values, leave_out_rates=True)["width"] >= THRESHOLD
    protection = suppress_release(values, THRESHOLD, suppress_zero=False)
    assert (INDICATORS, S1, "mk89_crossings", "A", "7-9") in protection.hidden
    found = attack_release(values, *published(values, protection.hidden, THRESHOLD), False)
    assert found["width"].min() >= THRESHOLD


def test_rule_counts_against_the_risk_levels_that_can_hold_them():
    """MK 89 alone makes a pupil medium risk at least (rules.toml [composite]): three crossings
    beside 5 medium-risk pupils and no high risk are at most 5, pinned to 1-5 by the levels."""
    crossing = Pupil("A", "7-9", "medium", frozenset({"mk89_crossings"}), frozenset(), 25.0)
    medium = Pupil("A", "7-9", "medium", frozenset(), frozenset(), 10.0)
    calm = [Pupil("A", "7-9", "low", frozenset(), frozenset(), 10.0)] * 25
    values = crossing_grid([crossing] * 3 + [medium] * 2 + calm)
    assert release_relations(values).broken == 0
    row = narrowed_by_the_rules(values)
    assert (row["low"], row["high"]) == (1, 5)
    protection = suppress_release(values, THRESHOLD, suppress_zero=False)
    found = attack_release(values, *published(values, protection.hidden, THRESHOLD), False)
    assert found["width"].min() >= THRESHOLD


def test_a_withheld_rate_beside_its_pupils_says_the_lessons_are_few():
    """A rate per pupil is withheld when the cell's unjustified lessons are 1-4: beside its
    published pupils that bounds the lessons, which the attacker knows while the pupils are
    published and not once they are suppressed."""
    values = crossing_grid([Pupil("A", "7-9", "low", frozenset(), frozenset(), 1.0)] * 3)
    lessons = (INDICATORS, S1, "unjustified_lessons", "A", "7-9")
    pupils = (INDICATORS, S1, "pupils", "A", "7-9")
    assert values[lessons] == 3 + 27 * 10  # the filling pupils have 10 lessons each
    few = crossing_grid(
        [Pupil("A", "7-9", "low", frozenset(), frozenset(), 1.0)] * 3
        + [Pupil("A", "7-9", "none", frozenset(), frozenset(), 0.0)] * 27
    )
    relations = release_relations(few)
    bound = [r for r in relations.holding if r.cells == (lessons,)]
    assert [(r.sense, r.bound) for r in bound] == [("<=", THRESHOLD - 1)]
    assert relations.guards[bound[0]] == {pupils}
    counts, rates = published(few, set(), THRESHOLD)
    assert (INDICATORS, S1, "unjustified_per_pupil", "A", "7-9") not in rates
    found = attack_release(few, counts, rates, False)
    assert found.is_empty()  # nothing suppressed: nothing to narrow, and no contradiction
    assert not [r for r in release_relations(values).holding if r.cells == (lessons,)]


def test_a_revision_that_changes_one_cell():
    """Revision 1 hides a small cell with complements; revision 2, a late delivery later,
    makes that cell large enough to publish. Protected on its own, revision 2 publishes a
    complement of revision 1, and the attacker, holding both, pins revision 1's small cell.
    Protected jointly with revision 1, it does not."""
    grid = {("A", "1-3"): 3, ("A", "4-6"): 8, ("B", "1-3"): 9, ("B", "4-6"): 7,
            ("C", "1-3"): 12, ("C", "4-6"): 10}  # fmt: skip

    def version(medium_a: int) -> dict:
        counts = {**grid, ("A", "1-3"): medium_a}
        group = [p for (s, b), n in counts.items() for p in pupils(s, b, 40, medium=n)]
        return release([Semester(S1, group)], ["A", "B", "C"], ["1-3", "4-6"])

    first, second = version(3), version(6)
    earlier = suppress_release(first, THRESHOLD, suppress_zero=False)
    counts, rates = published(first, earlier.hidden, THRESHOLD)
    sent = Version("2025/26-S1 r1", first, counts, rates)
    alone = suppress_release(second, THRESHOLD, suppress_zero=False)
    found = attack_release(second, *published(second, alone.hidden, THRESHOLD), False, [sent])
    assert found.filter(found["version"].is_not_null())["width"].min() < THRESHOLD
    joint = suppress_release(second, THRESHOLD, suppress_zero=False, versions=[sent])
    assert not joint.pinned
    found = attack_release(second, *published(second, joint.hidden, THRESHOLD), False, [sent])
    assert found["width"].min() >= THRESHOLD
    assert found["version"].drop_nulls().len() > 0  # revision 1's cells were attacked too


def test_every_activity_of_the_builder_is_a_project_activity():
    assert set(ACTIVITIES) <= set(activities()["activity"])
