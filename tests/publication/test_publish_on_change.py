"""Publication only on change: the same content makes no release, no gate run and no revision,
and says so; a changed delivery makes a new release, a new revision and a redrawn dashboard.
Releases are kept by the retention policy of `pipelines.publication.releases`."""

import importlib
import json
import os
import signal
from dataclasses import replace
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

import pipelines.defs.publication as publication_defs
from pipelines import cli
from pipelines.defs.reports import dashboard
from pipelines.publication.gate_worker import GateWorker
from pipelines.publication.protection import Version
from pipelines.publication.publish import (
    MARTS,
    Prepared,
    Protected,
    earlier_versions,
    facts_digest,
    gate_may_run,
    gate_semesters,
    inputs_digest,
    store,
    warehouse_facts,
)
from pipelines.publication.releases import (
    CURRENT,
    LEDGER,
    RELEASE_FILE,
    RELEASES,
    current_release,
    prune_releases,
    retained,
    stored_releases,
)
from pipelines.reports.dashboard import drawn_release

FINAL = "2025/26-S1"
# The module, not the function `pipelines.publication.publish` that the package exports.
publish_module = importlib.import_module("pipelines.publication.publish")


def one_more_event(prepared: Prepared) -> Prepared:
    """The release after a school's corrected delivery of a final semester adds one group event
    (a count published as it is, so the tables stay consistent)."""
    support = prepared.tables["school_support"]
    event = (
        (pl.col("semester_id") == FINAL)
        & (pl.col("measure") == "events")
        & (pl.col("school_id") != "ALL")
        & pl.col("value").is_not_null()
    )
    first = support.with_row_index().filter(event)["index"][0]
    changed = support.with_row_index().with_columns(
        value=pl.when(pl.col("index") == first).then(pl.col("value") + 1).otherwise("value")
    )
    return replace(prepared, tables={**prepared.tables, "school_support": changed.drop("index")})


def revision_folders(data: Path) -> list[str]:
    return sorted(str(p.relative_to(data / "exports")) for p in (data / "exports").glob("*/r*"))


@pytest.fixture
def gate_runs(monkeypatch) -> list[int]:
    """How many times Great Expectations ran (one entry per run of the gate)."""
    runs = []
    real = GateWorker.run

    def counted(worker, *args):
        runs.append(1)
        return real(worker, *args)

    monkeypatch.setattr(GateWorker, "run", counted)
    return runs


@pytest.fixture
def workers(monkeypatch) -> list[GateWorker]:
    """Every gate worker started."""
    started = []
    real = GateWorker.__init__

    def recorded(worker):
        real(worker)
        started.append(worker)

    monkeypatch.setattr(GateWorker, "__init__", recorded)
    return started


@pytest.fixture(scope="module")
def facts(demo_warehouse, ingested) -> dict:
    """What the protection reads from the demo warehouse."""
    return warehouse_facts(demo_warehouse, ingested, MARTS)


def one_more_event_delivered(facts: dict) -> dict:
    """The facts after a school's corrected delivery of a final semester adds one group event."""
    support = facts["school_support"]
    first = support.with_row_index().filter(
        (pl.col("semester_id") == FINAL) & (pl.col("unit") == "group")
    )["index"][0]
    changed = support.with_row_index().with_columns(
        events=pl.when(pl.col("index") == first).then(pl.col("events") + 1).otherwise("events")
    )
    return {**facts, "school_support": changed.drop("index")}


def protected(prepared: Prepared) -> Protected:
    return Protected(
        prepared.tables, prepared.values, prepared.threshold, prepared.narrowest_interval,
        prepared.protection,
    )  # fmt: skip


def nights_of(monkeypatch, nights: list[tuple[dict, Prepared]]) -> None:
    """Each publication reads the next night's facts, and protects them into that night's
    release."""
    tonight = []

    def read(*_) -> dict:
        tonight[:] = [nights.pop(0)]
        return tonight[0][0]

    monkeypatch.setattr(publish_module, "warehouse_facts", read)
    monkeypatch.setattr(publish_module, "protect_marts", lambda *_: protected(tonight[0][1]))


def test_publishing_twice_without_change_makes_one_release_and_a_changed_delivery_a_new_one(
    prepared, facts, tmp_path, monkeypatch, capsys, gate_runs, workers
):
    monkeypatch.setenv("PMP_DATA_DIR", str(tmp_path))
    changed_facts = one_more_event_delivered(facts)
    nights_of(
        monkeypatch,
        [
            (facts, prepared),
            (facts, prepared),
            (facts, prepared),
            (changed_facts, one_more_event(prepared)),
            # A key that missed a change: the content differs, the inputs read the same.
            (changed_facts, one_more_event(one_more_event(prepared))),
        ],
    )
    page = tmp_path / "reports" / "dashboard.html"

    cli.main(["publish"])
    first = capsys.readouterr().out
    release = current_release(tmp_path / "publication")
    assert f"published release {release.name}" in first
    assert f"quality report: {tmp_path / 'quality' / 'report.html'}" in first
    assert revision_folders(tmp_path) == ["2025-26-S1/r1", "2025-26-S2/r1"]
    assert drawn_release(page) == release.name and len(gate_runs) == 1
    assert len(workers) == 1  # started before the protection, and used
    drawn_at = page.stat().st_mtime_ns

    cli.main(["publish"])
    second = capsys.readouterr().out
    assert [p.name for p in stored_releases(tmp_path / "publication")] == [release.name]
    assert f"nothing new: the content equals the release in force, release {release.name}" in (
        second
    )
    assert "no new revision" in second
    assert not [line for line in second.splitlines() if line.startswith("published")]
    assert revision_folders(tmp_path) == ["2025-26-S1/r1", "2025-26-S2/r1"]
    assert len(gate_runs) == 1  # Great Expectations did not run
    # It was imported: the revisions the first publication sent are inputs of this one's
    # protection, which they may move (a new release); they did not, and it was stopped.
    assert len(workers) == 2 and workers[1].process.returncode == -signal.SIGKILL
    assert page.stat().st_mtime_ns == drawn_at and "dashboard redrawn" not in second

    cli.main(["publish"])
    again = capsys.readouterr().out
    assert f"nothing new: the content equals the release in force, release {release.name}" in (
        again
    )
    assert len(gate_runs) == 1 and len(workers) == 2  # the same inputs, gated before: no import

    cli.main(["publish"])
    third = capsys.readouterr().out
    changed = current_release(tmp_path / "publication")
    assert changed != release
    assert [p.name for p in stored_releases(tmp_path / "publication")] == [
        release.name,
        changed.name,
    ]
    assert f"published release {changed.name}" in third
    assert revision_folders(tmp_path) == [
        "2025-26-S1/r1", "2025-26-S1/r2", "2025-26-S2/r1", "2025-26-S2/r2",
    ]  # fmt: skip
    revision = tmp_path / "exports" / "2025-26-S1" / "r2"
    assert "school_support: 1 cells changed" in (revision / "changelog.md").read_text("utf-8")
    manifest = json.loads((revision / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["release"] == changed.name
    assert drawn_release(page) == changed.name
    assert f"dashboard redrawn from release {changed.name}" in third
    assert len(gate_runs) == 2 and len(workers) == 3

    cli.main(["publish"])
    assert current_release(tmp_path / "publication") != changed
    assert len(gate_runs) == 3  # gated all the same, in a worker started when it was needed
    assert len(workers) == 4 and workers[3].process.returncode == 0


def test_the_gate_starts_early_when_any_input_of_the_protection_changed(
    prepared, facts, tmp_path, monkeypatch, gate_runs, workers
):
    """The inputs that decide the content, each changed in turn, start the worker; so do a
    release in force made from other inputs and a gate that did not keep its results."""
    monkeypatch.setenv("PMP_DATA_DIR", str(tmp_path))
    nights_of(monkeypatch, [(facts, prepared), (facts, prepared)])
    cli.main(["publish"])
    folder, quality = tmp_path / "publication", tmp_path / "quality"
    semesters = gate_semesters(facts["semesters"])
    sent = earlier_versions(tmp_path / "exports", folder / LEDGER)  # its own revisions
    assert len(sent) == 2

    def may_run(facts: dict = facts, versions: list[Version] = sent, gated: list = semesters):
        inputs = inputs_digest(facts_digest(facts), versions)
        return gate_may_run(inputs, gated, folder, quality)

    assert may_run()  # its revisions are new versions: they may move the protection's choices
    cli.main(["publish"])  # the same facts, protected with the revisions sent
    assert not may_run()
    later = facts["semesters"].with_columns(as_of=pl.col("as_of") + pl.duration(days=1))
    assert may_run({**facts, "semesters": later})
    for mart in MARTS:
        changed = facts[mart].with_columns(pl.col("semester_id").shift(1, fill_value="x"))
        assert may_run({**facts, mart: changed}), mart
    assert may_run(versions=sent[:1])
    cell = next(iter(sent[0].published))
    for changed in (
        replace(sent[0], name="2025/26-S1 r2"),
        replace(sent[0], values={**sent[0].values, cell: sent[0].values[cell] + 1}),
        replace(sent[0], published={**sent[0].published, cell: sent[0].published[cell] + 1}),
        replace(sent[0], rates={**sent[0].rates, cell: 0.5}),
    ):
        assert may_run(versions=[changed, *sent[1:]]), changed.name
    assert may_run(gated=semesters[:-1])
    with monkeypatch.context() as patched:
        threshold = prepared.threshold + 1
        patched.setattr(publish_module, "disclosure_settings", lambda: (threshold, False))
        assert may_run()
    with monkeypatch.context() as patched:
        patched.setattr(publish_module, "code_version", lambda: "another commit")
        assert may_run()
    report = quality / "report.html"
    report.rename(report.with_suffix(".kept"))
    assert may_run()  # the gate's results are kept only beside its report
    report.with_suffix(".kept").rename(report)
    assert not may_run()
    store(one_more_event(prepared), folder)  # a release in force made from other inputs
    assert may_run()
    assert len(workers) == 2 and len(gate_runs) == 1  # the second: the revisions' publication


def test_the_assets_store_nothing_and_gate_nothing_for_the_same_content(
    prepared, demo_warehouse, ingested, tmp_path, monkeypatch, gate_runs
):
    monkeypatch.setenv("PMP_DATA_DIR", str(tmp_path))
    (tmp_path / "warehouse.duckdb").symlink_to(demo_warehouse)  # the extracts read its facts
    (tmp_path / "staging").symlink_to(ingested)
    monkeypatch.setattr(publication_defs, "prepare", lambda *_, **__: prepared)
    assets = [
        publication_defs.published_tables,
        publication_defs.publication_quality_gate,
        publication_defs.ministry_extracts,
        dashboard,
    ]
    runs = [dg.materialize(assets, instance=dg.DagsterInstance.ephemeral()) for _ in range(2)]
    published = [
        r.asset_materializations_for_node("publication__published_tables")[0] for r in runs
    ]
    versions = [m.tags["dagster/data_version"] for m in published]
    assert versions[0] == versions[1]
    assert [m.metadata["new_release"].value for m in published] == [True, False]
    assert len(stored_releases(tmp_path / "publication")) == 1
    assert len(gate_runs) == 1  # the check of the second run found the content gated
    checks = [e for r in runs for e in r.get_asset_check_evaluations()]
    assert all(e.passed for e in checks) and len(checks) == 2 * 4  # the gate, per table
    drawn = [r.asset_materializations_for_node("reports__dashboard")[0] for r in runs]
    assert [m.metadata["redrawn"].value for m in drawn] == [True, False]


def _release(folder: Path, name: str) -> None:
    (folder / RELEASES / name).mkdir(parents=True)
    (folder / RELEASES / name / RELEASE_FILE).write_text("{}", encoding="utf-8")
    link = folder / CURRENT
    link.unlink(missing_ok=True)
    link.symlink_to(Path(RELEASES) / name)


def _revision(exports: Path, period: str, number: int, release: str | None) -> None:
    folder = exports / period / f"r{number}"
    folder.mkdir(parents=True)
    manifest = {"period": period, "revision": number}
    manifest |= {"release": release} if release else {}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_retention_keeps_the_release_in_force_the_one_before_and_every_one_sent(tmp_path):
    folder, exports = tmp_path / "publication", tmp_path / "exports"
    names = [f"2026120{day}T000000000000Z" for day in range(1, 8)]
    for name in names:
        _release(folder, name)
    _revision(exports, "2025-26-S1", 1, names[0])
    _revision(exports, "2025-26-S1", 2, names[3])
    _revision(exports, "2025-26-S2", 1, names[3])
    _revision(exports, "2024-25-S2", 1, None)  # sent before manifests named their release
    (folder / RELEASES / ".20261208T000000000000Z").mkdir()  # a killed run's, half written
    assert retained(folder, exports) == {names[0], names[3], names[5], names[6]}
    assert prune_releases(folder, exports) == [names[1], names[2], names[4]]
    assert [p.name for p in stored_releases(folder)] == [names[0], names[3], names[5], names[6]]
    assert current_release(folder).name == names[6]
    assert prune_releases(folder, exports) == []
    assert os.path.isdir(folder / RELEASES / names[0])
