"""Small releases built from pupils, so that every relation of the attacker model holds by
construction: each pupil has a school, a grade band, a risk level at least the one the rules
that fired give, the project activities that supported them, and more unjustified lessons than
the MK 89 threshold when counted among its crossings; the cells of the release count them."""

import random
from dataclasses import dataclass, field

from pipelines.publication.protection import (
    BY_SCHOOL_ONLY,
    COUNT_MEASURES,
    INDICATORS,
    LESSONS,
    PROJECT,
    PUPILS_SUPPORTED,
    RISK_LEVELS,
    SUPPORT,
    Cell,
    least_level,
)
from pipelines.publication.tables import ALL_BANDS, INDICATOR_MEASURES, MUNICIPALITY
from pipelines.reference.rules import rules

BY_SCHOOL_ONLY_RATES = {m.name for m in INDICATOR_MEASURES if m.is_rate and not m.by_band}
LEVELS = ("none", "low", "medium", "high")
ACTIVITIES = ("LAS", "R9", "KONS", "MENT")
FLAGS = ("mk89_crossings", "chronic_absence", "insufficient_grade", "repeaters")


def at_least(level: str, flags: frozenset[str]) -> str:
    """The level, raised to the least the rules that fired give."""
    return LEVELS[max(LEVELS.index(level), RISK_LEVELS.index(least_level(flags)))]


def lessons_for(flags: frozenset[str], lessons: float) -> float:
    """The unjustified lessons, more than the MK 89 threshold for a pupil counted there."""
    threshold = next(r["threshold"] for r in rules()["rule"] if r["id"] == "MK89_UNJUSTIFIED")
    return max(lessons, threshold + 1.0) if "mk89_crossings" in flags else lessons


@dataclass(frozen=True)
class Pupil:
    school: str
    band: str
    level: str = "none"
    flags: frozenset[str] = frozenset()
    supported_by: frozenset[str] = frozenset()
    unjustified: float = 0.0

    def counts(self) -> dict[str, int]:
        flags = set(self.flags)
        at_risk = self.level in ("medium", "high")
        return {
            "pupils": 1,
            **{f"risk_{level}": int(self.level == level) for level in LEVELS},
            **{flag: int(flag in flags) for flag in FLAGS},
            "promotion_at_risk": int("promotion_at_risk" in flags),
            "left_without_completion": 0,
            "at_risk_supported": int(at_risk and bool(self.supported_by)),
        }


@dataclass
class Semester:
    semester_id: str
    pupils: list[Pupil]
    leavers: dict[tuple[str, str], int] = field(default_factory=dict)


def release(semesters: list[Semester], schools: list[str], bands: list[str]) -> dict[Cell, float]:
    """Every cell of the release: indicators per school and band with margins, support per
    school and activity with the municipality, and the project to date."""
    values: dict[Cell, float] = {}
    supported_so_far: dict[str, set[int]] = {a: set() for a in ACTIVITIES}
    for semester in semesters:
        s = semester.semester_id
        for school in [*schools, MUNICIPALITY]:
            for band in [*bands, ALL_BANDS]:
                here = [
                    p
                    for p in semester.pupils
                    if school in (p.school, MUNICIPALITY) and band in (p.band, ALL_BANDS)
                ]
                for measure in COUNT_MEASURES:
                    if measure in BY_SCHOOL_ONLY and band != ALL_BANDS:
                        continue
                    values[(INDICATORS, s, measure, school, band)] = float(
                        sum(p.counts()[measure] for p in here)
                    )
                values[(INDICATORS, s, "left_without_completion", school, band)] = float(
                    sum(
                        n
                        for (ls, lb), n in semester.leavers.items()
                        if school in (ls, MUNICIPALITY) and band in (lb, ALL_BANDS)
                    )
                )
                values[(INDICATORS, s, LESSONS, school, band)] = sum(p.unjustified for p in here)
            for activity in ACTIVITIES:
                values[(SUPPORT, s, PUPILS_SUPPORTED, school, activity)] = float(
                    sum(
                        activity in p.supported_by
                        for p in semester.pupils
                        if school in (p.school, MUNICIPALITY)
                    )
                )
        for activity in ACTIVITIES:
            supported_so_far[activity] |= {
                id(p) for p in semester.pupils if activity in p.supported_by
            }
            values[(PROJECT, s, PUPILS_SUPPORTED, MUNICIPALITY, activity)] = float(
                len(supported_so_far[activity])
            )
    return values


SHAPES = ("sparse", "dense", "all zero", "single pupil", "small counts", "one school one band")


def random_release(rng: random.Random) -> dict[Cell, float]:
    """A random small release of one or two semesters: sparse, dense, all zero, a single
    pupil, small counts, or one school with one band."""
    shape = rng.choice(SHAPES)
    schools = [f"S{i}" for i in range(rng.randint(1, 3))]
    bands = rng.sample(["1-3", "4-6", "7-9", "10-12"], rng.randint(1, 2))
    if shape == "one school one band":
        schools, bands = schools[:1], bands[:1]
    size = {"sparse": 4, "dense": 30, "all zero": 0, "single pupil": 1, "small counts": 8,
            "one school one band": rng.randint(0, 12)}[shape]  # fmt: skip
    semesters = []
    pupils = [
        _random_pupil(rng, schools, bands) for _ in range(rng.randint(0, size) * len(schools))
    ]
    for number in range(rng.randint(1, 2)):
        if number:
            pupils = [p for p in pupils if rng.random() < 0.8]
            pupils += [_random_pupil(rng, schools, bands) for _ in range(rng.randint(0, 3))]
        leavers = {
            (rng.choice(schools), rng.choice(bands)): rng.randint(1, 3)
            for _ in range(rng.choice([0, 0, 1, 2]))
        }
        semesters.append(Semester(f"2025/26-S{number + 1}", list(pupils), leavers))
    return release(semesters, schools, bands)


def _random_pupil(rng: random.Random, schools: list[str], bands: list[str]) -> Pupil:
    band = rng.choice(bands)
    flags = {flag for flag in FLAGS if rng.random() < 0.15}
    # Grades 1-3 and 10-12 allow no insufficient subject (rules.toml [[promotion_band]]).
    if "insufficient_grade" in flags and (band in ("1-3", "10-12") or rng.random() < 0.5):
        flags.add("promotion_at_risk")
    flags = frozenset(flags)
    level = at_least(rng.choices(LEVELS, weights=(6, 2, 1, 1))[0], flags)
    activities = set()
    if level in ("medium", "high") and rng.random() < 0.6:
        activities.add(rng.choice(["KONS", "MENT"] + (["LAS"] if band == "1-3" else [])))
    if "repeaters" in flags and band == "7-9" and rng.random() < 0.7:
        activities.add("R9")
    return Pupil(
        rng.choice(schools),
        band,
        level,
        flags,
        frozenset(activities),
        lessons_for(flags, float(rng.randint(0, 40))),
    )


def published(
    values: dict[Cell, float], hidden: set[Cell], threshold: int
) -> tuple[dict[Cell, float], dict[Cell, float]]:
    """What the release publishes: every count not hidden, and the two rates built on counts,
    by the rule of `pipelines.publication.tables` (suppressed with a hidden count, or when a
    part is below the threshold)."""
    counts = {k: v for k, v in values.items() if k not in hidden and k[2] != LESSONS}
    rates = {}
    rules = {
        "unjustified_per_pupil": (LESSONS, ("pupils",), ("pupils",)),
        "support_coverage": (
            "at_risk_supported",
            ("risk_medium", "risk_high"),
            ("at_risk_supported", "risk_medium", "risk_high"),
        ),
    }
    for table, s, measure, school, band in values:
        if table != INDICATORS or measure != "pupils":
            continue
        for rate, (numerator, denominator, guards) in rules.items():
            cell = (table, s, rate, school, band)
            if rate in BY_SCHOOL_ONLY_RATES and band != ALL_BANDS:
                continue
            n = values[(table, s, numerator, school, band)]
            d = sum(values[(table, s, m, school, band)] for m in denominator)
            guarded = any((table, s, g, school, band) in hidden for g in guards)
            if guarded or 0 < d < threshold or 0 < n < threshold or d == 0:
                continue
            rates[cell] = round(n / d, 4)
    return counts, rates
