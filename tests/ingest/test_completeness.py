"""Did every school deliver last night: the expected night, lateness on school days, and the
publication hold when more than a fifth of the schools are missing."""

import shutil
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from pipelines.ingest.completeness import completeness, expected_night, late_partitions
from pipelines.ingest.staging import staging_file, write_table
from pipelines.publication.publish import PublicationHeld, hold_if_incomplete, prepare
from pipelines.reference import tables as reference

SCHOOLS = [s.school_id for s in reference.schools() if s.valid_on(date(2026, 11, 20))]


def riga(text: str) -> datetime:
    """A Riga wall-clock time (EET in winter) as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC) - timedelta(hours=2)


def delivery_log(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "school_id": [school for school, _, _ in rows],
            "received_at": [riga(moment) for _, moment, _ in rows],
            "status": [status for _, _, status in rows],
        }
    )


def test_every_existing_school_is_expected_and_a_rejected_file_is_no_delivery():
    night = [(s, "2026-11-20 23:05", "loaded") for s in SCHOOLS[2:]]
    log = delivery_log([*night, (SCHOOLS[1], "2026-11-20 23:10", "rejected")])
    found = completeness(log, reference.schools())
    assert found.night == date(2026, 11, 20)
    assert len(found.expected) == 16  # the three schools merged into MRV are not expected
    assert found.missing == SCHOOLS[:2]
    assert not found.held
    assert "14 of 16 schools delivered; missing: " in found.summary()


def test_a_delivery_after_midnight_belongs_to_the_night_before():
    log = delivery_log([(s, "2026-11-21 01:30", "loaded") for s in SCHOOLS])
    assert completeness(log, reference.schools()).night == date(2026, 11, 20)


def test_publication_is_held_when_more_than_a_fifth_of_schools_are_missing():
    four_missing = delivery_log([(s, "2026-11-20 23:05", "loaded") for s in SCHOOLS[4:]])
    found = completeness(four_missing, reference.schools())
    assert found.missing_share == 0.25 and found.held
    three_missing = delivery_log([(s, "2026-11-20 23:05", "loaded") for s in SCHOOLS[3:]])
    assert not completeness(three_missing, reference.schools()).held


def test_held_publication_names_the_schools_and_writes_nothing(ingested, demo_warehouse, tmp_path):
    staging = tmp_path / "staging"
    shutil.copytree(ingested, staging)
    missing = SCHOOLS[:4]
    for school in missing:
        path = staging_file(staging, "delivery_log", school)
        log = pl.read_parquet(path)
        write_table(log.filter(pl.col("received_at") < riga("2026-11-20 12:00")), path)
    with pytest.raises(PublicationHeld, match="25% of the schools") as held:
        prepare(demo_warehouse, staging)
    assert all(school in str(held.value) for school in missing)
    assert hold_if_incomplete(ingested).missing == []


def test_lateness_waits_for_a_school_day():
    friday_night = delivery_log([("OVG", "2026-11-13 23:05", "loaded")]).with_columns(
        pl.lit("OVG").alias("school_id")
    )
    monday_morning = riga("2026-11-16 10:00")
    tuesday_morning = riga("2026-11-17 10:00")
    assert expected_night(monday_morning) == date(2026, 11, 13)
    assert not late_partitions(friday_night, ["OVG"], monday_morning)["late"][0]
    assert late_partitions(friday_night, ["OVG"], tuesday_morning)["late"][0]
    # 18 November is a public holiday: Tuesday night's delivery is the one due on Thursday
    tuesday_night = delivery_log([("OVG", "2026-11-17 23:05", "loaded")])
    assert expected_night(riga("2026-11-19 10:00")) == date(2026, 11, 17)
    assert not late_partitions(tuesday_night, ["OVG"], riga("2026-11-19 10:00"))["late"][0]
