"""Reports for analysts: the offline dashboards (public and internal), the notebooks' helpers,
and the risk palette both use.

The public names load on first use (PEP 562): importing any module of the wing runs this file,
and loading `notebooks` here would import plotly.py's figure objects (and narwhals with them)
into each dashboard's process, which writes its figures without them.
"""

from pipelines.lazy_exports import lazy_exports

_EXPORTS = {
    "INDICATOR_QUALITY": "notebooks",
    "RISK_LABELS": "style",
    "RISK_LEVEL_COLOURS": "style",
    "RISK_TRENDS": "notebooks",
    "SCHOOL_DEEP_DIVE": "notebooks",
    "drawn_release": "dashboard",
    "export_html": "notebooks",
    "open_warehouse": "notebooks",
    "percent": "notebooks",
    "read_release": "dashboard",
    "read_warehouse": "dashboard",
    "refresh_dashboard": "dashboard",
    "write_dashboard": "dashboard",
    "write_internal_dashboard": "dashboard",
}

__all__ = list(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
