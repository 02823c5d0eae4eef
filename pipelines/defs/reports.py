"""Reports: what analysts open without Dagster or DuckDB, the offline dashboard."""

import dagster as dg
import polars as pl

from pipelines.defs.metadata import markdown_table
from pipelines.defs.policies import IO_RETRY, NIGHTLY_FRESHNESS, ON_UPSTREAM_CHANGE
from pipelines.paths import publication_dir, quality_dir, reports_dir
from pipelines.publication.quality_report import report_file
from pipelines.publication.releases import current_release, previous_release, release_facts
from pipelines.reference.rules import project_period
from pipelines.reports.dashboard import DASHBOARD_FILE, refresh_dashboard

GROUP = "reports"
OWNERS = ["team:education-analytics"]
PUBLISHED = dg.AssetKey(["publication", "published_tables"])


@dg.asset(
    key=["reports", "dashboard"],
    group_name=GROUP,
    owners=OWNERS,
    kinds={"plotly", "html"},
    deps=[PUBLISHED],
    automation_condition=ON_UPSTREAM_CHANGE,
    freshness_policy=NIGHTLY_FRESHNESS,
    retry_policy=IO_RETRY,
    description="The analysts' dashboard, data/reports/dashboard.html: one HTML file that "
    "opens offline (Plotly embedded), in Latvian with English alongside. Drawn from the "
    "published, suppressed tables only: the municipality's trend to 2028/29, a funnel plot "
    "of schools with 95% and 99.8% limits, risk by grade band, weekly absence per school, "
    "support coverage against risk, project monitoring against its timeline, and the change "
    "since the previous run. A suppressed value is shown as suppressed, never as zero.",
)
def dashboard(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    output = reports_dir() / DASHBOARD_FILE
    drawn = refresh_dashboard(publication_dir(), output, *project_period())
    release = current_release(publication_dir())
    previous = previous_release(publication_dir())
    size = output.stat().st_size
    if drawn is None:
        context.log.info(f"dashboard not redrawn: it shows the release in force, {release.name}")
        views = pl.DataFrame({"view": [], "traces": [], "notes": []})
    else:
        context.log.info(f"dashboard redrawn from {release.name}: {output} ({size / 1e6:.1f} MB)")
        views = pl.DataFrame(
            {
                "view": [v.title for v in drawn],
                "traces": [len(v.figure.data) for v in drawn],
                "notes": [" ".join(v.notes) for v in drawn],
            }
        )
    return dg.MaterializeResult(
        metadata={
            "release": release.name,
            "redrawn": drawn is not None,
            "dashboard": dg.MetadataValue.url(output.as_uri()),
            "path": dg.MetadataValue.path(str(output)),
            "bytes": dg.MetadataValue.int(size),
            "data_cutoff": release_facts(release)["data_cutoff"],
            "compared_with": release_facts(previous)["published_at"]
            if previous
            else "first publication",
            "views": dg.MetadataValue.md(markdown_table(views)),
            "quality_report": dg.MetadataValue.path(str(report_file(quality_dir()))),
        }
    )
