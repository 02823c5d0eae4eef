"""Defect injection for the demo: every variation of the contract's Tolerate, Reject and
Quarantine lists, planted in the generated files and recorded with the outcome ingest must give.

Row defects are drawn per file by `DefectInjector` (one of each kind for the first file that can
take it, then as many as the defect rate draws); whole-file defects are one file per reason the
contract rejects a file.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from pipelines.ingest.contract import KINDS
from pipelines.privacy import personal_code
from pipelines.reference.calendar import Semester

UNKNOWN_SCHOOL_NAME = "Rīgas Valsts 1. ģimnāzija"
CONFLICT_VALUES = {
    "kavejumi": {"Atzīme": ("n", "ns"), "Iemesls": ("Neattaisnots", "Slimība")},
    "vertejumi": {"Vērtējums": ("3", "8")},
    "zimes": {"Iemesls": ("cits", "slimība")},
}


@dataclass
class Defect:
    defect: str
    category: str
    file: str
    expected: str
    row: int | None = None
    column: str | None = None
    sheet: str | None = None
    row_date: str | None = None  # the day of the broken row, for rows that carry a date


class DefectInjector:
    """Draws the row defects of each file from the generator's random stream."""

    def __init__(self, rng: np.random.Generator, defect_rate: float):
        self.rng = rng
        self.defect_rate = defect_rate
        self.defect_kinds_done: set[str] = set()

    def wants(self, defect: str, rows: int) -> int:
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
            for _ in range(self.wants(name, frame.height)):
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
                            _row_date(frame, i),
                        )
                    )
        taken = {d.row for d in defects} | originals
        for name, column, category, make in self._row_defects(kind, frame, context):
            for _ in range(self.wants(name, frame.height)):
                i = int(self.rng.integers(frame.height))
                value = None if i in taken else make(frame, i)
                if value is None:
                    continue
                taken.add(i)
                replacements.setdefault(column, {})[i] = value
                expected = "loaded" if category == "tolerate" else "quarantined"
                defects.append(
                    Defect(
                        name, category, relative, expected, i, column, sheet, _row_date(frame, i)
                    )
                )
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


def _row_date(frame: pl.DataFrame, index: int) -> str | None:
    """The clean day of a row that carries one (absences and grades), before any defect."""
    return str(frame["Datums"][index]) if "Datums" in frame.columns else None


def rejected_files(first_code: str, end_date: date) -> dict[str, tuple[str, bytes]]:
    """One file for each reason the contract rejects a whole file: reason -> (path, bytes)."""
    header = ";".join(KINDS["kavejumi"].columns)
    good_row = f"{first_code};5.a;{end_date:%d.%m.%Y};2;Matemātika;n"
    undecodable = (header + "\n").encode("utf-8") + b"000000-00000;5.a;\x81\x8d\x90;2;Mat\x9cem;n\n"
    return {
        "undecodable": ("OCP/kavejumi_bojats.csv", undecodable),
        "not_csv_or_xlsx": (
            "OCP/atskaite.csv",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        ),
        "empty_file": ("OKP/kavejumi_tukss.csv", b""),
        "header_only": (
            "OKP/vertejumi_virsraksts.csv",
            (";".join(KINDS["vertejumi"].columns) + "\n").encode(),
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
