"""Disclosure control: primary and complementary suppression, proved by attacking the result."""

import pytest

from pipelines.publication.disclosure import (
    Constraint,
    attack,
    complementary_suppression,
    primary_suppression,
    table_constraints,
)
from pipelines.publication.tables import indicator_constraints

THRESHOLD = 5


def table(inner: dict[tuple[str, str], int]) -> tuple[dict, list[Constraint]]:
    """A two-way table with its margins ('T' row and column)."""
    rows = [*sorted({r for r, _ in inner}), "T"]
    columns = [*sorted({c for _, c in inner}), "T"]
    counts = dict(inner)
    for r in rows[:-1]:
        counts[(r, "T")] = sum(v for (rr, _), v in inner.items() if rr == r)
    for c in columns[:-1]:
        counts[("T", c)] = sum(v for (_, cc), v in inner.items() if cc == c)
    counts[("T", "T")] = sum(inner.values())
    return counts, table_constraints(rows, columns, "T", "T")


def protect(counts: dict, constraints: list[Constraint]) -> set:
    primary = primary_suppression(counts, THRESHOLD)
    return primary | complementary_suppression(counts, primary, constraints, THRESHOLD)


def assert_protected(counts: dict, suppressed: set, constraints: list[Constraint]) -> None:
    """The attacker knows every published cell and every margin equation."""
    for integer in (False, True):
        found = attack(counts, suppressed, constraints, integer=integer)
        assert set(found) == suppressed
        for key, interval in found.items():
            assert interval.low <= counts[key] <= interval.high, key
            assert interval.width >= THRESHOLD, (key, interval)


def test_a_lone_small_cell_is_exactly_derivable_until_protected():
    counts, constraints = table(
        {("A", "x"): 3, ("A", "y"): 10, ("A", "z"): 12, ("B", "x"): 8, ("B", "y"): 9,
         ("B", "z"): 20, ("C", "x"): 15, ("C", "y"): 11, ("C", "z"): 7}
    )  # fmt: skip
    primary = primary_suppression(counts, THRESHOLD)
    assert primary == {("A", "x")}
    exposed = attack(counts, primary, constraints)[("A", "x")]
    assert exposed.low == exposed.high == 3  # the row total gives it away
    suppressed = protect(counts, constraints)
    assert len(suppressed) == 4  # a rectangle: the cheapest protection
    assert_protected(counts, suppressed, constraints)


def test_two_small_cells_that_would_reveal_each_other():
    # Only each other in their row: their sum (3) is published through the margin.
    counts, constraints = table(
        {("A", "x"): 2, ("A", "y"): 1, ("A", "z"): 40, ("B", "x"): 30, ("B", "y"): 25,
         ("B", "z"): 33, ("C", "x"): 12, ("C", "y"): 18, ("C", "z"): 21}
    )  # fmt: skip
    primary = primary_suppression(counts, THRESHOLD)
    assert primary == {("A", "x"), ("A", "y")}
    assert min(i.width for i in attack(counts, primary, constraints).values()) < THRESHOLD
    suppressed = protect(counts, constraints)
    assert_protected(counts, suppressed, constraints)


def test_zeros_are_published_and_never_used_to_hide_a_cell():
    counts, constraints = table(
        {("A", "x"): 4, ("A", "y"): 0, ("A", "z"): 9, ("B", "x"): 6, ("B", "y"): 0,
         ("B", "z"): 11, ("C", "x"): 7, ("C", "y"): 0, ("C", "z"): 13}
    )  # fmt: skip
    suppressed = protect(counts, constraints)
    assert not any(counts[k] == 0 for k in suppressed)
    assert_protected(counts, suppressed, constraints)


def test_a_school_with_one_pupil_in_a_grade_band():
    # The pupils of a cell split into four risk levels, each a table of its own with margins.
    schools, bands = ["S1", "S2", "S3", "ALL"], ["1-3", "4-6", "all"]
    pupils = {("S1", "1-3"): 1, ("S1", "4-6"): 30, ("S2", "1-3"): 25, ("S2", "4-6"): 28,
              ("S3", "1-3"): 22, ("S3", "4-6"): 26}  # fmt: skip
    split = {"risk_none": 0.6, "risk_low": 0.2, "risk_medium": 0.12}
    inner = {}
    for cell, n in pupils.items():
        levels = {level: int(n * share) for level, share in split.items()}
        levels["risk_high"] = n - sum(levels.values())
        if cell == ("S1", "1-3"):
            levels = {"risk_none": 0, "risk_low": 0, "risk_medium": 0, "risk_high": 1}
        inner |= {(level, *cell): v for level, v in levels.items()}
        inner[("pupils", *cell)] = n
    counts = {}
    for measure in ("pupils", "risk_none", "risk_low", "risk_medium", "risk_high"):
        part = {(s, b): v for (m, s, b), v in inner.items() if m == measure}
        margins, _ = table({(s.replace("ALL", "T"), b): v for (s, b), v in part.items()})
        counts |= {
            (measure, "ALL" if r == "T" else r, "all" if c == "T" else c): v
            for (r, c), v in margins.items()
        }
    constraints = [
        c
        for c in indicator_constraints(schools, bands)
        if c.total[0] in {"pupils", "risk_none", "risk_low", "risk_medium", "risk_high"}
    ]
    primary = primary_suppression(counts, THRESHOLD)
    assert ("pupils", "S1", "1-3") in primary and ("risk_high", "S1", "1-3") in primary
    suppressed = primary | complementary_suppression(counts, primary, constraints, THRESHOLD)
    assert_protected(counts, suppressed, constraints)


@pytest.mark.parametrize("suppress_zero", [False, True])
def test_primary_suppression_threshold(suppress_zero):
    counts = {"a": 0, "b": 1, "c": 4, "d": 5, "e": 100}
    expected = {"b", "c"} | ({"a"} if suppress_zero else set())
    assert primary_suppression(counts, THRESHOLD, suppress_zero) == expected
