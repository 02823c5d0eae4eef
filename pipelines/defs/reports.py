"""Reports: what analysts open without Dagster or DuckDB, the offline dashboards (public and
internal, one asset each: they follow different sources and are drawn at different times)."""

import dagster as dg
import polars as pl

from pipelines.defs.metadata import markdown_table
from pipelines.defs.policies import IO_RETRY, NIGHTLY_FRESHNESS, ON_UPSTREAM_CHANGE
from pipelines.ingest.staging import read_table
from pipelines.paths import (
    publication_dir,
    quality_dir,
    reports_dir,
    staging_dir,
    warehouse_file,
)
from pipelines.publication.quality_report import report_file
from pipelines.publication.releases import current_release, previous_release, release_facts
from pipelines.publication.tables import MARTS
from pipelines.reference.rules import project_period
from pipelines.reports.dashboard import (
    DASHBOARD_FILE,
    INTERNAL_DASHBOARD_FILE,
    View,
    refresh_dashboard,
    write_internal_dashboard,
)

GROUP = "reports"
OWNERS = ["team:education-analytics"]
PUBLISHED = dg.AssetKey(["publication", "published_tables"])


def view_table(drawn: list[View]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "view": [v.title for v in drawn],
            "traces": [len(v.figure["data"]) for v in drawn],
            "notes": [" ".join(v.notes) for v in drawn],
        }
    )


@dg.asset(
    key=["reports", "dashboard"],
    group_name=GROUP,
    owners=OWNERS,
    kinds={"plotly", "html"},
    deps=[PUBLISHED],
    automation_condition=ON_UPSTREAM_CHANGE,
    freshness_policy=NIGHTLY_FRESHNESS,
    retry_policy=IO_RETRY,
    description="The public dashboard, data/reports/dashboard.html: one HTML file that opens "
    "offline (Plotly embedded), in Latvian with English alongside. Drawn from the published, "
    "suppressed tables and counts of delivered files only: KPI tiles and a school and grade "
    "band filter, deliveries per school and week, the trend to 2028/29, a funnel plot of "
    "schools with 95% and 99.8% limits, risk by grade band, weekly absence per school, support "
    "coverage against risk, project monitoring against its targets, the change since the "
    "previous publication, and the rules' definitions. A suppressed value is shown as "
    "suppressed, never as zero; the semester in progress is hatched or dashed.",
)
def dashboard(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    output = reports_dir() / DASHBOARD_FILE
    drawn = refresh_dashboard(
        publication_dir(), read_table(staging_dir(), "delivery_log"), output, *project_period()
    )
    release = current_release(publication_dir())
    previous = previous_release(publication_dir())
    size = output.stat().st_size
    if drawn is None:
        context.log.info(f"dashboard not redrawn: it shows the release in force, {release.name}")
        views = pl.DataFrame({"view": [], "traces": [], "notes": []})
    else:
        context.log.info(f"dashboard redrawn from {release.name}: {output} ({size / 1e6:.1f} MB)")
        views = view_table(drawn)
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


@dg.asset(
    key=["reports", "dashboard_internal"],
    group_name=GROUP,
    owners=OWNERS,
    kinds={"plotly", "html"},
    pool="duckdb",
    deps=[dg.AssetKey(["warehouse", "publication", t]) for t in (*MARTS, "semesters")]
    + [dg.AssetKey(["ingest", "delivery_log"])],
    automation_condition=ON_UPSTREAM_CHANGE,
    freshness_policy=NIGHTLY_FRESHNESS,
    retry_policy=IO_RETRY,
    description="The internal dashboard, data/reports/dashboard_internal.html, for the "
    "municipality's analysts: the public dashboard's views drawn from the warehouse's "
    "aggregated publication marts (read-only), unsuppressed, with the held and rejected files "
    "named, under the banner 'Iekšējai lietošanai / internal, not for publication'. "
    "Aggregates only: the page is scanned for pupil keys, personal codes and names before it "
    "is written, and is not written when one is found. No change view (the warehouse keeps no "
    "earlier run). Redrawn whenever the warehouse changes.",
)
def dashboard_internal(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    output = reports_dir() / INTERNAL_DASHBOARD_FILE
    deliveries = read_table(staging_dir(), "delivery_log")
    drawn = write_internal_dashboard(
        warehouse_file(), staging_dir(), deliveries, output, *project_period()
    )
    size = output.stat().st_size
    context.log.info(f"internal dashboard drawn from the warehouse: {output} ({size / 1e6:.1f} MB)")
    return dg.MaterializeResult(
        metadata={
            "dashboard": dg.MetadataValue.url(output.as_uri()),
            "path": dg.MetadataValue.path(str(output)),
            "bytes": dg.MetadataValue.int(size),
            "views": dg.MetadataValue.md(markdown_table(view_table(drawn))),
        }
    )
