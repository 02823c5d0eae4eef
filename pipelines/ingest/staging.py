"""Staging: valid rows in their staging shape, and on disk under
`data/staging/<table>/<partition>/`, each file written atomically.

A table whose rows carry a day (absences, grades, notes, group activities) is kept in one file
per semester of its rows' days, `data-<school year>-S<n>.parquet` (`semester_files`), and a
file is rewritten only when its rows changed: a night's deliveries touch the semester in
progress, so a night writes that semester's file, not the partition's whole history. Every
other table, and rows without a day, are in `data.parquet`. Readers take every
`data*.parquet` of a table (`PARQUET_GLOB`).
"""

import os
from pathlib import Path

import polars as pl

from pipelines.feedback import OperatorError
from pipelines.ingest.contract import KINDS, SPECIAL_EDUCATION_DIGITS
from pipelines.ingest.justification import MARK_CODES
from pipelines.privacy.pseudonym import PseudonymKey, key_fingerprint

PARQUET_NAME = "data.parquet"
PARQUET_GLOB = "data*.parquet"  # every file of one table's partition
KEY_FINGERPRINT_FILE = "pseudonym_key.fingerprint"


class WrongKey(OperatorError):
    """The pseudonym key is not the one staging was written with."""


def guard_key(staging: Path, key: PseudonymKey) -> bool:
    """Refuse, before anything is written, a key other than the one staging was written with.
    True when the key is known to be right: its fingerprint is recorded, or staging is empty
    (then the fingerprint is recorded now);
    False for staging written before fingerprints were kept, which ingest verifies against
    the pupils staged already before it writes anything (`verify_key`)."""
    recorded = staging / KEY_FINGERPRINT_FILE
    if recorded.exists():
        if recorded.read_text(encoding="utf-8").strip() != key_fingerprint(key.secret):
            raise WrongKey(
                f"the pseudonym key from {key.source} is not the key {staging} was written "
                f"with (its fingerprint is in {recorded}): ingest stopped before writing "
                "anything, as every pupil would get a new key. Set the key in use; to change "
                "keys, run `pmp rotate-key` (docs/operations.md)"
            )
        return True
    if any(staging.glob(f"*/*/{PARQUET_GLOB}")):
        return False
    record_key(staging, key.secret)
    return True


def verify_key(staged: pl.DataFrame, fresh: pl.DataFrame, partition: str) -> bool:
    """For staging without a fingerprint: whether a partition's pupils (`pupil_key`) keep
    their keys under the key of this ingest (False when there is nothing to compare). None
    of them keeping it stops the ingest: the key is wrong."""
    if staged.is_empty() or fresh.is_empty():
        return False
    kept = staged["pupil_key"].is_in(fresh["pupil_key"].implode()).sum()
    if kept == 0:
        raise WrongKey(
            f"staging was written before key fingerprints were kept, and none of the "
            f"{staged['pupil_key'].n_unique()} pupils staged for {partition} keeps the key "
            "under the key of this ingest: it stopped before writing. Set the key staging "
            "was written with; to change keys, run `pmp rotate-key` (docs/operations.md)"
        )
    return True


def record_key(staging: Path, secret: bytes) -> None:
    """Write the fingerprint of the key staging is (or is about to be) written with."""
    staging.mkdir(parents=True, exist_ok=True)
    write_text(staging / KEY_FINGERPRINT_FILE, key_fingerprint(secret) + "\n")


def write_text(path: Path, text: str) -> None:
    """Replace a text file in one step."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.part")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def staging_file(staging: Path, table: str, partition: str) -> Path:
    return staging / table / partition / PARQUET_NAME


def semester_files(frame: pl.DataFrame, row_date: str | None) -> dict[str, pl.DataFrame]:
    """A partition's staging table as its files: by the semester of `row_date`, September to
    December the first of the school year and January to August the second (every semester
    of the calendar lies in one of these), rows in their order; the rows without a day, or the
    whole table without `row_date`, in `data.parquet`."""
    if row_date is None:
        return {PARQUET_NAME: frame}
    day = pl.col(row_date)
    # 2 × the school year's first year, less 1 in its second semester: one number per semester
    year = day.dt.year().cast(pl.Int32) * 2
    semester = frame.select(pl.when(day.dt.month() >= 9).then(year).otherwise(year - 1))
    keys = semester.to_series()
    files = {}
    for key in keys.unique().to_list():
        if key is None:
            files[PARQUET_NAME] = frame.filter(keys.is_null())
        else:
            first = key // 2
            name = f"data-{first}-{(first + 1) % 100:02d}-S{1 + key % 2}.parquet"
            files[name] = frame.filter(keys == key)
    return files


def write_staged(frame: pl.DataFrame, folder: Path, row_date: str | None) -> None:
    """Replace a partition's staging table in `folder` with `frame`, as its `semester_files`:
    a file whose rows, types and order are those on disk already is left as it is, and a file
    the table no longer has is removed."""
    files = semester_files(frame, row_date)
    for name, rows in files.items():
        if not _holds(folder / name, rows):
            write_table(rows, folder / name)
    for path in folder.glob(PARQUET_GLOB):
        if path.name not in files:
            path.unlink()


def _holds(path: Path, frame: pl.DataFrame) -> bool:
    """Whether the Parquet file holds exactly this frame (False when it is missing or unread)."""
    try:
        stored = pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError):
        return False
    return stored.schema == frame.schema and stored.equals(frame)


def remove_staged(folder: Path) -> None:
    """Remove a partition's staging table (every file of it)."""
    for path in folder.glob(PARQUET_GLOB):
        path.unlink()


def write_table(frame: pl.DataFrame, path: Path) -> None:
    """Replace a Parquet file in one step: readers see the old file or the new one (and two
    writers of the same file each write their own temporary file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.part")
    frame.write_parquet(temporary, statistics=True)
    os.replace(temporary, path)


def read_table(
    staging: Path, table: str, partitions: list[str] | None = None
) -> pl.DataFrame | None:
    """One staging table over the given partitions (all when None); None if nothing is there."""
    files = sorted((staging / table).glob(f"*/{PARQUET_GLOB}"))
    if partitions is not None:
        files = [f for f in files if f.parent.name in partitions]
    if not files:
        return None
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")


def _flag(column: str) -> pl.Expr:
    """`Jā` / `Nē` (any case) as a boolean; empty stays null."""
    return pl.col(column).replace_strict(
        {"jā": True, "nē": False}, default=None, return_dtype=pl.Boolean
    )


def stage(kind: str, frame: pl.DataFrame, partition: str) -> pl.DataFrame:
    """Valid rows (their codes judged and keyed, `prepare.judge_codes`) in their staging shape:
    pseudonymous, typed, no name, code or birth date, and exactly the columns and types of the
    kind's staging schema in the contract."""
    school = pl.lit(partition)
    provenance = [pl.col("delivery_sha"), pl.col("row").alias("source_row")]
    schema = KINDS[kind].staging
    return _projection(kind, frame, school, provenance).select(
        pl.col(column).cast(dtype) for column, dtype in schema.items()
    )


def _projection(
    kind: str, frame: pl.DataFrame, school: pl.Expr, provenance: list[pl.Expr]
) -> pl.DataFrame:
    match kind:
        case "skoleni":
            programme = pl.col("programme").str.strip_chars()
            return frame.select(
                school.alias("school_id"),
                *provenance,
                "period_start",
                "period_end",
                "pupil_key",
                pl.col("sex").str.strip_chars(),
                birth_year=pl.col("birth_date").dt.year().cast(pl.Int32),
                birth_month=pl.col("birth_date").dt.month().cast(pl.Int8),
                class_label=pl.col("class_label").str.strip_chars(),
                grade=pl.col("grade"),
                special_needs_programme=programme.str.slice(4, 2).is_in(SPECIAL_EDUCATION_DIGITS),
                admitted=pl.col("admitted"),
                left=pl.col("left"),
                leave_reason=pl.col("leave_reason").str.strip_chars().str.to_lowercase(),
                repeating=_flag("repeating"),
            )
        case "kavejumi":
            return frame.select(
                school.alias("school_id"),
                *provenance,
                "pupil_key",
                pl.col("class_label").str.strip_chars(),
                "grade",
                "date",
                "lesson",
                pl.col("subject").str.strip_chars(),
                mark=pl.col("absence").replace_strict(
                    MARK_CODES, default=None, return_dtype=pl.String
                ),
                reason=pl.lit(None, pl.String),  # resolved with the notes register (`justify`)
            )
        case "zimes":
            return frame.select(
                school.alias("school_id"),
                *provenance,
                "pupil_key",
                "from",
                "to",
                pl.col("reason").str.strip_chars().str.to_lowercase(),
                "submitted",
            )
        case "vertejumi":
            return frame.select(
                school.alias("school_id"),
                *provenance,
                "pupil_key",
                pl.col("class_label").str.strip_chars(),
                "grade",
                pl.col("subject").str.strip_chars(),
                "date",
                grade_type=pl.col("grade_type").str.strip_chars().str.to_lowercase(),
                value=pl.col("value").str.strip_chars(),
                value_kind="value_kind",
                mark_value="mark_value",
                percent="percent",
            )
        case "slodze":
            return frame.select(
                school.alias("school_id"),
                *provenance,
                pl.col("class_label").str.strip_chars(),
                "grade",
                "lessons_per_week",
            )
        case "atbalsts":
            return frame.select(
                *provenance,
                "pupil_key",
                "school_id",
                pl.col("activity").str.strip_chars(),
                "start",
                "end",
                "hours",
                pl.col("provider").str.strip_chars(),
                iap=pl.col("iap") == "jā",
            )
        case "aktivitates":
            return frame.select(
                *provenance,
                "school_id",
                pl.col("activity").str.strip_chars(),
                pl.col("title").str.strip_chars(),
                "date",
                "pupils",
                "parents",
                "teachers",
            )
        case "socialais_statuss":
            return frame.select(
                *provenance,
                "pupil_key",
                pl.col("status").str.strip_chars().str.to_lowercase(),
                "start",
                "end",
            )
    raise ValueError(f"unknown kind {kind}")
