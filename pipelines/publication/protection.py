"""The attacker model of `docs/disclosure.md` over a release: its cells, the relations between
them, the primary cells, the costs of suppression, and the earlier versions the attacker holds.

A cell is `(table, semester_id, measure, school_id, dimension)`. The protected counts are the
pupil counts of `school_indicators`, `school_support` and `project_to_date`; the unjustified
lessons of each indicator cell are a continuous cell, never published, that the published
rate per pupil ties to its pupils. Every relation below is one the definitions imply; a
relation the true values do not satisfy (a pupil counted at two schools, say) is left out and
counted, since an attacker who assumes it learns nothing true from it.
"""

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property

import polars as pl

from pipelines.publication.disclosure import (
    Interval,
    Relation,
    Reuse,
    at_most,
    attack,
    group_disclosure,
    primary_suppression,
    protect,
    renamed,
    sum_of,
    unprotectable,
)
from pipelines.publication.tables import (
    ALL_BANDS,
    INDICATOR_MEASURES,
    MUNICIPALITY,
    NOT_YET_DUE,
    RISK_LEVELS,
    published_rate,
)
from pipelines.reference import tables as reference
from pipelines.reference.rules import rules

Cell = tuple[str, str, str, str, str]
INDICATORS, SUPPORT, PROJECT = "school_indicators", "school_support", "project_to_date"
COUNT_MEASURES = tuple(m.name for m in INDICATOR_MEASURES if not m.is_rate)
BY_SCHOOL_ONLY = {m.name for m in INDICATOR_MEASURES if not m.by_band}
PUPILS_SUPPORTED = "pupils_supported"
LESSONS = "unjustified_lessons"
# Counts of pupils with an attribute, each a subset of the pupils of its cell.
SUBSETS_OF_PUPILS = (
    "risk_low", "risk_medium", "risk_high", "mk89_crossings", "chronic_absence",
    "insufficient_grade", "promotion_at_risk", "repeaters", "at_risk_supported",
)  # fmt: skip
# The rule counts of a cell, each a rule that raises the pupil's risk level.
RULE_FLAGS = (
    "mk89_crossings", "chronic_absence", "insufficient_grade", "promotion_at_risk", "repeaters",
)  # fmt: skip
RATE_ROUNDING = 0.00005
# The rates built on protected counts: numerator and denominator (attendance relates lessons).
RATE_PARTS = {
    "unjustified_per_pupil": (LESSONS, ("pupils",)),
    "support_coverage": ("at_risk_supported", ("risk_medium", "risk_high")),
}  # rates are published to 4 decimals
# What suppressing a cell costs: parts before school totals, school cells before the
# municipality's, so a municipality figure is suppressed only when no school cell will do.
LEVEL_WEIGHT = {
    (False, False): 1.0,
    (False, True): 10.0,
    (True, False): 100.0,
    (True, True): 1000.0,
}


def release_values(
    indicators: pl.DataFrame, support: pl.DataFrame, project: pl.DataFrame
) -> dict[Cell, float]:
    """The true value of every protected count of the due semesters, and the unjustified
    lessons of every indicator cell."""
    values: dict[Cell, float] = {}
    due = pl.col("status") != NOT_YET_DUE
    for row in indicators.filter(due).iter_rows(named=True):
        for name in (*COUNT_MEASURES, LESSONS):
            if name in BY_SCHOOL_ONLY and row["grade_band"] != ALL_BANDS:
                continue
            key = (INDICATORS, row["semester_id"], name, row["school_id"], row["grade_band"])
            values[key] = float(row[name] or 0)
    for table, frame in ((SUPPORT, support), (PROJECT, project)):
        individual = frame.filter(due & (pl.col("unit") == "pupil"))
        for row in individual.iter_rows(named=True):
            school = row.get("school_id", MUNICIPALITY)
            key = (table, row["semester_id"], PUPILS_SUPPORTED, school, row["activity"])
            values[key] = float(row[PUPILS_SUPPORTED] or 0)
    return values


@dataclass(frozen=True)
class Relations:
    """The relations that hold on the true values, the subsets among them (for group
    disclosure), and how many definitional relations the true values break."""

    holding: list[Relation]
    subsets: list[tuple[Cell, tuple[Cell, ...]]]
    broken: int
    guards: dict[Relation, frozenset[Cell]]  # relations known only while these are published


def _by_table_and_semester(cells: Iterable[Cell]) -> dict[tuple[str, str], list[Cell]]:
    found: dict[tuple[str, str], list[Cell]] = {}
    for cell in cells:
        found.setdefault((cell[0], cell[1]), []).append(cell)
    return dict(sorted(found.items()))


def margin_relations(cells: Iterable[Cell]) -> list[Relation]:
    """The additive relations of the tables with schools between the given cells: the
    municipality is the sum of the schools, a school's `all` the sum of its grade bands, and
    pupils the sum of the risk levels."""
    cells = set(cells)
    equalities = []
    for (table, semester), members in _by_table_and_semester(cells).items():
        if table not in (INDICATORS, SUPPORT):
            continue
        schools = sorted({c[3] for c in members} - {MUNICIPALITY})
        dimensions = sorted({c[4] for c in members} - {ALL_BANDS})
        margins = [ALL_BANDS] if table == INDICATORS else []
        for measure in sorted({c[2] for c in members}):
            for dimension in [*dimensions, *margins]:
                parts = [(table, semester, measure, s, dimension) for s in schools]
                equalities.append(
                    sum_of((table, semester, measure, MUNICIPALITY, dimension), parts)
                )
            for school in [*schools, MUNICIPALITY] if margins else []:
                parts = [(table, semester, measure, school, d) for d in dimensions]
                equalities.append(sum_of((table, semester, measure, school, ALL_BANDS), parts))
        if table == INDICATORS:
            for school in [*schools, MUNICIPALITY]:
                for dimension in [*dimensions, ALL_BANDS]:
                    levels = [(table, semester, r, school, dimension) for r in RISK_LEVELS]
                    equalities.append(
                        sum_of((table, semester, "pupils", school, dimension), levels)
                    )
    return [relation for relation in equalities if set(relation.cells) <= cells]


def release_relations(
    values: Mapping[Cell, float],
    rates: Mapping[Cell, float] | None = None,
    published: set[Cell] | None = None,
) -> Relations:
    """Every relation the definitions imply between the release's cells: margins, pupils by
    risk level, subsets, support against the indicators, the project to date across semesters,
    the rules' relations, each published rate (`rates`) times its denominator, and what a rate
    withheld beside its published pupils says (all cells `published` unless given)."""
    cells = set(values)
    subsets, orderings = [], []
    for (table, semester), members in _by_table_and_semester(cells).items():
        schools = sorted({c[3] for c in members} - {MUNICIPALITY})
        dimensions = sorted({c[4] for c in members} - {ALL_BANDS})
        if table == INDICATORS:
            for school in [*schools, MUNICIPALITY]:
                for dimension in [*dimensions, ALL_BANDS]:
                    here = {m: (table, semester, m, school, dimension) for m in COUNT_MEASURES}
                    subsets += [(here[m], (here["pupils"],)) for m in SUBSETS_OF_PUPILS]
                    subsets.append((here["promotion_at_risk"], (here["insufficient_grade"],)))
                    subsets.append(
                        (here["at_risk_supported"], (here["risk_medium"], here["risk_high"]))
                    )
        if table == SUPPORT:
            subsets += _support_subsets(semester, schools, dimensions, cells)
        if table == PROJECT:
            orderings += _project_orderings(semester, dimensions, cells)
    rate_relations = _rate_relations(values, rates or {}) + _few_lessons(values, published)
    identities = _rule_identities(cells)
    subsets = [(part, wholes) for part, wholes in subsets if (part, *wholes) not in identities]
    relations = [
        *margin_relations(cells),
        *(at_most(part, wholes) for part, wholes in subsets),
        *(sum_of(whole, [part]) for part, whole in sorted(identities)),
        *orderings,
        *(relation for relation, _ in rate_relations),
        *_rule_relations(cells),
    ]
    relations = [r for r in relations if set(r.cells) <= cells]
    holding = [r for r in relations if r.holds(values)]
    held = set(holding)
    kept = {(part, wholes) for part, wholes in subsets if at_most(part, wholes) in held}
    guards = {relation: cells for relation, cells in rate_relations if relation in held}
    return Relations(holding, sorted(kept), len(relations) - len(holding), guards)


def _support_subsets(
    semester: str, schools: list[str], activities: list[str], cells: set[Cell]
) -> list[tuple[Cell, tuple[Cell, ...]]]:
    """At-risk pupils supported in a band are among the pupils of the activities that serve
    it; the pupils of an activity for repeaters are among the repeaters of its grades, and,
    when repeating alone makes a pupil at risk, among the school's at-risk pupils supported."""
    repeaters_at_risk = least_level(["repeaters"]) in ("risk_medium", "risk_high")
    serving = _activities_serving()
    serving[ALL_BANDS] = set().union(*serving.values())
    for_repeaters = _for_repeaters()
    found = []
    for school in [*schools, MUNICIPALITY]:
        for dimension, served_by in serving.items():
            parts = tuple(
                (SUPPORT, semester, PUPILS_SUPPORTED, school, a)
                for a in sorted(served_by)
                if a in activities
            )
            if parts:
                found.append(
                    ((INDICATORS, semester, "at_risk_supported", school, dimension), parts)
                )
        for activity, bands in for_repeaters.items():
            if activity in activities:
                repeaters = tuple((INDICATORS, semester, "repeaters", school, b) for b in bands)
                supported = (SUPPORT, semester, PUPILS_SUPPORTED, school, activity)
                found.append((supported, repeaters))
                if repeaters_at_risk:
                    at_risk = (INDICATORS, semester, "at_risk_supported", school, ALL_BANDS)
                    found.append((supported, (at_risk,)))
    return [(part, wholes) for part, wholes in found if {part, *wholes} <= cells]


def _for_repeaters() -> dict[str, list[str]]:
    """The activities only for pupils repeating a grade, with the grade bands of their grades
    (R9: 7-9)."""
    only = reference.activities().filter(pl.col("repeaters_only") & (pl.col("unit") == "pupil"))
    return {
        activity: sorted(
            {
                reference.grade_band(g)
                for low, high in grades.select("grade_min", "grade_max").rows()
                for g in range(low, high + 1)
            }
        )
        for (activity,), grades in only.group_by("activity", maintain_order=True)
    }


def _activities_serving() -> dict[str, set[str]]:
    """The activities for individual pupils whose grades meet each grade band."""
    individual = reference.activities().filter(pl.col("unit") == "pupil")
    return {
        band: set(
            individual.filter((pl.col("grade_min") <= high) & (pl.col("grade_max") >= low))[
                "activity"
            ].to_list()
        )
        for band, (low, high) in reference.GRADE_BANDS.items()
    }


def _project_orderings(semester: str, activities: list[str], cells: set[Cell]) -> list[Relation]:
    """The project's unique pupils to date never fall, include the semester's municipality
    pupils, and grow at most by them."""
    earlier = sorted({c[1] for c in cells if c[0] == PROJECT and c[1] < semester})
    found = []
    for activity in activities:
        to_date = (PROJECT, semester, PUPILS_SUPPORTED, MUNICIPALITY, activity)
        in_semester = (SUPPORT, semester, PUPILS_SUPPORTED, MUNICIPALITY, activity)
        found.append(at_most(in_semester, [to_date]))
        if earlier:
            before = (PROJECT, earlier[-1], PUPILS_SUPPORTED, MUNICIPALITY, activity)
            found.append(at_most(before, [to_date]))
            found.append(Relation(((to_date, 1.0), (before, -1.0), (in_semester, -1.0)), "<="))
        else:
            found.append(at_most(to_date, [in_semester]))
    return found


def _inner_cells(cells: Iterable[Cell]) -> set[tuple[str, str, str]]:
    """(semester, school, grade band) of every indicator cell of a school in a band."""
    return {
        (c[1], c[3], c[4])
        for c in cells
        if c[0] == INDICATORS and c[3] != MUNICIPALITY and c[4] != ALL_BANDS
    }


def _rule_identities(cells: set[Cell]) -> set[tuple[Cell, Cell]]:
    """In a grade band allowed no insufficient subject, promotion is at risk for exactly the
    pupils with an insufficient grade: (promotion cell, insufficient cell) pairs."""
    bands = {
        band
        for band, (low, high) in reference.GRADE_BANDS.items()
        if all(_allowance(grade) == 0 for grade in range(low, high + 1))
    }
    return {
        ((INDICATORS, semester, "promotion_at_risk", school, band),
         (INDICATORS, semester, "insufficient_grade", school, band))
        for semester, school, band in _inner_cells(cells)
        if band in bands
    }  # fmt: skip


def _allowance(grade: int) -> int:
    return next(
        b["allowed_insufficient"]
        for b in rules()["promotion_band"]
        if b["grade_min"] <= grade <= b["grade_max"]
    )


def _rule_relations(cells: set[Cell]) -> list[Relation]:
    """What the rules imply for the pupils of a school in a grade band (and so for every
    sum of them): a pupil with more than the MK 89 threshold of unjustified lessons has at
    least one more than it; and the risk level is at least what the rules that fired give
    (`pupil_risk.sql`), so a sum of rule counts is at most what the levels can hold."""
    threshold = next(r["threshold"] for r in rules()["rule"] if r["id"] == "MK89_UNJUSTIFIED")
    found = []
    for semester, school, band in sorted(_inner_cells(cells)):

        def cell(measure: str, s=semester, sc=school, b=band) -> Cell:
            return (INDICATORS, s, measure, sc, b)

        found.append(
            Relation(((cell("mk89_crossings"), threshold + 1.0), (cell(LESSONS), -1.0)), "<=")
        )
        for weights, most in level_capacity():
            terms = [(cell(f), float(w)) for f, w in weights.items() if w]
            terms += [(cell(level), -float(n)) for level, n in most.items() if n]
            found.append(Relation(tuple(terms), "<="))
    return found


def least_level(fired: Iterable[str]) -> str:
    """The lowest risk level (`RISK_LEVELS`) of a pupil counted in these rule counts: each
    domain with a rule that fired counts 1, and 1 more with a severity-2 rule (rules.toml
    [composite], as `pupil_risk.sql` scores); rules that are not published can only raise it."""
    rule_of = {m.name: m.rule_id for m in INDICATOR_MEASURES if m.name in RULE_FLAGS}
    by_id = {r["id"]: r for r in rules()["rule"]}
    domains: dict[str, int] = {}
    for flag in fired:
        rule = by_id[rule_of[flag]]
        domains[rule["domain"]] = max(domains.get(rule["domain"], 0), rule["severity"])
    score = sum(1 + (severity == 2) for severity in domains.values())
    cuts = rules()["composite"]
    return RISK_LEVELS[sum(score >= cuts[c] for c in ("low", "medium", "high"))]


def pupil_types() -> list[frozenset[str]]:
    """Every set of rule counts one pupil can be in (promotion at risk needs an insufficient
    grade)."""
    types = [
        frozenset(f for f, keep in zip(RULE_FLAGS, mask, strict=True) if keep)
        for mask in itertools.product((0, 1), repeat=len(RULE_FLAGS))
    ]
    return [t for t in types if "promotion_at_risk" not in t or "insufficient_grade" in t]


@cache
def level_capacity() -> list[tuple[dict[str, int], dict[str, int]]]:
    """Weighted sums of a cell's rule counts against what its risk levels can hold: for
    weights 0, 1 or 2 per rule count, the most weight one pupil at each level can carry
    (`least_level`, `pupil_types`). Rows that two others add up to, or better, are left out.
    They describe the counts that pupils can make up: no sampled cell they admit is
    impossible (`test_disclosure_property`)."""
    rank = {t: RISK_LEVELS.index(least_level(t)) for t in pupil_types()}
    most = {}
    for weights in itertools.product((0, 1, 2), repeat=len(RULE_FLAGS)):
        weight = dict(zip(RULE_FLAGS, weights, strict=True))
        most[weights] = {
            level: max(sum(weight[f] for f in t) for t in rank if rank[t] <= r)
            for r, level in enumerate(RISK_LEVELS)
        }

    def implied(weights: tuple[int, ...]) -> bool:
        for part in most:
            rest = tuple(w - p for w, p in zip(weights, part, strict=True))
            if (
                any(part)
                and any(rest)
                and rest in most
                and all(most[part][v] + most[rest][v] <= most[weights][v] for v in RISK_LEVELS)
            ):
                return True
        return False

    return [
        (dict(zip(RULE_FLAGS, weights, strict=True)), capacity)
        for weights, capacity in most.items()
        if any(weights) and not implied(weights)
    ]


def _few_lessons(
    values: Mapping[Cell, float], published: set[Cell] | None
) -> list[tuple[Relation, frozenset[Cell]]]:
    """The rate per pupil is withheld when a cell's unjustified lessons are 1 to 4
    (`tables.published_rate`): beside its pupils, published and at least the threshold, that
    says the lessons are below the threshold. With the pupils, whose suppression ends it
    (only where they are among the `published`, when given)."""
    threshold = int(rules()["disclosure"]["min_count"])
    found = []
    for cell, value in values.items():
        table, semester, measure, school, dimension = cell
        pupils = (table, semester, "pupils", school, dimension)
        seen = published is None or pupils in published
        if (
            measure == LESSONS
            and 0 < value < threshold
            and values.get(pupils, 0) >= threshold
            and seen
        ):
            relation = Relation(((cell, 1.0),), "<=", threshold - 1.0)  # lessons are whole
            found.append((relation, frozenset({pupils})))
    return found


def _rate_relations(
    values: Mapping[Cell, float], rates: Mapping[Cell, float]
) -> list[tuple[Relation, frozenset[Cell]]]:
    """A published rate r = numerator / denominator, rounded: the numerator lies within
    (r ± the rounding) × the denominator; with the counts whose suppression suppresses it."""
    guards_of = {m.name: m.guards for m in INDICATOR_MEASURES}
    found = []
    for (table, semester, measure, school, dimension), rate in rates.items():
        parts = RATE_PARTS.get(measure)
        if parts is None:
            continue
        numerator = (table, semester, parts[0], school, dimension)
        denominator = [(table, semester, d, school, dimension) for d in parts[1]]
        guards = frozenset((table, semester, g, school, dimension) for g in guards_of[measure])
        high, low = rate + RATE_ROUNDING, rate - RATE_ROUNDING
        for relation in (
            Relation(((numerator, 1.0), *((d, -high) for d in denominator)), "<="),
            Relation(((numerator, -1.0), *((d, low) for d in denominator)), "<="),
        ):
            if all(cell in values for cell in relation.cells):
                found.append((relation, guards))
    return found


def possible_rates(
    values: Mapping[Cell, float], hidden: set[Cell], threshold: int
) -> dict[Cell, float]:
    """The rates built on protected counts that `tables` publishes when `hidden` is suppressed
    (fewer when more is)."""
    found = {}
    for measure in INDICATOR_MEASURES:
        if measure.name not in RATE_PARTS:
            continue
        numerator_name, denominator_names = RATE_PARTS[measure.name]
        for cell in values:
            table, semester, name, school, dimension = cell
            if name != numerator_name:
                continue
            parts = [(table, semester, d, school, dimension) for d in denominator_names]
            guards = [(table, semester, g, school, dimension) for g in measure.guards]
            guarded = any(g in hidden for g in guards)
            rate, _ = published_rate(
                values[cell], sum(values[p] for p in parts), guarded, threshold
            )
            if rate is not None:
                found[(table, semester, measure.name, school, dimension)] = rate
    return found


def primary_cells(
    values: Mapping[Cell, float], relations: Relations, threshold: int, suppress_zero: bool
) -> set[Cell]:
    """Counts below the threshold, and counts of pupils with an attribute that equal their
    group's total."""
    counts = {k: round(v) for k, v in values.items() if k[2] != LESSONS}
    small = primary_suppression(counts, threshold, suppress_zero)
    whole = {part for part, wholes in relations.subsets if group_disclosure(counts, part, wholes)}
    return small | whole


def floor(suppress_zero: bool) -> int:
    """The least a suppressed count can be: 1 when zeros are published, as the attacker
    knows."""
    return 0 if suppress_zero else 1


def cost(cell: Cell, value: float) -> float:
    """What suppressing a cell loses: its pupils, weighted by its level."""
    table, _, measure, school, dimension = cell
    total_dimension = dimension == ALL_BANDS or table == PROJECT
    weight = LEVEL_WEIGHT[(school == MUNICIPALITY, total_dimension)]
    return (1.0 + value) * weight * (2.0 if measure == "pupils" else 1.0)


@dataclass(frozen=True)
class Version:
    """A release the attacker already holds: the true values behind it (kept privately in the
    ledger) and what it published."""

    name: str
    values: dict[Cell, float]
    published: dict[Cell, float]
    rates: dict[Cell, float] = field(default_factory=dict)

    @cached_property
    def relations(self) -> list[Relation]:
        """The relations that hold between the version's cells (derived once: protection,
        the attack and the cells disclosed before all stack the same versions)."""
        return release_relations(self.values, self.rates).holding


@dataclass(frozen=True)
class Stacked:
    """The current release with the earlier versions: a cell that has not changed since a
    version is the same unknown in both; a changed one is an unknown of its own in that
    version, named `(cell, version name)`."""

    values: dict
    relations: list[Relation]
    fixed: set  # known to the attacker from an earlier version
    hidden_before: set  # suppressed in an earlier version and changed since
    kept: set  # suppressed in an earlier version, never published, and unchanged since


def stacked(
    values: Mapping[Cell, float], relations: list[Relation], versions: Iterable[Version]
) -> Stacked:
    """The release's cells and relations with every version's: what each version published
    is known, what it suppressed and has changed since stays unknown, and its own relations
    hold between its cells."""
    all_values: dict = dict(values)
    all_relations = list(relations)
    fixed, hidden, kept = set(), set(), set()
    for version in versions:
        name = {
            cell: cell if values.get(cell) == value else (cell, version.name)
            for cell, value in version.values.items()
        }
        for cell, value in version.values.items():
            all_values[name[cell]] = value
            if cell in version.published:
                fixed.add(name[cell])
            elif cell[2] != LESSONS:
                (hidden if name[cell] != cell else kept).add(name[cell])
        changed = {cell for cell, named in name.items() if named != cell}
        all_relations += [
            renamed(r, name) if changed.intersection(r.cells) else r for r in version.relations
        ]  # a relation between unchanged cells is the release's own, under the same names
    unique = list(dict.fromkeys(all_relations))
    return Stacked(all_values, unique, fixed, hidden - fixed, kept - fixed)


def lessons(values: Iterable) -> set:
    return {k for k in values if _cell(k)[2] == LESSONS}


def _cell(key) -> Cell:
    """The cell of a stacked key (a cell, or a cell and the version it was published in)."""
    return key if isinstance(key[0], str) else key[0]


@dataclass(frozen=True)
class Protection:
    """What disclosure control decided for a release."""

    hidden: set[Cell]  # suppressed
    public: set[Cell]  # primary, but published by an earlier version already
    pinned: set  # suppressed, but pinned by what earlier versions published: nothing can help
    broken: int  # definitional relations the true values do not satisfy


def suppress_release(
    values: Mapping[Cell, float],
    threshold: int,
    suppress_zero: bool,
    versions: Iterable[Version] = (),
    reuse: Reuse | None = None,
) -> Protection:
    """The release's suppressed cells, protecting it jointly with every earlier version
    (`reuse`: blocks decided before, see `disclosure.protect`). A cell an earlier version
    suppressed stays suppressed while its value is unchanged, and a cell one published is
    never suppressed: a final semester whose values did not change keeps the pattern it
    was sent with, whatever the night changed around it, so it needs no new revision. A cell
    kept so that no suppression can protect (pinned by what a version sent under another
    rule published) is not kept: it would be hidden in vain."""
    primary = primary_cells(values, release_relations(values), threshold, suppress_zero)
    relations = release_relations(values, possible_rates(values, primary, threshold))
    joint = stacked(values, relations.holding, versions)
    public = primary & joint.fixed
    needed = (primary - public) | joint.hidden_before
    kept = joint.kept - needed
    while True:
        suppressed, pinned = protect(
            joint.values,
            joint.relations,
            needed | kept,
            threshold,
            {k: cost(_cell(k), v) for k, v in joint.values.items()},
            continuous=lessons(joint.values),
            fixed=joint.fixed,
            floor=floor(suppress_zero),
            conditional=relations.guards,
            reuse=reuse,
        )
        if not pinned & kept:
            break
        kept -= pinned
    return Protection({k for k in suppressed if k in values}, public, pinned, relations.broken)


def disclosed_before(
    values: Mapping[Cell, float],
    cells: Iterable,
    threshold: int,
    suppress_zero: bool,
    versions: Iterable[Version],
) -> set:
    """The suppressed `cells` (stacked keys) that what earlier versions published pins,
    whatever this release suppresses: they were disclosed by a revision already sent."""
    cells = list(cells)
    if not cells:
        return set()
    relations = release_relations(values)
    joint = stacked(values, relations.holding, versions)
    return unprotectable(
        joint.values,
        joint.relations,
        cells,
        threshold,
        lessons(joint.values),
        joint.fixed,
        floor(suppress_zero),
    )


def published_cells(tables: Mapping[str, pl.DataFrame]) -> tuple[dict, dict]:
    """What a release publishes of the protected counts, and of the rates built on them."""
    counts, rates = {}, {}
    rate_names = ("unjustified_per_pupil", "support_coverage")
    for table in (INDICATORS, SUPPORT, PROJECT):
        frame = tables[table].filter(~pl.col("suppressed") & pl.col("value").is_not_null())
        for row in frame.iter_rows(named=True):
            cell = (table, row["semester_id"], row["measure"], row["school_id"], row["dimension"])
            if row["measure"] in (*COUNT_MEASURES, PUPILS_SUPPORTED):
                counts[cell] = row["value"]
            elif row["measure"] in rate_names:
                rates[cell] = row["value"]
    return counts, rates


def attack_release(
    values: Mapping[Cell, float],
    published: Mapping[Cell, float],
    rates: Mapping[Cell, float],
    suppress_zero: bool,
    versions: Iterable[Version] = (),
    enough: int | None = None,
    reuse: Reuse | None = None,
) -> pl.DataFrame:
    """The attacker's interval for every suppressed count of the release and of the earlier
    versions, from everything published (this release's counts and rates, and every earlier
    version's) and every relation. The true `values` only name the cells, pick the relations
    that hold and are reported beside the intervals; the attacker is given none of them.

    With `enough` (a width), a cell is attacked only until integer tables that fit what is
    published show its interval is at least that wide: it gets the interval they span, inside
    the attacker's; a narrower interval is the attacker's exactly."""
    relations = release_relations(values, rates, set(published))
    joint = stacked(values, relations.holding, versions)
    known = {**published, **{k: joint.values[k] for k in joint.fixed}}
    unknown = set(joint.values) - set(known)
    continuous = lessons(joint.values)
    targets = unknown - continuous
    spans = {key: Interval(value, value) for key, value in joint.values.items()}
    found = attack(
        known, unknown, joint.relations, continuous, targets, floor(suppress_zero),
        (spans, enough) if enough else None, reuse,
    )  # fmt: skip
    return intervals_frame(found, joint.values)


def intervals_frame(found: Mapping, values: Mapping) -> pl.DataFrame:
    """The attack's intervals as rows: table, semester, measure, school, dimension, version
    (empty for this release), the true value, low, high and width."""
    rows = []
    for key, interval in found.items():
        cell = _cell(key)
        rows.append(
            {"table": cell[0], "semester_id": cell[1], "measure": cell[2], "school_id": cell[3],
             "dimension": cell[4], "version": None if key == cell else key[1],
             "value": values[key], "low": interval.low, "high": interval.high}
        )  # fmt: skip
    schema = {"table": pl.String, "semester_id": pl.String, "measure": pl.String,
              "school_id": pl.String, "dimension": pl.String, "version": pl.String,
              "value": pl.Float64, "low": pl.Float64, "high": pl.Float64}  # fmt: skip
    return pl.DataFrame(rows, schema=schema).with_columns(width=pl.col("high") - pl.col("low"))


def information_loss(values: Mapping[Cell, float], suppressed: set[Cell]) -> pl.DataFrame:
    """Per table and measure: cells, suppressed cells, and the share of pupils behind the
    suppressed school cells (of the pupils in all school cells of the measure): a school in a
    grade band or activity, or a school in all for a measure published per school only."""
    rows = [
        {"table": c[0], "measure": c[2], "suppressed": c in suppressed,
         "inner": c[3] != MUNICIPALITY and (c[4] != ALL_BANDS or c[2] in BY_SCHOOL_ONLY),
         "value": v}
        for c, v in values.items()
        if c[2] != LESSONS
    ]  # fmt: skip
    frame = pl.DataFrame(rows)
    inner = pl.col("inner")
    return (
        frame.group_by("table", "measure")
        .agg(
            cells=pl.len(),
            suppressed=pl.col("suppressed").sum(),
            pupils_hidden=pl.col("value").filter(inner & pl.col("suppressed")).sum(),
            pupils=pl.col("value").filter(inner).sum(),
        )
        .with_columns(share_hidden=(pl.col("pupils_hidden") / pl.col("pupils")).fill_nan(0.0))
        .sort("table", "measure")
    )
