-- One row per delivered file: where it came from, what it held, and what became of it.
SELECT school_id, file, sha256, received_at, kind, dialect, encoding, period_start, period_end,
    rows_read, rows_loaded, rows_quarantined, rows_duplicate, rows_superseded, status, reason
FROM staged('delivery_log')
