"""Ingest: the input contract, reading and validating delivered files, and writing the staging
Parquet, quarantine and delivery log per partition.

The public names load on first use (PEP 562): importing any module of the wing runs this file,
and loading `partition` here would import pandera (about a second) into every reader of the
staging Parquet (`staging.read_table`: the dashboards, publication's hold check).
"""

from pipelines.lazy_exports import lazy_exports

_EXPORTS = {
    "DATE_FORMATS": "values",
    "KINDS": "contract",
    "LATE_AFTER": "completeness",
    "MAX_MISSING_SHARE": "completeness",
    "MUNICIPALITY_FOLDER": "contract",
    "PARQUET_GLOB": "staging",
    "PARQUET_NAME": "staging",
    "SHEETS": "contract",
    "STAGING_TABLES": "contract",
    "Completeness": "completeness",
    "RejectedFile": "readers",
    "completeness": "completeness",
    "file_hashes": "landing",
    "late_partitions": "completeness",
    "partition_digests": "landing",
    "partitions_with_new_files": "landing",
    "read_delivery": "readers",
    "read_table": "staging",
    "stage_partitions": "partition",
    "write_table": "staging",
}

__all__ = list(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
