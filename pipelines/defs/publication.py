"""Publication: the suppressed tables, their quality gate, and the ministry extracts.

`published_tables` reads the warehouse's publication marts (read-only, in the `duckdb` pool so
it never meets the writer), applies disclosure control and proves it by attacking the
result. It stores a new release only when the content differs from the release in force, and
its data version is the content digest; it keeps the digest of what the protection read with
the content it made, as `pmp publish` does, so that either finds the other's release gated
(`publish.gate_may_run`). A Great Expectations suite per table then runs as a blocking check,
in its own step (Great Expectations is imported only for content not gated before, so not at
all when nothing is new): if it fails, `ministry_extracts` does not run. The extracts asset
writes a new revision only for final periods whose numbers changed, after scanning every file
for identifiers, then applies the releases' retention policy.

The extracts and the dashboard follow every materialisation of the published tables, changed
or not: unchanged, the extracts write nothing and the dashboard is not redrawn (it records the
release it shows), at a fraction of a second, and a run that stopped between the release and
its extracts or dashboard is completed by the next one.
"""

import dagster as dg
import polars as pl

from pipelines.defs.metadata import frame_metadata, markdown_table
from pipelines.defs.policies import IO_RETRY, NIGHTLY_FRESHNESS, ON_UPSTREAM_CHANGE
from pipelines.feedback import LineProgress
from pipelines.paths import (
    exports_dir,
    publication_dir,
    quality_dir,
    reports_dir,
    staging_dir,
    warehouse_file,
)
from pipelines.publication.gate import GateResult
from pipelines.publication.publish import (
    MARTS,
    GateFailed,
    attack_stored,
    earlier_versions,
    gate,
    inputs_digest,
    load_reuse,
    prepare,
    release_digest,
    release_in_force,
    save_inputs,
    save_reuse,
    store,
    stored,
    write_extracts,
)
from pipelines.publication.quality_report import report_file
from pipelines.publication.releases import (
    LEDGER,
    current_release,
    load,
    prune_releases,
    release_facts,
)
from pipelines.reports.dashboard import DASHBOARD_FILE

GROUP = "publication"
OWNERS = ["team:education-analytics"]
PUBLISHED = dg.AssetKey(["publication", "published_tables"])


@dg.asset(
    key=PUBLISHED,
    group_name=GROUP,
    owners=OWNERS,
    kinds={"polars", "parquet"},
    pool="duckdb",
    automation_condition=ON_UPSTREAM_CHANGE,
    freshness_policy=NIGHTLY_FRESHNESS,
    retry_policy=IO_RETRY,
    deps=[dg.AssetKey(["warehouse", "publication", t]) for t in (*MARTS, "semesters")],
    description="The tables that may leave the municipality: indicators per semester, school "
    "and grade band, support per school and activity, the project to date, each cell with "
    "its value or a suppression flag. Small counts, and counts that cover their whole group, "
    "are suppressed, and enough others that no suppressed value can be narrowed below the "
    "threshold from everything published, this release and every revision sent before "
    "(proved by an integer-programming attack, docs/disclosure.md). Written to "
    "data/publication/.",
)
def published_tables(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    versions = earlier_versions(exports_dir(), publication_dir() / LEDGER)
    reuse = load_reuse(publication_dir())
    progress = LineProgress(context.log.info)  # the run log: stages and elapsed time
    prepared = prepare(warehouse_file(), staging_dir(), versions, reuse, progress=progress)
    save_reuse(reuse, publication_dir())
    save_inputs(inputs_digest(prepared.facts_digest, versions), prepared, publication_dir())
    digest = release_digest(prepared)
    release = release_in_force(prepared, publication_dir())
    new_release = release is None
    if new_release:
        release = store(prepared, publication_dir())
        context.log.info(f"new release in force: {release.name}")
    else:
        context.log.info(
            f"nothing new: the content equals the release in force, {release.name} (published "
            f"{release_facts(release)['published_at']}); no release stored"
        )
    indicators = prepared.tables["school_indicators"]
    loss = pl.DataFrame(prepared.protection["information_loss"])
    context.log.info(f"narrowest interval found by the attack: {prepared.narrowest_interval}")
    before = prepared.protection["disclosed_before"]
    if before:
        context.log.warning(
            f"{len(before)} cells were disclosed by revisions sent before (no release can hide "
            f"them now; tell the data protection officer): {'; '.join(before)}"
        )
    return dg.MaterializeResult(
        data_version=dg.DataVersion(digest),
        metadata={
            "release": release.name,
            "new_release": new_release,
            **frame_metadata(indicators),
            "suppressed_cells": dg.MetadataValue.md(markdown_table(loss)),
            "attack": dg.MetadataValue.md(
                markdown_table(pl.DataFrame(prepared.protection["attack"]))
            ),
            "earlier_versions_attacked_with": len(versions),
            "blocks_reused": reuse.reused,
            "blocks_decided": reuse.decided,
            "disclosed_before": len(before),
            "narrowest_interval_found_by_attack": prepared.narrowest_interval,
            "final_periods": ", ".join(prepared.final_periods),
            "folder": dg.MetadataValue.path(str(publication_dir())),
            "dashboard": dg.MetadataValue.url((reports_dir() / DASHBOARD_FILE).as_uri()),
            "quality_report": dg.MetadataValue.path(str(report_file(quality_dir()))),
        },
    )


@dg.asset_check(
    asset=PUBLISHED,
    blocking=True,
    description="The attack of docs/disclosure.md on the release in force, as stored: from "
    "every published cell of it and of every revision sent before, every relation the "
    "definitions imply, and that a suppressed count is not zero, the interval of every "
    "suppressed count, by integer programming. Fails (error) when one is narrower than the "
    "threshold: nothing is then sent. Warns, naming them, about cells that revisions sent "
    "before pin whatever this release does (disclosed already; no release can hide them).",
)
def disclosure_attack() -> dg.AssetCheckResult:
    outcome, threshold = attack_stored(publication_dir(), exports_dir())
    found = outcome.intervals
    per_table = found.group_by("table").agg(
        attacked=pl.len(),
        narrowest=pl.col("width").min(),
        narrowed=(pl.col("width") < threshold).sum(),
        disclosed_before=pl.col("disclosed_before").sum(),
    )
    return dg.AssetCheckResult(
        passed=outcome.narrow.is_empty() and not outcome.disclosed_before,
        # Cells a revision already sent had disclosed cannot be hidden now: an alert, not a hold.
        severity=dg.AssetCheckSeverity.ERROR
        if not outcome.narrow.is_empty()
        else dg.AssetCheckSeverity.WARN,
        metadata={
            "attack": dg.MetadataValue.md(markdown_table(per_table.sort("table"))),
            "narrowest_interval": outcome.narrowest,
            "narrowed_cells": outcome.narrow.height,
            "disclosed_before": "\n".join(outcome.disclosed_before) or "none",
        },
    )


def _gate_release_in_force() -> list[GateResult]:
    """The quality gate on the release in force as stored (the results kept for its content
    when it was gated before)."""
    release = current_release(publication_dir())
    tables = load(release)
    semesters = sorted(tables["school_indicators"]["semester_id"].unique().to_list())
    return gate(tables, semesters, release_facts(release)["content_digest"], quality_dir())


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            f"quality_gate_{table}",
            asset=PUBLISHED,
            blocking=True,
            description=f"Great Expectations suite on {table}: the full grid to 2028/29 S2, "
            "measures in range, totals equal to the sum of their published parts, no small "
            "count shown, no value in a suppressed or not-yet-due cell, every semester present. "
            "Each expectation's result is in the quality report, data/quality/report.html.",
        )
        for table in MARTS
    ],
    name="publication_quality_gate",
)
def publication_quality_gate():
    report = report_file(quality_dir())
    for result in _gate_release_in_force():
        yield dg.AssetCheckResult(
            asset_key=PUBLISHED,
            check_name=f"quality_gate_{result.table}",
            passed=result.success,
            metadata={
                "failed_expectations": "\n".join(result.failures) or "none",
                "quality_report": dg.MetadataValue.path(str(report)),
            },
        )


@dg.asset(
    key=["publication", "ministry_extracts"],
    group_name=GROUP,
    owners=OWNERS,
    kinds={"csv", "excel", "parquet"},
    pool="duckdb",
    automation_condition=ON_UPSTREAM_CHANGE,
    freshness_policy=NIGHTLY_FRESHNESS,
    retry_policy=IO_RETRY,
    deps=[PUBLISHED],
    description="Extracts for the ministry and VIAA: data/exports/<period>/r<N>/ for every "
    "final reporting period: wide sheets with Latvian headers (XLSX, CSV) and the long tables "
    "(CSV in the Latvian Excel form, XLSX, Parquet), a Latvian and English data dictionary, "
    "the cover note LASIMANI.txt and a manifest. A revision is never "
    "overwritten: changed numbers make the next one, with a changelog; unchanged numbers "
    "make nothing. Every file is scanned for identifiers before the revision appears.",
)
def ministry_extracts(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    prepared = stored(warehouse_file(), staging_dir(), publication_dir())
    release = current_release(publication_dir())
    failed = [r.table for r in _gate_release_in_force() if not r.success]
    if failed:  # materialised alone, too: nothing the gate did not pass leaves
        raise GateFailed(
            f"release {release.name} failed the quality gate on {', '.join(failed)}: no "
            f"extracts written (quality report: {report_file(quality_dir())})"
        )
    written = write_extracts(prepared, exports_dir(), publication_dir() / LEDGER, release.name)
    removed = prune_releases(publication_dir(), exports_dir())
    files = pl.DataFrame(
        [
            {"revision": f"{r.period} r{r.number}", "file": p.name, "bytes": p.stat().st_size}
            for r in written
            for p in sorted(r.path.iterdir())
        ],
        schema={"revision": pl.String, "file": pl.String, "bytes": pl.Int64},
    )
    context.log.info(f"{len(written)} new revision(s) from release {release.name}")
    return dg.MaterializeResult(
        metadata={
            "release": release.name,
            "new_revisions": ", ".join(f"{r.period} r{r.number}" for r in written) or "none",
            "releases_removed": ", ".join(removed) or "none",
            "files": dg.MetadataValue.md(markdown_table(files)),
            "folder": dg.MetadataValue.path(str(exports_dir())),
        }
    )
