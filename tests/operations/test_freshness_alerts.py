"""The freshness alert sensor on a test instance, with Dagster's clock frozen: materialisations
stamped at known moments, ticks at known moments, and the alerts an operator reads."""

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from dagster._core.test_utils import freeze_time

from pipelines.definitions import defs
from pipelines.defs.operations import freshness_alerts
from pipelines.defs.policies import NIGHTLY_FRESHNESS, WEEKLY_FRESHNESS
from pipelines.operations.alerts import WEBHOOK_ENV
from pipelines.paths import alerts_file

RIGA = ZoneInfo("Europe/Riga")
INGESTED = dg.AssetKey(["ingest", "delivery_log"])
PUBLISHED = dg.AssetKey(["publication", "published_tables"])
EXTRACTS = dg.AssetKey(["publication", "ministry_extracts"])
DASHBOARD = dg.AssetKey(["reports", "dashboard"])
WATCHED = (NIGHTLY_FRESHNESS, WEEKLY_FRESHNESS)


def _riga(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=RIGA)


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    return defs()


@pytest.fixture
def instance(tmp_path, monkeypatch) -> Iterator[dg.DagsterInstance]:
    monkeypatch.setenv("PMP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv(WEBHOOK_ENV, raising=False)
    with dg.DagsterInstance.ephemeral() as test_instance:
        yield test_instance


def _watched(
    definitions: dg.Definitions, policies: tuple[dg.FreshnessPolicy, ...] = WATCHED
) -> list[dg.AssetKey]:
    graph = definitions.resolve_asset_graph()
    return [k for k in graph.get_all_asset_keys() if graph.get(k).freshness_policy in policies]


def _ingest(instance: dg.DagsterInstance, at: datetime) -> None:
    with freeze_time(at):
        instance.report_runless_asset_event(dg.AssetMaterialization(INGESTED, partition="OVG"))


def _materialise(instance: dg.DagsterInstance, keys: Iterable[dg.AssetKey], at: datetime) -> None:
    with freeze_time(at):
        for key in keys:
            instance.report_runless_asset_event(dg.AssetMaterialization(key))


def _tick(
    definitions: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None, at: datetime
) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=definitions)
    with freeze_time(at):
        return freshness_alerts(context)


def _alerts() -> list[dict]:
    log = alerts_file()
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def test_an_overdue_asset_raises_one_alert_naming_it_and_again_after_it_recovered(
    definitions, instance
):
    watched = _watched(definitions)
    behind = {PUBLISHED, EXTRACTS, DASHBOARD}
    assert behind < set(watched) and len(watched) > 40  # the warehouse models too
    _ingest(instance, _riga(19, 22))  # Thursday night: everything follows
    _materialise(instance, watched, _riga(19, 22, 10))
    _ingest(instance, _riga(20, 23, 31))  # Friday night: the publication does not follow
    _materialise(instance, [k for k in watched if k not in behind], _riga(20, 23, 40))

    before = _tick(definitions, instance, None, _riga(21, 5, 59))
    assert _alerts() == []
    assert before.cursor == "[]"

    at_six = _tick(definitions, instance, before.cursor, _riga(21, 6, 0, 30))
    alerts = _alerts()
    assert sorted(a["asset"] for a in alerts) == sorted(k.to_user_string() for k in behind)
    assert {(a["kind"], a["severity"], a["job"], a["run_id"]) for a in alerts} == {
        ("freshness_overdue", "error", None, None)
    }
    published = next(a for a in alerts if a["asset"] == "publication/published_tables")
    assert published["message"] == (
        "Asset publication/published_tables is overdue: it missed its deadline of 06:00 "
        "Europe/Riga on Saturday 21.11.2026. It does not hold the data ingested at 23:31 "
        "Europe/Riga on Friday 20.11.2026: it was last materialised at 22:10 Europe/Riga on "
        "Thursday 19.11.2026. Open asset publication/published_tables in the Dagster UI: its "
        "latest run (Runs) or its automation evaluations (Automation) say why."
    )

    later = _tick(definitions, instance, at_six.cursor, _riga(21, 6, 5))
    assert len(_alerts()) == 3  # the same overdue spell: no second alert

    _materialise(instance, behind, _riga(21, 9))
    recovered = _tick(definitions, instance, later.cursor, _riga(21, 9, 1))
    assert recovered.cursor == "[]" and len(_alerts()) == 3

    _ingest(instance, _riga(23, 23))  # Monday night: only the publication falls behind again
    _materialise(instance, [k for k in watched if k != PUBLISHED], _riga(23, 23, 10))
    quiet = _tick(definitions, instance, recovered.cursor, _riga(24, 5, 59))
    assert len(_alerts()) == 3
    _tick(definitions, instance, quiet.cursor, _riga(24, 6, 1))
    again = _alerts()[3:]
    assert [a["asset"] for a in again] == ["publication/published_tables"]
    assert "missed its deadline of 06:00 Europe/Riga on Tuesday 24.11.2026" in again[0]["message"]


def test_a_weekend_without_deliveries_raises_nothing(definitions, instance):
    watched = _watched(definitions)
    _ingest(instance, _riga(20, 23, 31))
    _materialise(instance, watched, _riga(20, 23, 40))
    cursor = None
    for at in (_riga(21, 6, 1), _riga(22, 12), _riga(23, 18), _riga(24, 6, 1)):
        cursor = _tick(definitions, instance, cursor, at).cursor
    assert _alerts() == []


def test_the_weekly_analysis_models_are_overdue_when_saturdays_build_missed_the_week(
    definitions, instance
):
    weekly = _watched(definitions, (WEEKLY_FRESHNESS,))
    assert dg.AssetKey(["warehouse", "indicators", "evaluation"]) in weekly
    _ingest(instance, _riga(13, 22))  # the week before: everything follows
    _materialise(instance, _watched(definitions), _riga(13, 22, 10))
    _ingest(instance, _riga(20, 23, 31))  # Friday night: the nightly assets follow
    _materialise(instance, _watched(definitions, (NIGHTLY_FRESHNESS,)), _riga(20, 23, 40))

    before = _tick(definitions, instance, None, _riga(21, 9, 59))
    assert _alerts() == [] and before.cursor == "[]"
    _tick(definitions, instance, before.cursor, _riga(21, 10, 0, 30))
    alerts = _alerts()
    assert sorted(a["asset"] for a in alerts) == sorted(k.to_user_string() for k in weekly)
    assert all(
        "missed its deadline of 10:00 Europe/Riga on Saturday 21.11.2026" in a["message"]
        for a in alerts
    )
