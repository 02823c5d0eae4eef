"""The committed reference data in `data/reference/`, read into typed frames and records."""

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import polars as pl

from pipelines.paths import REFERENCE_DIR

GRADE_BANDS: dict[str, tuple[int, int]] = {
    "1-3": (1, 3),
    "4-6": (4, 6),
    "7-9": (7, 9),
    "10-12": (10, 12),
}


def grade_band(grade: int) -> str:
    return next(band for band, (low, high) in GRADE_BANDS.items() if low <= grade <= high)


def grade_band_table() -> pl.DataFrame:
    return pl.DataFrame(
        [{"grade_band": b, "grade_min": lo, "grade_max": hi} for b, (lo, hi) in GRADE_BANDS.items()]
    ).cast({"grade_min": pl.Int32, "grade_max": pl.Int32})


@dataclass(frozen=True)
class School:
    school_id: str
    name: str
    type: str
    grade_min: int
    grade_max: int
    pupils_by_band: dict[str, int]
    valid_from: date
    valid_to: date | None
    successor_id: str | None
    note_deadline_school_days: int  # how long after an absence a note justifies it in time

    def serves(self, grade: int) -> bool:
        return self.grade_min <= grade <= self.grade_max

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


def read_csv(name: str, directory: Path = REFERENCE_DIR) -> pl.DataFrame:
    return pl.read_csv(directory / name, try_parse_dates=True)


@cache
def schools() -> tuple[School, ...]:
    frame = read_csv("schools.csv")
    return tuple(
        School(
            school_id=row["school_id"],
            name=row["name"],
            type=row["type"],
            grade_min=row["grade_min"],
            grade_max=row["grade_max"],
            pupils_by_band={band: row[f"pupils_{band.replace('-', '_')}"] for band in GRADE_BANDS},
            valid_from=row["valid_from"],
            valid_to=row["valid_to"],
            successor_id=row["successor_id"],
            note_deadline_school_days=row["note_deadline_school_days"],
        )
        for row in frame.iter_rows(named=True)
    )


def school(school_id: str) -> School:
    return next(s for s in schools() if s.school_id == school_id)


@cache
def lesson_load() -> dict[int, int]:
    """Weekly lessons per grade: the attendance denominator when a school sends no timetable."""
    return dict(read_csv("lesson_load.csv").iter_rows())


@cache
def subjects() -> pl.DataFrame:
    return read_csv("subjects.csv")


def subjects_for_grade(grade: int) -> list[str]:
    frame = subjects().filter((pl.col("grade_min") <= grade) & (pl.col("grade_max") >= grade))
    return frame["subject"].to_list()


@cache
def activities() -> pl.DataFrame:
    return read_csv("activities.csv")


@cache
def project_targets() -> pl.DataFrame:
    """The project's output targets: per activity and measure, the cumulative figure due by the
    project's last day (synthetic, see data/reference/README.md)."""
    return read_csv("project_targets.csv")


@cache
def social_statuses() -> list[str]:
    return read_csv("social_status.csv")["status"].to_list()


@dataclass(frozen=True)
class Publisher:
    """Who sends the ministry extracts (`publisher.toml`), and the role address to ask."""

    name: str
    project: str
    project_number: str
    contact_role: str
    contact_email: str


@cache
def publisher() -> Publisher:
    return Publisher(**tomllib.loads((REFERENCE_DIR / "publisher.toml").read_text("utf-8")))
