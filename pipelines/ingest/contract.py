"""The input contract (shared/docs/school-exports.md) as data: one `Kind` per kind of file.

Every per-kind fact lives here and nowhere else: the required columns of each dialect, the
sheet name, the map from Latvian headers to the prepared columns, the columns dropped unread,
the column that dates a row, the key that tells duplicates apart, and the staging table with
its schema. Readers, validation, staging and the demo generator are keyed by it.
"""

from dataclasses import dataclass
from typing import Literal

import polars as pl

MUNICIPALITY_FOLDER = "_municipality"
# Personal data read from a file but never passed on: names are dropped before validation.
DROPPED_COLUMNS = frozenset({"Vārds", "Uzvārds", "Skolēns"})
# Programme codes whose 5th-6th digits are 51-59 are special-education programmes (Cabinet
# Regulation No. 322 of 13.06.2017, annex 3).
SPECIAL_EDUCATION_DIGITS = tuple(str(digits) for digits in range(51, 60))

Source = Literal["school", "municipality"]
_PROVENANCE = {"delivery_sha": pl.String, "source_row": pl.Int64}
_SCHOOL_PROVENANCE = {"school_id": pl.String, **_PROVENANCE}


@dataclass(frozen=True)
class Kind:
    """One kind of delivered file, from the header it is recognised by to its staging table."""

    name: str
    source: Source
    columns: tuple[str, ...]
    headers: dict[str, str]
    table: str
    staging: dict[str, pl.DataType]
    key: tuple[str, ...]
    conflict_column: str
    sheet: str | None = None
    sheet_columns: tuple[str, ...] = ()
    row_date: str | None = None
    # A full snapshot lists everything to date: the latest replaces every earlier one.
    full_snapshot: bool = False
    # What a row keeps, besides its `row`, for the checks against other files (the school's
    # register, every school's pupils): never the personal code itself, only masked.
    facts: tuple[str, ...] = ()

    @property
    def staged_key(self) -> list[str]:
        """The key that tells a row apart, in staging's columns."""
        renamed = {"code_digits": "pupil_key", "school_text": "school_id"}
        return [renamed.get(column, column) for column in self.key]


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            name="skoleni",
            source="school",
            columns=(
                "Personas kods", "Vārds", "Uzvārds", "Dzimšanas datums", "Dzimums", "Klase",
                "Izglītības programma", "Uzņemšanas datums", "Atskaitīšanas datums",
                "Atskaitīšanas iemesls", "Atkārtoti mācās",
            ),
            sheet="Skolēni",
            sheet_columns=(
                "Skolēns", "Personas kods", "Dzimšanas datums", "Dzimums", "Klase",
                "Izglītības programma", "Uzņemts", "Atskaitīts", "Atskaitīšanas iemesls",
                "Atkārtoti mācās",
            ),
            headers={
                "Personas kods": "code",
                "Dzimšanas datums": "birth_date_text",
                "Dzimums": "sex",
                "Klase": "class_label",
                "Izglītības programma": "programme",
                "Uzņemšanas datums": "admitted_text",
                "Uzņemts": "admitted_text",
                "Atskaitīšanas datums": "left_text",
                "Atskaitīts": "left_text",
                "Atskaitīšanas iemesls": "leave_reason",
                "Atkārtoti mācās": "repeating_text",
            },
            key=("code_digits", "admitted_text"),
            conflict_column="Klase",
            table="pupils",
            staging={
                **_SCHOOL_PROVENANCE,
                "period_start": pl.Date,
                "period_end": pl.Date,
                "pupil_key": pl.String,
                "sex": pl.String,
                "birth_year": pl.Int32,
                "birth_month": pl.Int8,
                "class_label": pl.String,
                "grade": pl.Int64,
                "special_needs_programme": pl.Boolean,
                "admitted": pl.Date,
                "left": pl.Date,
                "leave_reason": pl.String,
                "repeating": pl.Boolean,
            },
        ),
        Kind(
            name="kavejumi",
            source="school",
            columns=("Personas kods", "Klase", "Datums", "Stunda", "Priekšmets", "Atzīme"),
            sheet="Kavējumi",
            sheet_columns=(
                "Skolēns", "Personas kods", "Klase", "Datums", "Stunda", "Priekšmets", "Iemesls",
            ),
            headers={
                "Personas kods": "code",
                "Klase": "class_label",
                "Datums": "date_text",
                "Stunda": "lesson_text",
                "Priekšmets": "subject",
                "Atzīme": "mark",
                "Iemesls": "mark",
            },
            row_date="date",
            key=("code_digits", "date", "lesson"),
            conflict_column="Atzīme",
            facts=("masked_code", "pupil_key", "code_problem", "date", "class_label"),
            table="absences",
            staging={
                **_SCHOOL_PROVENANCE,
                "pupil_key": pl.String,
                "class_label": pl.String,
                "grade": pl.Int64,
                "date": pl.Date,
                "lesson": pl.Int64,
                "subject": pl.String,
                "mark": pl.String,
                "reason": pl.String,
            },
        ),
        Kind(
            name="zimes",
            source="school",
            columns=("Personas kods", "No", "Līdz", "Iemesls", "Iesniegts"),
            headers={
                "Personas kods": "code",
                "No": "from_text",
                "Līdz": "to_text",
                "Iemesls": "reason",
                "Iesniegts": "submitted_text",
            },
            row_date="submitted",
            key=("code_digits", "from", "to"),
            conflict_column="Iemesls",
            table="notes",
            staging={
                **_SCHOOL_PROVENANCE,
                "pupil_key": pl.String,
                "from": pl.Date,
                "to": pl.Date,
                "reason": pl.String,
                "submitted": pl.Date,
            },
        ),
        Kind(
            name="vertejumi",
            source="school",
            columns=("Personas kods", "Klase", "Priekšmets", "Datums", "Darba veids", "Vērtējums"),
            sheet="Vērtējumi",
            sheet_columns=(
                "Skolēns", "Personas kods", "Klase", "Priekšmets", "Datums", "Vērtējuma veids",
                "Vērtējums",
            ),
            headers={
                "Personas kods": "code",
                "Klase": "class_label",
                "Priekšmets": "subject",
                "Datums": "date_text",
                "Darba veids": "grade_type",
                "Vērtējuma veids": "grade_type",
                "Vērtējums": "value",
            },
            row_date="date",
            key=("code_digits", "subject", "date", "grade_type"),
            conflict_column="Vērtējums",
            facts=("masked_code", "pupil_key", "code_problem", "date", "class_label"),
            table="grades",
            staging={
                **_SCHOOL_PROVENANCE,
                "pupil_key": pl.String,
                "class_label": pl.String,
                "grade": pl.Int64,
                "subject": pl.String,
                "date": pl.Date,
                "grade_type": pl.String,
                "value": pl.String,
                "value_kind": pl.String,
                "mark_value": pl.Int64,
                "percent": pl.Float64,
            },
        ),
        Kind(
            name="slodze",
            source="school",
            columns=("Klase", "Stundas nedēļā"),
            headers={"Klase": "class_label", "Stundas nedēļā": "lessons_text"},
            key=("class_label",),
            conflict_column="Stundas nedēļā",
            facts=("class_label",),
            table="timetable_load",
            staging={
                **_SCHOOL_PROVENANCE,
                "class_label": pl.String,
                "grade": pl.Int64,
                "lessons_per_week": pl.Int64,
            },
        ),
        Kind(
            name="atbalsts",
            source="municipality",
            columns=(
                "Personas kods", "Skola", "Aktivitāte", "Sākuma datums", "Beigu datums",
                "Stundas", "Atbalsta sniedzējs", "IAP",
            ),
            headers={
                "Personas kods": "code",
                "Skola": "school_text",
                "Aktivitāte": "activity",
                "Sākuma datums": "start_text",
                "Beigu datums": "end_text",
                "Stundas": "hours_text",
                "Atbalsta sniedzējs": "provider",
                "IAP": "iap_text",
            },
            key=("code_digits", "activity", "start"),
            conflict_column="Stundas",
            full_snapshot=True,
            facts=(
                "masked_code", "pupil_key", "code_problem", "activity", "start", "start_semester",
            ),
            table="support",
            staging={
                **_PROVENANCE,
                "pupil_key": pl.String,
                "school_id": pl.String,
                "activity": pl.String,
                "start": pl.Date,
                "end": pl.Date,
                "hours": pl.Float64,
                "provider": pl.String,
                "iap": pl.Boolean,
            },
        ),
        Kind(
            name="aktivitates",
            source="municipality",
            columns=("Skola", "Aktivitāte", "Nosaukums", "Datums", "Skolēni", "Vecāki", "Pedagogi"),
            headers={
                "Skola": "school_text",
                "Aktivitāte": "activity",
                "Nosaukums": "title",
                "Datums": "date_text",
                "Skolēni": "pupils_text",
                "Vecāki": "parents_text",
                "Pedagogi": "teachers_text",
            },
            row_date="date",
            key=("school_text", "activity", "title", "date"),
            conflict_column="Skolēni",
            table="group_activities",
            staging={
                **_PROVENANCE,
                "school_id": pl.String,
                "activity": pl.String,
                "title": pl.String,
                "date": pl.Date,
                "pupils": pl.Int64,
                "parents": pl.Int64,
                "teachers": pl.Int64,
            },
        ),
        Kind(
            name="socialais_statuss",
            source="municipality",
            columns=("Personas kods", "Statuss", "No", "Līdz"),
            headers={
                "Personas kods": "code",
                "Statuss": "status",
                "No": "start_text",
                "Līdz": "end_text",
            },
            key=("code_digits", "status", "start"),
            conflict_column="Līdz",
            table="social_status",
            staging={
                **_PROVENANCE,
                "pupil_key": pl.String,
                "status": pl.String,
                "start": pl.Date,
                "end": pl.Date,
            },
        ),
    )
}  # fmt: skip
SHEETS: dict[str, Kind] = {kind.sheet: kind for kind in KINDS.values() if kind.sheet}
STAGING_TABLES: dict[str, Kind] = {kind.table: kind for kind in KINDS.values()}


def kinds_from(source: Source) -> tuple[str, ...]:
    """The kinds one source delivers: a school's folder, or the municipality's."""
    return tuple(name for name, kind in KINDS.items() if kind.source == source)


def partition_source(partition: str) -> Source:
    return "municipality" if partition == MUNICIPALITY_FOLDER else "school"
