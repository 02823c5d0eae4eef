"""The jobs: what `make demo`, the operator and the schedule and sensors launch.

Each job selects its assets by key, so that no definitions module imports another's assets.
"""

import dagster as dg

REFERENCE_ASSETS = (
    "schools", "school_calendar", "lesson_load", "subjects", "activities", "project_targets",
    "social_statuses", "indicator_rules", "score_model",
)  # fmt: skip

reference_job = dg.define_asset_job(
    "reference_job",
    selection=dg.AssetSelection.assets(*REFERENCE_ASSETS),
    description="Check and load the reference data: schools, calendar, lesson load, subjects, "
    "activities, the project's targets, social statuses, the indicator rules and the score's weights.",
)
ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.key_prefixes(["staging"], ["ingest"]),
    description="Ingest one partition's deliveries (the landing sensor runs it per school).",
)
warehouse_job = dg.define_asset_job(
    "warehouse_job",
    selection=dg.AssetSelection.key_prefixes(["warehouse"]),
    description="Build the warehouse from staging (incrementally) and run its checks.",
)
publication_job = dg.define_asset_job(
    "publication_job",
    selection=dg.AssetSelection.key_prefixes(["publication"], ["reports"]),
    description="Suppress, check, publish the ministry extracts and draw both dashboards "
    "(dashboard.html, dashboard_internal.html).",
)
