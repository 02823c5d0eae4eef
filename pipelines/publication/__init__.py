"""Publication: disclosure control, the published tables and their releases, the quality gate and
the ministry extracts.
"""

from pipelines.publication.gate import run_gate
from pipelines.publication.override import HoldOverride
from pipelines.publication.publish import (
    MARTS,
    Publication,
    disclosure_settings,
    earlier_versions,
    prepare,
    publish,
    release_digest,
    release_in_force,
    store,
    stored,
    write_extracts,
)
from pipelines.publication.quality_report import report_file
from pipelines.publication.releases import (
    current_release,
    load,
    previous_release,
    prune_releases,
    release_facts,
)
from pipelines.publication.tables import ALL_BANDS, MUNICIPALITY, NOT_YET_DUE

__all__ = [
    "ALL_BANDS",
    "MARTS",
    "MUNICIPALITY",
    "NOT_YET_DUE",
    "HoldOverride",
    "Publication",
    "current_release",
    "disclosure_settings",
    "earlier_versions",
    "load",
    "prepare",
    "previous_release",
    "prune_releases",
    "publish",
    "release_digest",
    "release_facts",
    "release_in_force",
    "report_file",
    "run_gate",
    "store",
    "stored",
    "write_extracts",
]
