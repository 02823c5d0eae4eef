"""Writing the demo's deliveries: dialect-E CSV and a minimal XLSX workbook as bytes, each file
written into landing with its delivery time, its row defects injected, and recorded in the
manifest.

The XLSX writer emits inline strings, numbers and real spreadsheet dates directly as
SpreadsheetML; it is a hundred times faster than a general-purpose writer on these sizes.
"""

import io
import os
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import polars as pl

from pipelines.demo.defects import Defect, DefectInjector
from pipelines.ingest.contract import SHEETS
from pipelines.ingest.values import DATE_FORMATS as PARSED_DATE_FORMATS

EXCEL_EPOCH = date(1899, 12, 30).toordinal()
FIXED_ZIP_TIME = (2025, 1, 1, 0, 0, 0)
DATE_FORMATS = dict(zip(("dmy", "dmy_dot", "iso"), PARSED_DATE_FORMATS, strict=True))


@dataclass(frozen=True)
class CsvStyle:
    encoding: str = "utf-8"
    bom: bool = False
    crlf: bool = False
    final_newline: bool = True
    trailing_empty_line: bool = False


def csv_bytes(header: list[str], frame: pl.DataFrame, title: str | None, style: CsvStyle) -> bytes:
    """A `;`-separated file: optional title row, header row, then the frame's string rows."""
    body = frame.write_csv(separator=";", include_header=False, quote_style="necessary")
    lines = ([title] if title else []) + [";".join(header)]
    text = "\n".join(lines) + "\n" + body
    if not style.final_newline:
        text = text.rstrip("\n")
    if style.trailing_empty_line:
        text += "\n"
    if style.crlf:
        text = text.replace("\n", "\r\n")
    data = text.encode(style.encoding)
    return (b"\xef\xbb\xbf" + data) if style.bom else data


@dataclass
class Sheet:
    name: str
    title: str | None
    header: list[str]
    rows: list[list[object]]


def _cell(value: object) -> str:
    if value is None or value == "":
        return "<c/>"
    if isinstance(value, date):
        return f'<c s="1"><v>{value.toordinal() - EXCEL_EPOCH}</v></c>'
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"<c><v>{value}</v></c>"
    return f'<c t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def _sheet_xml(sheet: Sheet) -> str:
    rows = ([[sheet.title]] if sheet.title else []) + [sheet.header] + sheet.rows
    body = "".join(f"<row>{''.join(_cell(v) for v in row)}</row>" for row in rows)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{body}</sheetData></worksheet>"
    )


_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="dd.mm.yyyy"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border/></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def xlsx_bytes(sheets: list[Sheet]) -> bytes:
    """A workbook with the given sheets, in order; byte-identical for identical input."""
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
            + "".join(
                f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_CT}.worksheet+xml"/>'
                for i in range(1, len(sheets) + 1)
            )
            + "</Types>"
        ),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{_NS_PKG}">'
            f'<Relationship Id="rId1" Type="{_NS_REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'xmlns:r="{_NS_REL}"><sheets>'
            + "".join(
                f'<sheet name="{escape(s.name)}" sheetId="{i}" r:id="rId{i}"/>'
                for i, s in enumerate(sheets, start=1)
            )
            + "</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{_NS_PKG}">'
            + "".join(
                f'<Relationship Id="rId{i}" Type="{_NS_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                for i in range(1, len(sheets) + 1)
            )
            + f'<Relationship Id="rId{len(sheets) + 1}" Type="{_NS_REL}/styles" Target="styles.xml"/>'
            "</Relationships>"
        ),
        "xl/styles.xml": _STYLES,
    }
    for i, sheet in enumerate(sheets, start=1):
        parts[f"xl/worksheets/sheet{i}.xml"] = _sheet_xml(sheet)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))
    return buffer.getvalue()


@dataclass(frozen=True)
class SchoolStyle:
    dialect: str
    encoding: str
    bom: bool
    date_format: str
    period_source: str
    xlsx_text_dates: bool


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
    # Clean absence and grade rows delivered per school, kind and month (before any defect):
    # what staging must hold, less the rows the defects broke.
    delivered_rows: list[dict] = field(default_factory=list)


class DeliveryWriter:
    """Writes delivered files into landing (with their delivery time as modification time),
    injecting row defects, and records each file and defect in the manifest."""

    def __init__(
        self, out: Path, rng: np.random.Generator, manifest: Manifest, injector: DefectInjector
    ):
        self.out = out
        self.rng = rng
        self.manifest = manifest
        self.injector = injector

    def write(self, relative: str, data: bytes, delivered: datetime) -> Path:
        path = self.out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        stamp = delivered.timestamp()
        os.utime(path, (stamp, stamp))
        return path

    def record(
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
            frame, replacements, injected = self.injector.inject_rows(
                frame, kind, relative, None, context
            )
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
        self.write(relative, data, delivered)
        offset = 2 + (1 if title else 0)
        for defect in defects:
            defect.row = defect.row + offset
        self.manifest.defects.extend(defects)
        encoding = "utf-8-sig" if csv_style.bom else csv_style.encoding
        self.record(
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
        sheet_titles: dict[str, str] | None = None,
    ) -> None:
        """`sheet_titles` gives a sheet a title of its own (the register's semester to date)."""
        written: list[Sheet] = []
        rows_total = 0
        workbook_title = title
        for name, frame in sheets.items():
            title = (sheet_titles or {}).get(name, workbook_title)
            kind = SHEETS[name].name
            replacements: dict[str, dict[int, object]] = {}
            defects: list[Defect] = []
            if inject:
                frame, replacements, defects = self.injector.inject_rows(
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
        styles += ["title_row"] if any(sheet.title for sheet in written) else []
        self.manifest.defects.extend(Defect(n, "tolerate", relative, "loaded") for n in styles)
        order = self.rng.permutation(len(written))
        data = xlsx_bytes([written[i] for i in order])
        self.write(relative, data, delivered)
        kinds = [SHEETS[s.name].name for s in written]
        self.record(
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
