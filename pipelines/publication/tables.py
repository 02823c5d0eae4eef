"""What leaves the municipality: the warehouse's aggregates with disclosure control applied.

Input: the `publication` marts (a grid per semester, school and grade band with margins, and
support per semester, school and activity). Output: long tables, one row per published cell,
where a suppressed cell has no value, a flag and a reason, never a zero. Counts are
suppressed by `pipelines.publication.disclosure`; a rate is suppressed with any count it is built from,
or when its numerator or denominator is below the threshold.
"""

from dataclasses import dataclass

import polars as pl

from pipelines.publication.disclosure import (
    Constraint,
    attack,
    complementary_suppression,
    primary_suppression,
    table_constraints,
)

MUNICIPALITY = "ALL"
MUNICIPALITY_NAME = "Ogres novads"
ALL_BANDS = "all"
NOT_YET_DUE = "not yet due"
PRIMARY = "primary: a count below {threshold}"
COMPLEMENTARY = "complementary: protects a suppressed cell"
RATE = "rate: built from a suppressed count or one below {threshold}"
FOLLOWS_PUPILS = "follows the suppressed pupil count of its cell"


@dataclass(frozen=True)
class Measure:
    name: str
    label_lv: str
    label_en: str
    definition: str
    rule_id: str | None = None
    numerator: str | None = None  # rates: the count or sum over the denominator
    denominator: tuple[str, ...] = ()  # rates: summed
    guards: tuple[str, ...] = ()  # rates: counts whose suppression suppresses the rate
    unit: str | None = None  # support: the activities it applies to (pupil or group)

    @property
    def is_rate(self) -> bool:
        return bool(self.denominator)


RISK_LEVELS = ("risk_none", "risk_low", "risk_medium", "risk_high")
# Counts of pupils that disclosure control protects (group events count open participation).
PROTECTED_COUNTS = ("pupils_supported",)
INDICATOR_MEASURES = (
    Measure("pupils", "skolēni", "pupils enrolled", "pupils enrolled at the as-of date"),
    Measure("risk_none", "bez riska", "no risk", "pupils whose composite risk level is none"),
    Measure("risk_low", "zems risks", "low risk", "pupils at composite risk level low"),
    Measure("risk_medium", "vidējs risks", "medium risk", "pupils at composite level medium"),
    Measure("risk_high", "augsts risks", "high risk", "pupils at composite risk level high"),
    Measure(
        "mk89_crossings",
        "MK 89 sliekšņa pārsniegumi",
        "Cabinet Regulation No. 89 threshold crossings",
        "pupils with more unjustified lessons in the semester than the threshold",
        "MK89_UNJUSTIFIED",
    ),
    Measure(
        "chronic_absence",
        "hroniski kavētāji",
        "chronic absence",
        "pupils who missed at least the threshold share of expected lessons",
        "CHRONIC_ABSENCE",
    ),
    Measure(
        "insufficient_grade",
        "ar nepietiekamu vērtējumu",
        "with an insufficient grade",
        "pupils with a term result below the pass mark or nv in a subject",
        "INSUFFICIENT_GRADES",
    ),
    Measure(
        "promotion_at_risk",
        "pārcelšana apdraudēta",
        "promotion at risk",
        "pupils whose insufficient subjects exceed their grade band's allowance",
        "PROMOTION_AT_RISK",
    ),
    Measure(
        "repeaters", "atkārtoti mācās", "repeaters", "pupils repeating the grade", "REPEATING_GRADE"
    ),
    Measure(
        "left_without_completion",
        "pārtrauca mācības",
        "left without completion",
        "pupils who left school in the semester for a reason that means not completing it",
    ),
    Measure(
        "at_risk_supported",
        "riska skolēni ar atbalstu",
        "at-risk pupils supported",
        "pupils at medium or high risk who had project support in the semester",
    ),
    Measure(
        "attendance_rate",
        "apmeklējums",
        "attendance rate",
        "1 - lessons missed / lessons expected, over the cell's pupils",
        numerator="attended_lessons",
        denominator=("expected_lessons",),
        guards=("pupils",),
    ),
    Measure(
        "unjustified_per_pupil",
        "neattaisnotas stundas uz skolēnu",
        "unjustified lessons per pupil",
        "unjustified lessons in the semester / pupils",
        numerator="unjustified_lessons",
        denominator=("pupils",),
        guards=("pupils",),
    ),
    Measure(
        "support_coverage",
        "atbalsta pārklājums",
        "support coverage of at-risk pupils",
        "at-risk pupils supported / pupils at medium or high risk",
        numerator="at_risk_supported",
        denominator=("risk_medium", "risk_high"),
        guards=("at_risk_supported", "risk_medium", "risk_high"),
    ),
)
SUPPORT_MEASURES: tuple[Measure, ...] = (
    Measure(
        "pupils_supported", "atbalstītie skolēni", "pupils supported",
        "unique pupils with a support spell in the period", unit="pupil",
    ),
    Measure(
        "hours", "stundas", "hours",
        "hours of support delivered, a spell's hours spread evenly over its days", unit="pupil",
    ),
    Measure("events", "pasākumi", "events", "group activities held", unit="group"),
    Measure(
        "pupil_participants", "skolēni dalībnieki", "pupil participants",
        "pupils taking part in group activities", unit="group",
    ),
    Measure(
        "parent_participants", "vecāki dalībnieki", "parent participants",
        "parents taking part in group activities", unit="group",
    ),
    Measure(
        "teacher_participants", "pedagogi dalībnieki", "teacher participants",
        "teachers taking part in group activities", unit="group",
    ),
)  # fmt: skip
WEEKLY_MEASURES = (
    Measure("school_days", "mācību dienas", "school days", "school days in the week (0: a break)"),
    Measure(
        "absence_rate",
        "kavējumu īpatsvars",
        "absence rate",
        "lessons missed / lessons expected in the week, over the pupils enrolled on its days",
        numerator="missed_lessons",
        denominator=("expected_lessons",),
        guards=("pupils",),
    ),
    Measure(
        "illness_rate",
        "slimības kavējumu īpatsvars",
        "illness absence rate",
        "lessons missed for illness / lessons expected in the week",
        numerator="illness_lessons",
        denominator=("expected_lessons",),
        guards=("pupils",),
    ),
)
# What identifies a published cell.
CELL_KEY = ("semester_id", "school_id", "dimension", "measure")
CELL_COLUMNS = {
    "semester_id": pl.String,
    "status": pl.String,
    "school_id": pl.String,
    "school_name": pl.String,
    "dimension": pl.String,
    "measure": pl.String,
    "value": pl.Float64,
    "suppressed": pl.Boolean,
    "suppression": pl.String,
}


def _counts(frame: pl.DataFrame, names: tuple[str, ...], dimension: str) -> dict:
    return {
        (name, row["school_id"], row[dimension]): int(row[name])
        for row in frame.iter_rows(named=True)
        for name in names
        if row[name] is not None
    }


def indicator_constraints(schools: list[str], bands: list[str]) -> list[Constraint]:
    """Each count's margins (schools × grade bands), and pupils = the four risk levels."""
    constraints = []
    for measure in (m.name for m in INDICATOR_MEASURES if not m.is_rate):
        for c in table_constraints(schools, bands, MUNICIPALITY, ALL_BANDS):
            constraints.append(
                Constraint((measure, *c.total), tuple((measure, *p) for p in c.parts))
            )
    for school in schools:
        for band in bands:
            levels = tuple((level, school, band) for level in RISK_LEVELS)
            constraints.append(Constraint(("pupils", school, band), levels))
    return constraints


def support_constraints(schools: list[str], activities: list[str]) -> list[Constraint]:
    """Pupils supported per activity: the municipality is the sum of the schools (pupils are
    counted once per activity, so the activities do not add up to a total)."""
    inner = [s for s in schools if s != MUNICIPALITY]
    return [
        Constraint(
            ("pupils_supported", MUNICIPALITY, activity),
            tuple(("pupils_supported", school, activity) for school in inner),
        )
        for activity in activities
    ]


def _blocks(constraints: list[Constraint]) -> list[list[Constraint]]:
    """Constraints that share no cell, grouped, so each group is attacked on its own."""
    parent: dict = {}

    def find(key):
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    for c in constraints:
        for part in c.parts:
            parent[find(part)] = find(c.total)
    groups: dict = {}
    for c in constraints:
        groups.setdefault(find(c.total), []).append(c)
    return list(groups.values())


def suppress(
    counts: dict, constraints: list[Constraint], threshold: int, suppress_zero: bool
) -> dict:
    """The reason for every suppressed cell: primary, or complementary."""
    primary = primary_suppression(counts, threshold, suppress_zero)
    reasons = {key: PRIMARY.format(threshold=threshold) for key in primary}
    for block in _blocks(constraints):
        cells = {k for c in block for k in (c.total, *c.parts)}
        block_counts = {k: counts[k] for k in cells}
        added = complementary_suppression(block_counts, primary & cells, block, threshold)
        reasons |= {key: COMPLEMENTARY for key in added}
    return reasons


def publish_indicators(grid: pl.DataFrame, threshold: int, suppress_zero: bool) -> pl.DataFrame:
    """The indicator grid as published cells, suppressed semester by semester."""
    frames = []
    count_names = tuple(m.name for m in INDICATOR_MEASURES if not m.is_rate)
    grid = grid.with_columns(attended_lessons=pl.col("expected_lessons") - pl.col("missed_lessons"))
    for _, semester in grid.group_by("semester_id", maintain_order=True):
        status = semester["status"][0]
        reasons: dict = {}
        if status != NOT_YET_DUE:
            counts = _counts(semester, count_names, "grade_band")
            constraints = indicator_constraints(
                semester["school_id"].unique(maintain_order=True).to_list(),
                semester["grade_band"].unique(maintain_order=True).to_list(),
            )
            reasons = suppress(counts, constraints, threshold, suppress_zero)
        frames.append(_cells(semester, INDICATOR_MEASURES, "grade_band", reasons, threshold))
    return pl.concat(frames)


def publish_support(support: pl.DataFrame, threshold: int, suppress_zero: bool) -> pl.DataFrame:
    """Support per semester, school and activity as published cells: pupil counts suppressed
    (hours with their pupils); group events and participants published as they are, since
    they count people at open events, not pupils in need."""
    frames = []
    for _, semester in support.group_by("semester_id", maintain_order=True):
        reasons: dict = {}
        if semester["status"][0] != NOT_YET_DUE:
            individual = semester.filter(pl.col("unit") == "pupil")
            counts = _counts(individual, ("pupils_supported",), "activity")
            constraints = support_constraints(
                semester["school_id"].unique(maintain_order=True).to_list(),
                individual["activity"].unique(maintain_order=True).to_list(),
            )
            reasons = suppress(counts, constraints, threshold, suppress_zero)
            reasons |= {
                ("hours", school, activity): FOLLOWS_PUPILS
                for (_, school, activity) in list(reasons)
            }
        frames.append(_cells(semester, SUPPORT_MEASURES, "activity", reasons, threshold))
    return pl.concat(frames)


def publish_project(project: pl.DataFrame, threshold: int, suppress_zero: bool) -> pl.DataFrame:
    """The project to date per semester and activity as published cells: unique pupil counts
    below the threshold suppressed, with their hours (no margin relates them)."""
    frame = project.with_columns(
        school_id=pl.lit(MUNICIPALITY), school_name=pl.lit(MUNICIPALITY_NAME)
    )
    frames = []
    for _, semester in frame.group_by("semester_id", maintain_order=True):
        individual = semester.filter(pl.col("unit") == "pupil")
        primary = primary_suppression(
            _counts(individual, ("pupils_supported",), "activity"), threshold, suppress_zero
        )
        reasons = {key: PRIMARY.format(threshold=threshold) for key in primary}
        reasons |= {("hours", school, activity): FOLLOWS_PUPILS for _, school, activity in primary}
        frames.append(_cells(semester, SUPPORT_MEASURES, "activity", reasons, threshold))
    return pl.concat(frames)


def publish_weekly(weekly: pl.DataFrame, threshold: int) -> pl.DataFrame:
    """Absence per week and school as published cells: the rates only (no count of pupils is
    published), each suppressed when fewer pupils than the threshold were enrolled that week
    or when its lessons are below the threshold."""
    frame = weekly.with_columns(week=pl.col("week_start").cast(pl.String))
    small = frame.filter(pl.col("pupils").is_between(1, threshold - 1, closed="both"))
    reasons = {
        ("pupils", school, week): PRIMARY.format(threshold=threshold)
        for school, week in small.select("school_id", "week").iter_rows()
    }
    return _cells(frame, WEEKLY_MEASURES, "week", reasons, threshold)


def _cells(
    frame: pl.DataFrame,
    measures: tuple[Measure, ...],
    dimension: str,
    reasons: dict,
    threshold: int,
) -> pl.DataFrame:
    rows = []
    for row in frame.iter_rows(named=True):
        for measure in measures:
            if measure.unit is not None and measure.unit != row["unit"]:
                continue
            key = (measure.name, row["school_id"], row[dimension])
            value, reason = _value(measure, row, key, reasons, threshold)
            rows.append(
                {
                    "semester_id": row["semester_id"],
                    "status": row["status"],
                    "school_id": row["school_id"],
                    "school_name": row["school_name"],
                    "dimension": row[dimension],
                    "measure": measure.name,
                    "value": None if reason else value,
                    "suppressed": reason is not None,
                    "suppression": reason,
                }
            )
    return pl.DataFrame(rows, schema=CELL_COLUMNS)


def _value(
    measure: Measure, row: dict, key: tuple, reasons: dict, threshold: int
) -> tuple[float | None, str | None]:
    if row["status"] == NOT_YET_DUE:
        return None, None
    if not measure.is_rate:
        value = row.get(measure.name)
        return (None if value is None else float(value)), reasons.get(key)
    school, dimension = key[1], key[2]
    guarded = any((g, school, dimension) in reasons for g in measure.guards)
    numerator = row[measure.numerator] or 0
    denominator = sum(row[d] or 0 for d in measure.denominator)
    if guarded or 0 < denominator < threshold or 0 < numerator < threshold:
        return None, RATE.format(threshold=threshold)
    if denominator == 0:
        return None, None
    rate = numerator / denominator
    return round(rate, 4), None


def attack_published(cells: pl.DataFrame, integer: bool = True) -> pl.DataFrame:
    """The attacker's view: from the published cells alone (values, suppression flags and the
    table's structure), the interval each suppressed count can take. One row per suppressed
    count cell: semester, measure, school, dimension, low, high."""
    rows = []
    counts_measures = {m.name for m in (*INDICATOR_MEASURES, *SUPPORT_MEASURES) if not m.is_rate}
    for (semester_id,), semester in cells.group_by("semester_id", maintain_order=True):
        counted = semester.filter(pl.col("measure").is_in(list(counts_measures)))
        known = {
            (r["measure"], r["school_id"], r["dimension"]): int(r["value"] or 0)
            for r in counted.iter_rows(named=True)
        }
        hidden = {
            (r["measure"], r["school_id"], r["dimension"])
            for r in counted.filter(pl.col("suppressed")).iter_rows(named=True)
        }
        schools = semester["school_id"].unique(maintain_order=True).to_list()
        dimensions = semester["dimension"].unique(maintain_order=True).to_list()
        if "pupils_supported" in counted["measure"]:
            constraints = support_constraints(schools, dimensions)
        else:
            constraints = indicator_constraints(schools, dimensions)
        constraints = [c for c in constraints if {c.total, *c.parts} <= set(known)]
        for block in _blocks(constraints):
            cells_in = {k for c in block for k in (c.total, *c.parts)}
            found = attack(known, hidden & cells_in, block, integer=integer)
            rows += [
                {
                    "semester_id": semester_id,
                    "measure": key[0],
                    "school_id": key[1],
                    "dimension": key[2],
                    "low": interval.low,
                    "high": interval.high,
                }
                for key, interval in found.items()
            ]
        unconstrained = hidden - {k for c in constraints for k in (c.total, *c.parts)}
        rows += [
            {"semester_id": semester_id, "measure": m, "school_id": s, "dimension": d,
             "low": 0.0, "high": float("inf")}
            for (m, s, d) in unconstrained
        ]  # fmt: skip
    schema = {
        "semester_id": pl.String,
        "measure": pl.String,
        "school_id": pl.String,
        "dimension": pl.String,
        "low": pl.Float64,
        "high": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema).with_columns(width=pl.col("high") - pl.col("low"))


TABLE_DIMENSIONS = {
    "school_indicators": ("grade_band", INDICATOR_MEASURES),
    "school_support": ("activity", SUPPORT_MEASURES),
    "project_to_date": ("activity", SUPPORT_MEASURES),
    "weekly_absence": ("week", WEEKLY_MEASURES),
}
COLUMN_LABELS = {
    "semester_id": ("semestris", "semester", "reporting period, e.g. 2025/26-S1"),
    "status": (
        "statuss",
        "status",
        "final (ended), in progress (to the data cut-off) or not yet due (no figures)",
    ),
    "school_id": ("skolas kods", "school code", "reporting school; ALL is the municipality"),
    "school_name": ("skola", "school", "school name; Ogres novads is the municipality"),
    "dimension": (
        "klašu grupa / aktivitāte / nedēļa",
        "grade band / activity / week",
        "grade band 1-3, 4-6, 7-9, 10-12 or all; the project activity; or the week's Monday",
    ),
    "measure": ("rādītājs", "measure", "the measure's code, see the rows of kind measure"),
    "value": ("vērtība", "value", "empty when suppressed or not yet due, never a zero for either"),
    "suppressed": ("slēpts", "suppressed", "1 when disclosure control withheld the value"),
    "suppression": ("slēpšanas iemesls", "suppression reason", "why the value is withheld"),
}


def published_tables(
    indicators: pl.DataFrame,
    support: pl.DataFrame,
    project: pl.DataFrame,
    weekly: pl.DataFrame,
    threshold: int,
    suppress_zero: bool,
) -> dict[str, pl.DataFrame]:
    """The four published tables from their marts, suppressed."""
    tables = {
        "school_indicators": publish_indicators(indicators, threshold, suppress_zero),
        "school_support": publish_support(support, threshold, suppress_zero),
        "project_to_date": publish_project(project, threshold, suppress_zero),
        "weekly_absence": publish_weekly(weekly, threshold),
    }
    return {
        name: frame.sort("semester_id", "school_id", "dimension", maintain_order=True)
        for name, frame in tables.items()
    }


def for_period(tables: dict[str, pl.DataFrame], semester_id: str) -> dict[str, pl.DataFrame]:
    """The tables as published for a reporting period: its semester and the ones before with
    their figures, the later ones to 2028/29 S2 as not yet due."""
    later = pl.col("semester_id") > semester_id
    return {
        name: frame.with_columns(
            status=pl.when(later).then(pl.lit(NOT_YET_DUE)).otherwise(pl.col("status")),
            value=pl.when(later).then(None).otherwise(pl.col("value")),
            suppressed=pl.when(later).then(False).otherwise(pl.col("suppressed")),
            suppression=pl.when(later).then(None).otherwise(pl.col("suppression")),
        )
        for name, frame in tables.items()
    }


def data_dictionary(rules: pl.DataFrame) -> pl.DataFrame:
    """Every column and measure of the published tables, in Latvian and English, with the
    definition and, for a measure that counts a rule, the rule's id and version."""
    versions = dict(zip(rules["rule_id"], rules["version"], strict=True))
    rows = [
        {"table": table, "kind": "column", "name": name, "label_lv": lv, "label_en": en,
         "definition": definition, "rule_id": None, "rule_version": None}
        for table in TABLE_DIMENSIONS
        for name, (lv, en, definition) in COLUMN_LABELS.items()
    ] + [
        {"table": table, "kind": "measure", "name": m.name, "label_lv": m.label_lv,
         "label_en": m.label_en, "definition": m.definition, "rule_id": m.rule_id,
         "rule_version": versions.get(m.rule_id)}
        for table, (_, measures) in TABLE_DIMENSIONS.items()
        for m in measures
    ]  # fmt: skip
    return pl.DataFrame(rows, schema={c: pl.String for c in rows[0]})


def suppression_counts(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Cells per table and suppression reason (published cells have none)."""
    return (
        pl.concat(
            frame.filter(pl.col("status") != NOT_YET_DUE)
            .group_by("suppression")
            .len()
            .with_columns(table=pl.lit(name))
            for name, frame in tables.items()
        )
        .select("table", "suppression", cells="len")
        .sort("table", "suppression", nulls_last=True)
    )
