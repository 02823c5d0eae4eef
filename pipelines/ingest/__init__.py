"""Ingest: the input contract, reading and validating delivered files, and writing the staging
Parquet, quarantine and delivery log per partition.
"""

from pipelines.ingest.completeness import (
    LATE_AFTER,
    MAX_MISSING_SHARE,
    Completeness,
    completeness,
    late_partitions,
)
from pipelines.ingest.contract import KINDS, MUNICIPALITY_FOLDER, SHEETS, STAGING_TABLES
from pipelines.ingest.landing import file_hashes, partition_digests, partitions_with_new_files
from pipelines.ingest.partition import stage_partitions
from pipelines.ingest.readers import RejectedFile, read_delivery
from pipelines.ingest.staging import PARQUET_NAME, read_table, write_table
from pipelines.ingest.values import DATE_FORMATS

__all__ = [
    "DATE_FORMATS",
    "KINDS",
    "LATE_AFTER",
    "MAX_MISSING_SHARE",
    "MUNICIPALITY_FOLDER",
    "PARQUET_NAME",
    "SHEETS",
    "STAGING_TABLES",
    "Completeness",
    "RejectedFile",
    "completeness",
    "file_hashes",
    "late_partitions",
    "partition_digests",
    "partitions_with_new_files",
    "read_delivery",
    "read_table",
    "stage_partitions",
    "write_table",
]
