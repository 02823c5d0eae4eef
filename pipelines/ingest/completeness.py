"""Did every school deliver last night? A school that missed its delivery is a warning; when
more than a fifth of the schools missed it, publication is held, naming them.

A delivery belongs to the night after the school day it reports: files received from noon on
day D to noon on D+1 (Riga time) are night D's. The night checked is the latest one any school
delivered in, and the schools expected are those that exist on it (a school merged into
another is no longer expected). A rejected file is not a delivery.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import polars as pl

from pipelines.reference.calendar import TIMEZONE, calendar_table, school_calendar
from pipelines.reference.tables import School

MAX_MISSING_SHARE = 0.2
LATE_AFTER = timedelta(hours=36)


@dataclass(frozen=True)
class Completeness:
    night: date | None
    expected: list[str]
    missing: list[str]

    @property
    def missing_share(self) -> float:
        return len(self.missing) / len(self.expected) if self.expected else 0.0

    @property
    def held(self) -> bool:
        """Publication waits: more than MAX_MISSING_SHARE of the schools are missing."""
        return self.missing_share > MAX_MISSING_SHARE

    def summary(self) -> str:
        if self.night is None:
            return "no delivery has been logged yet"
        missing = ", ".join(self.missing) or "none"
        return (
            f"night of {self.night:%d.%m.%Y}: {len(self.expected) - len(self.missing)} of "
            f"{len(self.expected)} schools delivered; missing: {missing}"
        )


def delivery_nights(log: pl.DataFrame) -> pl.Series:
    """The night each logged delivery belongs to."""
    local = pl.col("received_at").dt.convert_time_zone(TIMEZONE)
    return log.select((local - pl.duration(hours=12)).dt.date().alias("night"))["night"]


def night_of(moment: datetime) -> date:
    """The night a moment belongs to (noon to noon, Riga time)."""
    local = pl.Series([moment]).dt.convert_time_zone(TIMEZONE) - timedelta(hours=12)
    return local.dt.date()[0]


def expected_night(now: datetime) -> date | None:
    """The latest school day whose night has begun by `now`: the night every school should
    have delivered in (after a weekend or a holiday, the last school day before it)."""
    days = calendar_table(school_calendar()).filter(
        pl.col("is_school_day") & (pl.col("day") <= night_of(now))
    )
    return days["day"].max()


def late_partitions(log: pl.DataFrame, partitions: list[str], now: datetime) -> pl.DataFrame:
    """Each partition's latest delivery, its age, and whether it is late: older than 36 hours
    while a later school day's delivery is due (weekends and holidays make nothing late)."""
    due = expected_night(now)
    latest = (
        log.filter(pl.col("school_id").is_in(partitions))
        .group_by("school_id")
        .agg(received_at=pl.col("received_at").max())
    )
    age = pl.lit(now) - pl.col("received_at")
    return (
        latest.with_columns(night=delivery_nights(latest))
        .with_columns(
            age_hours=(age.dt.total_minutes() / 60).round(1),
            late=(age > LATE_AFTER) & (pl.col("night") < due),
        )
        .rename({"received_at": "latest_delivery"})
        .sort("age_hours", descending=True)
    )


def completeness(log: pl.DataFrame, schools: tuple[School, ...]) -> Completeness:
    """Which schools delivered in the latest night of the delivery log."""
    delivered = log.with_columns(night=delivery_nights(log)).filter(pl.col("status") != "rejected")
    if delivered.is_empty():
        return Completeness(None, [], [])
    night = delivered["night"].max()
    expected = [s.school_id for s in schools if s.valid_on(night)]
    present = set(delivered.filter(pl.col("night") == night)["school_id"].to_list())
    return Completeness(night, expected, [s for s in expected if s not in present])
