"""Ministry extracts: one folder per reporting period and revision, never overwritten.

`data/exports/<period>/r<N>/` holds each published table as CSV (the Latvian Excel
convention: UTF-8 with BOM, `;`, decimal comma), XLSX (formatted header, frozen panes,
column widths) and Parquet, a data dictionary in Latvian and English, and `manifest.json`
(SHA-256 and rows of every file, rule versions, code version, generation time). A revision is
written into a hidden folder, scanned for identifiers, and only then renamed into place, so
nothing is ever half-published. A run whose numbers equal the latest revision's writes
nothing; different numbers make `r<N+1>` with `changelog.md` saying what changed and why.
"""

import hashlib
import json
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import xlsxwriter

from pipelines.feedback import OperatorError
from pipelines.publication.tables import CELL_KEY

FLOAT_DECIMALS = 4
CSV_SEPARATOR = ";"
UTF8_BOM = "\ufeff"
REVISION_PREFIX = "r"


class IdentifierFound(OperatorError):
    """An extract file holds something that identifies a pupil: nothing is published."""


@dataclass(frozen=True)
class Revision:
    period: str
    number: int
    path: Path


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


def csv_text(frame: pl.DataFrame) -> str:
    """The Latvian Excel convention: `;` between fields, a decimal comma, UTF-8 with BOM."""
    shown = frame.with_columns(
        [
            pl.col(name).round(FLOAT_DECIMALS).cast(pl.String).str.replace(".", ",", literal=True)
            for name, dtype in frame.schema.items()
            if dtype.is_float()
        ]
        + [
            pl.col(name).cast(pl.Int8)
            for name, dtype in frame.schema.items()
            if dtype == pl.Boolean
        ]
    )
    return UTF8_BOM + shown.write_csv(separator=CSV_SEPARATOR)


def write_xlsx(frame: pl.DataFrame, path: Path, sheet: str) -> None:
    """One sheet: a bold, shaded header row frozen in place, widths that fit the content."""
    book = xlsxwriter.Workbook(str(path), {"remove_timezone": True})
    book.set_properties({"created": datetime(2000, 1, 1)})
    worksheet = book.add_worksheet(sheet[:31])
    header = book.add_format({"bold": True, "bg_color": "#DCE6F1", "border": 1, "text_wrap": True})
    decimal = book.add_format({"num_format": "0.0###"})
    for column, name in enumerate(frame.columns):
        worksheet.write_string(0, column, name, header)
        values = frame[name].to_list()
        for row, value in enumerate(values, start=1):
            if value is None:
                continue
            if isinstance(value, bool):
                worksheet.write_boolean(row, column, value)
            elif isinstance(value, float):
                worksheet.write_number(row, column, value, decimal)
            elif isinstance(value, int):
                worksheet.write_number(row, column, value)
            else:
                worksheet.write_string(row, column, str(value))
        longest = max([len(name), *(len(str(v)) for v in values if v is not None)])
        worksheet.set_column(column, column, min(max(longest + 2, 8), 60))
    worksheet.freeze_panes(1, 0)
    worksheet.autofilter(0, 0, max(frame.height, 1), max(frame.width - 1, 0))
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
    dictionary: pl.DataFrame,
    metadata: dict,
    scan: Callable[[str], list[str]],
    why: list[str],
) -> Revision | None:
    """Write the period's next revision, or nothing if the numbers equal the latest one's.
    `scan` lists the identifiers found in a file's text; any finding stops publication."""
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
    try:
        files = _write_files(staging, tables, dictionary)
        findings = [
            f"{path.name}: {finding}" for path in files for finding in scan(extract_text(path))
        ]
        if findings:
            raise IdentifierFound(
                f"{semester_id} r{number} not published, identifiers found: " + "; ".join(findings)
            )
        if previous is not None:
            changelog = _changelog(existing[-1], tables, previous, metadata, why, number)
            (staging / "changelog.md").write_text(changelog, encoding="utf-8")
            files.append(staging / "changelog.md")
        manifest = {
            **metadata,
            "period": semester_id,
            "revision": number,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "content_digest": digest,
            "files": [
                {
                    "name": path.name,
                    "sha256": sha256_file(path),
                    "bytes": path.stat().st_size,
                    "rows": _rows(path, tables, dictionary),
                }
                for path in files
            ],
        }
        (staging / "manifest.json").write_text(
            json.dumps(manifest, indent=1, ensure_ascii=False, default=str), encoding="utf-8"
        )
        staging.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Revision(semester_id, number, final)


def _write_files(folder: Path, tables: dict[str, pl.DataFrame], dictionary: pl.DataFrame):
    files = []
    for name, frame in {**tables, "data_dictionary": dictionary}.items():
        csv_path = folder / f"{name}.csv"
        csv_path.write_text(csv_text(frame), encoding="utf-8")
        xlsx_path = folder / f"{name}.xlsx"
        write_xlsx(frame, xlsx_path, name)
        parquet_path = folder / f"{name}.parquet"
        frame.write_parquet(parquet_path)
        files += [csv_path, xlsx_path, parquet_path]
    return files


def _rows(path: Path, tables: dict[str, pl.DataFrame], dictionary: pl.DataFrame) -> int | None:
    frames = {**tables, "data_dictionary": dictionary}
    return frames[path.stem].height if path.stem in frames else None


def _changelog(
    previous_path: Path,
    tables: dict[str, pl.DataFrame],
    previous: dict,
    metadata: dict,
    why: list[str],
    number: int,
) -> str:
    """What changed against the previous revision, cell by cell, and the reasons known."""
    lines = [
        f"# {previous['period']}: revision {number} replaces revision {previous['revision']}",
        "",
        "## Why",
        "",
    ]
    for key in ("rule_set_version", "code_version"):
        if previous.get(key) != metadata.get(key):
            lines.append(f"- {key.replace('_', ' ')}: {previous.get(key)} → {metadata.get(key)}")
    lines += [f"- {reason}" for reason in why] or ["- the figures were recomputed"]
    lines += ["", "## What changed", ""]
    for name, frame in tables.items():
        old_path = previous_path / f"{name}.parquet"
        if not old_path.exists():
            lines.append(f"- {name}: new table")
            continue
        changed = _changed_cells(pl.read_parquet(old_path), frame)
        lines.append(f"- {name}: {changed.height} cells changed")
        for row in changed.head(20).iter_rows(named=True):
            where = ", ".join(f"{k} {row[k]}" for k in CELL_KEY if k in row)
            lines.append(f"  - {where}: {_shown(row)}")
    return "\n".join(lines) + "\n"


def _changed_cells(old: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    keys = [k for k in CELL_KEY if k in new.columns]
    joined = old.join(new, on=keys, how="full", suffix="_new", coalesce=True)
    return joined.filter(
        pl.col("value").ne_missing(pl.col("value_new"))
        | pl.col("suppressed").ne_missing(pl.col("suppressed_new"))
    ).sort(keys)


def _shown(row: dict) -> str:
    def cell(value, suppressed):
        return "suppressed" if suppressed else "empty" if value is None else f"{value:g}"

    return (
        f"{cell(row['value'], row['suppressed'])} → {cell(row['value_new'], row['suppressed_new'])}"
    )
