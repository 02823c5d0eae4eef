"""Publication of the demo for data cut on several days, in the order they come: the day
publication used to fail on (20.11.2025), the last Thursday of the first semester
(18.12.2025), and a month-end in each semester of the demo's history. Each release is
protected jointly with the revisions the ones before it would have sent, and passes its
attack. The marts for each day come from the demo warehouse's models run in memory with that
day as the cut-off (`publication_as_of`)."""

from datetime import date

import polars as pl
import pytest

from pipelines.publication.protection import COUNT_MEASURES, Version, published_cells
from pipelines.publication.publish import Protected, protect_marts
from pipelines.publication.tables import MARTS, NOT_YET_DUE, for_period
from pipelines.warehouse.as_of import publication_as_of

pytestmark = pytest.mark.slow(30)

CUTS = (
    date(2025, 10, 31),
    date(2025, 11, 20),
    date(2025, 12, 18),
    date(2026, 3, 31),
    date(2026, 10, 31),
)
COUNTED = [*COUNT_MEASURES, "pupils_supported"]


@pytest.fixture(scope="module")
def releases(demo_warehouse, ingested) -> dict[date, tuple[Protected, list[Version]]]:
    """Every cut's release, each protected with the revisions sent before it: every final
    period of every earlier cut, as `for_period` would send it."""
    found, sent = {}, []
    for day in CUTS:
        marts = publication_as_of(demo_warehouse, ingested, day)
        protected = protect_marts({name: marts[f"publication.{name}"] for name in MARTS}, sent)
        found[day] = (protected, list(sent))
        semesters = marts["publication.semesters"]
        for period in semesters.filter(pl.col("status") == "final")["semester_id"]:
            tables = for_period(protected.tables, period)
            values = {k: v for k, v in protected.values.items() if k[1] <= period}
            sent.append(Version(f"{period} after {day}", values, *published_cells(tables)))
    return found


@pytest.mark.parametrize("day", CUTS, ids=str)
def test_the_demo_publishes_for_data_cut_on(day, releases):
    protected, sent = releases[day]
    assert protected.narrowest >= protected.threshold
    attacked = {row["table"]: row for row in protected.report["attack"]}
    assert attacked["school_indicators"]["attacked"] > 0
    assert protected.report["earlier_versions"] == len(sent)
    for table, frame in protected.tables.items():
        due = frame.filter(pl.col("status") != NOT_YET_DUE)
        shown = due.filter(pl.col("measure").is_in(COUNTED) & ~pl.col("suppressed"))
        assert not shown["value"].is_between(1, 4).any(), table  # no small count shown
    indicators = protected.tables["school_indicators"].filter(pl.col("status") != NOT_YET_DUE)
    pupils = indicators.filter((pl.col("measure") == "pupils") & (pl.col("school_id") == "ALL"))
    assert not pupils["suppressed"].any()  # the municipality's pupils, always


def test_the_last_cut_is_protected_jointly_with_what_was_sent_before(releases):
    protected, sent = releases[CUTS[-1]]
    assert [v.name for v in sent] == ["2025/26-S1 after 2026-03-31"]
    assert protected.report["earlier_versions"] == 1
