"""What publication reads from the warehouse, in one order.

Apart from `publish` so that a reader of the warehouse's marts (the internal dashboard) loads
DuckDB's connection and nothing of the protection, the gate or the extracts.
"""

from pathlib import Path

from pipelines.warehouse.build import connect_read_only


def warehouse_facts(database: Path, staging: Path, marts: tuple[str, ...] = ()) -> dict:
    """What publication reads from the warehouse: the given marts, the semesters, the rule
    versions, the loaded deliveries (for the changelog) and the pupil keys (for the
    identifier scan). Every table in one order, all its columns sorted: the protection's
    choices among equally good cells follow the order of its input, so the same rows must
    publish the same release whether a full or an incremental build laid them out."""
    con = connect_read_only(database, staging)
    try:
        facts = {
            name: con.sql(f"FROM publication.{name} ORDER BY ALL").pl()
            for name in (*marts, "semesters")
        }
        facts["rules"] = con.sql("SELECT rule_id, version FROM reference.rules ORDER BY ALL").pl()
        facts["deliveries"] = con.sql(
            "SELECT school_id, kind, file, received_at, period_start, period_end "
            "FROM staging.delivery_log "
            "WHERE status = 'loaded' ORDER BY ALL"
        ).pl()
        facts["keys"] = {k for (k,) in con.sql("SELECT pupil_key FROM core.pupils").fetchall()}
    finally:
        con.close()
    return facts
