"""The Dagster instance a command uses: the project's (or the one DAGSTER_HOME names), never a
throwaway one, and no community sign-up dialog over the UI."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import dagster as dg
import pytest
import yaml

from pipelines.definitions import NO_INSTANCE
from pipelines.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow(10)

DG = Path(sysconfig.get_path("scripts")) / "dg"
TEMPORARY = ".tmp_dagster_home_"
IN_PROCESS = json.dumps({"execution": {"config": {"in_process": {}}}})


def _dg(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DG), *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def _environment(data: Path, home: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env["PMP_DATA_DIR"] = str(data)
    env["VIRTUAL_ENV"] = sys.prefix  # as `uv run` sets it: else dg warns of another venv
    # dg's telemetry keeps its id under ~/.dagster when DAGSTER_HOME is unset: a home of the
    # test's own, so that what dg prints does not depend on which test ran dg first
    env["HOME"] = str(data / "user")
    return env | ({"DAGSTER_HOME": str(home)} if home else {})


def test_without_dagster_home_a_launch_stops_with_one_line(tmp_path):
    """`dg launch` from the project folder with DAGSTER_HOME unset: Dagster would run on a
    temporary instance and delete it; the code location refuses, and the operator reads one
    line saying what to do, no traceback."""
    environment = _environment(tmp_path, None)
    # the first dg command of a user: Dagster's telemetry notice first, then the one line
    first = _dg("launch", "--job", "reference_job", env=environment)
    assert first.returncode == 1
    assert "Telemetry:" in first.stderr
    assert first.stderr.splitlines()[-1] == f"error: {NO_INSTANCE}"
    result = _dg("launch", "--job", "reference_job", env=environment)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"error: {NO_INSTANCE}"]
    for run in (first, result):
        assert "Traceback" not in run.stdout + run.stderr
        assert "RUN_SUCCESS" not in run.stdout + run.stderr
    assert not list(PROJECT_ROOT.glob(f"{TEMPORARY}*"))


def test_with_dagster_home_the_run_is_kept_in_that_instance(tmp_path):
    """The run's steps run in the launching process: which instance keeps the run is the
    command's choice, and the default executor's process per step would import the project
    once per reference asset (nine times) to show nothing more."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    result = _dg(
        "launch", "--job", "reference_job", "--config-json", IN_PROCESS,
        env=_environment(tmp_path / "data", home),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert [(r.job_name, r.status) for r in runs] == [
            ("reference_job", dg.DagsterRunStatus.SUCCESS)
        ]


def test_the_sign_up_dialog_is_off_in_both_instances(tmp_path):
    """Dagster reads `nux: enabled: false` from the local instance's dagster.yaml; the
    production file says the same."""
    shutil.copy(PROJECT_ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.nux_enabled is False
    production = yaml.safe_load((PROJECT_ROOT / "deploy" / "dagster.yaml").read_text("utf-8"))
    assert production["nux"] == {"enabled": False}
