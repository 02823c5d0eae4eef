"""Reading delivered files into raw string tables, or rejecting them with a reason.

A file's kind comes from its header (CSV) or sheet names (XLSX), never from its name. Text is
UTF-8 (with or without BOM) or Windows-1257, decided by strict decoding. Values stay strings
here: parsing and validation come after.
"""

import io
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import fastexcel
import polars as pl

from pipelines.ingest.contract import KINDS, SHEETS

TITLE_PERIOD = re.compile(r"(\d{2})\.(\d{2})\.(\d{4})\.?\s*[-–]\s*(\d{2})\.(\d{2})\.(\d{4})")
NAME_PERIOD = re.compile(r"_(\d{8})-(\d{8})")
# A real spreadsheet date as the workbook reader gives it: `YYYY-MM-DD 00:00:00`.
SPREADSHEET_DATE = r"^(\d{4})-(\d{2})-(\d{2})(?: 00:00:00)?$"


class MissingColumns(Exception):
    """A header that looks like a known kind but lacks some of its required columns."""


class RejectedFile(Exception):
    """The whole file is refused; `reason` is a stable code, the message says why in words."""

    def __init__(self, path: Path, reason: str, message: str):
        super().__init__(f"{path.name}: {message}")
        self.reason = reason


@dataclass
class RawTable:
    """One kind's rows from a file, every value a string, with the sheet row of each."""

    kind: str
    dialect: str
    encoding: str
    title: str | None
    rows: pl.DataFrame
    extra_columns: list[str] = field(default_factory=list)
    sheet: str | None = None
    tolerated: dict[str, int] = field(default_factory=dict)  # variation -> rows with it

    @property
    def title_period(self) -> tuple[date, date] | None:
        return period_in_title(self.title) if self.title else None


def period_in_title(text: str) -> tuple[date, date] | None:
    match = TITLE_PERIOD.search(text)
    if not match:
        return None
    d1, m1, y1, d2, m2, y2 = (int(g) for g in match.groups())
    return date(y1, m1, d1), date(y2, m2, d2)


def period_in_name(name: str) -> tuple[date, date] | None:
    match = NAME_PERIOD.search(name)
    if not match:
        return None
    first, last = match.groups()
    return (
        date(int(first[:4]), int(first[4:6]), int(first[6:])),
        date(int(last[:4]), int(last[4:6]), int(last[6:])),
    )


def _normal(cell: str) -> str:
    return " ".join(cell.split()).casefold()


def _match_kind(
    header: list[str], kinds: dict[str, tuple[str, ...]]
) -> tuple[str, dict[str, str]] | None:
    """The kind whose required columns the header holds, and a map of header cell to column."""
    normal = {_normal(cell): cell for cell in header}
    best = None
    for kind, required in kinds.items():
        found = {normal[_normal(c)]: c for c in required if _normal(c) in normal}
        if len(found) == len(required):
            return kind, found
        share = len(found) / len(required)
        if share >= 0.5 and (best is None or share > best[0]):
            best = (share, kind, [c for c in required if _normal(c) not in normal])
    if best:
        raise MissingColumns(f"{best[1]}: required column missing: {', '.join(best[2])}")
    return None


def decode(path: Path, data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as error:
            raise RejectedFile(
                path, "undecodable", f"not valid UTF-8 after a BOM ({error})"
            ) from None
    for encoding in ("utf-8", "cp1257"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise RejectedFile(path, "undecodable", "neither UTF-8 nor Windows-1257")


def read_csv(path: Path, data: bytes) -> RawTable:
    text, encoding = decode(path, data)
    content = text.rstrip()
    if not content:
        raise RejectedFile(path, "empty_file", "the file is empty")
    first_lines = [line.rstrip("\r") for line in content.split("\n", 2)[:2]]
    kinds = {name: kind.columns for name, kind in KINDS.items()}
    header_index, header, kind, mapping = _find_header(path, first_lines, kinds)
    body_start = sum(
        len(line) + 1 for line in content.split("\n", header_index + 1)[: header_index + 1]
    )
    body = content[body_start:]
    if not body.strip():
        raise RejectedFile(path, "header_only", "the file has a header and no rows")
    width = len(header)
    last_fields = body.rsplit("\n", 1)[-1].count(";") + 1
    if last_fields < width and not text.endswith(("\n", "\r")):
        last_row = header_index + 2 + body.count("\n")
        raise RejectedFile(
            path,
            "truncated_file",
            f"row {last_row}: {last_fields} fields of {width} and no final newline: "
            "the file was cut off",
        )
    frame = pl.read_csv(
        io.StringIO(body),
        separator=";",
        has_header=False,
        new_columns=header,
        schema_overrides=dict.fromkeys(header, pl.String),
        infer_schema=False,
        truncate_ragged_lines=True,
    )
    first_row = header_index + 2
    frame = frame.rename(mapping).with_row_index("row", offset=first_row).cast({"row": pl.Int64})
    extra = [c for c in header if c not in mapping]
    frame = frame.select("row", *mapping.values())
    title = first_lines[0] if header_index == 1 else None
    in_order = [mapping[cell] for cell in header if cell in mapping]
    notes = _layout_notes(header, in_order, kinds[kind], title, extra)
    notes += [note for note, present in _text_notes(text, encoding) if present]
    return RawTable(
        kind, "E", encoding, title, frame, extra, None, dict.fromkeys(notes, frame.height)
    )


def _find_header(
    path: Path, lines: list[str], kinds: dict[str, tuple[str, ...]]
) -> tuple[int, list[str], str, dict[str, str]]:
    """The header among the first lines (a title row may come first), and its kind."""
    for index, line in enumerate(lines):
        header = [cell.strip() for cell in line.split(";")]
        try:
            matched = _match_kind(header, kinds)
        except MissingColumns as error:
            raise RejectedFile(path, "required_column_missing", str(error)) from None
        if matched:
            return index, header, *matched
    raise RejectedFile(path, "unknown_header", "the header matches no known kind of file")


def _layout_notes(
    header: list[str],
    found: list[str],
    required: tuple[str, ...],
    title: str | None,
    extra: list[str],
) -> list[str]:
    notes = []
    if title:
        notes.append("title row")
    if any(cell not in required for cell in header if cell not in extra):
        notes.append("header cells differ in case or spacing")
    if [c for c in found if c in required] != [c for c in required if c in found]:
        notes.append("columns in another order")
    if extra:
        notes.append("extra columns: " + ", ".join(extra))
    return notes


def _text_notes(text: str, encoding: str) -> list[tuple[str, bool]]:
    return [
        ("Windows-1257 encoding", encoding == "cp1257"),
        ("UTF-8 with BOM", encoding == "utf-8-sig"),
        ("CRLF line endings", "\r\n" in text),
        ("no newline after the last line", not text.endswith(("\n", "\r"))),
        ("trailing empty line", text.endswith(("\n\n", "\r\n\r\n"))),
    ]


def _spreadsheet_dates(column: str) -> pl.Expr:
    """Real spreadsheet dates (read as `YYYY-MM-DD 00:00:00`) as `DD.MM.YYYY` text."""
    return pl.col(column).str.replace(SPREADSHEET_DATE, "${3}.${2}.${1}")


def read_xlsx(path: Path, data: bytes) -> list[RawTable]:
    try:
        workbook = fastexcel.read_excel(data)
    except Exception as error:  # calamine raises its own error types for corrupt files
        raise RejectedFile(
            path, "not_csv_or_xlsx", f"not a readable XLSX workbook ({error})"
        ) from None
    known = {_normal(s): s for s in SHEETS}
    tables = []
    for sheet_name in workbook.sheet_names:
        if _normal(sheet_name) not in known:
            continue
        sheet = known[_normal(sheet_name)]
        cells = workbook.load_sheet(sheet_name, header_row=None, dtypes="string").to_polars()
        cells = cells.with_columns(pl.col(c).str.strip_chars() for c in cells.columns)
        cells = cells.filter(~pl.all_horizontal(pl.all().is_null() | (pl.all() == "")))
        if cells.height == 0:
            raise RejectedFile(path, "empty_file", f"sheet {sheet_name} is empty")
        first = [v for v in cells.row(0) if v]
        title, header_index = (first[0], 1) if len(first) == 1 and cells.height > 1 else (None, 0)
        header = [v or "" for v in cells.row(header_index)]
        try:
            matched = _match_kind(header, {sheet: SHEETS[sheet].sheet_columns})
        except MissingColumns as error:
            raise RejectedFile(
                path, "required_column_missing", f"sheet {sheet_name}: {error}"
            ) from None
        if matched is None:
            raise RejectedFile(
                path, "unknown_header", f"sheet {sheet_name}: header matches no kind"
            )
        _, mapping = matched
        if cells.height == header_index + 1:
            raise RejectedFile(path, "header_only", f"sheet {sheet_name} has a header and no rows")
        by_position = {cells.columns[i]: mapping[c] for i, c in enumerate(header) if c in mapping}
        frame = (
            cells.slice(header_index + 1)
            .select(list(by_position))
            .rename(by_position)
            .with_row_index("row", offset=header_index + 2)
            .cast({"row": pl.Int64})
        )
        dated = [
            c for c in frame.columns if "datums" in c.lower() or c in ("Uzņemts", "Atskaitīts")
        ]
        spreadsheet_dates = (
            frame.select(
                pl.any_horizontal(pl.col(c).str.contains(SPREADSHEET_DATE) for c in dated).sum()
            ).item()
            if dated
            else 0
        )
        frame = frame.with_columns(_spreadsheet_dates(c) for c in dated)
        extra = [c for c in header if c and c not in mapping]
        in_order = [mapping[cell] for cell in header if cell in mapping]
        notes = _layout_notes(header, in_order, SHEETS[sheet].sheet_columns, title, extra)
        tolerated = dict.fromkeys(notes, frame.height)
        if spreadsheet_dates:
            tolerated["spreadsheet dates"] = spreadsheet_dates
        tables.append(
            RawTable(
                SHEETS[sheet].name,
                "M",
                "xlsx",
                title,
                frame,
                extra,
                sheet_name,
                tolerated,
            )
        )
    if not tables:
        raise RejectedFile(path, "unknown_header", "no sheet named Skolēni, Kavējumi or Vērtējumi")
    return tables


def read_delivery(path: Path) -> list[RawTable]:
    """Every table in a delivered file, or RejectedFile with the reason."""
    data = path.read_bytes()
    if not data:
        raise RejectedFile(path, "empty_file", "the file is empty")
    if data.startswith(b"PK\x03\x04"):
        return read_xlsx(path, data)
    if b"\x00" in data:
        raise RejectedFile(path, "not_csv_or_xlsx", "binary content, not a CSV or XLSX file")
    return [read_csv(path, data)]
