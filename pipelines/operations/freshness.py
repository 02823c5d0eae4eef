"""Which assets are overdue: the morning deadline after a delivery night has passed and they
do not yet hold the data ingested before it.

The nightly schedule ingests at 02:00 Riga time and the chain after it (warehouse,
publication, extracts, dashboard) follows by automation. By the deadline (06:00 on the
mornings after the five school nights, Tuesday to Saturday), every watched asset must have
been materialised after the latest ingest that finished at least `margin` before the
deadline. A night without deliveries (a holiday) ingests nothing, so nothing is due; data
ingested during the margin is due at the next deadline.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

# Cron counts the days of the week from Sunday = 0; ISO from Monday = 1 to Sunday = 7.
_CRON_DAY = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 0}
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Deadline:
    """A deadline at `at` local time in `timezone` on the ISO weekdays `days` (Monday = 1).
    An ingest must have finished at least `margin` before a deadline for its data to be due
    at that deadline."""

    at: time
    days: tuple[int, ...]
    timezone: str
    margin: timedelta

    @property
    def cron(self) -> str:
        """The deadline as a cron string (evaluated in `timezone`)."""
        days = ",".join(str(_CRON_DAY[d]) for d in sorted(self.days))
        return f"{self.at.minute} {self.at.hour} * * {days}"

    def latest(self, now: datetime) -> datetime:
        """The latest deadline at or before `now` (an aware datetime), in `timezone`."""
        zone = ZoneInfo(self.timezone)
        today = now.astimezone(zone).date()
        for back in range(8):
            day = today - timedelta(days=back)
            moment = datetime.combine(day, self.at, zone)
            if day.isoweekday() in self.days and moment <= now:
                return moment
        raise ValueError(f"a deadline needs at least one weekday, not {self.days!r}")

    def describe(self, moment: datetime) -> str:
        """A deadline as a person reads it: `06:00 Europe/Riga on Tuesday 24.11.2026`."""
        local = moment.astimezone(ZoneInfo(self.timezone))
        return f"{local:%H:%M} {self.timezone} on {_DAY_NAMES[local.weekday()]} {local:%d.%m.%Y}"


@dataclass(frozen=True)
class Overdue:
    """An asset that missed `deadline`: last materialised at `materialised` (None: never),
    before the ingest at `ingested` whose data it should hold."""

    asset: str
    deadline: datetime
    ingested: datetime
    materialised: datetime | None


def due_ingest_cutoff(deadline: Deadline, now: datetime) -> datetime:
    """The moment by which an ingest must have finished to be due at the latest deadline."""
    return deadline.latest(now) - deadline.margin


def overdue_assets(
    deadline: Deadline,
    now: datetime,
    materialised: Mapping[str, datetime | None],
    due_ingest: datetime | None,
) -> list[Overdue]:
    """The assets of `materialised` (asset -> its latest materialisation, None when never)
    that the latest deadline at or before `now` found without the data of `due_ingest`, the
    latest ingest at or before `due_ingest_cutoff(deadline, now)` (None when there was none).
    Sorted by asset."""
    if due_ingest is None:
        return []
    missed = deadline.latest(now)
    return [
        Overdue(asset, missed, due_ingest, at)
        for asset, at in sorted(materialised.items())
        if at is None or at < due_ingest
    ]
