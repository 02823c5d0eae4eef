"""The Dagster code location: every definition found under `pipelines/defs/`.

The production instance (deploy/dagster.yaml, recognised by its `PMP_PG_HOST`) refuses to load
the code location without `PMP_PSEUDONYM_KEY`: the webserver shows the error and the daemon
runs nothing, rather than failing at the first ingest of the night.
"""

import os
from pathlib import Path

import dagster as dg

from pipelines.privacy.pseudonym import KEY_VARIABLE, MissingKey

PRODUCTION_VARIABLE = "PMP_PG_HOST"


@dg.definitions
def defs() -> dg.Definitions:
    if os.environ.get(PRODUCTION_VARIABLE) and not os.environ.get(KEY_VARIABLE):
        raise MissingKey(
            f"the production instance ({PRODUCTION_VARIABLE} is set) does not start without "
            f"{KEY_VARIABLE}: set it from the secret store (docs/operations.md, Deploy)"
        )
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
