"""Reports for analysts: the offline dashboards (public and internal), the notebooks' helpers,
and the risk palette both use.
"""

from pipelines.reports.dashboard import (
    drawn_release,
    read_release,
    read_warehouse,
    refresh_dashboard,
    write_dashboard,
    write_internal_dashboard,
)
from pipelines.reports.notebooks import (
    INDICATOR_QUALITY,
    RISK_TRENDS,
    SCHOOL_DEEP_DIVE,
    export_html,
    open_warehouse,
    percent,
)
from pipelines.reports.style import RISK_LABELS, RISK_LEVEL_COLOURS

__all__ = [
    "INDICATOR_QUALITY",
    "RISK_LABELS",
    "RISK_LEVEL_COLOURS",
    "RISK_TRENDS",
    "SCHOOL_DEEP_DIVE",
    "drawn_release",
    "export_html",
    "open_warehouse",
    "percent",
    "read_release",
    "read_warehouse",
    "refresh_dashboard",
    "write_dashboard",
    "write_internal_dashboard",
]
