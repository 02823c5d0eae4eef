"""What the unattended night relies on: retries for transient IO and the automation that
carries a change in staging down to the warehouse, the publication and the dashboard."""

import dagster as dg

# A locked or briefly unreadable file (a school's export still being copied, the DuckDB file
# held by a reader): retry twice, after 10 s then 20 s. Every step is safe to repeat: ingest
# replaces whole files, the warehouse build is one transaction, publication writes a new
# revision or nothing.
IO_RETRY = dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL)

# Materialise when anything upstream was updated and nothing upstream is running. Unlike
# `eager()`, it does not wait for upstream partitions that were never materialised: a school
# that has not delivered yet must not stop the municipality's warehouse.
ON_UPSTREAM_CHANGE = dg.AutomationCondition.eager().without(
    ~dg.AutomationCondition.any_deps_missing()
)
