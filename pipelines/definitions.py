"""The Dagster code location: every definition found under `pipelines/defs/`.

The production instance (deploy/dagster.yaml, recognised by its `PMP_PG_HOST`) refuses to load
the code location without `PMP_PSEUDONYM_KEY`: the webserver shows the error and the daemon
runs nothing, rather than failing at the first ingest of the night.

A Dagster command run without `DAGSTER_HOME` (`dg launch`, `dg dev`, `dagster-webserver`) makes
a temporary instance in its working folder and deletes it on exit, with the runs, the
schedules' and sensors' state and the `duckdb` pool: the code location refuses to load into
one, with one line on stderr, so that no run lands there.
"""

import os
import sys
from pathlib import Path

import dagster as dg
from dagster._cli.utils import TMP_DAGSTER_HOME_PREFIX

from pipelines.privacy.pseudonym import KEY_VARIABLE, MissingKey

PRODUCTION_VARIABLE = "PMP_PG_HOST"
NO_INSTANCE = (
    "DAGSTER_HOME is not set, so Dagster made a throwaway instance: run the make targets "
    "(make dev, make ingest, make warehouse), or export DAGSTER_HOME=<project>/.dagster_home "
    "(in production: the instance's folder) and run the command again"
)


def on_temporary_instance() -> bool:
    """Whether this process loads the code into the temporary instance a Dagster command makes
    in its working folder when `DAGSTER_HOME` is unset."""
    return not os.environ.get("DAGSTER_HOME") and any(
        Path.cwd().glob(f"{TMP_DAGSTER_HOME_PREFIX}*")
    )


@dg.definitions
def defs() -> dg.Definitions:
    if on_temporary_instance():
        print(f"error: {NO_INSTANCE}", file=sys.stderr)
        raise SystemExit(1)
    if os.environ.get(PRODUCTION_VARIABLE) and not os.environ.get(KEY_VARIABLE):
        raise MissingKey(
            f"the production instance ({PRODUCTION_VARIABLE} is set) does not start without "
            f"{KEY_VARIABLE}: set it from the secret store (docs/operations.md, Deploy)"
        )
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
