"""Statistical disclosure control for linked count tables, against the attacker of
`docs/disclosure.md`.

A *system* is a set of cells (any hashable key) with true values and linear relations
between them (`Relation`: a total and its parts, a subset and its superset, a rate times its
denominator). Counts are non-negative integers; continuous cells (lesson sums) are never
published and only link others. Three steps:

- `attack`: knowing every published cell and every relation, the smallest and largest value
  each suppressed count can take, by exact integer programming (HiGHS). Each bound is solved
  as a linear programme first; when the optimum is fractional it is solved again with
  integrality, so the interval is the integer one.
- `protect`: complementary suppression. Every suppressed cell gets the cheapest perturbation
  of the table that moves it up and down by the threshold in all while every relation still
  holds and no count falls below its floor (the sequential heuristic of Fischetti and Salazar,
  "Models and algorithms for the 2-dimensional cell suppression problem", 1999: one linear
  programme each way per cell, suppressed cells cost nothing), and the cells it moves are
  suppressed. A perturbation in whole numbers is a table the attacker cannot rule out, so it
  proves the cell's protection; the exact attack checks every cell without such a proof, and
  the cells it finds weak go round again. Costs make totals expensive, so parts are
  suppressed before margins.
- It never fails: a weak cell the perturbation cannot protect gets its whole margins
  suppressed; a round that suppresses nothing new suppresses every cell that may be.

Both split into independent blocks: `protect` into the cells linked by relations once the
cells known whatever is decided are taken out, `attack` into the unknowns linked by relations.
A block is decided by its own cells, values, relations and settings alone, so with a `Reuse`
its answer is kept under a digest of all of them (and of this module's code) and reused the
next time the same block comes: a final semester whose inputs did not change.

Inequalities join a programme only once a solution breaks one (`_Programme`), so the many
that never bind cost nothing; the answers are those of the whole programme.

highspy is imported on first use, not when the Dagster definitions load.
"""

import hashlib
import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path

import numpy as np

Key = Hashable
TOLERANCE = 1e-6
SMALL_PROGRAMME = 2_000  # rows, up to which a programme takes every row from the start


@dataclass(frozen=True)
class Relation:
    """Σ coefficient × cell `sense` `bound`, where `sense` is `==` or `<=`."""

    terms: tuple[tuple[Key, float], ...]
    sense: str
    bound: float = 0.0

    @property
    def cells(self) -> tuple[Key, ...]:
        return tuple(key for key, _ in self.terms)

    def holds(self, values: Mapping[Key, float]) -> bool:
        total = sum(coefficient * values[key] for key, coefficient in self.terms)
        if self.sense == "==":
            return abs(total - self.bound) <= TOLERANCE * max(1.0, abs(self.bound))
        return total <= self.bound + TOLERANCE * max(1.0, abs(self.bound))


def sum_of(total: Key, parts: Iterable[Key]) -> Relation:
    """`total` equals the sum of `parts`."""
    return Relation(((total, -1.0), *((part, 1.0) for part in parts)), "==")


def at_most(part: Key, wholes: Iterable[Key]) -> Relation:
    """`part` is at most the sum of `wholes` (a subset, or an ordering)."""
    return Relation(((part, 1.0), *((whole, -1.0) for whole in wholes)), "<=")


def renamed(relation: Relation, name: Mapping[Key, Key]) -> Relation:
    """The relation over other names for its cells."""
    return Relation(tuple((name[k], c) for k, c in relation.terms), relation.sense, relation.bound)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low


class AttackInfeasible(RuntimeError):
    """The published cells contradict the relations: the model of the tables is wrong."""


@cache
def _engine_version() -> str:
    """A digest of this module's code: a block's answer is reused only from the same code."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


@dataclass
class Reuse:
    """Answers of blocks decided before (`found`, by the digest of everything that decides
    them), and the ones this run used or decided (`used`: what is worth keeping), with how
    many blocks were reused and how many decided."""

    found: dict[str, object] = field(default_factory=dict)
    used: dict[str, object] = field(default_factory=dict)
    reused: int = 0
    decided: int = 0

    def answer(self, inputs: object, decide: Callable[[], object]) -> object:
        """The block's answer: found under the digest of its `inputs` (their `repr`, which
        every caller builds from sorted keys and values), or decided now."""
        key = hashlib.sha256(repr((_engine_version(), inputs)).encode()).hexdigest()
        if key in self.found:
            self.reused += 1
            found = self.found[key]
        else:
            self.decided += 1
            found = decide()
        self.used[key] = found
        return found


def _sorted(keys: Iterable[Key]) -> list[Key]:
    return sorted(keys, key=repr)


def primary_suppression(
    counts: Mapping[Key, int], threshold: int, suppress_zero: bool = False
) -> set[Key]:
    """Cells whose count is below the threshold (zero only when `suppress_zero`)."""
    low = 0 if suppress_zero else 1
    return {key for key, count in counts.items() if low <= count < threshold}


def group_disclosure(counts: Mapping[Key, int], part: Key, group: Sequence[Key]) -> bool:
    """Whether a count of pupils with an attribute equals its group's total (the sum of the
    group's cells) and that total is not zero: everybody in the group has the attribute."""
    total = sum(counts[g] for g in group)
    return total > 0 and counts[part] == total


class _Programme:
    """Variables with bounds and linear rows in HiGHS, solved for one objective at a time.

    `lazy` rows join the programme only once a solution breaks one: most inequalities never
    bind, and every row slows each solve. An optimum that keeps them all is the optimum with
    them, so the answers are those of the whole programme. A small programme takes them all
    at once: there, finding the binding ones costs more solves than it saves."""

    def __init__(
        self,
        lower: np.ndarray,
        upper: np.ndarray,
        rows: list[tuple[dict, float, float]],
        lazy: Sequence[tuple[dict, float, float]] = (),
        integral: np.ndarray | None = None,
    ):
        """`integral` marks the variables that are integers (none when not given)."""
        import highspy  # only when used

        self._highspy = highspy
        # The core class: `highspy.Highs` adds Python logging callbacks that print HiGHS's
        # banner to stdout before any option can silence it.
        self.solver = highspy._Highs()
        self.solver.setOptionValue("output_flag", False)
        self.size = len(lower)
        self.solver.addVars(self.size, lower, np.minimum(upper, highspy.kHighsInf))
        if integral is not None and integral.any():
            kinds = np.where(
                integral, highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous
            )
            self.solver.changeColsIntegrality(
                self.size, np.arange(self.size, dtype=np.int32), kinds
            )
        if len(rows) + len(lazy) <= SMALL_PROGRAMME:
            rows, lazy = [*rows, *lazy], []
        self._add(rows)
        self.lazy = [row for row in lazy if row[0]]
        self.waiting = np.ones(len(self.lazy), dtype=bool)
        self.lazy_index = np.array([i for row, _, _ in self.lazy for i in row], dtype=np.int64)
        self.lazy_value = np.array([c for row, _, _ in self.lazy for c in row.values()])
        self.lazy_start = np.cumsum([0] + [len(row) for row, _, _ in self.lazy[:-1]])
        self.lazy_low = np.array([low for _, low, _ in self.lazy])
        self.lazy_high = np.array([high for _, _, high in self.lazy])
        bound = np.where(np.isfinite(self.lazy_high), self.lazy_high, self.lazy_low)
        self.lazy_slack = TOLERANCE * np.maximum(1.0, np.abs(bound))
        self.columns = np.arange(self.size, dtype=np.int32)

    def _add(self, rows: Sequence[tuple[dict, float, float]]) -> None:
        if not rows:
            return
        inf = self._highspy.kHighsInf
        starts, indices, values, low, high = [], [], [], [], []
        for row, row_low, row_high in rows:
            starts.append(len(indices))
            indices += list(row)
            values += list(row.values())
            low.append(max(row_low, -inf))
            high.append(min(row_high, inf))
        self.solver.addRows(
            len(rows), np.array(low), np.array(high), len(indices),
            np.array(starts, dtype=np.int32), np.array(indices, dtype=np.int32),
            np.array(values, dtype=float),
        )  # fmt: skip

    def _activity(self, x: np.ndarray) -> np.ndarray:
        return np.add.reduceat(self.lazy_value * x[self.lazy_index], self.lazy_start)

    def take(self, rows: np.ndarray) -> bool:
        """Add these waiting rows to the programme; whether there were any."""
        rows = rows & self.waiting
        self.waiting &= ~rows
        self._add([self.lazy[i] for i in np.flatnonzero(rows)])
        return bool(rows.any())

    def _breaking(self, solution: np.ndarray) -> np.ndarray:
        total = self._activity(solution)
        return (total > self.lazy_high + self.lazy_slack) | (
            total < self.lazy_low - self.lazy_slack
        )

    def _blocking(self) -> np.ndarray:
        """The waiting rows that stop the programme's unbounded ray (every one when HiGHS
        gives no ray)."""
        self.solver.setOptionValue("presolve", "off")  # presolve leaves no ray
        self.solver.run()
        self.solver.setOptionValue("presolve", "choose")
        _, has_ray, ray = self.solver.getPrimalRay()
        if not has_ray:
            return np.ones(len(self.lazy), dtype=bool)
        along = self._activity(np.asarray(ray))
        return ((along > TOLERANCE) & np.isfinite(self.lazy_high)) | (
            (along < -TOLERANCE) & np.isfinite(self.lazy_low)
        )

    def minimise(self, cost: np.ndarray):
        """The optimum and solution of min cost·x (None, None when infeasible; -inf when
        unbounded)."""
        highspy = self._highspy
        self.solver.changeColsCost(self.size, self.columns, cost.astype(float))
        while True:
            status = self._run()
            if status == highspy.HighsModelStatus.kInfeasible:
                return None, None
            if status == highspy.HighsModelStatus.kUnbounded:
                if self.waiting.any() and self.take(self._blocking()):
                    continue
                return -math.inf, None
            if status != highspy.HighsModelStatus.kOptimal:
                raise RuntimeError(f"HiGHS stopped with {status}")
            solution = np.array(self.solver.getSolution().col_value)
            if not self.waiting.any() or not self.take(self._breaking(solution)):
                return float(self.solver.getInfo().objective_function_value), solution

    def _run(self):
        highspy = self._highspy
        self.solver.run()
        status = self.solver.getModelStatus()
        if status == highspy.HighsModelStatus.kUnknown:  # a warm start gone astray: start cold
            self.solver.clearSolver()
            self.solver.run()
            status = self.solver.getModelStatus()
        if status == highspy.HighsModelStatus.kUnboundedOrInfeasible:  # presolve cannot tell
            self.solver.setOptionValue("presolve", "off")
            self.solver.run()
            self.solver.setOptionValue("presolve", "choose")
            status = self.solver.getModelStatus()
        return status

    def bound(self, index: int, lower: float, upper: float) -> None:
        self.solver.changeColBounds(index, lower, min(upper, self._highspy.kHighsInf))


def _components(unknown: Sequence[Key], relations: Sequence[Relation]) -> list[set[Key]]:
    """Unknown cells grouped by the relations that link them."""
    parent = {key: key for key in unknown}

    def find(key: Key) -> Key:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for relation in relations:
        linked = [k for k in relation.cells if k in parent]
        for key in linked[1:]:
            parent[find(key)] = find(linked[0])
    groups: dict[Key, set[Key]] = {}
    for key in unknown:
        groups.setdefault(find(key), set()).add(key)
    return list(groups.values())


def attack(
    known: Mapping[Key, float],
    unknown: Iterable[Key],
    relations: Sequence[Relation],
    continuous: Iterable[Key] = (),
    targets: Iterable[Key] | None = None,
    floor: int = 0,
    enough: tuple[dict[Key, Interval], float] | None = None,
    reuse: Reuse | None = None,
) -> dict[Key, Interval]:
    """The interval each unknown count (of `targets`, if given) can take, given the `known`
    cells, the relations, and that unknown counts are integers of at least `floor` (1 when
    zeros are published: a suppressed count is not zero), continuous cells non-negative
    reals. Raises `AttackInfeasible` when no table fits what is known.

    `enough` is for a defender who only asks whether each interval is at least a width: the
    spans of values seen so far in integer tables that fit what is known (`Interval`s, at
    least the true value of every target), and the width. A cell is solved only until its
    span reaches the width, and gets its span, an interval inside the attacker's and wide
    enough; a narrower interval is exact. Every integer solution found widens the spans."""
    unknown = sorted(set(unknown), key=repr)
    continuous = set(continuous)
    wanted = set(unknown if targets is None else targets) - continuous
    reduced = []
    for relation in relations:
        terms = {k: c for k, c in relation.terms if k not in known}
        if not terms:
            continue
        constant = sum(c * known[k] for k, c in relation.terms if k in known)
        reduced.append((terms, relation.sense, relation.bound - constant))
    by_cell: dict[Key, list[int]] = {}
    for number, (terms, _, _) in enumerate(reduced):
        for key in terms:
            by_cell.setdefault(key, []).append(number)
    intervals = {}
    for component in _components(unknown, [Relation(tuple(t.items()), s) for t, s, _ in reduced]):
        if not component & wanted:
            continue
        cells = sorted(component, key=repr)
        decide = partial(
            _attacked_component, cells, reduced, by_cell, continuous, wanted, floor, enough
        )
        if reuse is None:
            found, _ = decide()
        else:
            numbers = sorted({n for key in cells for n in by_cell.get(key, [])})
            rows = [(list(reduced[n][0].items()), *reduced[n][1:]) for n in numbers]
            spans, width = enough if enough else ({}, None)
            inputs = (
                "attack", cells, rows, _sorted(component & continuous),
                _sorted(component & wanted), floor, width,
                [(key, spans[key]) for key in cells if key in spans],
            )  # fmt: skip
            found, widened = reuse.answer(inputs, decide)
            spans.update(widened)
        intervals |= found
    return intervals


def _attacked_component(
    cells: list[Key],
    reduced: list[tuple[dict, str, float]],
    by_cell: dict[Key, list[int]],
    continuous: set[Key],
    wanted: set[Key],
    floor: int,
    enough: tuple[dict[Key, Interval], float] | None,
) -> tuple[dict[Key, Interval], dict[Key, Interval]]:
    """The component's intervals, and the spans its attack left for them."""
    found = _attack_component(cells, reduced, by_cell, continuous, wanted, floor, enough)
    spans = enough[0] if enough else {}
    return found, {key: spans[key] for key in found if key in spans}


def _attack_component(
    cells: list[Key],
    reduced: list[tuple[dict, str, float]],
    by_cell: dict[Key, list[int]],
    continuous: set[Key],
    wanted: set[Key],
    floor: int,
    enough: tuple[dict[Key, Interval], float] | None,
) -> dict[Key, Interval]:
    index = {key: i for i, key in enumerate(cells)}
    numbers = sorted({n for key in cells for n in by_cell.get(key, [])})
    rows, lazy = [], []  # inequalities wait until a solution breaks one
    for n in numbers:
        terms, sense, bound = reduced[n]
        row = {index[k]: c for k, c in terms.items()}
        if sense == "==":
            rows.append((row, bound, bound))
        else:
            lazy.append((row, -math.inf, bound))
    integral = np.array([key not in continuous for key in cells])
    lower = np.where(integral, float(floor), 0.0)
    extremes = _Extremes(lower, np.full(len(cells), math.inf), rows, lazy, integral)
    targets = sorted(set(cells) & wanted, key=repr)
    spans, width = enough if enough else ({}, math.inf)

    def seen(solution: np.ndarray | None) -> None:
        if enough and solution is not None:
            for key in targets:
                _widen(spans, key, round(solution[index[key]]))

    intervals = {}
    for key in targets:
        if key in spans and spans[key].width >= width:
            intervals[key] = spans[key]
            continue
        cost = np.zeros(len(cells))
        cost[index[key]] = 1.0
        optimum, solution = extremes.minimum(-cost, key)
        seen(solution)
        high = math.floor(-optimum + TOLERANCE) if math.isfinite(optimum) else math.inf
        if key in spans and high - spans[key].low >= width:
            intervals[key] = Interval(spans[key].low, high)
            continue
        optimum, solution = extremes.minimum(cost, key)
        seen(solution)
        intervals[key] = Interval(math.ceil(optimum - TOLERANCE), high)
    return intervals


def _widen(spans: dict[Key, Interval], key: Key, value: float) -> None:
    span = spans[key]
    if not span.low <= value <= span.high:
        spans[key] = Interval(min(span.low, value), max(span.high, value))


class _Extremes:
    """The least value of linear objectives over the integer points of a programme: the
    linear programme's, unless its optimum is fractional; then the integer programme's, in a
    solver of its own (a change of integrality drops the warm start)."""

    def __init__(self, lower, upper, rows, lazy, integral: np.ndarray):
        self.programme = (lower, upper, rows, lazy)
        self.relaxed = _Programme(*self.programme)
        self.integral = integral
        self.exact: _Programme | None = None

    def minimum(self, cost: np.ndarray, key: Key) -> tuple[float, np.ndarray | None]:
        """The minimum of cost·x, and an integer point where it is reached (None if
        unbounded)."""
        optimum, solution = self.relaxed.minimise(cost)
        if optimum is None:
            raise AttackInfeasible(f"no table fits the published cells around {key!r}")
        if solution is not None and not _integral(solution[self.integral]):
            if self.exact is None:
                self.exact = _Programme(*self.programme, integral=self.integral)
            self.exact.take(~self.relaxed.waiting)  # the rows that bound the relaxation
            optimum, solution = self.exact.minimise(cost)
        return optimum, solution


def _integral(values: np.ndarray) -> bool:
    return bool(np.all(np.abs(values - np.round(values)) <= TOLERANCE))


def weak_cells(
    values: Mapping[Key, float],
    suppressed: set[Key],
    relations: Sequence[Relation],
    threshold: int,
    continuous: Iterable[Key] = (),
    targets: Iterable[Key] | None = None,
    floor: int = 0,
    spans: dict[Key, Interval] | None = None,
) -> dict[Key, Interval]:
    """Suppressed counts (of `targets`) the attack pins to an interval narrower than the
    threshold, knowing every other count, with the intervals it finds. `spans` (see
    `attack`) carry what is known to fit from one call to the next, while only more is
    suppressed."""
    continuous = set(continuous)
    hidden = suppressed | continuous
    known = {k: v for k, v in values.items() if k not in hidden}
    wanted = suppressed if targets is None else targets
    spans = _spans(values) if spans is None else spans
    found = attack(known, hidden, relations, continuous, wanted, floor, (spans, threshold))
    return {key: i for key, i in found.items() if i.width < threshold}


def _spans(values: Mapping[Key, float]) -> dict[Key, Interval]:
    """The true table, the first that fits."""
    return {key: Interval(value, value) for key, value in values.items()}


def protect(
    values: Mapping[Key, float],
    relations: Sequence[Relation],
    primary: set[Key],
    threshold: int,
    cost: Mapping[Key, float],
    continuous: Iterable[Key] = (),
    fixed: Iterable[Key] = (),
    floor: int = 0,
    conditional: Mapping[Relation, frozenset[Key]] | None = None,
    reuse: Reuse | None = None,
) -> tuple[set[Key], set[Key]]:
    """Primary cells plus the complementary cells that protect every suppressed cell: no
    suppressed count can be narrowed below `threshold` by the attack (`_protect_block`, on
    each block of cells that relations link once the cells known whatever is decided are
    taken out: nothing one block decides can narrow or widen another's cells). A block with
    no primary cell suppresses nothing. With `reuse`, a block's answer is reused when its
    cells, values, costs, relations, primary, fixed and continuous cells and the settings
    equal a block decided before.

    Returns the suppressed cells, and the suppressed cells no suppression can protect."""
    continuous = frozenset(continuous)
    known = _known(values, fixed, continuous, floor)
    conditional = conditional or {}
    suppressed, pinned = set(), set()
    for cells, linked in _blocks(values, relations, known, conditional):
        start = set(primary) & cells
        if not start:
            continue
        present = cells | {k for r in linked for k in r.cells}
        block = {k: values[k] for k in _sorted(present)}
        guards = {r: conditional[r] for r in linked if r in conditional}

        decide = partial(
            _protect_block, block, linked, start, threshold, cost, continuous & cells,
            present - cells, floor, guards,
        )  # fmt: skip
        if reuse is None:
            hidden, weak = decide()
        else:
            inputs = (
                "protect", threshold, floor, list(block.items()),
                [(k, cost[k]) for k in block if k in cells], linked,
                [(r, _sorted(guards[r])) for r in linked if r in guards],
                _sorted(start), _sorted(continuous & cells), _sorted(present - cells),
            )  # fmt: skip
            hidden, weak = reuse.answer(inputs, decide)
        suppressed |= hidden
        pinned |= weak
    return suppressed, pinned


def _blocks(
    values: Mapping[Key, float],
    relations: Sequence[Relation],
    known: frozenset[Key],
    conditional: Mapping[Relation, frozenset[Key]],
) -> list[tuple[set[Key], list[Relation]]]:
    """The cells not `known`, grouped by the relations that link them (a conditional relation
    links the cells whose suppression ends it too), each with its relations in their order."""
    unknown = _sorted(k for k in values if k not in known)
    links = [(r, (*r.cells, *_sorted(conditional.get(r, ())))) for r in relations]
    groups = _components(unknown, [Relation(tuple((k, 1.0) for k in c), "==") for _, c in links])
    block_of = {key: number for number, group in enumerate(groups) for key in group}
    linked: list[list[Relation]] = [[] for _ in groups]
    for relation, cells in links:
        inside = [block_of[k] for k in cells if k in block_of]
        if inside:
            linked[inside[0]].append(relation)
    return [(group, linked[number]) for number, group in enumerate(groups)]


def _protect_block(
    values: Mapping[Key, float],
    relations: Sequence[Relation],
    primary: set[Key],
    threshold: int,
    cost: Mapping[Key, float],
    continuous: Iterable[Key] = (),
    fixed: Iterable[Key] = (),
    floor: int = 0,
    conditional: Mapping[Relation, frozenset[Key]] | None = None,
) -> tuple[set[Key], set[Key]]:
    """Primary cells plus the complementary cells that protect every suppressed cell: no
    suppressed count can be narrowed below `threshold` by the attack. `fixed` cells are known
    to the attacker whatever is decided (published before): never suppressed, never moved.
    Counts below `floor` are published (zeros, when zeros are published), and the attacker
    knows every suppressed count is at least `floor`. Relations must hold on `values`.

    A `conditional` relation holds only while none of its cells is suppressed (a rate, gone
    when a count it is built on is).

    Returns the suppressed cells, and the suppressed cells no suppression can protect: the
    fixed cells and the relations alone pin them (nothing else moves them far enough), so
    they were disclosed before; empty when nothing is fixed but zeros."""
    continuous = frozenset(continuous)
    fixed = _known(values, fixed, continuous, floor)
    movable = set(values) - fixed - continuous
    suppressed = set(primary) - fixed
    conditional = conditional or {}

    def active(hidden: set[Key]) -> list[Relation]:
        return [r for r in relations if not (conditional.get(r, frozenset()) & hidden)]

    in_force = active(suppressed)
    perturb = _Perturbation(values, in_force, continuous, fixed, floor)
    # Integer tables that fit what the attacker knows: they stay fitting as more is
    # suppressed, so a cell they span the threshold for is protected for good.
    spans = _spans(values)
    pending, weak, pinned = set(suppressed), {}, set()
    while pending:
        before = set(suppressed)
        for cell in sorted(pending - pinned, key=repr):
            if spans[cell].width >= threshold:
                continue
            moved = perturb.cells_to_move(cell, suppressed, threshold, cost, spans)
            if moved is None:
                pinned.add(cell)
                continue
            if cell in weak and moved <= suppressed | continuous:  # whole numbers fall short
                moved = {k for r in in_force if cell in r.cells for k in r.cells} & movable
            suppressed |= moved - continuous
        if len(active(suppressed)) != len(in_force):  # a rate gone: the table loosens
            in_force = active(suppressed)
            perturb = _Perturbation(values, in_force, continuous, fixed, floor)
            pinned = set()
        unproved = {cell for cell in suppressed - pinned if spans[cell].width < threshold}
        weak = weak_cells(
            values, suppressed, in_force, threshold, continuous, unproved, floor, spans
        )
        if weak and suppressed == before:
            suppressed |= movable
        # Nothing new suppressed: what is still weak is left for the caller's attack to find.
        pending = set(weak) | (suppressed - before) if suppressed != before else set()
    return suppressed, pinned


def _known(
    values: Mapping[Key, float], fixed: Iterable[Key], continuous: frozenset[Key], floor: int
) -> frozenset[Key]:
    """What the attacker knows whatever is suppressed: the `fixed` cells, and the counts
    below the floor (published zeros)."""
    return frozenset(fixed) | {k for k, v in values.items() if v < floor and k not in continuous}


def unprotectable(
    values: Mapping[Key, float],
    relations: Sequence[Relation],
    cells: Iterable[Key],
    threshold: int,
    continuous: Iterable[Key] = (),
    fixed: Iterable[Key] = (),
    floor: int = 0,
) -> set[Key]:
    """The `cells` that no suppression can protect: even with every cell but the `fixed`
    suppressed, no change of the table moves them up and down by `threshold` in all."""
    continuous = frozenset(continuous)
    fixed = _known(values, fixed, continuous, floor)
    perturb = _Perturbation(values, relations, continuous, fixed, floor)
    return {cell for cell in cells if perturb.reach(cell, threshold) < threshold - TOLERANCE}


class _Perturbation:
    """The cheapest change to the suppressed cells that moves one cell by a given amount while
    every relation still holds and every count stays at or above the floor."""

    def __init__(
        self,
        values: Mapping[Key, float],
        relations: Sequence[Relation],
        continuous: frozenset[Key],
        fixed: frozenset[Key],
        floor: int,
    ):
        self.values = values
        self.continuous = continuous
        self.cells = sorted((k for k in values if k not in fixed), key=repr)
        self.index = {key: i for i, key in enumerate(self.cells)}
        size = len(self.cells)
        # Variables: the rise of each cell, then its fall; both non-negative. Inequalities
        # with room to spare wait until a change breaks one.
        rows, lazy = [], []
        for relation in relations:
            row: dict[int, float] = {}
            for key, coefficient in relation.terms:
                if key in self.index:
                    i = self.index[key]
                    row[i] = row.get(i, 0.0) + coefficient
                    row[size + i] = row.get(size + i, 0.0) - coefficient
            if not row:
                continue
            if relation.sense == "==":
                rows.append((row, 0.0, 0.0))
            else:
                slack = relation.bound - sum(c * values[k] for k, c in relation.terms)
                (lazy if slack > TOLERANCE else rows).append((row, -math.inf, max(slack, 0.0)))
        # How far each cell can fall: to zero, or to `floor` for a count.
        self.room = [float(values[k]) - (0 if k in continuous else floor) for k in self.cells]
        self.integer = np.array([k not in continuous for k in self.cells], dtype=bool)
        upper = np.concatenate([np.full(size, math.inf), np.array(self.room)])
        self.programme = _Programme(np.zeros(2 * size), upper, rows, lazy) if size else None

    def cells_to_move(
        self,
        cell: Key,
        suppressed: set[Key],
        threshold: int,
        cost: Mapping[Key, float],
        spans: dict[Key, Interval],
    ) -> set[Key] | None:
        """The cells a perturbation moves to give `cell` room of `threshold` (up plus down),
        or None when no perturbation of the cells that may move can. A perturbation in whole
        numbers is a table that fits once its cells are suppressed: it widens the `spans`."""
        if self.programme is None or cell not in self.index:
            return None
        free = suppressed | self.continuous
        unit = np.array([0.0 if k in free else cost[k] / threshold for k in self.cells])
        objective = np.concatenate([unit, unit])
        i = self.index[cell]
        down = min(int(self.room[i]), threshold // 2)
        changes = self._changes(i, threshold - down, down, objective)
        if changes is None:  # not that way: as far up as it goes, the rest down
            up = math.floor(self._reach(i, True, threshold) + TOLERANCE)
            if threshold - up > self._reach(i, False, threshold) + TOLERANCE:
                return None
            changes = self._changes(i, up, threshold - up, objective)
        if changes is None:
            return None
        moved = set()
        for change in changes:
            changed = np.flatnonzero(np.abs(change) > TOLERANCE)
            moved |= {self.cells[j] for j in changed}
            if _integral(change[self.integer]):
                for j in changed:
                    if self.cells[j] in spans:
                        key = self.cells[j]
                        _widen(spans, key, round(self.values[key] + change[j]))
        return moved - {cell}

    def _changes(
        self, i: int, up: float, down: float, objective: np.ndarray
    ) -> list[np.ndarray] | None:
        """The cheapest changes that move cell `i` up by `up` and down by `down` (None when
        either cannot be)."""
        changes = []
        for rise, fall in ((up, 0.0), (0.0, down)):
            if rise or fall:
                solution = self._solve(i, (rise, rise), (fall, fall), objective)
                if solution is None:
                    return None
                changes.append(solution)
        return changes

    def reach(self, cell: Key, most: float) -> float:
        """How far the cell can move up and down in all, up to `most` each way, whatever
        moves with it (0 when it is fixed)."""
        if self.programme is None or cell not in self.index:
            return 0.0
        i = self.index[cell]
        return self._reach(i, True, most) + self._reach(i, False, most)

    def _reach(self, i: int, rise: bool, most: float) -> float:
        """How far cell `i` can move up (or down), up to `most`, whatever it costs."""
        size = len(self.cells)
        objective = np.zeros(2 * size)
        objective[i if rise else size + i] = -1.0
        bounds = ((0.0, most), (0.0, 0.0)) if rise else ((0.0, 0.0), (0.0, min(most, self.room[i])))
        optimum, _ = self._bounded(i, *bounds, objective)
        return 0.0 if optimum is None else -optimum

    def _solve(self, i: int, rise: tuple, fall: tuple, objective: np.ndarray) -> np.ndarray | None:
        """The change (rise − fall per cell) of the cheapest perturbation with cell `i`'s rise
        and fall in the given bounds, or None."""
        optimum, solution = self._bounded(i, rise, fall, objective)
        if optimum is None or solution is None:
            return None
        size = len(self.cells)
        return solution[:size] - solution[size:]

    def _bounded(self, i: int, rise: tuple, fall: tuple, objective: np.ndarray):
        size = len(self.cells)
        self.programme.bound(i, *rise)
        self.programme.bound(size + i, *fall)
        found = self.programme.minimise(objective)
        self.programme.bound(i, 0.0, math.inf)
        self.programme.bound(size + i, 0.0, self.room[i])
        return found
