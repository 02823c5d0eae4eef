"""Disclosure control never fails and always protects: randomised property tests.

1. The engine (`pipelines.publication.disclosure`) on 10,000 small generated tables: a two-way
   table with margins whose cells may split further into levels (pupils = the levels) and may
   carry a subset count (at most the cell); sparse, dense, all zero, a single pupil, small
   counts, one row or one column. Each gets a pattern; no exception escapes; every count
   below the threshold is suppressed; and the exact attack, knowing every published cell,
   every relation and that zeros are published, narrows no suppressed count below the
   threshold.
2. The whole attacker model (`pipelines.publication.protection`) on generated releases built
   from pupils (tests/small_release.py): indicators, support and the project to date over one
   or two semesters, with group disclosure, subsets, support against the indicators, the
   project to date across semesters and the published rates.

Seed 15. The tables are kept small so that the 10,000 run in about a minute.
"""

import random

import numpy as np
import pytest
from scipy.optimize import LinearConstraint, milp
from scipy.sparse import block_diag
from small_release import published, random_release

from pipelines.publication.disclosure import (
    Relation,
    at_most,
    attack,
    primary_suppression,
    protect,
    sum_of,
    weak_cells,
)
from pipelines.publication.protection import (
    RULE_FLAGS,
    attack_release,
    least_level,
    level_capacity,
    pupil_types,
    suppress_release,
)
from pipelines.publication.tables import RISK_LEVELS

SEED = 15
TABLES = 10_000
RELEASES = 100
BATCHES = 10
THRESHOLD = 5
SHAPES = ("sparse", "dense", "all zero", "single pupil", "small counts", "one-way")


def random_table(rng: random.Random) -> tuple[dict, list[Relation]]:
    """Counts of a two-way table with its margins, perhaps split into levels and with a
    subset count, and the relations between them."""
    shape = rng.choice(SHAPES)
    rows, columns = rng.randint(1, 3), rng.randint(1, 3)
    if shape == "one-way":
        rows = 1
    draw = {
        "sparse": lambda: rng.choice([0, 0, 0, 0, 1, 2, 3, 4, rng.randint(5, 20)]),
        "dense": lambda: rng.randint(0, 40),
        "all zero": lambda: 0,
        "single pupil": lambda: 0,
        "small counts": lambda: rng.randint(0, 6),
        "one-way": lambda: rng.choice([0, 1, 2, 3, 5, 8, 13]),
    }[shape]
    levels = rng.choice([[""], ["a", "b"], ["a", "b", "c"]])
    inner = [(level, r, c) for level in levels for r in range(rows) for c in range(columns)]
    counts = {cell: draw() for cell in inner}
    if shape == "single pupil":
        counts[rng.choice(inner)] = 1
    relations = []
    for level in levels:
        for r in range(rows):
            parts = [(level, r, c) for c in range(columns)]
            counts[(level, r, "all")] = sum(counts[p] for p in parts)
            relations.append(sum_of((level, r, "all"), parts))
        for c in [*range(columns), "all"]:
            parts = [(level, r, c) for r in range(rows)]
            counts[(level, "all", c)] = sum(counts[p] for p in parts)
            relations.append(sum_of((level, "all", c), parts))
    if len(levels) > 1:
        for r in [*range(rows), "all"]:
            for c in [*range(columns), "all"]:
                parts = [(level, r, c) for level in levels]
                counts[("total", r, c)] = sum(counts[p] for p in parts)
                relations.append(sum_of(("total", r, c), parts))
    if rng.random() < 0.5:  # a subset count of the first level, cell by cell
        first = levels[0]
        for r in range(rows):
            for c in range(columns):
                counts[("subset", r, c)] = rng.randint(0, counts[(first, r, c)])
                relations.append(at_most(("subset", r, c), [(first, r, c)]))
    return counts, relations


def tables_of(batch: int):
    rng = random.Random(SEED * 1000 + batch)
    for table in range(TABLES // BATCHES):
        yield table, *random_table(rng)


def assert_protected(batch: int) -> None:
    """Every table of the batch: a pattern, primary cells in it, no zero in it, and no
    suppressed count the exact attack narrows below the threshold (`weak_cells` decides
    exactly whether each interval is that wide)."""
    for table, counts, relations in tables_of(batch):
        primary = primary_suppression(counts, THRESHOLD)
        costs = {key: 1.0 + value for key, value in counts.items()}
        hidden, pinned = protect(counts, relations, primary, THRESHOLD, costs, floor=1)
        assert not pinned, (batch, table)
        assert primary <= hidden, (batch, table, counts)
        assert not any(counts[k] == 0 for k in hidden), (batch, table)  # zeros are published
        narrow = weak_cells(counts, hidden, relations, THRESHOLD, floor=1)
        assert not narrow, (batch, table, counts, narrow)


# Two classes, so that pytest-xdist (--dist loadscope) runs them on two workers.
class TestFirstHalf:
    @pytest.mark.parametrize("batch", range(BATCHES // 2))
    def test_every_random_table_gets_a_pattern_the_attack_cannot_narrow(self, batch):
        assert_protected(batch)


class TestSecondHalf:
    @pytest.mark.parametrize("batch", range(BATCHES // 2, BATCHES))
    def test_every_random_table_gets_a_pattern_the_attack_cannot_narrow(self, batch):
        assert_protected(batch)


def test_the_attack_gives_every_suppressed_count_an_interval_around_its_value():
    for table, counts, relations in tables_of(BATCHES):
        if table == 200:
            break
        primary = primary_suppression(counts, THRESHOLD)
        hidden, _ = protect(
            counts, relations, primary, THRESHOLD, dict.fromkeys(counts, 1.0), floor=1
        )
        known = {k: v for k, v in counts.items() if k not in hidden}
        found = attack(known, hidden, relations, floor=1)
        assert found.keys() == hidden
        assert all(1 <= i.low <= counts[k] <= i.high for k, i in found.items()), table
        assert all(i.width >= THRESHOLD for i in found.values()), table


@pytest.mark.parametrize("batch", range(BATCHES))
def test_every_random_release_is_protected_under_the_whole_attacker_model(batch):
    rng = random.Random(SEED * 1000 + BATCHES + batch)
    for number in range(RELEASES // BATCHES):
        values = random_release(rng)
        protection = suppress_release(values, THRESHOLD, suppress_zero=False)
        assert not protection.pinned
        assert protection.broken == 0  # built from pupils: every relation holds and is used
        found = attack_release(
            values, *published(values, protection.hidden, THRESHOLD), False, enough=THRESHOLD
        )
        counts = {k for k in protection.hidden}
        assert set(zip(found["table"], found["semester_id"], found["measure"],
                       found["school_id"], found["dimension"], strict=True)) == counts  # fmt: skip
        narrow = found.filter(found["width"] < THRESHOLD)
        assert narrow.is_empty(), (batch, number, narrow.to_dicts())
        assert (found["low"] <= found["value"]).all() and (found["value"] <= found["high"]).all()


def admitted(counts: dict[str, int]) -> bool:
    """Whether a cell's rule counts and risk levels keep every row of the risk composite and
    the subsets."""
    rows = all(
        sum(w * counts[f] for f, w in weights.items())
        <= sum(n * counts[level] for level, n in most.items())
        for weights, most in level_capacity()
    )
    pupils = sum(counts[level] for level in RISK_LEVELS)
    subsets = all(counts[f] <= pupils for f in RULE_FLAGS)
    return rows and subsets and counts["promotion_at_risk"] <= counts["insufficient_grade"]


def made_of_pupils(cells: list[dict[str, int]]) -> bool:
    """Whether whole pupils, each of a type (its rule counts) at a level no lower than the
    type's least level, add up to every one of the cells (one integer programme, a block per
    cell)."""
    types = [(t, level) for t in pupil_types() for level in RISK_LEVELS
             if RISK_LEVELS.index(level) >= RISK_LEVELS.index(least_level(t))]  # fmt: skip
    rows = [[float(f in t) for t, _ in types] for f in RULE_FLAGS]
    rows += [[float(at == level) for _, at in types] for level in RISK_LEVELS]
    total = [c[key] for c in cells for key in (*RULE_FLAGS, *RISK_LEVELS)]
    found = milp(
        np.zeros(len(types) * len(cells)),
        constraints=LinearConstraint(block_diag([np.array(rows)] * len(cells)), total, total),
        integrality=np.ones(len(types) * len(cells)),
    )
    return found.status == 0


def test_the_rows_of_the_risk_composite_are_all_the_attacker_can_know_of_it():
    """The rows the attacker model holds for the risk composite (`level_capacity`) are what
    the rules imply, and all of it: every cell pupils make up keeps them, and each of 2,000
    seeded cells that keep them is made of pupils. A cell outside would be knowledge the
    attacker has and the model lacks."""
    rng = random.Random(SEED)
    cells = []
    while len(cells) < 2_000:
        counts = {level: rng.randint(0, rng.choice([2, 6, 15])) for level in RISK_LEVELS}
        counts |= {f: rng.randint(0, rng.choice([3, 8, 20])) for f in RULE_FLAGS}
        if admitted(counts):
            cells.append(counts)
    if not made_of_pupils(cells):
        assert not [c for c in cells if not made_of_pupils([c])]
    types = pupil_types()
    for _ in range(500):
        group = [rng.choice(types) for _ in range(rng.randint(0, 12))]
        levels = [RISK_LEVELS[rng.randint(RISK_LEVELS.index(least_level(t)), 3)] for t in group]
        counts = {f: sum(f in t for t in group) for f in RULE_FLAGS}
        counts |= {level: levels.count(level) for level in RISK_LEVELS}
        assert admitted(counts), counts
