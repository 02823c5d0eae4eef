"""`pmp generate`: deterministic demo deliveries in `data/landing/`, as the contract describes.

Schools deliver semester snapshots after each semester, a semester-to-date snapshot and
nightly files in the current semester, and some send corrected files later. The generator
writes a manifest of every file and every defect it injected (file, row, expected outcome).
"""

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from pipelines import contract, personal_code, reference
from pipelines.demo.events import group_activities, semester_events, support_register
from pipelines.demo.files import CsvStyle, Sheet, csv_bytes, xlsx_bytes
from pipelines.demo.population import Population, Spell, build_population
from pipelines.school_calendar import SchoolCalendar, Semester, school_calendar
from pipelines.values import DATE_FORMATS as PARSED_DATE_FORMATS

DEFAULT_END_DATE = date(2026, 11, 20)
DEFAULT_SEED = 20251
NIGHTLY_DAYS = 4
RIGA = ZoneInfo("Europe/Riga")
DIALECT_M_SCHOOLS = ("SUP", "JUP", "BIP", "LEP", "KPP", "TAP")
DATE_FORMATS = dict(zip(("dmy", "dmy_dot", "iso"), PARSED_DATE_FORMATS, strict=True))
UNKNOWN_SCHOOL_NAME = "Rīgas Valsts 1. ģimnāzija"
REGISTER_SCHEMA = {
    name: pl.Date if "datums" in name else pl.String for name in contract.E_KINDS["skoleni"]
}
CONFLICT_VALUES = {
    "kavejumi": {"Atzīme": ("n", "ns"), "Iemesls": ("Neattaisnots", "Slimība")},
    "vertejumi": {"Vērtējums": ("3", "8")},
    "zimes": {"Iemesls": ("cits", "slimība")},
}


@dataclass(frozen=True)
class SchoolStyle:
    dialect: str
    encoding: str
    bom: bool
    date_format: str
    period_source: str
    xlsx_text_dates: bool


@dataclass
class Defect:
    defect: str
    category: str
    file: str
    expected: str
    row: int | None = None
    column: str | None = None
    sheet: str | None = None
    detail: str = ""


@dataclass
class FileRecord:
    file: str
    school_id: str
    dialect: str
    kinds: list[str]
    encoding: str
    period_start: str | None
    period_end: str | None
    delivered_at: str
    rows: int
    bytes: int
    supersedes: str | None = None


@dataclass
class Manifest:
    arguments: dict
    files: list[FileRecord] = field(default_factory=list)
    defects: list[Defect] = field(default_factory=list)


def school_style(index: int, school_id: str) -> SchoolStyle:
    dialect = "M" if school_id in DIALECT_M_SCHOOLS else "E"
    encoding, bom = [("utf-8", False), ("utf-8", True), ("cp1257", False)][index % 3]
    return SchoolStyle(
        dialect=dialect,
        encoding=encoding,
        bom=bom,
        date_format=list(DATE_FORMATS)[(index // 3) % 3],
        period_source=["title", "name", "data"][index % 3],
        xlsx_text_dates=index % 2 == 1,
    )


def _title(start: date, end: date, semester: Semester | None) -> str:
    period = f"{start:%d.%m.%Y}.–{end:%d.%m.%Y}."
    if semester is None:
        return period
    return f"{semester.school_year.replace('/', './20')}. mācību gads · {semester.number}.sem. · {period}"


class Generator:
    def __init__(self, out: Path, seed: int, end_date: date, scale: float, defect_rate: float):
        self.out = out
        self.rng = np.random.default_rng(seed)
        self.end_date = end_date
        self.scale = scale
        self.defect_rate = defect_rate
        self.calendar: SchoolCalendar = school_calendar()
        self.manifest = Manifest(
            {
                "seed": seed,
                "end_date": end_date.isoformat(),
                "scale": scale,
                "defect_rate": defect_rate,
            }
        )
        self.population: Population = build_population(self.rng, self.calendar, scale, end_date)
        self.codes = {p.pupil_id: p.code for p in self.population.pupils}
        self.defect_kinds_done: set[str] = set()

    # -- writing -------------------------------------------------------------------------

    def _write(self, relative: str, data: bytes, delivered: datetime) -> Path:
        path = self.out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        stamp = delivered.timestamp()
        os.utime(path, (stamp, stamp))
        return path

    def _record(
        self,
        relative,
        school_id,
        dialect,
        kinds,
        encoding,
        period,
        delivered,
        rows,
        size,
        supersedes=None,
    ):
        self.manifest.files.append(
            FileRecord(
                file=relative,
                school_id=school_id,
                dialect=dialect,
                kinds=kinds,
                encoding=encoding,
                period_start=period[0].isoformat() if period else None,
                period_end=period[1].isoformat() if period else None,
                delivered_at=delivered.isoformat(),
                rows=rows,
                bytes=size,
                supersedes=supersedes,
            )
        )

    # -- records per kind (typed, Latvian column names) ----------------------------------

    def register_frame(self, spells: list[Spell], as_of: date) -> pl.DataFrame:
        pupils = self.population.pupils
        rows = []
        for s in spells:
            p = pupils[s.pupil_id]
            left = s.left if s.left is not None and s.left <= as_of else None
            rows.append(
                {
                    "Personas kods": p.code,
                    "Vārds": p.first_name,
                    "Uzvārds": p.surname,
                    "Dzimšanas datums": p.born,
                    "Dzimums": p.sex,
                    "Klase": s.class_label,
                    "Izglītības programma": p.programme(s.grade),
                    "Uzņemšanas datums": s.admitted,
                    "Atskaitīšanas datums": left,
                    "Atskaitīšanas iemesls": s.leave_reason if left else None,
                    "Atkārtoti mācās": "Jā" if s.repeating else ("Nē" if s.pupil_id % 3 else None),
                }
            )
        return pl.DataFrame(rows, schema=REGISTER_SCHEMA)

    def _codes(self, ids: pl.Series) -> pl.Series:
        return ids.replace_strict(self.codes, return_dtype=pl.String)

    def _names(self, ids: pl.Series) -> pl.Series:
        names = {i: self.population.pupils[i].full_name for i in ids.unique().to_list()}
        return ids.replace_strict(names, return_dtype=pl.String)

    def absence_frame(self, events: pl.DataFrame, dialect: str) -> pl.DataFrame:
        columns = [
            pl.Series("Personas kods", self._codes(events["pupil_id"])),
            pl.col("class_label").alias("Klase"),
            pl.col("date").alias("Datums"),
            pl.col("lesson").alias("Stunda"),
            pl.col("subject").alias("Priekšmets"),
        ]
        if dialect == "E":
            return events.select(*columns, pl.col("mark").alias("Atzīme"))
        names = pl.Series("Skolēns", self._names(events["pupil_id"]))
        return events.select(names, *columns, pl.col("reason").alias("Iemesls"))

    def grade_frame(self, events: pl.DataFrame, dialect: str) -> pl.DataFrame:
        columns = [
            pl.Series("Personas kods", self._codes(events["pupil_id"])),
            pl.col("class_label").alias("Klase"),
            pl.col("subject").alias("Priekšmets"),
            pl.col("date").alias("Datums"),
        ]
        if dialect == "E":
            return events.select(
                *columns, pl.col("type_e").alias("Darba veids"), pl.col("value").alias("Vērtējums")
            )
        return events.select(
            pl.Series("Skolēns", self._names(events["pupil_id"])),
            *columns,
            pl.col("type_m").alias("Vērtējuma veids"),
            pl.col("value").alias("Vērtējums"),
        )

    def note_frame(self, notes: pl.DataFrame) -> pl.DataFrame:
        return notes.select(
            pl.Series("Personas kods", self._codes(notes["pupil_id"])),
            pl.col("from").alias("No"),
            pl.col("to").alias("Līdz"),
            pl.col("reason").alias("Iemesls"),
            pl.col("submitted").alias("Iesniegts"),
        )

    # -- defects -------------------------------------------------------------------------

    def _wants(self, defect: str, rows: int) -> int:
        """How many rows of a file get this row defect: one for the first file that can take
        it, then as many as the defect rate draws."""
        if self.defect_rate <= 0 or rows < 5:
            return 0
        first = defect not in self.defect_kinds_done
        self.defect_kinds_done.add(defect)
        return int(first) + int(self.rng.binomial(rows, self.defect_rate / 12))

    def inject_rows(
        self, frame: pl.DataFrame, kind: str, relative: str, sheet: str | None, context: dict
    ) -> tuple[pl.DataFrame, dict[str, dict[int, object]], list[Defect]]:
        """Duplicate rows (identical and conflicting) and pick cells to break.

        Returns the frame with the duplicates appended, the replacement values by column and
        row index, and the defects with row indexes (the writer turns them into row numbers).
        """
        defects: list[Defect] = []
        replacements: dict[str, dict[int, object]] = {}
        if frame.height < 5:
            return frame, replacements, defects
        absence_mark = "Atzīme" if "Atzīme" in frame.columns else "Iemesls"
        value_column = {"kavejumi": absence_mark, "vertejumi": "Vērtējums", "zimes": "Iemesls"}
        originals: set[int] = set()
        for name, conflicting in (("duplicate_identical", False), ("conflicting_duplicate", True)):
            if kind not in CONFLICT_VALUES:
                continue
            for _ in range(self._wants(name, frame.height)):
                i = int(self.rng.integers(frame.height))
                originals.add(i)
                copy = frame.slice(i, 1)
                if conflicting:
                    column = value_column[kind]
                    original = copy[column][0]
                    alternatives = [v for v in CONFLICT_VALUES[kind][column] if v != original]
                    copy = copy.with_columns(pl.lit(alternatives[0]).alias(column))
                frame = pl.concat([frame, copy])
                rows = [i, frame.height - 1] if conflicting else [frame.height - 1]
                for r in rows:
                    defects.append(
                        Defect(
                            name,
                            "quarantine" if conflicting else "tolerate",
                            relative,
                            "quarantined" if conflicting else "duplicate",
                            r,
                            value_column[kind] if conflicting else None,
                            sheet,
                        )
                    )
        taken = {d.row for d in defects} | originals
        for name, column, category, make in self._row_defects(kind, frame, context):
            for _ in range(self._wants(name, frame.height)):
                i = int(self.rng.integers(frame.height))
                value = None if i in taken else make(frame, i)
                if value is None:
                    continue
                taken.add(i)
                replacements.setdefault(column, {})[i] = value
                expected = "loaded" if category == "tolerate" else "quarantined"
                defects.append(Defect(name, category, relative, expected, i, column, sheet))
        return frame, replacements, defects

    def _row_defects(self, kind: str, frame: pl.DataFrame, context: dict):
        """(defect, column, category, value maker) for each row defect this kind can carry."""
        rng = self.rng
        delivered: date = context["delivered"]
        semester: Semester | None = context.get("semester")
        out = []
        if "Personas kods" in frame.columns:

            def bad_check_digit(f, i):
                born = date(2010, 1, 1) + timedelta(days=int(rng.integers(2000)))
                code = personal_code.old_form(born, int(rng.integers(1000)))
                return code[:-1] + str((int(code[-1]) + 1) % 10)

            def unknown_pupil(f, i):
                born = date(2011, 1, 1) + timedelta(days=int(rng.integers(2000)))
                return personal_code.old_form(born, int(rng.integers(1000)))

            out += [
                ("code_format", "Personas kods", "quarantine", lambda f, i: "12345-6789"),
                ("code_check_digit", "Personas kods", "quarantine", bad_check_digit),
                (
                    "code_without_hyphen",
                    "Personas kods",
                    "tolerate",
                    lambda f, i: f["Personas kods"][i].replace("-", ""),
                ),
                (
                    "code_with_spaces",
                    "Personas kods",
                    "tolerate",
                    lambda f, i: " " + f["Personas kods"][i].replace("-", " - ") + " ",
                ),
            ]
            if kind in ("kavejumi", "vertejumi"):
                out.append(("pupil_not_in_register", "Personas kods", "quarantine", unknown_pupil))
        date_column = {
            "kavejumi": "Datums",
            "vertejumi": "Datums",
            "zimes": "No",
            "skoleni": "Dzimšanas datums",
        }.get(kind)
        if date_column:
            out.append(("date_unparseable", date_column, "quarantine", lambda f, i: "31.02.2026"))
        if kind in ("kavejumi", "vertejumi") and semester is not None:
            out += [
                ("date_future", "Datums", "quarantine", lambda f, i: delivered + timedelta(days=3)),
                (
                    "date_outside_school_year",
                    "Datums",
                    "quarantine",
                    lambda f, i: date(semester.start.year, 7, 15),
                ),
                (
                    "class_unknown",
                    "Klase",
                    "quarantine",
                    lambda f, i: f["Klase"][i].split(".")[0] + ".z",
                ),
            ]
        if kind == "kavejumi" and semester is not None:

            def weekend(f, i):
                day = f["Datums"][i]
                if not isinstance(day, date):
                    return None
                saturday = day + timedelta(days=(5 - day.weekday()) % 7)
                if saturday > context["period"][1]:
                    saturday -= timedelta(days=7)
                return saturday if saturday >= context["period"][0] else None

            out.append(("absence_on_day_without_lessons", "Datums", "quarantine", weekend))
        if kind == "vertejumi":

            def out_of_scale(f, i):
                grade = int(f["Klase"][i].split(".")[0])
                return "S" if grade >= 4 and rng.random() < 0.5 else ("11" if grade >= 4 else "7")

            out.append(("grade_out_of_scale", "Vērtējums", "quarantine", out_of_scale))
        if kind in ("atbalsts", "aktivitates"):
            out.append(("unknown_school", "Skola", "quarantine", lambda f, i: UNKNOWN_SCHOOL_NAME))
        return out

    # -- files ---------------------------------------------------------------------------

    def write_csv(
        self,
        relative: str,
        kind: str,
        frame: pl.DataFrame,
        style: SchoolStyle,
        csv_style: CsvStyle,
        title: str | None,
        delivered: datetime,
        context: dict,
        school_id: str,
        supersedes: str | None = None,
        inject: bool = True,
        decorate_header: bool = False,
        planted: tuple[Defect, ...] = (),
    ) -> None:
        defects: list[Defect] = list(planted)
        replacements: dict[str, dict[int, object]] = {}
        if inject:
            frame, replacements, injected = self.inject_rows(frame, kind, relative, None, context)
            defects += injected
        date_format = DATE_FORMATS[style.date_format]
        text = frame.with_columns(
            pl.col(c).dt.strftime(date_format)
            if frame.schema[c] == pl.Date
            else pl.col(c).cast(pl.String)
            for c in frame.columns
        )
        for column, values in replacements.items():
            rendered = [
                v.strftime(date_format) if isinstance(v, date) else str(v) for v in values.values()
            ]
            text = text.with_columns(text[column].scatter(list(values), rendered))
        header = list(text.columns)
        if decorate_header:
            header = [f" {c.upper() if i % 2 else c.lower()} " for i, c in enumerate(header)]
        data = csv_bytes(header, text, title, csv_style)
        self._write(relative, data, delivered)
        offset = 2 + (1 if title else 0)
        for defect in defects:
            defect.row = defect.row + offset
        self.manifest.defects.extend(defects)
        encoding = "utf-8-sig" if csv_style.bom else csv_style.encoding
        self._record(
            relative,
            school_id,
            "E",
            [kind],
            encoding,
            context.get("period"),
            delivered,
            text.height,
            len(data),
            supersedes,
        )

    def write_workbook(
        self,
        relative: str,
        sheets: dict[str, pl.DataFrame],
        style: SchoolStyle,
        title: str | None,
        delivered: datetime,
        context: dict,
        school_id: str,
        supersedes: str | None = None,
        inject: bool = True,
    ) -> None:
        written: list[Sheet] = []
        rows_total = 0
        for name, frame in sheets.items():
            kind = contract.SHEET_KIND[name]
            replacements: dict[str, dict[int, object]] = {}
            defects: list[Defect] = []
            if inject:
                frame, replacements, defects = self.inject_rows(
                    frame, kind, relative, name, context
                )
            if style.xlsx_text_dates:
                frame = frame.with_columns(pl.col(pl.Date).dt.strftime("%d.%m.%Y"))
            rows = [list(r) for r in frame.rows()]
            for column, values in replacements.items():
                position = frame.columns.index(column)
                for i, value in values.items():
                    is_text = style.xlsx_text_dates or not isinstance(value, date)
                    rows[i][position] = (
                        value.strftime("%d.%m.%Y") if is_text and isinstance(value, date) else value
                    )
            offset = 2 + (1 if title else 0)
            for defect in defects:
                defect.row = defect.row + offset
            self.manifest.defects.extend(defects)
            rows_total += len(rows)
            written.append(Sheet(name, title, list(frame.columns), rows))
        styles = ["xlsx_text_dates" if style.xlsx_text_dates else "xlsx_spreadsheet_dates"]
        styles += ["title_row"] if title else []
        self.manifest.defects.extend(Defect(n, "tolerate", relative, "loaded") for n in styles)
        order = self.rng.permutation(len(written))
        data = xlsx_bytes([written[i] for i in order])
        self._write(relative, data, delivered)
        kinds = [contract.SHEET_KIND[s.name] for s in written]
        self._record(
            relative,
            school_id,
            "M",
            kinds,
            "xlsx",
            context.get("period"),
            delivered,
            rows_total,
            len(data),
            supersedes,
        )

    # -- deliveries ----------------------------------------------------------------------

    def windows(self, semester: Semester) -> list[tuple[date, date, datetime, str]]:
        """(first day, last day, delivered at, mode) of each delivery for a semester."""
        if semester.last_day < self.end_date:
            return [
                (
                    semester.start,
                    semester.last_day,
                    _evening(semester.last_day + timedelta(days=14)),
                    "snapshot",
                )
            ]
        days = self.calendar.school_days(semester.start, self.end_date, 5)
        cutoff, nightly = days[-NIGHTLY_DAYS - 1], days[-NIGHTLY_DAYS:]
        return [(semester.start, cutoff, _evening(cutoff), "snapshot")] + [
            (d, d, _evening(d), "nightly") for d in nightly
        ]

    def deliver_school(
        self, index: int, school: reference.School, variations: dict[str, str]
    ) -> None:
        style = school_style(index, school.school_id)
        folder = school.school_id
        for semester in self.calendar.semesters:
            if semester.start > self.end_date or not school.valid_on(semester.start):
                continue
            spells = self.population.spells_at(school.school_id, semester.start, semester.last_day)
            events = semester_events(
                self.rng, self.calendar, self.population, spells, semester, self.end_date
            )
            for start, end, delivered, mode in self.windows(semester):
                period = (start, end)
                context = {"delivered": delivered.date(), "semester": semester, "period": period}
                in_window = pl.col("date").is_between(start, end)
                absences, grades = (
                    events.absences.filter(in_window),
                    events.grades.filter(in_window),
                )
                notes_until = (
                    delivered.date() if mode == "snapshot" and end == semester.last_day else end
                )
                notes = events.notes.filter(pl.col("submitted").is_between(start, notes_until))
                register_spells = [s for s in spells if s.start <= end]
                register = self.register_frame(register_spells, as_of=end)
                register_period = (semester.start, end)
                if style.dialect == "M":
                    sheets = {
                        "Skolēni": _m_register(register),
                        "Kavējumi": self.absence_frame(absences, "M"),
                        "Vērtējumi": self.grade_frame(grades, "M"),
                    }
                    sheets = {k: v for k, v in sheets.items() if v.height}
                    title = _title(start, end, semester) if style.period_source != "data" else None
                    name = f"{folder}/mykoob_{start:%Y%m%d}-{end:%Y%m%d}.xlsx"
                    if style.period_source == "data":
                        name = f"{folder}/eksports_{delivered:%Y%m%d}.xlsx"
                    if (
                        mode == "nightly"
                        and index % 2 == 0
                        and start == self.windows(semester)[1][0]
                    ):
                        incomplete = dict(sheets)
                        if "Kavējumi" in sheets:
                            incomplete["Kavējumi"] = sheets["Kavējumi"].head(
                                sheets["Kavējumi"].height * 9 // 10
                            )
                        self.write_workbook(
                            name, incomplete, style, title, delivered, context, folder, inject=False
                        )
                        corrected = name.replace(".xlsx", "_v2.xlsx")
                        next_night = delivered + timedelta(days=1)
                        self.write_workbook(
                            corrected,
                            sheets,
                            style,
                            title,
                            next_night,
                            context,
                            folder,
                            supersedes=name,
                        )
                    else:
                        self.write_workbook(name, sheets, style, title, delivered, context, folder)
                    continue
                files = {
                    "skoleni": (register, register_period, True),
                    "kavejumi": (self.absence_frame(absences, "E"), period, False),
                    "zimes": (self.note_frame(notes), period, True),
                    "vertejumi": (self.grade_frame(grades, "E"), period, False),
                }
                if mode == "snapshot" and semester.number == 1 and index % 2 == 0:
                    files["slodze"] = (_timetable_load(register_spells), period, True)
                for kind, (frame, file_period, needs_period) in files.items():
                    if frame.height == 0:
                        continue
                    self.deliver_e_file(
                        school.school_id,
                        style,
                        kind,
                        frame,
                        file_period,
                        needs_period,
                        semester,
                        delivered,
                        {**context, "period": file_period},
                        variations.get(f"{folder}/{kind}/{mode}"),
                        correct=(
                            kind == "kavejumi"
                            and mode == "snapshot"
                            and index % 4 == 0
                            and semester.semester_id == "2025/26-S1"
                        ),
                    )

    def deliver_e_file(
        self,
        school_id,
        style,
        kind,
        frame,
        period,
        needs_period,
        semester,
        delivered,
        context,
        variation,
        correct,
    ):
        start, end = period
        by_name = style.period_source in ("title", "name") or needs_period
        title = (
            _title(start, end, semester)
            if style.period_source == "title" or (needs_period and style.period_source == "data")
            else None
        )
        name = (
            f"{school_id}/{kind}_{start:%Y%m%d}-{end:%Y%m%d}.csv"
            if by_name
            else f"{school_id}/eksports_{delivered:%Y%m%d}_{kind}.csv"
        )
        csv_style = CsvStyle(encoding=style.encoding, bom=style.bom)
        if variation in ("crlf", "no_final_newline", "trailing_empty_line"):
            csv_style = CsvStyle(
                encoding=style.encoding,
                bom=style.bom,
                crlf=variation == "crlf",
                final_newline=variation != "no_final_newline",
                trailing_empty_line=variation == "trailing_empty_line",
            )
        if variation == "columns_shuffled":
            frame = frame.select([frame.columns[i] for i in self.rng.permutation(frame.width)])
        if variation == "extra_columns":
            frame = frame.with_columns(
                pl.lit("").alias("Piezīmes"), pl.lit("e-klase").alias("Avots")
            )
        self._note_style(name, style, title)
        if variation:
            self.manifest.defects.append(Defect(variation, "tolerate", name, "loaded"))
        common = {
            "kind": kind,
            "style": style,
            "csv_style": csv_style,
            "title": title,
            "context": context,
            "school_id": school_id,
            "decorate_header": variation == "header_spaces_case",
        }
        if correct:
            first = frame.filter(pl.Series(self.rng.random(frame.height) > 0.03))
            early = delivered - timedelta(days=13)
            self.write_csv(name, frame=first, delivered=early, inject=False, **common)
            corrected = name.replace(".csv", "_labots.csv")
            self.write_csv(corrected, frame=frame, delivered=delivered, supersedes=name, **common)
            return
        self.write_csv(name, frame=frame, delivered=delivered, **common)

    def _note_style(self, name: str, style: SchoolStyle, title: str | None) -> None:
        notes = []
        if style.encoding == "cp1257":
            notes.append("encoding_windows_1257")
        if style.bom:
            notes.append("utf8_bom")
        if title:
            notes.append("title_row")
        notes += {"dmy": [], "dmy_dot": ["dates_trailing_dot"], "iso": ["dates_iso"]}[
            style.date_format
        ]
        self.manifest.defects.extend(Defect(n, "tolerate", name, "loaded") for n in notes)

    def deliver_municipality(self) -> None:
        folder = contract.MUNICIPALITY_FOLDER
        support = support_register(
            self.rng, self.calendar, self.population, self.end_date, self.scale
        )
        activities = group_activities(self.rng, self.calendar, self.end_date, self.scale)
        style = SchoolStyle("E", "utf-8", True, "dmy", "title", False)
        csv_style = CsvStyle(encoding="utf-8", bom=True)
        names = {s.school_id: s.name for s in reference.schools()}
        project_start = self.calendar.semesters[0].start
        previous = None
        for semester in self.calendar.semesters:
            if semester.start > self.end_date:
                continue
            for start, end, delivered, mode in self.windows(semester):
                if mode == "nightly":
                    continue
                context = {
                    "delivered": delivered.date(),
                    "semester": semester,
                    "period": (start, end),
                }
                as_of = min(end, self.end_date)
                snapshot = support.filter(pl.col("start") <= as_of).with_columns(
                    pl.when(pl.col("end") <= as_of).then(pl.col("end")).alias("end")
                )
                name = f"{folder}/atbalsts_{project_start:%Y%m%d}-{as_of:%Y%m%d}.csv"
                frame, planted = self._support_frame(snapshot, names, as_of, name)
                context_support = {**context, "period": (project_start, as_of)}
                title = _title(project_start, as_of, None)
                self.write_csv(
                    name,
                    "atbalsts",
                    frame,
                    style,
                    csv_style,
                    title,
                    delivered,
                    context_support,
                    folder,
                    supersedes=previous,
                    planted=planted,
                )
                previous = name
                group = activities.filter(pl.col("date").is_between(start, end))
                group_frame = group.select(
                    pl.col("school_id").replace_strict(names).alias("Skola"),
                    pl.col("activity").alias("Aktivitāte"),
                    pl.col("title").alias("Nosaukums"),
                    pl.col("date").alias("Datums"),
                    pl.col("pupils").alias("Skolēni"),
                    pl.col("parents").alias("Vecāki"),
                    pl.col("teachers").alias("Pedagogi"),
                )
                self.write_csv(
                    f"{folder}/aktivitates_{start:%Y%m%d}-{end:%Y%m%d}.csv",
                    "aktivitates",
                    group_frame,
                    style,
                    csv_style,
                    _title(start, end, semester),
                    delivered,
                    context,
                    folder,
                )
                statuses = pl.DataFrame(
                    [
                        {
                            "Personas kods": self.codes[s.pupil_id],
                            "Statuss": s.status,
                            "No": s.start,
                            "Līdz": s.end if s.end is not None and s.end <= as_of else None,
                        }
                        for s in self.population.statuses
                        if s.start <= end and (s.end is None or s.end >= start)
                    ],
                    schema={
                        "Personas kods": pl.String,
                        "Statuss": pl.String,
                        "No": pl.Date,
                        "Līdz": pl.Date,
                    },
                )
                self.write_csv(
                    f"{folder}/socialais_statuss_{start:%Y%m%d}-{end:%Y%m%d}.csv",
                    "socialais_statuss",
                    statuses,
                    style,
                    csv_style,
                    _title(start, end, semester),
                    delivered,
                    context,
                    folder,
                )

    def _support_frame(
        self, support: pl.DataFrame, names: dict[str, str], as_of: date, relative: str
    ) -> tuple[pl.DataFrame, tuple[Defect, ...]]:
        """Support rows with the school as code or written name, and target-group mistakes."""
        writes_name = self.rng.random(support.height) < 0.5
        school = [
            _name_variant(names[s], int(k)) if w else s
            for s, w, k in zip(
                support["school_id"],
                writes_name,
                self.rng.integers(0, 3, support.height),
                strict=True,
            )
        ]
        activity = support["activity"].to_list()
        planted = []
        if self.defect_rate > 0:
            young = [
                i
                for i, pid in enumerate(support["pupil_id"])
                if self.population.pupils[pid].age_on(as_of) < 12
            ]
            for i in self.rng.choice(young, size=min(len(young), 2), replace=False):
                activity[i] = "MENT"
                planted.append(
                    Defect(
                        "support_outside_target_group",
                        "quarantine",
                        relative,
                        "quarantined",
                        int(i),
                        "Aktivitāte",
                    )
                )
        frame = pl.DataFrame(
            {
                "Personas kods": self._codes(support["pupil_id"]),
                "Skola": school,
                "Aktivitāte": activity,
                "Sākuma datums": support["start"],
                "Beigu datums": support["end"],
                "Stundas": support["hours"].cast(pl.String).str.replace(".", ",", literal=True),
                "Atbalsta sniedzējs": support["provider"],
                "IAP": support["iap"].replace_strict(
                    {True: "Jā", False: "Nē"}, return_dtype=pl.String
                ),
            }
        )
        return frame, tuple(planted)

    def whole_file_defects(self) -> None:
        """One file for each reason the contract rejects a whole file, and the same bytes twice."""
        delivered = _evening(self.windows(self.calendar.semester_of(self.end_date))[-1][0])
        header = ";".join(contract.E_KINDS["kavejumi"])
        good_row = f"{self.population.pupils[0].code};5.a;{self.end_date:%d.%m.%Y};2;Matemātika;n"
        undecodable = (header + "\n").encode(
            "utf-8"
        ) + b"000000-00000;5.a;\x81\x8d\x90;2;Mat\x9cem;n\n"
        files = {
            "undecodable": ("OCP/kavejumi_bojats.csv", undecodable),
            "not_csv_or_xlsx": (
                "OCP/atskaite.csv",
                b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
            ),
            "empty_file": ("OKP/kavejumi_tukss.csv", b""),
            "header_only": (
                "OKP/vertejumi_virsraksts.csv",
                (";".join(contract.E_KINDS["vertejumi"]) + "\n").encode(),
            ),
            "required_column_missing": (
                "IKV/kavejumi_bez_stundas.csv",
                (
                    "Personas kods;Klase;Datums;Priekšmets;Atzīme\n"
                    + "000000-00000;5.a;01.10.2025;Matemātika;n\n"
                ).encode(),
            ),
            "unknown_header": (
                "IKV/kontakti.csv",
                "Vārds;Telefons;Adrese\nJānis;20000000;Ogre\n".encode(),
            ),
            "truncated_file": (
                "KEV/kavejumi_partraukts.csv",
                (header + "\n" + good_row + "\n" + good_row.rsplit(";", 3)[0]).encode(),
            ),
            "unknown_school_folder": (
                "XYZ/kavejumi_20250901-20251219.csv",
                (header + "\n" + good_row + "\n").encode(),
            ),
            "period_outside_school_validity": (
                "KPP/kavejumi_20260901-20261030.csv",
                ("01.09.2026.–30.10.2026.\n" + header + "\n" + good_row + "\n").encode(),
            ),
        }
        for reason, (relative, data) in files.items():
            self._write(relative, data, delivered)
            self.manifest.defects.append(Defect(reason, "reject", relative, "rejected"))
            school_id = relative.split("/")[0]
            self._record(relative, school_id, "E", [], "", None, delivered, 0, len(data))
        original = next(f for f in self.manifest.files if f.file.endswith(".csv") and f.kinds)
        copy = original.file.replace(".csv", "_atkartoti.csv")
        self._write(copy, (self.out / original.file).read_bytes(), delivered)
        self.manifest.defects.append(Defect("same_bytes_twice", "tolerate", copy, "duplicate"))
        self.manifest.files.append(
            FileRecord(**{**asdict(original), "file": copy, "delivered_at": delivered.isoformat()})
        )

    def run(self) -> Manifest:
        variations = {}
        if self.defect_rate > 0:
            e_schools = [
                s.school_id for s in reference.schools() if s.school_id not in DIALECT_M_SCHOOLS
            ]
            for i, variation in enumerate(
                (
                    "header_spaces_case",
                    "columns_shuffled",
                    "extra_columns",
                    "crlf",
                    "no_final_newline",
                    "trailing_empty_line",
                )
            ):
                variations[f"{e_schools[i]}/{['kavejumi', 'vertejumi'][i % 2]}/snapshot"] = (
                    variation
                )
        for index, school in enumerate(reference.schools()):
            self.deliver_school(index, school, variations)
        self.deliver_municipality()
        if self.defect_rate > 0:
            self.whole_file_defects()
        return self.manifest


def _evening(day: date) -> datetime:
    return datetime.combine(day, time(23, 30), tzinfo=RIGA)


def _name_variant(name: str, variant: int) -> str:
    return [name, name.upper(), f'"{name}"'.replace(" ", "  ", 1)][variant]


def _m_register(register: pl.DataFrame) -> pl.DataFrame:
    return register.select(
        (pl.col("Vārds") + " " + pl.col("Uzvārds")).alias("Skolēns"),
        "Personas kods",
        "Dzimšanas datums",
        "Dzimums",
        "Klase",
        "Izglītības programma",
        pl.col("Uzņemšanas datums").alias("Uzņemts"),
        pl.col("Atskaitīšanas datums").alias("Atskaitīts"),
        "Atskaitīšanas iemesls",
        "Atkārtoti mācās",
    )


def _timetable_load(spells: list[Spell]) -> pl.DataFrame:
    classes = sorted({(s.grade, s.class_label) for s in spells})
    load = reference.lesson_load()
    return pl.DataFrame(
        {
            "Klase": [label for _, label in classes],
            "Stundas nedēļā": [
                load[grade] - (1 if i % 3 == 0 else 0) for i, (grade, _) in enumerate(classes)
            ],
        }
    )


def generate(
    out: Path,
    seed: int = DEFAULT_SEED,
    end_date: date = DEFAULT_END_DATE,
    scale: float = 1.0,
    defect_rate: float = 0.0,
    replace: bool = False,
) -> Manifest:
    """Write the landing files and `demo_manifest.json` beside the landing folder.

    A landing folder that already holds files is only emptied first when `replace` is set.
    """
    if out.exists() and any(out.iterdir()):
        if not replace:
            raise FileExistsError(f"{out} is not empty: pass replace=True (pmp generate --replace)")
        shutil.rmtree(out)
    manifest = Generator(out, seed, end_date, scale, defect_rate).run()
    manifest_path(out).write_text(
        json.dumps(asdict(manifest), ensure_ascii=False, indent=1, default=str), encoding="utf-8"
    )
    return manifest


def manifest_path(landing: Path) -> Path:
    return landing.parent / "demo_manifest.json"
