"""What leaves the municipality: the warehouse's aggregates with disclosure control applied.

Input: the `publication` marts (a grid per semester, school and grade band with margins, and
support per semester, school and activity) and the cells disclosure control suppresses
(`pipelines.publication.protection`). Output: long tables, one row per published cell, where
a suppressed cell has no value and a flag, never a zero, and no reason: the flag is all the
attacker gets. A rate is suppressed with any count it is built from, or when its numerator or
denominator is below the threshold; hours are suppressed with their pupils.
"""

from dataclasses import dataclass

import polars as pl

from pipelines.reference.rules import rules

# The warehouse's publication marts a release is made of.
MARTS = ("school_indicators", "school_support", "project_to_date", "weekly_absence")
MUNICIPALITY = "ALL"
MUNICIPALITY_NAME = "Ogres novads"
ALL_BANDS = "all"
NOT_YET_DUE = "not yet due"


COUNT = "count"  # whole numbers
SHARE = "share"  # a part of a whole, shown in percent
AMOUNT = "amount"  # hours or lessons, shown with one decimal


def disclosure_settings() -> tuple[int, bool]:
    """The disclosure rule's threshold (the smallest count shown) and whether zeros are
    suppressed too."""
    config = rules()["disclosure"]
    return int(config["min_count"]), bool(config["suppress_zero"])


@dataclass(frozen=True)
class Measure:
    name: str
    label_lv: str
    label_en: str
    definition: str
    definition_lv: str
    rule_id: str | None = None
    numerator: str | None = None  # rates: the count or sum over the denominator
    denominator: tuple[str, ...] = ()  # rates: summed
    guards: tuple[str, ...] = ()  # rates: counts whose suppression suppresses the rate
    unit: str | None = None  # support: the activities it applies to (pupil or group)
    follows: str | None = None  # suppressed with this count of its cell
    by_band: bool = True  # indicators: published per grade band, or for `all` bands only
    scale: str = COUNT  # how a value reads: COUNT, SHARE or AMOUNT

    @property
    def label(self) -> str:
        """The label as the dashboards show it: Latvian, then English."""
        return f"{self.label_lv} / {self.label_en}"

    @property
    def is_rate(self) -> bool:
        return bool(self.denominator)

    def published_for(self, dimension: str) -> bool:
        return self.by_band or dimension == ALL_BANDS


RISK_LEVELS = ("risk_none", "risk_low", "risk_medium", "risk_high")
# Counts of pupils that disclosure control protects (group events count open participation).
PROTECTED_COUNTS = ("pupils_supported",)
INDICATOR_MEASURES = (
    Measure(
        "pupils",
        "skolēni",
        "pupils enrolled",
        "pupils enrolled at the as-of date",
        "skolēni, kuri pārskata datumā mācās skolā",
    ),
    Measure(
        "risk_none",
        "bez riska",
        "no risk",
        "pupils whose composite risk level is none",
        "skolēni, kuru kopējais riska līmenis ir “nav riska”",
    ),
    Measure(
        "risk_low",
        "zems risks",
        "low risk",
        "pupils at composite risk level low",
        "skolēni ar zemu kopējo riska līmeni",
    ),
    Measure(
        "risk_medium",
        "vidējs risks",
        "medium risk",
        "pupils at composite level medium",
        "skolēni ar vidēju kopējo riska līmeni",
    ),
    Measure(
        "risk_high",
        "augsts risks",
        "high risk",
        "pupils at composite risk level high",
        "skolēni ar augstu kopējo riska līmeni",
    ),
    Measure(
        "mk89_crossings",
        "MK 89 sliekšņa pārsniegumi",
        "Cabinet Regulation No. 89 threshold crossings",
        "pupils with more unjustified lessons in the semester than the threshold",
        "skolēni, kuriem semestrī neattaisnoti kavēto stundu ir vairāk par slieksni",
        "MK89_UNJUSTIFIED",
    ),
    Measure(
        "chronic_absence",
        "hroniski kavētāji",
        "chronic absence",
        "pupils who missed at least the threshold share of expected lessons",
        "skolēni, kuri kavējuši vismaz sliekšņa daļu no paredzētajām stundām",
        "CHRONIC_ABSENCE",
    ),
    Measure(
        "insufficient_grade",
        "ar nepietiekamu vērtējumu",
        "with an insufficient grade",
        "pupils with a term result below the pass mark or nv in a subject",
        "skolēni, kuriem kādā mācību priekšmetā semestra vērtējums ir zem sekmīgā vai nv",
        "INSUFFICIENT_GRADES",
    ),
    Measure(
        "promotion_at_risk",
        "pārcelšana apdraudēta",
        "promotion at risk",
        "pupils whose insufficient subjects exceed their grade band's allowance",
        "skolēni, kuriem nepietiekamu vērtējumu ir vairāk, nekā viņu klašu grupā pieļaujams",
        "PROMOTION_AT_RISK",
    ),
    Measure(
        "repeaters",
        "atkārtoti mācās",
        "repeaters",
        "pupils repeating the grade",
        "skolēni, kuri klasē mācās atkārtoti",
        "REPEATING_GRADE",
    ),
    Measure(
        "left_without_completion",
        "pārtrauca mācības",
        "left without completion",
        "pupils who left school in the semester for a reason that means not completing it",
        "skolēni, kuri semestrī pameta skolu ar iemeslu, kas nozīmē mācību nepabeigšanu",
    ),
    Measure(
        "at_risk_supported",
        "riska skolēni ar atbalstu",
        "at-risk pupils supported",
        "pupils at medium or high risk who had project support in the semester; per school and "
        "for the municipality, not per grade band (too few pupils per band to publish)",
        "vidēja vai augsta riska skolēni, kuri semestrī saņēma projekta atbalstu; par skolu un "
        "novadu, ne pa klašu grupām (tajās par maz skolēnu, lai publicētu)",
        by_band=False,
    ),
    Measure(
        "attendance_rate",
        "apmeklējums",
        "attendance rate",
        "1 - lessons missed / lessons expected, over the cell's pupils",
        "1 - kavētās stundas / paredzētās stundas, šūnas skolēniem",
        numerator="attended_lessons",
        denominator=("expected_lessons",),
        guards=("pupils",),
        scale=SHARE,
    ),
    Measure(
        "unjustified_per_pupil",
        "neattaisnotas stundas uz skolēnu",
        "unjustified lessons per pupil",
        "unjustified lessons in the semester / pupils",
        "neattaisnoti kavētās stundas semestrī / skolēni",
        numerator="unjustified_lessons",
        denominator=("pupils",),
        guards=("pupils",),
        scale=AMOUNT,
    ),
    Measure(
        "support_coverage",
        "atbalsta pārklājums",
        "support coverage of at-risk pupils",
        "at-risk pupils supported / pupils at medium or high risk; per school and for the "
        "municipality, not per grade band",
        "riska skolēni ar atbalstu / vidēja vai augsta riska skolēni; par skolu un novadu, ne pa "
        "klašu grupām",
        numerator="at_risk_supported",
        denominator=("risk_medium", "risk_high"),
        guards=("at_risk_supported", "risk_medium", "risk_high"),
        by_band=False,
        scale=SHARE,
    ),
)
SUPPORT_MEASURES: tuple[Measure, ...] = (
    Measure(
        "pupils_supported", "atbalstītie skolēni", "pupils supported",
        "unique pupils with a support spell in the period",
        "dažādi skolēni, kuriem periodā bija atbalsta posms", unit="pupil",
    ),
    Measure(
        "hours", "stundas", "hours",
        "hours of support delivered, a spell's hours spread evenly over its days",
        "sniegtās atbalsta stundas, posma stundas vienmērīgi sadalot pa tā dienām", unit="pupil",
        follows="pupils_supported", scale=AMOUNT,
    ),
    Measure(
        "events", "pasākumi", "events", "group activities held", "notikušās grupu aktivitātes",
        unit="group",
    ),
    Measure(
        "pupil_participants", "skolēni dalībnieki", "pupil participants",
        "pupils taking part in group activities", "skolēni, kuri piedalījās grupu aktivitātēs",
        unit="group",
    ),
    Measure(
        "parent_participants", "vecāki dalībnieki", "parent participants",
        "parents taking part in group activities", "vecāki, kuri piedalījās grupu aktivitātēs",
        unit="group",
    ),
    Measure(
        "teacher_participants", "pedagogi dalībnieki", "teacher participants",
        "teachers taking part in group activities", "pedagogi, kuri piedalījās grupu aktivitātēs",
        unit="group",
    ),
)  # fmt: skip
WEEKLY_MEASURES = (
    Measure(
        "school_days",
        "mācību dienas",
        "school days",
        "school days in the week (0: a break)",
        "mācību dienas nedēļā (0: brīvlaiks)",
    ),
    Measure(
        "absence_rate",
        "kavējumu īpatsvars",
        "absence rate",
        "lessons missed / lessons expected in the week, over the pupils enrolled on its days",
        "kavētās stundas / paredzētās stundas nedēļā, tās dienās uzņemtajiem skolēniem",
        numerator="missed_lessons",
        denominator=("expected_lessons",),
        guards=("pupils",),
        scale=SHARE,
    ),
    Measure(
        "illness_rate",
        "slimības kavējumu īpatsvars",
        "illness absence rate",
        "lessons missed for illness / lessons expected in the week",
        "slimības dēļ kavētās stundas / paredzētās stundas nedēļā",
        numerator="illness_lessons",
        denominator=("expected_lessons",),
        guards=("pupils",),
        scale=SHARE,
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
}


def publish_indicators(grid: pl.DataFrame, hidden: set, threshold: int) -> pl.DataFrame:
    """The indicator grid as published cells."""
    grid = grid.with_columns(attended_lessons=pl.col("expected_lessons") - pl.col("missed_lessons"))
    return _cells(grid, "school_indicators", INDICATOR_MEASURES, "grade_band", hidden, threshold)


def publish_support(support: pl.DataFrame, hidden: set, threshold: int) -> pl.DataFrame:
    """Support per semester, school and activity as published cells: pupil counts as disclosure
    control decided, hours with their pupils; group events and participants as they are,
    since they count people at open events, not pupils in need."""
    return _cells(support, "school_support", SUPPORT_MEASURES, "activity", hidden, threshold)


def publish_project(project: pl.DataFrame, hidden: set, threshold: int) -> pl.DataFrame:
    """The project to date per semester and activity, for the municipality, as published
    cells."""
    frame = project.with_columns(
        school_id=pl.lit(MUNICIPALITY), school_name=pl.lit(MUNICIPALITY_NAME)
    )
    return _cells(frame, "project_to_date", SUPPORT_MEASURES, "activity", hidden, threshold)


def publish_weekly(weekly: pl.DataFrame, threshold: int) -> pl.DataFrame:
    """Absence per week and school as published cells: the rates only (no count of pupils is
    published), each suppressed when fewer pupils than the threshold were enrolled that week
    or when its lessons are below the threshold."""
    frame = weekly.with_columns(week=pl.col("week_start").cast(pl.String))
    small = frame.filter(pl.col("pupils").is_between(1, threshold - 1, closed="both"))
    hidden = {
        ("weekly_absence", semester, "pupils", school, week)
        for semester, school, week in small.select("semester_id", "school_id", "week").iter_rows()
    }
    return _cells(frame, "weekly_absence", WEEKLY_MEASURES, "week", hidden, threshold)


def _cells(
    frame: pl.DataFrame,
    table: str,
    measures: tuple[Measure, ...],
    dimension: str,
    hidden: set,
    threshold: int,
) -> pl.DataFrame:
    rows = []
    for row in frame.iter_rows(named=True):
        for measure in measures:
            if measure.unit is not None and measure.unit != row["unit"]:
                continue
            if not measure.published_for(row[dimension]):
                continue
            key = (table, row["semester_id"], measure.name, row["school_id"], row[dimension])
            value, suppressed = _value(measure, row, key, hidden, threshold)
            rows.append(
                {
                    "semester_id": row["semester_id"],
                    "status": row["status"],
                    "school_id": row["school_id"],
                    "school_name": row["school_name"],
                    "dimension": row[dimension],
                    "measure": measure.name,
                    "value": None if suppressed else value,
                    "suppressed": suppressed,
                }
            )
    return pl.DataFrame(rows, schema=CELL_COLUMNS)


def _value(
    measure: Measure, row: dict, key: tuple, hidden: set, threshold: int
) -> tuple[float | None, bool]:
    if row["status"] == NOT_YET_DUE:
        return None, False
    table, semester, _, school, dimension = key
    if not measure.is_rate:
        value = row.get(measure.name)
        follows = (table, semester, measure.follows, school, dimension)
        return (None if value is None else float(value)), key in hidden or follows in hidden
    guarded = any((table, semester, g, school, dimension) in hidden for g in measure.guards)
    numerator = row[measure.numerator] or 0
    denominator = sum(row[d] or 0 for d in measure.denominator)
    return published_rate(numerator, denominator, guarded, threshold)


def published_rate(
    numerator: float, denominator: float, guarded: bool, threshold: int
) -> tuple[float | None, bool]:
    """A rate as published, and whether it is suppressed: with a count it is built on
    (`guarded`), or when its numerator or denominator is below the threshold; no rate without
    a denominator. Rounded to 4 decimals."""
    if guarded or 0 < denominator < threshold or 0 < numerator < threshold:
        return None, True
    if denominator == 0:
        return None, False
    return round(numerator / denominator, 4), False


TABLE_DIMENSIONS = {
    "school_indicators": ("grade_band", INDICATOR_MEASURES),
    "school_support": ("activity", SUPPORT_MEASURES),
    "project_to_date": ("activity", SUPPORT_MEASURES),
    "weekly_absence": ("week", WEEKLY_MEASURES),
}
# Every published measure by name.
MEASURES = {m.name: m for _, measures in TABLE_DIMENSIONS.values() for m in measures}
# The long tables' columns: Latvian and English label, English and Latvian definition.
COLUMN_LABELS = {
    "semester_id": (
        "semestris", "semester", "reporting period, e.g. 2025/26-S1",
        "pārskata periods, piemēram, 2025/26-S1 (2025./2026. mācību gada 1. semestris)",
    ),
    "status": (
        "statuss", "status",
        "final (ended), in progress (to the data cut-off) or not yet due (no figures)",
        "final (beidzies), in progress (līdz datu datumam) vai not yet due (vēl bez skaitļiem)",
    ),
    "school_id": (
        "skolas kods", "school code", "reporting school; ALL is the municipality",
        "skola, kas ziņo; ALL ir novads kopā",
    ),
    "school_name": (
        "skola", "school", "school name; Ogres novads is the municipality",
        "skolas nosaukums; Ogres novads ir novads kopā",
    ),
    "dimension": (
        "klašu grupa / aktivitāte / nedēļa", "grade band / activity / week",
        "grade band 1-3, 4-6, 7-9, 10-12 or all; the project activity; or the week's Monday",
        "klašu grupa 1-3, 4-6, 7-9, 10-12 vai all (visas); projekta aktivitāte; vai nedēļas "
        "pirmdiena",
    ),
    "measure": (
        "rādītājs", "measure", "the measure's code, see the rows of kind measure",
        "rādītāja kods, skat. rindas ar veidu measure",
    ),
    "value": (
        "vērtība", "value", "empty when suppressed or not yet due, never a zero for either",
        "tukša, ja slēpta vai vēl nav pienākusi, nekad ne nulle",
    ),
    "suppressed": (
        "slēpts", "suppressed", "1 when disclosure control withheld the value",
        "1, ja datu aizsardzība vērtību slēpa",
    ),
}  # fmt: skip


def published_tables(
    indicators: pl.DataFrame,
    support: pl.DataFrame,
    project: pl.DataFrame,
    weekly: pl.DataFrame,
    hidden: set,
    threshold: int,
) -> dict[str, pl.DataFrame]:
    """The four published tables from their marts, with the `hidden` cells suppressed."""
    tables = {
        "school_indicators": publish_indicators(indicators, hidden, threshold),
        "school_support": publish_support(support, hidden, threshold),
        "project_to_date": publish_project(project, hidden, threshold),
        "weekly_absence": publish_weekly(weekly, threshold),
    }
    return {
        name: frame.sort("semester_id", "school_id", "dimension", maintain_order=True)
        for name, frame in tables.items()
    }


def for_period(tables: dict[str, pl.DataFrame], semester_id: str) -> dict[str, pl.DataFrame]:
    """The tables as published for a reporting period: its semester and the ones before, with
    their figures. The later semesters are no rows of it (the extract's data dictionary
    lists them)."""
    return {
        name: frame.filter(pl.col("semester_id") <= semester_id) for name, frame in tables.items()
    }
