"""Operations an operator runs: alerts, backfill, key rotation and the retention purge."""

from pipelines.operations.alerts import (
    Alert,
    Severity,
    check_failure_alert,
    notify,
    run_failure_alert,
    webhook_url,
)
from pipelines.operations.backfill import backfill
from pipelines.operations.rekey import RekeyError, read_key_file, rotate_key, work_folder
from pipelines.operations.retention import (
    PURGE_LOG,
    Purge,
    PurgeError,
    PurgeItem,
    purge,
    retention_rule,
)

__all__ = [
    "PURGE_LOG",
    "Alert",
    "Purge",
    "PurgeError",
    "PurgeItem",
    "RekeyError",
    "Severity",
    "backfill",
    "check_failure_alert",
    "notify",
    "purge",
    "read_key_file",
    "retention_rule",
    "rotate_key",
    "run_failure_alert",
    "webhook_url",
    "work_folder",
]
