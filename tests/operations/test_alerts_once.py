"""Alerts about lasting conditions are raised once: a condition of the whole municipality once
per delivery night, however many partition runs and retries find it again; a refused delivery
once per file, naming the file and its reason, and only for files refused after the sensor
started. Seeded sequences of runs, retries and sensor ticks over several nights, on a test
Dagster instance; the assertions read the alert log."""

import json
import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl
import pytest

from pipelines.defs.operations import check_failure_alerts, delivery_alerts, run_failure_alerts
from pipelines.ingest.completeness import night_of
from pipelines.ingest.partition import LOG_SCHEMA
from pipelines.ingest.staging import write_table
from pipelines.operations import alerts
from pipelines.operations.alerts import REFUSED_STATUSES, raised_keys, refused_delivery_alerts
from pipelines.paths import alerts_file, staging_dir
from pipelines.publication.publish import PublicationHeld

RIGA = ZoneInfo("Europe/Riga")
SCHOOLS = ["OVG", "OCP", "OGP", "TIS", "LVS", "MRV"]
MISSING = ["LVS", "MRV"]
HELD_MESSAGE = (
    "publication held: 33% of the schools missed the delivery (more than 20%); night of "
    "19.11.2026: 4 of 6 schools delivered; missing: LVS, MRV"
)
schools = dg.StaticPartitionsDefinition(SCHOOLS)


@dg.asset(
    key=["ingest", "delivery_log"],
    partitions_def=schools,
    check_specs=[
        dg.AssetCheckSpec("deliveries_complete", asset=["ingest", "delivery_log"]),
        dg.AssetCheckSpec("deliveries_applied", asset=["ingest", "delivery_log"]),
    ],
)
def delivery_log() -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Every partition's run finds the same two schools missing, and a held file."""
    yield dg.MaterializeResult()
    yield dg.AssetCheckResult(
        check_name="deliveries_complete",
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"missing_schools": ", ".join(MISSING), "publication_held": True},
    )
    yield dg.AssetCheckResult(
        check_name="deliveries_applied",
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"files": dg.MetadataValue.md("| file |\n| --- |\n| OVG/a.csv |")},
    )


@dg.asset(key=["publication", "published_tables"])
def published_tables() -> None:
    raise PublicationHeld(HELD_MESSAGE)


test_defs = dg.Definitions(
    assets=[delivery_log, published_tables],
    jobs=[
        dg.define_asset_job("ingest_job", [delivery_log]),
        dg.define_asset_job("publication_job", [published_tables]),
    ],
)


@pytest.fixture(scope="module")
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as test_instance:
        yield test_instance


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PMP_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _lines() -> list[dict]:
    return [json.loads(line) for line in alerts_file().read_text("utf-8").splitlines()]


def _moments(rng: random.Random, night: date, count: int) -> list[datetime]:
    """`count` moments of a delivery night (noon to noon, Riga time), in order."""
    noon = datetime(night.year, night.month, night.day, 12, tzinfo=RIGA)
    offsets = sorted(rng.uniform(0, 24 * 3600 - 1) for _ in range(count))
    return [(noon + timedelta(seconds=s)).astimezone(UTC) for s in offsets]


def _clock(monkeypatch, moment: datetime) -> None:
    """Alerts raised from now on are stamped `moment`."""
    stamp = moment.isoformat(timespec="seconds")
    monkeypatch.setattr(alerts, "now", lambda: stamp)


@pytest.mark.parametrize("seed", range(3))
def test_a_municipal_warning_and_a_held_publication_alert_once_per_night(
    instance, data_dir, monkeypatch, seed
):
    """Nights of random partition runs, each followed by a held publication that Dagster
    retries a random number of times, with the check sensor ticking at random: per night, one
    alert that schools are missing and one that publication is held, each naming the missing
    schools; the held file is left to `delivery_alerts`."""
    rng = random.Random(seed)
    first = date(2026, 11, 16) + timedelta(days=rng.randrange(30))
    nights = [first + timedelta(days=n) for n in range(rng.randint(2, 3))]
    cursor = check_failure_alerts(dg.build_sensor_context(instance=instance)).cursor
    runs = 0
    for night in nights:
        ingests = rng.randint(2, 3)
        attempts = [rng.randint(1, 2) for _ in range(ingests)]
        moments = iter(_moments(rng, night, ingests + sum(attempts)))
        for attempt_count in attempts:
            _clock(monkeypatch, next(moments))
            ingest = test_defs.resolve_job_def("ingest_job").execute_in_process(
                instance=instance, partition_key=rng.choice(SCHOOLS), raise_on_error=False
            )
            assert ingest.success
            if rng.random() < 0.5:
                cursor = check_failure_alerts(
                    dg.build_sensor_context(instance=instance, cursor=cursor)
                ).cursor
            for attempt in range(attempt_count):
                _clock(monkeypatch, next(moments))
                held = test_defs.resolve_job_def("publication_job").execute_in_process(
                    instance=instance,
                    raise_on_error=False,
                    tags={"dagster/will_retry": str(attempt < attempt_count - 1).lower()},
                )
                run_failure_alerts(
                    dg.build_run_status_sensor_context(
                        sensor_name=run_failure_alerts.name,
                        dagster_event=held.get_run_failure_event(),
                        dagster_instance=instance,
                        dagster_run=held.dagster_run,
                    )
                )
                runs += 1
        cursor = check_failure_alerts(
            dg.build_sensor_context(instance=instance, cursor=cursor)
        ).cursor

    lines = _lines()
    raised = Counter(
        (night_of(datetime.fromisoformat(a["raised_at"])), a["check"] or "held") for a in lines
    )
    assert runs >= 2 * len(nights)
    assert raised == Counter({(n, c): 1 for n in nights for c in ("deliveries_complete", "held")})
    for alert in lines:
        if alert["check"] == "deliveries_complete":
            assert alert["kind"] == "check_failure"
            assert "missing_schools=LVS, MRV" in alert["message"]
        else:
            assert (alert["kind"], alert["asset"]) == (
                "run_failure",
                "publication/published_tables",
            )
            assert alert["message"].startswith(
                "Publication is held: 33% of the schools missed the delivery "
                "(more than 20%); night of 19.11.2026: 4 of 6 schools delivered; missing: LVS, "
                "MRV. Nothing is published until the missing schools deliver"
            )


STATUSES = ["loaded", "duplicate", "superseded", "rejected", "held", "nothing_loaded"]
REASONS = {
    "rejected": "the header matches no kind of the contract",
    "held": "would leave 12 of 480 rows in force on 03.11.2026-07.11.2026 (less than half)",
    "nothing_loaded": "every row failed validation",
}


def _deliveries(rng: random.Random, count: int, start: int) -> pl.DataFrame:
    rows = []
    for n in range(start, start + count):
        status = rng.choice(STATUSES)
        school = rng.choice(SCHOOLS)
        rows.append(
            {
                "school_id": school,
                "file": f"{school}/kavejumi_{n:04d}.csv",
                "sha256": f"{n:064x}",
                "received_at": datetime(2026, 11, 19, 20, 0, tzinfo=UTC) + timedelta(minutes=n),
                "status": status,
                "reason": REASONS.get(status),
            }
        )
    return pl.DataFrame(rows, schema={k: LOG_SCHEMA[k] for k in rows[0]})


def _write_log(deliveries: pl.DataFrame) -> None:
    write_table(deliveries, staging_dir() / "delivery_log" / "all" / "data.parquet")


def _refused(deliveries: pl.DataFrame) -> list[str]:
    """The alert keys of the refused files among `deliveries`."""
    refused = deliveries.filter(pl.col("status").is_in(list(REFUSED_STATUSES)))
    return [f"{r['status']} {r['sha256']}" for r in refused.iter_rows(named=True)]


@pytest.mark.parametrize("seed", range(3))
def test_started_on_an_old_log_it_alerts_only_files_refused_later(data_dir, seed):
    """An existing instance's history of refused files raises nothing when the sensor starts,
    nor on later ticks; a file refused later raises one alert."""
    rng = random.Random(seed)
    old = _deliveries(rng, 30, 0)
    while len(_refused(old)) < 3:
        old = pl.concat([old, _deliveries(rng, 1, old.height)])
    _write_log(old)
    started = delivery_alerts(dg.build_sensor_context())
    assert started.skip_reason.skip_message == (
        f"started watching: {len(_refused(old))} files refused before now are known and not "
        "alerted; files refused from now on are"
    )
    cursor = delivery_alerts(dg.build_sensor_context(cursor=started.cursor)).cursor
    assert not alerts_file().exists()
    later = _deliveries(rng, 1, old.height).with_columns(
        status=pl.lit("rejected"), reason=pl.lit(REASONS["rejected"])
    )
    _write_log(pl.concat([old, later]))
    for _ in range(rng.randint(1, 3)):
        cursor = delivery_alerts(dg.build_sensor_context(cursor=cursor)).cursor
    assert [(a["key"], a["partition"]) for a in _lines()] == [
        (_refused(later)[0], later["school_id"][0])
    ]


@pytest.mark.parametrize("seed", range(5))
def test_each_refused_file_is_alerted_once_naming_it_and_its_reason(data_dir, seed):
    """Ingest runs that add random deliveries to the log, the sensor ticking after each one
    and again: one alert per rejected, held or empty file, naming its file, school, status and
    reason; none for a file that was applied."""
    rng = random.Random(seed)
    log = pl.DataFrame(schema={k: LOG_SCHEMA[k] for k in _deliveries(rng, 1, 0).columns})
    cursor = delivery_alerts(dg.build_sensor_context()).cursor  # started before any delivery
    for _ in range(rng.randint(2, 5)):
        log = pl.concat([log, _deliveries(rng, rng.randint(1, 12), log.height)])
        _write_log(log)
        for _ in range(rng.randint(1, 3)):
            cursor = delivery_alerts(dg.build_sensor_context(cursor=cursor)).cursor

    refused = log.filter(pl.col("status").is_in(list(REFUSED_STATUSES)))
    lines = _lines() if alerts_file().exists() else []
    assert sorted(a["key"] for a in lines) == sorted(
        f"{r['status']} {r['sha256']}" for r in refused.iter_rows(named=True)
    )
    by_key = {a["key"]: a for a in lines}
    for row in refused.iter_rows(named=True):
        alert = by_key[f"{row['status']} {row['sha256']}"]
        local = row["received_at"].astimezone(RIGA)
        assert alert["kind"] == "refused_delivery"
        assert alert["partition"] == row["school_id"]
        assert alert["message"].startswith(
            f"File {row['file']} from {row['school_id']} (received "
            f"{local:%d.%m.%Y %H:%M} Riga time) {REFUSED_STATUSES[row['status']]}: "
            f"{row['reason']}."
        )
    assert refused_delivery_alerts(log.iter_rows(named=True), raised_keys(alerts_file())) == []
