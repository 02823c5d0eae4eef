"""The nightly deadline and which assets are overdue at it, with the clock passed in: against a
brute-force walk of the clock and a simulation of random nights."""

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pipelines.defs.policies import NIGHTLY_DEADLINE
from pipelines.operations.freshness import Deadline, Overdue, due_ingest_cutoff, overdue_assets

RIGA = ZoneInfo("Europe/Riga")
SEED = 20261207


def _riga(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=RIGA)


def _walked_latest(deadline: Deadline, now: datetime) -> datetime:
    """The latest deadline at or before `now`, found by walking the clock back a quarter of an
    hour at a time until the local time is the deadline on one of its days."""
    moment = now.astimezone(UTC).replace(second=0, microsecond=0)
    moment -= timedelta(minutes=moment.minute % 15)
    while True:
        local = moment.astimezone(ZoneInfo(deadline.timezone))
        if local.time() == deadline.at and local.isoweekday() in deadline.days:
            return moment
        moment -= timedelta(minutes=15)


def _random_moment(rng: random.Random) -> datetime:
    start = datetime(2025, 9, 1, tzinfo=UTC)
    return start + timedelta(seconds=rng.randrange(4 * 365 * 24 * 3600))


def test_the_latest_deadline_is_the_one_the_clock_last_showed():
    rng = random.Random(SEED)
    daylight_changes = [_riga(29, 3, month=3), _riga(25, 4, month=10), _riga(31, 6, month=3)]
    for now in [_random_moment(rng) for _ in range(300)] + daylight_changes:
        latest = NIGHTLY_DEADLINE.latest(now)
        assert latest == _walked_latest(NIGHTLY_DEADLINE, now), now
        assert latest.astimezone(RIGA).time() == time(6, 0)


def test_the_deadline_follows_the_five_school_nights():
    assert NIGHTLY_DEADLINE.cron == "0 6 * * 2,3,4,5,6"
    monday_noon = _riga(23, 12)
    assert NIGHTLY_DEADLINE.latest(monday_noon) == _riga(21, 6)  # Saturday's
    assert NIGHTLY_DEADLINE.latest(_riga(24, 5, 59)) == _riga(21, 6)
    assert NIGHTLY_DEADLINE.latest(_riga(24, 6)) == _riga(24, 6)
    assert NIGHTLY_DEADLINE.describe(_riga(24, 6)) == "06:00 Europe/Riga on Tuesday 24.11.2026"


def test_overdue_is_exactly_an_ingest_due_by_the_deadline_that_the_asset_has_not_followed():
    """Random nights: an ingest on most of them (at any hour), followed by the asset within
    two hours on most; at random moments the function agrees with the definition: some ingest
    finished an hour or more before the latest deadline and after the asset's last
    materialisation."""
    rng = random.Random(SEED)
    for _ in range(40):
        start = _random_moment(rng)
        ingests, materialisations = [], []
        for day in range(21):
            if rng.random() < 0.8:
                ingested = start + timedelta(days=day, seconds=rng.randrange(86_400))
                ingests.append(ingested)
                if rng.random() < 0.8:
                    materialisations.append(ingested + timedelta(seconds=rng.randrange(7_200)))
        for _ in range(25):
            now = start + timedelta(seconds=rng.randrange(22 * 86_400))
            last = max((m for m in materialisations if m <= now), default=None)
            cutoff = _walked_latest(NIGHTLY_DEADLINE, now) - timedelta(hours=1)
            expected = any(u < cutoff and (last is None or u > last) for u in ingests)
            assert due_ingest_cutoff(NIGHTLY_DEADLINE, now) == cutoff
            due = max((u for u in ingests if u < cutoff), default=None)
            found = overdue_assets(NIGHTLY_DEADLINE, now, {"reports/dashboard": last}, due)
            assert bool(found) == expected, (now, last, due)


def test_a_friday_night_missed_by_the_publication_is_overdue_at_saturday_six():
    ingested = _riga(20, 23, 31)
    materialised = {
        "warehouse/core/pupils": _riga(20, 23, 40),
        "publication/published_tables": _riga(19, 22, 10),
        "reports/dashboard": _riga(19, 22, 20),
    }
    assert overdue_assets(NIGHTLY_DEADLINE, _riga(21, 5, 59), materialised, _riga(19, 22)) == []
    found = overdue_assets(NIGHTLY_DEADLINE, _riga(21, 6), materialised, ingested)
    assert found == [
        Overdue("publication/published_tables", _riga(21, 6), ingested, _riga(19, 22, 10)),
        Overdue("reports/dashboard", _riga(21, 6), ingested, _riga(19, 22, 20)),
    ]


def test_an_asset_never_materialised_is_overdue_once_an_ingest_is_due():
    never = {"reports/dashboard": None}
    assert overdue_assets(NIGHTLY_DEADLINE, _riga(21, 7), never, None) == []
    assert overdue_assets(NIGHTLY_DEADLINE, _riga(21, 7), never, _riga(20, 23)) == [
        Overdue("reports/dashboard", _riga(21, 6), _riga(20, 23), None)
    ]


def test_a_weekend_or_a_holiday_without_deliveries_makes_nothing_overdue():
    followed = {"warehouse/core/pupils": _riga(20, 23, 40)}
    for now in (_riga(22, 18), _riga(23, 12), _riga(18, 12)):
        due = _riga(20, 23, 31) if now > _riga(21, 6) else _riga(17, 22)
        assert overdue_assets(NIGHTLY_DEADLINE, now, followed, due) == []
    assert overdue_assets(NIGHTLY_DEADLINE, _riga(24, 7), followed, None) == []


def test_data_ingested_within_the_hour_before_a_deadline_is_due_at_the_next_one():
    assert due_ingest_cutoff(NIGHTLY_DEADLINE, _riga(24, 6, 30)) == _riga(24, 5)
    assert due_ingest_cutoff(NIGHTLY_DEADLINE, _riga(24, 5, 59)) == _riga(21, 5)
