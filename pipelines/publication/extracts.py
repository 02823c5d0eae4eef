"""Ministry extracts: one folder per reporting period and revision, never overwritten.

`data/exports/<period>/r<N>/` holds the period's semester and the ones before (the later ones
are rows of the data dictionary, not of the data), and per published table:

- `<table>_wide.xlsx` and `<table>_wide.csv`, for people: one row per semester, school and
  grade band (activity, week), one column per measure, Latvian headers;
- `<table>.csv`, `<table>.xlsx` and `<table>.parquet`, the long table for machines: one row
  per published cell.

Every format reads the same: counts are whole numbers, shares are percent with one decimal,
hours and lessons per pupil have one decimal. CSV is the Latvian Excel form (UTF-8 with BOM,
`;`, decimal comma, shares as percent figures); XLSX cells are numbers with the formats `0`,
`0.0%` and `0.0` (a share is its fraction). A suppressed cell is `slēpts` in the wide sheets
and `suppressed` 1 with no value in the long ones, alike in CSV and XLSX.

Beside them: `data_dictionary.*` (Latvian and English definitions, every threshold with its
value and version, the activity codes, the later semesters), the Latvian cover note
`LASIMANI.txt`, `manifest.json` (SHA-256 and rows of every file, rule versions, code version,
generation time) and, from r2 on, `changelog.md` and `changes.csv`. A revision is written into
a hidden folder, scanned for identifiers, and only then renamed into place, so nothing is ever
half-published. A run whose numbers equal the latest revision's writes nothing; different
numbers make `r<N+1>`.
"""

import csv
import hashlib
import io
import json
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import xlsxwriter

from pipelines.feedback import OperatorError
from pipelines.publication.tables import (
    ALL_BANDS,
    AMOUNT,
    CELL_KEY,
    COLUMN_LABELS,
    COUNT,
    MEASURES,
    MUNICIPALITY,
    RISK_LEVELS,
    SHARE,
    TABLE_DIMENSIONS,
    Measure,
)
from pipelines.reference.calendar import riga_time
from pipelines.reference.rules import COMPOSITE_TEXT, level_points, level_text, rule_text
from pipelines.reference.tables import GRADE_BANDS, Publisher

CSV_SEPARATOR = ";"
UTF8_BOM = "\ufeff"
REVISION_PREFIX = "r"
WIDE_SUFFIX = "_wide"
DICTIONARY = "data_dictionary"
COVER_NOTE = "LASIMANI.txt"
CHANGELOG = "changelog.md"
CHANGES = "changes.csv"
CHANGES_SHOWN = 50  # changed cells listed in the changelog; `changes.csv` holds them all
SUPPRESSED = "slēpts"  # a suppressed cell of a wide sheet, in CSV and XLSX alike
TOTAL_BAND = "kopā"  # the `all` grade band in the wide sheets
PLAIN = "plain"  # a number shown as it is: thresholds
XLSX_FORMATS = {COUNT: "0", SHARE: "0.0%", AMOUNT: "0.0", PLAIN: "General"}
DIMENSION_HEADERS = {
    "grade_band": ("klašu grupa", "grade band", "1-3, 4-6, 7-9, 10-12; kopā: all grade bands",
                   "1-3, 4-6, 7-9, 10-12; kopā: visas klašu grupas"),
    "activity": ("aktivitāte", "activity", "the project activity's code, see the rows of kind "
                 "activity", "projekta aktivitātes kods, skat. rindas ar veidu activity"),
    "week": ("nedēļa (pirmdiena)", "week (Monday)", "the week's Monday",
             "nedēļas pirmdienas datums"),
}  # fmt: skip
WIDE_KEYS = ("semester_id", "school_id", "school_name")


class IdentifierFound(OperatorError):
    """An extract file holds something that identifies a pupil: nothing is published."""


@dataclass(frozen=True)
class Revision:
    period: str
    number: int
    path: Path


@dataclass(frozen=True)
class Sources:
    """What an extract says beside its numbers: the reporting periods with their dates and
    status (`semester_id`, `start_date`, `last_day`, `projected`, `status`), the deliveries
    loaded (`school_id`, `kind`, `file`, `received_at`, `period_start`, `period_end`), the
    rules as `models/rules.toml` holds them, the activities of the reference data, who sends
    the extract, the release's disclosure threshold and the data cut-off."""

    semesters: pl.DataFrame
    deliveries: pl.DataFrame
    rules: dict
    activities: pl.DataFrame
    publisher: Publisher
    min_count: int
    suppress_zero: bool
    data_cutoff: date


@dataclass(frozen=True)
class Number:
    """A number as the extract shows it: `scale` COUNT, SHARE, AMOUNT or PLAIN."""

    value: float
    scale: str

    @property
    def stored(self) -> float | int:
        """The value an XLSX cell holds: rounded to what its format shows."""
        if self.scale == COUNT:
            if self.value != int(self.value):
                raise ValueError(f"a count that is not a whole number: {self.value}")
            return int(self.value)
        if self.scale == SHARE:
            return round(self.value, 3)
        return round(self.value, 1) if self.scale == AMOUNT else self.value

    def text(self, decimal: str = ",") -> str:
        """The value as the CSV shows it: a share in percent."""
        shown = {
            COUNT: lambda v: str(v),
            SHARE: lambda v: f"{v * 100:.1f}",
            AMOUNT: lambda v: f"{v:.1f}",
            PLAIN: lambda v: f"{v:g}",
        }[self.scale](self.stored)
        return shown.replace(".", decimal)


Cell = str | Number | None


@dataclass(frozen=True)
class Sheet:
    """A table as people read it, written alike as CSV and XLSX."""

    name: str
    headers: list[str]
    rows: list[list[Cell]]


def period_folder(semester_id: str) -> str:
    """`2025/26-S1` as a folder name: `2025-26-S1`."""
    return semester_id.replace("/", "-")


def content_digest(tables: dict[str, pl.DataFrame]) -> str:
    """A digest of the numbers, independent of file formats and generation time."""
    digest = hashlib.sha256()
    for name in sorted(tables):
        frame = tables[name]
        digest.update(name.encode())
        digest.update(frame.sort(frame.columns).write_csv().encode())
    return digest.hexdigest()


def header(measure: Measure, language: str = "lv") -> str:
    """A measure's column header in the wide sheets: its label, and `%` for a share."""
    label = measure.label_lv if language == "lv" else measure.label_en
    return f"{label}, %" if measure.scale == SHARE else label


def long_sheet(frame: pl.DataFrame, name: str) -> Sheet:
    """A long frame as it reads: `value` in its measure's scale, `suppressed` 1 or 0, other
    numbers as they are."""

    def cell(column: str, value, row: dict) -> Cell:
        if value is None:
            return None
        if column == "value":
            return Number(value, MEASURES[row["measure"]].scale)
        if isinstance(value, bool):
            return Number(int(value), COUNT)
        if isinstance(value, int | float):
            return Number(value, PLAIN)
        return str(value)

    rows = [[cell(c, v, row) for c, v in row.items()] for row in frame.iter_rows(named=True)]
    return Sheet(name, frame.columns, rows)


def wide_sheet(table: str, frame: pl.DataFrame) -> Sheet:
    """One row per semester, school (the municipality last) and grade band, activity or week;
    one column per measure, in Latvian; a suppressed cell is `slēpts`, one without a figure
    (no denominator, or a measure that does not apply) is empty."""
    dimension, measures = TABLE_DIMENSIONS[table]
    cells: dict[tuple, dict[str, Cell]] = {}
    for row in frame.iter_rows(named=True):
        key = (*(row[k] for k in WIDE_KEYS), row["dimension"])
        measure = MEASURES[row["measure"]]
        shown = (
            SUPPRESSED
            if row["suppressed"]
            else None
            if row["value"] is None
            else Number(row["value"], measure.scale)
        )
        cells.setdefault(key, {})[measure.name] = shown
    bands = [*GRADE_BANDS, ALL_BANDS]

    def order(key: tuple) -> tuple:
        semester, school, _, value = key
        rank = bands.index(value) if value in bands else len(bands)
        return semester, school == MUNICIPALITY, school, rank, value

    headers = [
        *(COLUMN_LABELS[k][0] for k in WIDE_KEYS),
        DIMENSION_HEADERS[dimension][0],
        *(header(m) for m in measures),
    ]
    rows = [
        [*key[:3], TOTAL_BAND if key[3] == ALL_BANDS else key[3]]
        + [cells[key].get(m.name) for m in measures]
        for key in sorted(cells, key=order)
    ]
    return Sheet(table, headers, rows)


def csv_text(sheet: Sheet) -> str:
    """The Latvian Excel form: UTF-8 with BOM, `;` between fields, a decimal comma."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=CSV_SEPARATOR, lineterminator="\n")
    writer.writerow(sheet.headers)
    for row in sheet.rows:
        writer.writerow(
            ["" if c is None else c.text() if isinstance(c, Number) else c for c in row]
        )
    return UTF8_BOM + out.getvalue()


def write_xlsx(sheet: Sheet, path: Path) -> None:
    """One sheet: a bold, shaded header row frozen in place, filters, widths that fit the
    content; numbers are numeric cells in their format, text is text."""
    book = xlsxwriter.Workbook(str(path), {"remove_timezone": True})
    book.set_properties({"created": datetime(2000, 1, 1)})
    worksheet = book.add_worksheet(sheet.name[:31])
    bold = book.add_format({"bold": True, "bg_color": "#DCE6F1", "border": 1, "text_wrap": True})
    formats = {scale: book.add_format({"num_format": f}) for scale, f in XLSX_FORMATS.items()}
    widths = [len(h) for h in sheet.headers]
    for column, name in enumerate(sheet.headers):
        worksheet.write_string(0, column, name, bold)
    for row, cells in enumerate(sheet.rows, start=1):
        for column, cell in enumerate(cells):
            if cell is None:
                continue
            if isinstance(cell, Number):
                worksheet.write_number(row, column, cell.stored, formats[cell.scale])
                shown = cell.text()
            else:
                worksheet.write_string(row, column, cell)
                shown = cell
            widths[column] = max(widths[column], len(shown))
    for column, width in enumerate(widths):
        worksheet.set_column(column, column, min(max(width + 2, 8), 60))
    worksheet.freeze_panes(1, 0)
    worksheet.autofilter(0, 0, max(len(sheet.rows), 1), max(len(sheet.headers) - 1, 0))
    book.close()


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def revisions(exports: Path, semester_id: str) -> list[Path]:
    folder = exports / period_folder(semester_id)
    found = [p for p in folder.glob(f"{REVISION_PREFIX}*") if p.name[1:].isdigit()]
    return sorted(found, key=lambda p: int(p.name[1:]))


def extract_text(path: Path) -> str:
    """What a reader of the file would see, as text, for the identifier scan."""
    if path.suffix == ".parquet":
        return pl.read_parquet(path).write_csv()
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as archive:
            return "\n".join(
                archive.read(name).decode("utf-8", "replace")
                for name in archive.namelist()
                if name.endswith(".xml")
            )
    return path.read_text(encoding="utf-8-sig")


def write_revision(
    exports: Path,
    semester_id: str,
    tables: dict[str, pl.DataFrame],
    sources: Sources,
    metadata: dict,
    scan: Callable[[str], list[str]],
) -> Revision | None:
    """Write the period's next revision of `tables` (its semester and the ones before), or
    nothing if the numbers equal the latest one's. `scan` lists the identifiers found in a
    file's text; any finding stops publication."""
    digest = content_digest(tables)
    existing = revisions(exports, semester_id)
    previous = None
    if existing:
        previous = json.loads((existing[-1] / "manifest.json").read_text(encoding="utf-8"))
        if previous["content_digest"] == digest:
            return None
    number = len(existing) + 1
    final = exports / period_folder(semester_id) / f"{REVISION_PREFIX}{number}"
    staging = final.with_name(f".{final.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    generated = datetime.now(UTC)
    try:
        files = _write_tables(staging, tables, data_dictionary(semester_id, sources))
        note = cover_note(semester_id, number, tables, sources, metadata, generated)
        files[_write_text(staging / COVER_NOTE, UTF8_BOM + note)] = None
        if previous is not None:
            changes = changed_cells(existing[-1], tables)
            files[_write_text(staging / CHANGES, csv_text(changes))] = len(changes.rows)
            log = changelog(semester_id, number, previous, metadata, sources, changes, list(tables))
            files[_write_text(staging / CHANGELOG, log)] = None
        findings = [
            f"{path.name}: {finding}" for path in files for finding in scan(extract_text(path))
        ]
        if findings:
            raise IdentifierFound(
                f"{semester_id} r{number} not published, identifiers found: " + "; ".join(findings)
            )
        manifest = {
            **metadata,
            "period": semester_id,
            "revision": number,
            "generated_at": generated.isoformat(timespec="seconds"),
            "deliveries_until": deliveries_until(sources),
            "content_digest": digest,
            "files": [
                {
                    "name": path.name,
                    "sha256": sha256_file(path),
                    "bytes": path.stat().st_size,
                    "rows": rows,
                }
                for path, rows in files.items()
            ],
        }
        (staging / "manifest.json").write_text(
            json.dumps(manifest, indent=1, ensure_ascii=False, default=str), encoding="utf-8"
        )
        staging.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Revision(semester_id, number, final)


def _write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _write_tables(
    folder: Path, tables: dict[str, pl.DataFrame], dictionary: pl.DataFrame
) -> dict[Path, int | None]:
    """Per table its wide sheet (CSV, XLSX) and its long table (CSV, XLSX, Parquet); the
    dictionary as CSV, XLSX and Parquet. Each file written, with its rows of data."""
    sheets = [(f"{n}{WIDE_SUFFIX}", wide_sheet(n, f), None) for n, f in tables.items()]
    sheets += [(n, long_sheet(f, n), f) for n, f in {**tables, DICTIONARY: dictionary}.items()]
    files: dict[Path, int | None] = {}
    for name, sheet, frame in sheets:
        files[_write_text(folder / f"{name}.csv", csv_text(sheet))] = len(sheet.rows)
        write_xlsx(sheet, folder / f"{name}.xlsx")
        files[folder / f"{name}.xlsx"] = len(sheet.rows)
        if frame is not None:
            frame.write_parquet(folder / f"{name}.parquet")
            files[folder / f"{name}.parquet"] = frame.height
    return files


STATUS_TEXT = {
    "final": ("datu datumā beidzies", "ended by the data cut-off"),
    "in progress": ("datu datumā notiek", "in progress at the data cut-off"),
    "not yet due": ("datu datumā vēl nav sācies", "not begun by the data cut-off"),
}
DICTIONARY_SCHEMA = {
    "table": pl.String,
    "kind": pl.String,
    "name": pl.String,
    "label_lv": pl.String,
    "label_en": pl.String,
    "definition_lv": pl.String,
    "definition_en": pl.String,
    "threshold": pl.Float64,
    "rule_id": pl.String,
    "rule_version": pl.String,
}


def row(
    kind: str,
    name: str,
    lv: str,
    en: str,
    definition_lv: str,
    definition_en: str,
    table: str | None = None,
    threshold: float | None = None,
    rule_id: str | None = None,
    rule_version: str | None = None,
) -> dict:
    """A row of the data dictionary."""
    values = (table, kind, name, lv, en, definition_lv, definition_en, threshold, rule_id)
    return dict(zip(DICTIONARY_SCHEMA, (*values, rule_version), strict=True))


def data_dictionary(semester_id: str, sources: Sources) -> pl.DataFrame:
    """Every column and measure of the extract, in Latvian and English; every rule and
    threshold behind the figures with its value and version; the activity codes; the
    `slēpts` mark; and the reporting periods after this one, which the data leave out."""
    config = sources.rules
    rules = {rule["id"]: rule for rule in config["rule"]}
    rows = []
    for table, (dimension, measures) in TABLE_DIMENSIONS.items():
        rows += [
            row("column", name, lv, en, definition_lv, definition_en, table)
            for name, (lv, en, definition_en, definition_lv) in COLUMN_LABELS.items()
        ]
        lv, en, definition_en, definition_lv = DIMENSION_HEADERS[dimension]
        rows.append(row("wide column", dimension, lv, en, definition_lv, definition_en, table))
        rows += [_measure_row(table, m, rules, config) for m in measures]
    rows.append(
        row(
            "mark",
            SUPPRESSED,
            SUPPRESSED,
            "suppressed",
            "datu aizsardzība vērtību slēpa (plašajās tabulās; garajās tabulās: suppressed = 1 "
            "un tukša vērtība)",
            "disclosure control withheld the value (the wide sheets; in the long tables: "
            "suppressed = 1 and an empty value)",
        )
    )
    rows += [
        row("rule", rule["id"], rule["label_lv"], rule["label_en"],
            f"{rule['label_lv']} ({rule_text(rule, 'lv')})",
            f"{rule['basis']} ({rule_text(rule, 'en')})",
            threshold=rule.get("threshold"), rule_id=rule["id"], rule_version=rule["version"])
        for rule in config["rule"]
    ]  # fmt: skip
    rows += [
        row(*texts, threshold=value, rule_version=config["version"])
        for *texts, value in _thresholds(sources)
    ]
    rows += _activity_rows(sources.activities)
    later = sources.semesters.filter(pl.col("semester_id") > semester_id).sort("semester_id")
    for s in later.iter_rows(named=True):
        lv_status, en_status = STATUS_TEXT[s["status"]]
        days = f"{s['start_date']:%d.%m.%Y}–{s['last_day']:%d.%m.%Y}"
        rows.append(
            row(
                "semester",
                s["semester_id"],
                "vēlāks pārskata periods",
                "later reporting period",
                f"{days}{' (prognozēti datumi)' if s['projected'] else ''}; {lv_status}; "
                "šajos datos nav, tā skaitļi būs tā paša perioda izvilkumā",
                f"{days}{' (projected dates)' if s['projected'] else ''}; {en_status}; not in "
                "these data, its figures come in its own period's extract",
            )
        )
    return pl.DataFrame(rows, schema=DICTIONARY_SCHEMA)


def _measure_row(table: str, measure: Measure, rules: dict, config: dict) -> dict:
    """A measure's row: its header in the wide sheet, its definition, and the threshold it
    counts against: its rule's, or for a risk level the composite level's."""
    lv_text, en_text = measure.definition_lv, measure.definition
    if measure.rule_id is not None:
        rule = rules[measure.rule_id]
        threshold, rule_id, version = rule.get("threshold"), rule["id"], rule["version"]
        lv_text += f" ({rule_text(rule, 'lv')})"
        en_text += f" ({rule_text(rule, 'en')})"
    elif measure.name in RISK_LEVELS:
        level = measure.name.removeprefix("risk_")
        _, threshold = level_points(config, level)
        rule_id, version = f"composite.{'low' if level == 'none' else level}", config["version"]
        lv_text += f" ({level_text(config, level, 'lv')}; {rule_id}, versija {version})"
        en_text += f" ({level_text(config, level, 'en')}; {rule_id}, version {version})"
    else:
        threshold, rule_id, version = None, None, None
    return row(
        "measure", measure.name, header(measure), header(measure, "en"), lv_text, en_text,
        table, threshold, rule_id, version,
    )  # fmt: skip


def _thresholds(sources: Sources) -> list[tuple]:
    """The thresholds besides the rules': kind, name, labels, definitions and value."""
    config = sources.rules
    composite = config["composite"]
    levels = (("low", "zems", "low"), ("medium", "vidējs", "medium"), ("high", "augsts", "high"))
    found = [
        ("threshold", f"composite.{level}", f"{lv} risks no", f"{en} risk from",
         f"kopējais riska līmenis ir {lv}, ja jomu punktu summa ir vismaz "
         f"{composite[level]}: {COMPOSITE_TEXT['lv']}",
         f"the composite risk level is {en} when the domains' points sum to at least "
         f"{composite[level]}: {COMPOSITE_TEXT['en']}",
         composite[level])
        for level, lv, en in levels
    ]  # fmt: skip
    mark = config["grades"]["pass_mark"]
    found.append(
        (
            "threshold",
            "grades.pass_mark",
            "sekmīgs vērtējums no",
            "pass mark",
            f"zemākais sekmīgais vērtējums 10 ballu skalā: {mark}",
            f"the lowest sufficient mark on the 10-point scale: {mark}",
            mark,
        )
    )
    found += [
        ("threshold", f"promotion_band.{b['grade_min']}-{b['grade_max']}",
         "pieļaujamie nepietiekamie vērtējumi", "insufficient subjects allowed",
         f"{b['grade_min']}.–{b['grade_max']}. klasē pārcelšana ir apdraudēta, ja nepietiekamu "
         f"vērtējumu ir vairāk nekā {b['allowed_insufficient']}",
         f"in grades {b['grade_min']}-{b['grade_max']} promotion is at risk with more "
         f"insufficient subjects than {b['allowed_insufficient']}", b["allowed_insufficient"])
        for b in config["promotion_band"]
    ]  # fmt: skip
    n = sources.min_count
    zero_lv = "arī nulles ir slēptas" if sources.suppress_zero else "nulles ir publicētas"
    zero_en = "zeros are suppressed too" if sources.suppress_zero else "zeros are published"
    found.append(
        (
            "threshold",
            "disclosure.min_count",
            "mazākais publicētais skaits",
            "least count shown",
            f"skolēnu skaiti no 1 līdz {n - 1} ir slēpti, tāpat skaits, kas vienāds ar visu tā "
            f"grupu, un tad citas šūnas, līdz neviena slēptā skaita nevar no publicētajiem "
            f"izrēķināt šaurāk par {n}; rādītāji ar slēptu skaitu ir slēpti; {zero_lv}",
            f"counts of 1 to {n - 1} pupils are suppressed, and so is a count that equals its whole "
            f"group; then other cells, until no suppressed count can be narrowed below {n} from "
            f"what is published; rates built on a suppressed count are suppressed; {zero_en}",
            n,
        )
    )
    return found


def _activity_rows(activities: pl.DataFrame) -> list[dict]:
    """One row per activity code: its names, whom it serves and from when."""
    rows = []
    for (code,), group in activities.group_by("activity", maintain_order=True):
        first = group.row(0, named=True)
        pupil = first["unit"] == "pupil"
        who_lv, who_en = [], []
        for a in group.iter_rows(named=True):
            low, high = a["grade_min"], a["grade_max"]
            grades_lv = f"{low}. klase" if low == high else f"{low}.–{high}. klase"
            grades_en = f"grade {low}" if low == high else f"grades {low}-{high}"
            who_lv.append(
                f"{grades_lv} no {a['from_semester']}"
                + (", tikai klasi atkārtojošie" if a["repeaters_only"] else "")
                + (f", no {a['min_age']} gadu vecuma" if a["min_age"] else "")
            )
            who_en.append(
                f"{grades_en} from {a['from_semester']}"
                + (", pupils repeating the grade only" if a["repeaters_only"] else "")
                + (f", aged {a['min_age']} and over" if a["min_age"] else "")
            )
        unit_lv = "individuāls atbalsts skolēnam" if pupil else "grupu aktivitāte"
        unit_en = "support for individual pupils" if pupil else "a group activity"
        rows.append(
            row(
                "activity",
                code,
                first["name_lv"],
                first["name_en"],
                f"{first['name_lv']}: {unit_lv}; {'; '.join(who_lv)}",
                f"{first['name_en']}: {unit_en}; {'; '.join(who_en)}",
            )
        )
    return rows


TABLE_TITLES = {
    "school_indicators": "PMP riska un kavējumu rādītāji pa skolām un klašu grupām",
    "school_support": "projekta atbalsts pa skolām un aktivitātēm",
    "project_to_date": "projekta atbalsts kopš projekta sākuma, novadā pa aktivitātēm",
    "weekly_absence": "kavējumi pa nedēļām un skolām",
}


ROW_PER = {"grade_band": "klašu grupai", "activity": "aktivitātei", "week": "nedēļai"}


def cover_note(
    semester_id: str,
    number: int,
    tables: dict[str, pl.DataFrame],
    sources: Sources,
    metadata: dict,
    generated: datetime,
) -> str:
    """`LASIMANI.txt`: what the folder is, who sent it, the period, the suppression rule as the
    release applied it, and whom to ask; in Latvian."""
    p = sources.publisher
    semester = sources.semesters.filter(pl.col("semester_id") == semester_id).row(0, named=True)
    first = min(frame["semester_id"].min() for frame in tables.values())
    n = sources.min_count
    lines = [
        f"LASĪT MANI: {p.name}, projekta “{p.project}” datu izvilkums",
        "",
        f"Šajā mapē ir datu izvilkums ministrijai par ESF+ projektu “{p.project}” "
        f"Nr. {p.project_number}, ko sagatavojusi {p.name}: skolēnu priekšlaicīgas mācību "
        "pārtraukšanas (PMP) riska, kavējumu un projekta atbalsta rādītāji pa novada skolām. "
        "Tajā nav neviena skolēna datu, tikai skaiti un īpatsvari.",
        "",
        f"Sūtītājs: {p.name}, projekts “{p.project}” Nr. {p.project_number}",
        f"Pārskata periods: {semester_id} ({semester['start_date']:%d.%m.%Y}–"
        f"{semester['last_day']:%d.%m.%Y}); "
        + (
            f"dati par semestriem no {first} līdz {semester_id}"
            if first < semester_id
            else f"dati par semestri {semester_id}"
        ),
        f"Revīzija: r{number}"
        + (
            f", aizstāj r{number - 1} (kas mainījās un kāpēc: {CHANGELOG}, visas mainītās šūnas: "
            f"{CHANGES})"
            if number > 1
            else ""
        ),
        f"Dati līdz: {sources.data_cutoff:%d.%m.%Y}",
        f"Sagatavots: {riga_time(generated)} (Rīgas laiks)",
        f"Noteikumu versija: {metadata.get('rule_set_version')} (models/rules.toml)",
        "",
        "Faili",
    ]
    for table in tables:
        per = ROW_PER[TABLE_DIMENSIONS[table][0]]
        lines += [
            f"- {table}{WIDE_SUFFIX}.xlsx, {table}{WIDE_SUFFIX}.csv: {TABLE_TITLES[table]}; "
            f"viena rinda katram semestrim, skolai un {per}, viena kolonna katram rādītājam",
            f"- {table}.csv, {table}.xlsx, {table}.parquet: tā pati tabula garā formā "
            "datorapstrādei, viena rinda katrai šūnai",
        ]
    lines += [
        f"- {DICTIONARY}.*: datu vārdnīca latviski un angliski: kolonnas, rādītāji, noteikumi "
        "un sliekšņi ar vērtībām un versijām, aktivitāšu kodi (LAS, R9, KONS, MENT, INIC u.c.), "
        "vēlākie pārskata periodi",
        "- manifest.json: katra faila SHA-256 un rindu skaits, noteikumu un koda versijas",
        "",
        "CSV faili ir Excel latviešu formā: UTF-8 ar BOM, atdalītājs “;”, decimālkomats. "
        "Skaiti ir veseli skaitļi, īpatsvari procentos ar vienu zīmi aiz komata (kolonnas ar "
        "“%”; XLSX šūnā daļa ar formātu 0.0%), stundas ar vienu zīmi aiz komata.",
        "",
        "Datu aizsardzība",
        f"Skolēnu skaiti no 1 līdz {n - 1} (mazāki par {n}) nav publicēti, tāpat skaits, kas "
        "vienāds ar visu tā grupu (piemēram, visi klašu grupas skolēni riskā). Tad slēptas "
        "papildu šūnas, līdz neviena slēptā skaita nevar izrēķināt šaurāk par "
        f"{n} ne no šīs revīzijas, ne kopā ar iepriekš nosūtītajām. Rādītāji, kas balstīti uz "
        "slēptu skaitu, arī ir slēpti; stundas slēptas kopā ar to skolēniem. "
        + ("Arī nulles ir slēptas." if sources.suppress_zero else "Nulles ir publicētas.")
        + f" Slēpta šūna: “{SUPPRESSED}” plašajās tabulās, suppressed = 1 un tukša vērtība "
        "garajās tabulās.",
        "Šajā revīzijā slēptas:",
    ]
    for table, frame in tables.items():
        lines.append(f"- {table}: {frame['suppressed'].sum()} no {frame.height} šūnām")
    lines += ["", f"Kontakts: {p.contact_role}, {p.contact_email}", ""]
    return "\n".join(lines)


CHANGE_HEADERS = ["table", *CELL_KEY, "before", "after"]


def changed_cells(previous_path: Path, tables: dict[str, pl.DataFrame]) -> Sheet:
    """Every cell whose value or suppression differs from the previous revision's, as both
    read: a cell the previous revision had and this one has not (a later semester it listed
    as not yet due) counts as empty."""
    rows = []
    for name, frame in tables.items():
        old_path = previous_path / f"{name}.parquet"
        old = _cell_states(pl.read_parquet(old_path)) if old_path.exists() else {}
        new = _cell_states(frame)
        for key in sorted(old.keys() | new.keys()):
            before, after = old.get(key, (None, False)), new.get(key, (None, False))
            if before != after:
                measure = MEASURES[key[3]]
                rows.append([name, *key, _shown(*before, measure), _shown(*after, measure)])
    return Sheet("changes", CHANGE_HEADERS, rows)


def _cell_states(frame: pl.DataFrame) -> dict[tuple, tuple[float | None, bool]]:
    columns = [*CELL_KEY, "value", "suppressed"]
    return {tuple(r[:4]): (r[4], r[5]) for r in frame.select(columns).iter_rows()}


def _shown(value: float | None, suppressed: bool, measure: Measure) -> Cell:
    if suppressed:
        return SUPPRESSED
    return None if value is None else Number(value, measure.scale)


def changelog(
    semester_id: str,
    number: int,
    previous: dict,
    metadata: dict,
    sources: Sources,
    changes: Sheet,
    tables: list[str],
) -> str:
    """Why the revision replaces the previous one (the deliveries received since that cover
    the period, the rule versions and code that changed) and every changed cell, or the first
    `CHANGES_SHOWN` of them with `changes.csv` holding all."""
    lines = [f"# {semester_id}: revision {number} replaces revision {previous['revision']}", ""]
    lines += ["## Why", ""]
    reasons = []
    for key in ("rule_set_version", "code_version"):
        if previous.get(key) != metadata.get(key):
            reasons.append(f"- {key.replace('_', ' ')}: {previous.get(key)} → {metadata.get(key)}")
    old_rules, new_rules = previous.get("rules", {}), metadata.get("rules", {})
    reasons += [
        f"- rule {rule}: version {old_rules.get(rule, 'none')} → {new_rules.get(rule, 'none')}"
        for rule in sorted(old_rules.keys() | new_rules.keys())
        if old_rules.get(rule) != new_rules.get(rule)
    ]
    deliveries = _deliveries_since(previous, sources, semester_id)
    if not deliveries.is_empty():
        reasons += [
            f"- {deliveries.height} deliveries received since r{previous['revision']} cover the "
            "period:",
            "",
            "| school | kind | period | received (Riga) | file |",
            "|---|---|---|---|---|",
        ]
        reasons += [
            f"| {d['school_id']} | {d['kind']} | {_period_text(d)} | "
            f"{riga_time(d['received_at'])} | {d['file']} |"
            for d in deliveries.iter_rows(named=True)
        ]
    lines += reasons or [
        "- no delivery since the previous revision covers the period and no rule version "
        "changed: the figures were recomputed"
    ]
    lines += ["", "## What changed", ""]
    for table in tables:
        count = sum(row[0] == table for row in changes.rows)
        lines.append(f"- {table}: {count} cells changed")
    total = len(changes.rows)
    shown = changes.rows[:CHANGES_SHOWN]
    lines += [
        "",
        f"{len(shown)} shown of {total}; all in `{CHANGES}`."
        if total > len(shown)
        else f"All {total} changed cells (also in `{CHANGES}`):",
        "",
        "| " + " | ".join(CHANGE_HEADERS) + " |",
        "|" + "---|" * len(CHANGE_HEADERS),
    ]
    lines += [
        "| " + " | ".join("empty" if c is None else _text(c) for c in row) + " |" for row in shown
    ]
    return "\n".join(lines) + "\n"


def _text(cell: Cell) -> str:
    return cell.text() if isinstance(cell, Number) else str(cell)


def deliveries_until(sources: Sources) -> str | None:
    """When the latest delivery loaded was received (the delivery log's clock, not this
    machine's): a revision's manifest keeps it, so the next revision names the deliveries
    received after it."""
    latest = sources.deliveries["received_at"].max()
    return None if latest is None else latest.isoformat()


def _deliveries_since(previous: dict, sources: Sources, semester_id: str) -> pl.DataFrame:
    """The deliveries loaded since the previous revision was made (received after the latest
    one it had) whose period reaches into the reporting period's semester or before it."""
    until = previous.get("deliveries_until", previous["generated_at"])
    last_day = sources.semesters.filter(pl.col("semester_id") == semester_id)["last_day"][0]
    covers = pl.col("period_start") <= last_day
    if until is not None:
        received = pl.col("received_at").dt.convert_time_zone("UTC")
        covers &= received > datetime.fromisoformat(until).astimezone(UTC)
    return sources.deliveries.filter(covers).sort("received_at", "school_id", "file")


def _period_text(delivery: dict) -> str:
    start, end = delivery["period_start"], delivery["period_end"]
    return f"{start:%d.%m.%Y}" if start == end else f"{start:%d.%m.%Y}–{end:%d.%m.%Y}"
