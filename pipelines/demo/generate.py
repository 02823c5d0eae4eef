"""`pmp generate`: deterministic demo deliveries in `data/landing/`, as the contract describes.

Schools deliver a past semester month by month (each month's period on the evening of its
last school day), a semester-to-date snapshot and nightly files in the current semester, and
some send corrected files later. The generator writes a manifest of every file and every
defect it injected (file, row, expected outcome).
"""

import json
import shutil
from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from pipelines.demo.defects import Defect, DefectInjector, rejected_files
from pipelines.demo.events import group_activities, semester_events, support_register
from pipelines.demo.files import (
    DATE_FORMATS,
    CsvStyle,
    DeliveryWriter,
    FileRecord,
    Manifest,
    SchoolStyle,
)
from pipelines.demo.population import Population, Spell, build_population
from pipelines.feedback import SILENT, OperatorError, Progress
from pipelines.ingest.contract import KINDS, MUNICIPALITY_FOLDER
from pipelines.reference import tables as reference
from pipelines.reference.calendar import TIMEZONE, SchoolCalendar, Semester, school_calendar

DEFAULT_END_DATE = date(2026, 11, 20)
DEFAULT_SEED = 20251
NIGHTLY_DAYS = 4
RIGA = ZoneInfo(TIMEZONE)
DIALECT_M_SCHOOLS = ("SUP", "JUP", "BIP", "LEP", "KPP", "TAP")
REGISTER_SCHEMA = {
    name: pl.Date if "datums" in name else pl.String for name in KINDS["skoleni"].columns
}


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
        self.writer = DeliveryWriter(
            out, self.rng, self.manifest, DefectInjector(self.rng, defect_rate)
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

    # -- deliveries ----------------------------------------------------------------------

    def windows(self, semester: Semester) -> list[tuple[date, date, datetime, str]]:
        """(first day, last day, delivered at, mode) of each delivery for a semester.

        A past semester comes month by month: each calendar month's period, delivered on the
        evening of its last school day; the last one ends on the semester's last day and comes
        14 days later, with the term grades and the late notes. The current semester comes as
        a semester-to-date snapshot and nightly files for its last school days."""
        if semester.last_day < self.end_date:
            windows = []
            first = semester.start
            while first <= semester.last_day:
                following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
                last = min(following - timedelta(days=1), semester.last_day)
                days = self.calendar.school_days(first, last, 5) or [last]
                delivered = _evening(days[-1])
                if last == semester.last_day:
                    delivered = _evening(last + timedelta(days=14))
                windows.append((first, last, delivered, "monthly"))
                first = following
            return windows
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
            self._count_delivered(folder, semester, events)
            notes_from = semester.start
            for start, end, delivered, mode in self.windows(semester):
                period = (start, end)
                closing = mode == "snapshot" or end == semester.last_day
                context = {"delivered": delivered.date(), "semester": semester, "period": period}
                in_window = pl.col("date").is_between(start, end)
                absences, grades = (
                    events.absences.filter(in_window),
                    events.grades.filter(in_window),
                )
                # a month's file holds the notes handed in since the previous delivery, up to
                # its own (a note of the weekend after the last school day comes next month)
                as_of = min(end, delivered.date())
                if mode == "monthly":
                    notes_until = delivered.date()
                    notes = events.notes.filter(
                        pl.col("submitted").is_between(notes_from, notes_until)
                    )
                    notes_from = notes_until + timedelta(days=1)
                else:
                    notes = events.notes.filter(pl.col("submitted").is_between(start, end))
                register_spells = [s for s in spells if s.start <= as_of]
                register = self.register_frame(register_spells, as_of=as_of)
                register_period = (semester.start, end)
                if style.dialect == "M":
                    sheets = {
                        "Skolēni": _m_register(register),
                        "Kavējumi": self.absence_frame(absences, "M"),
                        "Vērtējumi": self.grade_frame(grades, "M"),
                    }
                    sheets = {k: v for k, v in sheets.items() if v.height}
                    title = _title(start, end, semester) if style.period_source != "data" else None
                    titles = None
                    if title:  # the register is the semester to date
                        titles = {"Skolēni": _title(semester.start, end, semester)}
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
                        self.writer.write_workbook(
                            name,
                            incomplete,
                            style,
                            title,
                            delivered,
                            context,
                            folder,
                            inject=False,
                            sheet_titles=titles,
                        )
                        corrected = name.replace(".xlsx", "_v2.xlsx")
                        next_night = delivered + timedelta(days=1)
                        self.writer.write_workbook(
                            corrected,
                            sheets,
                            style,
                            title,
                            next_night,
                            context,
                            folder,
                            supersedes=name,
                            sheet_titles=titles,
                        )
                    else:
                        self.writer.write_workbook(
                            name,
                            sheets,
                            style,
                            title,
                            delivered,
                            context,
                            folder,
                            sheet_titles=titles,
                        )
                    continue
                files = {
                    "skoleni": (register, register_period, True),
                    "kavejumi": (self.absence_frame(absences, "E"), period, False),
                    "zimes": (self.note_frame(notes), period, True),
                    "vertejumi": (self.grade_frame(grades, "E"), period, False),
                }
                if closing and semester.number == 1 and index % 2 == 0:
                    load_period = (semester.start, end)
                    files["slodze"] = (_timetable_load(register_spells), load_period, True)
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
                        variations.get(f"{folder}/{kind}/{mode}") if closing else None,
                        correct=(
                            kind == "kavejumi"
                            and closing
                            and index % 4 == 0
                            and semester.semester_id == "2025/26-S1"
                        ),
                    )

    def _count_delivered(self, school_id: str, semester: Semester, events) -> None:
        """Record the clean absence and grade rows this semester's windows deliver, by month."""
        last = self.windows(semester)[-1][1]
        for kind, frame in (("kavejumi", events.absences), ("vertejumi", events.grades)):
            delivered = frame.filter(pl.col("date").is_between(semester.start, last))
            by_month = delivered.group_by(month=pl.col("date").dt.strftime("%Y-%m")).len()
            self.manifest.delivered_rows += [
                {"school_id": school_id, "kind": kind, "month": month, "rows": rows}
                for month, rows in sorted(by_month.rows())
            ]

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
            self.writer.write_csv(name, frame=first, delivered=early, inject=False, **common)
            corrected = name.replace(".csv", "_labots.csv")
            self.writer.write_csv(
                corrected, frame=frame, delivered=delivered, supersedes=name, **common
            )
            return
        self.writer.write_csv(name, frame=frame, delivered=delivered, **common)

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
        folder = MUNICIPALITY_FOLDER
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
                if mode == "monthly":  # the coordinators and the social service: per semester
                    if end != semester.last_day:
                        continue
                    start = semester.start
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
                self.writer.write_csv(
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
                self.writer.write_csv(
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
                self.writer.write_csv(
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
        first_code = self.population.pupils[0].code
        for reason, (relative, data) in rejected_files(first_code, self.end_date).items():
            self.writer.write(relative, data, delivered)
            self.manifest.defects.append(Defect(reason, "reject", relative, "rejected"))
            school_id = relative.split("/")[0]
            self.writer.record(relative, school_id, "E", [], "", None, delivered, 0, len(data))
        original = next(f for f in self.manifest.files if f.file.endswith(".csv") and f.kinds)
        copy = original.file.replace(".csv", "_atkartoti.csv")
        self.writer.write(copy, (self.out / original.file).read_bytes(), delivered)
        self.manifest.defects.append(Defect("same_bytes_twice", "tolerate", copy, "duplicate"))
        self.manifest.files.append(
            FileRecord(**{**asdict(original), "file": copy, "delivered_at": delivered.isoformat()})
        )

    def run(self, progress: Progress = SILENT) -> Manifest:
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
                kind = ["kavejumi", "vertejumi"][i % 2]
                for mode in ("monthly", "snapshot"):
                    variations[f"{e_schools[i]}/{kind}/{mode}"] = variation
        schools = reference.schools()
        progress.stage("write deliveries", total=len(schools) + 1)
        for index, school in enumerate(schools):
            self.deliver_school(index, school, variations)
            progress.advance(school.school_id)
        self.deliver_municipality()
        progress.advance(MUNICIPALITY_FOLDER)
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
    progress: Progress = SILENT,
) -> Manifest:
    """Write the landing files and `demo_manifest.json` beside the landing folder.

    A landing folder that already holds files is only emptied first when `replace` is set.
    """
    if out.exists() and any(out.iterdir()):
        if not replace:
            raise OperatorError(
                f"{out} is not empty: pass --replace to empty it first (replace=True)"
            )
        shutil.rmtree(out)
    progress.stage("simulate the pupils")
    manifest = Generator(out, seed, end_date, scale, defect_rate).run(progress)
    manifest_path(out).write_text(
        json.dumps(asdict(manifest), ensure_ascii=False, indent=1, default=str), encoding="utf-8"
    )
    return manifest


def manifest_path(landing: Path) -> Path:
    return landing.parent / "demo_manifest.json"
