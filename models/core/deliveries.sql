-- Each delivered file's content once per school: the day (Riga time) it was first received
-- and loaded (a file held or rejected first counts from its loading), the period it covers,
-- and whether it was loaded (later superseded or not). Facts carry the day they were known from this (bitemporal).
SELECT school_id, sha256,
    min(timezone('Europe/Riga', received_at)) FILTER (WHERE status IN ('loaded', 'superseded'))::DATE
        AS received_on,
    min(period_start) AS period_start, max(period_end) AS period_end,
    bool_or(status IN ('loaded', 'superseded')) AS loaded
FROM staging.delivery_log
WHERE sha256 IS NOT NULL
GROUP BY school_id, sha256
