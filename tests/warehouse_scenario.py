"""Hand-built staging for warehouse tests: a few pupils, written as ingest would write them.

Absences are resolved by ingest's own `justify` from their marks and the notes, so a scenario
exercises the same path as a delivery. Every staging table is written (empty when unused) with
the staging schema of its kind in `pipelines.ingest.contract`, and the delivery log has one loaded file
per school and kind covering the school year up to `cutoff`, received on `received` (the first
day of the year unless set: as if every fact were known on its day), and one more per day a
row says it was received on.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipelines.ingest.contract import STAGING_TABLES
from pipelines.ingest.partition import LOG_SCHEMA, justify
from pipelines.ingest.staging import staging_file, write_table
from pipelines.reference.calendar import school_calendar
from pipelines.reference.tables import school
from pipelines.warehouse.build import build, connect_read_only, table_checksums

YEAR_START = date(2025, 9, 1)
KIND_OF_TABLE = {
    "pupils": "skoleni",
    "absences": "kavejumi",
    "notes": "zimes",
    "grades": "vertejumi",
    "timetable_load": "slodze",
    "support": "atbalsts",
    "group_activities": "aktivitates",
    "social_status": "socialais_statuss",
}
MUNICIPALITY = "_municipality"


@dataclass
class Scenario:
    cutoff: date
    received: date = YEAR_START
    rows: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    late: set[tuple[str, str, date]] = field(default_factory=set)

    def _row(self, table: str, partition: str, received: date | None = None, **values) -> None:
        rows = self.rows[table]
        if received is not None:
            self.late.add((partition, table, received))
        sha = _sha(partition, table, received or self.received)
        rows.append({"delivery_sha": sha, "source_row": len(rows) + 2, **values})

    def pupil(
        self,
        key: str,
        school_id: str,
        grade: int,
        period: tuple[date, date] = (YEAR_START, date(2025, 12, 19)),
        birth_year: int | None = None,
        class_label: str | None = None,
        admitted: date = YEAR_START,
        left: date | None = None,
        leave_reason: str | None = None,
        repeating: bool = False,
        special_needs: bool = False,
        received: date | None = None,
    ) -> None:
        """A register row: the pupil listed at the school for the period."""
        self._row(
            "pupils",
            school_id,
            received,
            school_id=school_id,
            period_start=period[0],
            period_end=period[1],
            pupil_key=key,
            sex="V",
            birth_year=birth_year or period[0].year - 6 - grade - (period[0].month < 9),
            birth_month=3,
            class_label=class_label or f"{grade}.a",
            grade=grade,
            special_needs_programme=special_needs,
            admitted=admitted,
            left=left,
            leave_reason=leave_reason,
            repeating=repeating,
        )

    def absent(
        self,
        key: str,
        school_id: str,
        grade: int,
        days: list[date],
        lessons: int = 1,
        mark: str = "n",
        received: date | None = None,
    ) -> None:
        """`lessons` absences (lessons 1..n) on each day, with the journal's mark."""
        for day in days:
            for lesson in range(1, lessons + 1):
                self._row(
                    "absences",
                    school_id,
                    received,
                    school_id=school_id,
                    pupil_key=key,
                    class_label=f"{grade}.a",
                    grade=grade,
                    date=day,
                    lesson=lesson,
                    subject="Matemātika",
                    mark=mark,
                )

    def note(
        self,
        key: str,
        school_id: str,
        start: date,
        end: date,
        submitted: date,
        reason: str,
        received: date | None = None,
    ) -> None:
        self._row(
            "notes",
            school_id,
            received,
            school_id=school_id,
            pupil_key=key,
            **{"from": start, "to": end},
            reason=reason,
            submitted=submitted,
        )

    def graded(
        self,
        key: str,
        school_id: str,
        grade: int,
        subject: str,
        day: date,
        grade_type: str,
        value: str,
        received: date | None = None,
    ) -> None:
        """A grade as delivered: a mark 1-10, a level S/T/A/P, `nv` or `atb`."""
        kind = "mark" if value.isdigit() else "level" if value in ("S", "T", "A", "P") else value
        self._row(
            "grades",
            school_id,
            received,
            school_id=school_id,
            pupil_key=key,
            class_label=f"{grade}.a",
            grade=grade,
            subject=subject,
            date=day,
            grade_type=grade_type,
            value=value,
            value_kind=kind,
            mark_value=int(value) if kind == "mark" else None,
            percent=None,
        )

    def timetable(self, school_id: str, class_label: str, grade: int, lessons: int) -> None:
        self._row(
            "timetable_load",
            school_id,
            school_id=school_id,
            class_label=class_label,
            grade=grade,
            lessons_per_week=lessons,
        )

    def supported(
        self, key: str, school_id: str, activity: str, start: date, end: date | None, hours: float
    ) -> None:
        self._row(
            "support",
            MUNICIPALITY,
            pupil_key=key,
            school_id=school_id,
            activity=activity,
            start=start,
            end=end,
            hours=hours,
            provider="pedagogs",
            iap=False,
        )

    def social_status(
        self, key: str, status: str, start: date, end: date | None, received: date | None = None
    ) -> None:
        self._row(
            "social_status",
            MUNICIPALITY,
            received,
            pupil_key=key,
            status=status,
            start=start,
            end=end,
        )

    def write(self, staging: Path) -> None:
        tables = {
            table: pl.DataFrame(self.rows.get(table, []), schema=kind.staging)
            for table, kind in STAGING_TABLES.items()
        }
        absences = tables["absences"].drop("reason")
        if absences.height:  # each school's notes count within its own window
            tables["absences"] = pl.concat(
                justify(
                    rows, tables["notes"], school_calendar(), window(rows["school_id"][0])
                ).select(STAGING_TABLES["absences"].staging.keys())
                for rows in absences.partition_by("school_id")
            )
        for table, frame in tables.items():
            write_table(frame, staging_file(staging, table, "TEST"))
        write_table(self.delivery_log(), staging_file(staging, "delivery_log", "TEST"))

    def delivery_log(self) -> pl.DataFrame:
        schools = {row["school_id"] for row in self.rows["pupils"]}
        deliveries = {
            (school_id, table, self.received)
            for table in KIND_OF_TABLE
            for school_id in (
                schools if table not in ("support", "social_status") else [MUNICIPALITY]
            )
        }
        log = [
            {
                "school_id": school_id,
                "file": f"{school_id}/{KIND_OF_TABLE[table]}_{received:%Y%m%d}.csv",
                "sha256": _sha(school_id, table, received),
                "received_at": datetime(
                    received.year, received.month, received.day, 18, tzinfo=UTC
                ),
                "kind": KIND_OF_TABLE[table],
                "period_start": YEAR_START,
                "period_end": self.cutoff,
                "status": "loaded",
            }
            for school_id, table, received in sorted(deliveries | self.late)
        ]
        return pl.DataFrame(log, schema=LOG_SCHEMA)

    def build(self, root: Path) -> duckdb.DuckDBPyConnection:
        """Write staging under `root`, build the warehouse there, and open it read-only."""
        staging = root / "staging"
        self.write(staging)
        database = root / "warehouse.duckdb"
        build(database, staging)
        return connect_read_only(database, staging)


def window(school_id: str) -> int:
    return school(school_id).note_deadline_school_days


def _sha(school_id: str, table: str, received: date) -> str:
    return f"{school_id}-{table}-{received:%Y%m%d}".ljust(64, "0")


# Tables that compare one run with the one before it cannot equal a build from scratch.
RUN_HISTORY = {"programme.flag_changes"}


def checksums(database: Path, staging: Path) -> dict:
    """Every warehouse table's checksum, but the run-history ones: equal for two warehouses
    that hold the same rows."""
    con = connect_read_only(database, staging)
    try:
        sums = table_checksums(con)
    finally:
        con.close()
    return {table: value for table, value in sums.items() if table not in RUN_HISTORY}
