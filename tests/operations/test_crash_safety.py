"""A run killed half way (SIGKILL, no chance to clean up) leaves the last good state, and a
rerun ends identical to a clean run: the warehouse builds its nightly models in one transaction
(and its analysis models in the next), publication switches to a new release only once it is
whole."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from pipelines.paths import PROJECT_ROOT
from pipelines.publication.publish import store
from pipelines.publication.releases import current_release, load
from pipelines.warehouse.build import build, connect_read_only, table_checksums

SCHEMAS = ("core", "indicators", "programme", "publication")
# A full rebuild in its own process, printing each model as it finishes.
BUILD = (
    "import sys; from pathlib import Path; from pipelines.warehouse.build import build; "
    "build(Path(sys.argv[1]), Path(sys.argv[2]), full_refresh=True, "
    "log=lambda line: print(line, flush=True))"
)
KILL_AFTER = "indicators.pupil_measures"


def checksums(database: Path, staging: Path) -> dict:
    con = connect_read_only(database, staging)
    try:
        return table_checksums(con, SCHEMAS)
    finally:
        con.close()


def test_a_warehouse_build_killed_half_way_reruns_to_the_clean_state(
    demo_warehouse, ingested, tmp_path
):
    clean = checksums(demo_warehouse, ingested)
    database = tmp_path / "warehouse.duckdb"
    shutil.copyfile(demo_warehouse, database)
    process = subprocess.Popen(
        [sys.executable, "-c", BUILD, str(database), str(ingested)],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    finished = []
    for line in process.stdout:
        finished.append(line.split(":")[0])
        if finished[-1] == KILL_AFTER:
            os.kill(process.pid, signal.SIGKILL)
            break
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert "core.lesson_absences" in finished and "publication.school_indicators" not in finished
    assert checksums(database, ingested) == clean  # nothing of the killed build is visible
    build(database, ingested)
    assert checksums(database, ingested) == clean


def test_a_publication_that_dies_half_way_leaves_the_previous_release_whole(
    prepared, tmp_path, monkeypatch
):
    store(prepared, tmp_path)
    before = load(current_release(tmp_path))
    written = []
    real_write = pl.DataFrame.write_parquet

    def dies_on_the_third_table(frame, path, *args, **kwargs):
        if len(written) == 2:
            raise OSError("No space left on device")
        written.append(path)
        return real_write(frame, path, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", dies_on_the_third_table)
    with pytest.raises(OSError, match="No space left"):
        store(prepared, tmp_path)
    monkeypatch.undo()
    after = load(current_release(tmp_path))
    assert after.keys() == before.keys()
    assert all(after[name].equals(before[name]) for name in before)
    newest = store(prepared, tmp_path)
    assert current_release(tmp_path) == newest
    assert not [p for p in (tmp_path / "releases").iterdir() if p.name.startswith(".")]
