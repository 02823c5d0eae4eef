"""Statistical disclosure control for published count tables.

A table is a set of cells (any hashable key) with non-negative integer counts, and additive
constraints: a total cell equals the sum of its part cells (a row or column margin, or the
pupils of a cell split by risk level). Three steps:

- primary suppression: counts below the threshold (1-4 by default; zero is published, as
  "nobody" discloses nothing about a person unless configured otherwise);
- complementary suppression: further cells, until the attack below can pin no suppressed cell
  to an interval narrower than the threshold;
- the attack: knowing every published cell and every constraint, the smallest and largest
  value each suppressed cell can take, by linear programming (`scipy.optimize.linprog`, HiGHS)
  or, with `integer=True`, integer programming (`milp`). scipy is imported on first use,
  not when the Dagster definitions load.
"""

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Key = Hashable


@dataclass(frozen=True)
class Constraint:
    """`total` equals the sum of `parts`."""

    total: Key
    parts: tuple[Key, ...]


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low


def primary_suppression(
    counts: Mapping[Key, int], threshold: int, suppress_zero: bool = False
) -> set[Key]:
    """Cells whose count is below the threshold (zero only when `suppress_zero`)."""
    low = 0 if suppress_zero else 1
    return {key for key, count in counts.items() if low <= count < threshold}


def attack(
    counts: Mapping[Key, int],
    suppressed: set[Key],
    constraints: Sequence[Constraint],
    integer: bool = False,
    only: set[Key] | None = None,
) -> dict[Key, Interval]:
    """The interval each suppressed cell (of `only`, if given) can take, given the published
    cells and constraints and nothing else (counts are non-negative)."""
    unknown = sorted(suppressed, key=repr)
    if not unknown:
        return {}
    index = {key: i for i, key in enumerate(unknown)}
    rows, right = [], []
    for constraint in constraints:
        cells = [(constraint.total, -1.0)] + [(part, 1.0) for part in constraint.parts]
        row = np.zeros(len(unknown))
        known = 0.0
        for key, sign in cells:
            if key in index:
                row[index[key]] += sign
            else:
                known += sign * counts[key]
        if row.any():
            rows.append(row)
            right.append(-known)
    matrix = np.array(rows) if rows else np.zeros((0, len(unknown)))
    intervals = {}
    for key, i in index.items():
        if only is not None and key not in only:
            continue
        bounds_found = []
        for sense in (1.0, -1.0):
            objective = np.zeros(len(unknown))
            objective[i] = sense
            bounds_found.append(sense * _optimum(objective, matrix, np.array(right), integer))
        intervals[key] = Interval(bounds_found[0], bounds_found[1])
    return intervals


def _optimum(objective: np.ndarray, matrix: np.ndarray, right: np.ndarray, integer: bool) -> float:
    """The minimum of objective·x subject to matrix·x = right and x ≥ 0 (inf if unbounded)."""
    from scipy.optimize import Bounds, LinearConstraint, linprog, milp  # 2 s: only when used

    if integer:
        constraints = [LinearConstraint(matrix, right, right)] if len(matrix) else []
        result = milp(
            objective,
            constraints=constraints,
            integrality=np.ones(len(objective)),
            bounds=Bounds(0, np.inf),
        )
    else:
        result = linprog(
            objective,
            A_eq=matrix if len(matrix) else None,
            b_eq=right if len(matrix) else None,
            bounds=(0, None),
            method="highs",
        )
    if result.status == 3 or result.x is None:  # unbounded
        return -np.inf
    return float(result.fun)


def weak_cells(
    counts: Mapping[Key, int],
    suppressed: set[Key],
    constraints: Sequence[Constraint],
    threshold: int,
    integer: bool = False,
    only: set[Key] | None = None,
) -> dict[Key, Interval]:
    """Suppressed cells (of `only`) the attack pins to an interval narrower than the
    threshold."""
    found = attack(counts, suppressed, constraints, integer, only)
    return {key: interval for key, interval in found.items() if interval.width < threshold}


def complementary_suppression(
    counts: Mapping[Key, int],
    primary: set[Key],
    constraints: Sequence[Constraint],
    threshold: int,
) -> set[Key]:
    """Further cells to suppress so that no suppressed cell can be narrowed below the
    threshold. Greedy, in rounds: each weak cell of a two-way table (keys ending in row and
    column) gets the cheapest rectangle of inner cells through it (the fewest pupils hidden),
    any other weak cell the smallest published cell sharing a constraint with it (a part
    before a total, a non-zero cell before a zero); when every cell around it is suppressed,
    the whole margins through it; then the attack runs again. It never fails: a round that
    finds nothing more to suppress around its weak cells suppresses every cell, and with
    nothing published no cell can be narrowed at all."""
    suppressed = set(primary)
    totals = {c.total for c in constraints}
    check = set(primary)
    while True:
        # Suppressing more only widens intervals: a cell found safe stays safe.
        weak = weak_cells(counts, suppressed, constraints, threshold, only=check)
        if not weak:
            return suppressed - primary
        before = set(suppressed)
        for cell in sorted(weak, key=repr):
            suppressed |= (
                _rectangle(cell, counts, suppressed, totals)
                or _partner(cell, counts, suppressed, constraints, totals, zeros=False)
                or _partner(cell, counts, suppressed, constraints, totals, zeros=True)
                or _margins(cell, constraints) - suppressed
            )
        if suppressed == before:
            suppressed = set(counts)
        check = set(weak) | (suppressed - before)


def _rectangle(
    cell: Key, counts: Mapping[Key, int], suppressed: set[Key], totals: set[Key]
) -> set[Key]:
    """The cheapest rectangle of inner cells through `cell` in its two-way table (keys
    `(*table, row, column)`) that adds at least one cell, as the cells it adds. Zero cells
    are never added: a zero hides nobody and its margins often give it away."""
    if not isinstance(cell, tuple) or len(cell) < 2 or cell in totals:
        return set()
    *table, row, column = cell
    inner = {
        k
        for k in counts
        if isinstance(k, tuple) and len(k) == len(cell) and list(k[:-2]) == table
        and k not in totals
    }  # fmt: skip
    best: tuple[int, str, set[Key]] | None = None
    for other_row in {k[-2] for k in inner} - {row}:
        for other_column in {k[-1] for k in inner} - {column}:
            corners = {
                (*table, row, other_column),
                (*table, other_row, column),
                (*table, other_row, other_column),
            }
            new = corners - suppressed
            if not corners <= inner or not new or any(counts[k] == 0 for k in new):
                continue
            cost = (sum(counts[k] for k in new), repr(sorted(new, key=repr)))
            if best is None or cost < best[:2]:
                best = (*cost, new)
    return best[2] if best else set()


def _partner(
    cell: Key,
    counts: Mapping[Key, int],
    suppressed: set[Key],
    constraints: Sequence[Constraint],
    totals: set[Key],
    zeros: bool,
) -> set[Key]:
    """The smallest published cell (non-zero, unless `zeros`) of a constraint where `cell` is
    the only suppressed one; else of any constraint through it; else, when every cell around
    is suppressed already, of the constraints one step further out, and so on. Empty when
    there is none."""
    around = [c for c in constraints if cell == c.total or cell in c.parts]
    lonely = [c for c in around if sum(k in suppressed for k in (c.total, *c.parts)) < 2]
    reached, frontier, searched = {cell}, lonely or around, set()
    while frontier:
        partners = {
            key
            for c in frontier
            for key in (c.total, *c.parts)
            if key not in suppressed and (zeros or counts[key] > 0)
        }
        if partners:
            return {min(partners, key=lambda k: (k in totals, counts[k], repr(k)))}
        searched |= {id(c) for c in frontier}
        reached |= {key for c in frontier for key in (c.total, *c.parts)}
        frontier = [
            c for c in constraints if id(c) not in searched and reached & {c.total, *c.parts}
        ]
    return set()


def _margins(cell: Key, constraints: Sequence[Constraint]) -> set[Key]:
    """Every cell of the constraints through `cell`: its whole margins."""
    return {
        key
        for c in constraints
        if cell == c.total or cell in c.parts
        for key in (c.total, *c.parts)
    }


def table_constraints(
    rows: Sequence[Key], columns: Sequence[Key], total_row: Key, total_column: Key
) -> list[Constraint]:
    """The margins of a two-way table whose cells are keyed (row, column): each row's total
    column, each column's total row, and the grand total both ways."""
    inner_rows = [r for r in rows if r != total_row]
    inner_columns = [c for c in columns if c != total_column]
    by_row = [Constraint((r, total_column), tuple((r, c) for c in inner_columns)) for r in rows]
    by_column = [Constraint((total_row, c), tuple((r, c) for r in inner_rows)) for c in columns]
    return by_row + by_column
