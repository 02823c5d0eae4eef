"""Byte-level writers for the delivered formats: dialect-E CSV and a minimal XLSX workbook.

The XLSX writer emits inline strings, numbers and real spreadsheet dates directly as
SpreadsheetML; it is a hundred times faster than a general-purpose writer on these sizes.
"""

import io
import zipfile
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

import polars as pl

EXCEL_EPOCH = date(1899, 12, 30).toordinal()
FIXED_ZIP_TIME = (2025, 1, 1, 0, 0, 0)


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
