"""Publication: disclosure control, the published tables and their releases, the quality gate and
the ministry extracts.

The public names load on first use (`pipelines.lazy_exports`): loading `publish` here would
import the warehouse (sqlglot, DuckDB), NumPy and xlsxwriter into every reader of one small
module, such as the public dashboard reading the release in force through `releases`.
"""

from pipelines.lazy_exports import lazy_exports

_EXPORTS = {
    "ALL_BANDS": "tables",
    "MARTS": "tables",
    "MUNICIPALITY": "tables",
    "NOT_YET_DUE": "tables",
    "HoldOverride": "override",
    "Publication": "publish",
    "current_release": "releases",
    "disclosure_settings": "tables",
    "earlier_versions": "publish",
    "load": "releases",
    "prepare": "publish",
    "previous_release": "releases",
    "prune_releases": "releases",
    "publish": "publish",
    "release_digest": "publish",
    "release_facts": "releases",
    "release_in_force": "publish",
    "report_file": "quality_report",
    "run_gate": "gate",
    "store": "publish",
    "stored": "publish",
    "write_extracts": "publish",
}

__all__ = list(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
