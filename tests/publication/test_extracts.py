"""The ministry extracts as their readers see them, on seeded random small releases
(tests/small_release.py): the CSV read back in the Latvian Excel form and the XLSX through
openpyxl show counts as whole numbers, shares as percentages and `slēpts` alike; the data
dictionary defines everything in Latvian and English with every threshold's value and
version; later semesters are dictionary rows, not data rows; every revision has its cover
note; the changelog names the deliveries and rule versions behind a revision and every
changed cell, or says where they all are."""

import copy
import json
import random
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import polars as pl
import pytest
from small_release import published, random_release

from pipelines.privacy.scan import text_findings
from pipelines.publication.extracts import (
    CHANGES_SHOWN,
    COVER_NOTE,
    DICTIONARY,
    SUPPRESSED,
    TOTAL_BAND,
    WIDE_SUFFIX,
    IdentifierFound,
    Sources,
    extract_text,
    header,
    write_revision,
)
from pipelines.publication.protection import LESSONS
from pipelines.publication.tables import (
    ALL_BANDS,
    AMOUNT,
    CELL_COLUMNS,
    CELL_KEY,
    COUNT,
    MEASURES,
    MUNICIPALITY,
    MUNICIPALITY_NAME,
    SHARE,
    TABLE_DIMENSIONS,
    for_period,
)
from pipelines.reference import tables as reference
from pipelines.reference.calendar import school_calendar, semester_table
from pipelines.reference.rules import number_text, rules

SEEDS = range(6)
PERIOD = "2025/26-S2"  # random_release makes one or two semesters of 2025/26
NO_SCAN = lambda _text: []  # noqa: E731
DELIVERY_SCHEMA = {
    "school_id": pl.String,
    "kind": pl.String,
    "file": pl.String,
    "received_at": pl.Datetime("us", "UTC"),
    "period_start": pl.Date,
    "period_end": pl.Date,
}


def long_tables(rng: random.Random) -> dict[str, pl.DataFrame]:
    """The published long tables of a random small release: its counts and rates as the
    release publishes them (cells below 5 suppressed, rates with them), hours beside the
    pupils supported, and a weekly table of school days and absence shares."""
    values = random_release(rng)
    hidden = {cell for cell, value in values.items() if 0 < value < 5 and cell[2] != LESSONS}
    counts, rates = published(values, hidden, 5)
    rows = []

    def add(table, semester, measure, school, dimension, value, suppressed):
        name = MUNICIPALITY_NAME if school == MUNICIPALITY else f"Skola {school}"
        rows.append((table, semester, "final", school, name, dimension, measure, value,
                     suppressed))  # fmt: skip

    for (table, semester, measure, school, dimension), value in values.items():
        if measure == LESSONS:
            continue
        cell = (table, semester, measure, school, dimension)
        add(*cell[:2], measure, school, dimension, counts.get(cell), cell in hidden)
        if measure == "pupils_supported":
            hours = None if cell in hidden else value * rng.choice([0.5, 1.25, 2.0])
            add(table, semester, "hours", school, dimension, hours, cell in hidden)
        if table == "school_indicators" and measure == "pupils":
            for rate in ("unjustified_per_pupil", "support_coverage"):
                if rate == "support_coverage" and dimension != ALL_BANDS:
                    continue
                key = (table, semester, rate, school, dimension)
                shown = key in rates
                add(table, semester, rate, school, dimension, rates.get(key), not shown)
    semesters = sorted({cell[1] for cell in values})
    for semester in semesters:
        for week in range(rng.randint(1, 4)):
            monday = str(date(2025, 9, 1 + 7 * week))
            pupils = rng.choice([3, 40, 200])
            share = round(rng.random() * 0.3, 4)
            add("weekly_absence", semester, "school_days", "S0", monday, 5.0, False)
            for rate in ("absence_rate", "illness_rate"):
                small = pupils < 5
                add("weekly_absence", semester, rate, "S0", monday, None if small else share,
                    small)  # fmt: skip
    frame = pl.DataFrame(rows, schema={"table": pl.String, **CELL_COLUMNS}, orient="row")
    return {
        table: frame.filter(pl.col("table") == table).drop("table")
        for table in TABLE_DIMENSIONS
        if not frame.filter(pl.col("table") == table).is_empty()
    }


def sources(rng: random.Random, deliveries: pl.DataFrame | None = None) -> Sources:
    semesters = semester_table(school_calendar()).with_columns(
        status=pl.when(pl.col("semester_id") <= PERIOD)
        .then(pl.lit("final"))
        .otherwise(pl.lit("not yet due"))
    )
    return Sources(
        semesters,
        pl.DataFrame(schema=DELIVERY_SCHEMA) if deliveries is None else deliveries,
        rules(),
        reference.activities(),
        reference.publisher(),
        rng.randint(3, 10),
        False,
        date(2026, 6, 30),
    )


METADATA = {"rule_set_version": "2026.12.3", "rules": {"MK89_UNJUSTIFIED": "1"}}


def write(rng, exports, tables=None, source=None, metadata=METADATA):
    tables = for_period(tables or long_tables(rng), PERIOD)
    revision = write_revision(exports, PERIOD, tables, source or sources(rng), metadata, NO_SCAN)
    assert revision is not None
    return revision.path, tables


def cell_checks(measure: str, suppressed: bool, value: float | None):
    """What a cell must show: (CSV text check, XLSX cell check)."""
    scale = MEASURES[measure].scale

    def csv_ok(text: str) -> bool:
        if suppressed:
            return text == SUPPRESSED
        if value is None:
            return text == ""
        if scale == COUNT:
            return re.fullmatch(r"\d+", text) is not None and int(text) == value
        number = float(text.replace(",", "."))
        if scale == SHARE:
            return (
                re.fullmatch(r"\d+,\d", text) is not None
                and abs(number / 100 - value) <= 5e-4 + 1e-9
            )
        return re.fullmatch(r"\d+,\d", text) is not None and abs(number - value) < 0.05 + 1e-9

    def xlsx_ok(cell) -> bool:
        if suppressed:
            return cell.value == SUPPRESSED and cell.data_type == "s"
        if value is None:
            return cell.value is None
        if scale == COUNT:
            return type(cell.value) is int and cell.value == value and cell.number_format == "0"
        if scale == SHARE:
            return (0 <= cell.value <= 1 and abs(cell.value - value) <= 5e-4 + 1e-9
                    and cell.number_format == "0.0%")  # fmt: skip
        assert scale == AMOUNT
        return abs(cell.value - value) < 0.05 + 1e-9 and cell.number_format == "0.0"

    return csv_ok, xlsx_ok


def read_csv_text(path: Path) -> list[list[str]]:
    """The CSV as Latvian Excel reads it: UTF-8 with BOM, `;`, every field as text."""
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    frame = pl.read_csv(path, separator=";", infer_schema=False, encoding="utf8-lossy")
    frame = frame.rename(lambda c: c.lstrip("\ufeff")).fill_null("")
    return [frame.columns, *(list(r) for r in frame.iter_rows())]


@pytest.mark.parametrize("seed", SEEDS)
def test_wide_sheets_show_counts_as_integers_shares_as_percent_and_suppressed_alike(seed, tmp_path):
    rng = random.Random(seed)
    folder, tables = write(rng, tmp_path)
    for table, frame in tables.items():
        csv_rows = read_csv_text(folder / f"{table}{WIDE_SUFFIX}.csv")
        sheet = openpyxl.load_workbook(folder / f"{table}{WIDE_SUFFIX}.xlsx").active
        xlsx_rows = list(sheet.iter_rows())
        headers = csv_rows[0]
        assert [c.value for c in xlsx_rows[0]] == headers
        assert len(csv_rows) == len(xlsx_rows)
        where = {(r[0], r[1], r[3]): i for i, r in enumerate(csv_rows) if i}
        checked = 0
        for row in frame.iter_rows(named=True):
            dimension = TOTAL_BAND if row["dimension"] == ALL_BANDS else row["dimension"]
            i = where[(row["semester_id"], row["school_id"], dimension)]
            j = headers.index(header(MEASURES[row["measure"]]))
            csv_ok, xlsx_ok = cell_checks(row["measure"], row["suppressed"], row["value"])
            assert csv_ok(csv_rows[i][j]), (table, row, csv_rows[i][j])
            assert xlsx_ok(xlsx_rows[i][j]), (table, row, xlsx_rows[i][j].value)
            checked += 1
        assert checked == frame.height
        # Read as Latvian Excel does, a column without `slēpts` is numeric: integer counts
        typed = pl.read_csv(
            folder / f"{table}{WIDE_SUFFIX}.csv", separator=";", decimal_comma=True,
            infer_schema_length=None,
        ).rename(lambda c: c.lstrip("\ufeff"))  # fmt: skip
        for measure in TABLE_DIMENSIONS[table][1]:
            column = typed[header(measure)]
            if column.null_count() == column.len() or column.dtype == pl.String:
                assert column.null_count() == column.len() or SUPPRESSED in column.to_list()
                continue
            expected = pl.Int64 if measure.scale == COUNT else pl.Float64
            assert column.dtype == expected, (table, measure.name, column.dtype)
            if measure.scale == SHARE:
                assert column.min() >= 0 and column.max() <= 100


@pytest.mark.parametrize("seed", SEEDS)
def test_long_tables_read_back_alike_in_csv_and_xlsx(seed, tmp_path):
    rng = random.Random(seed)
    folder, tables = write(rng, tmp_path)
    for table, frame in tables.items():
        assert pl.read_parquet(folder / f"{table}.parquet").equals(frame)  # for machines
        csv_rows = read_csv_text(folder / f"{table}.csv")
        xlsx_rows = list(openpyxl.load_workbook(folder / f"{table}.xlsx").active.iter_rows())
        assert csv_rows[0] == frame.columns == [c.value for c in xlsx_rows[0]]
        value, flag = frame.columns.index("value"), frame.columns.index("suppressed")
        for i, row in enumerate(frame.iter_rows(named=True), start=1):
            # the long tables flag a suppressed cell 1 with no value, in both formats
            csv_ok, xlsx_ok = cell_checks(row["measure"], False, row["value"])
            assert csv_ok(csv_rows[i][value]) and xlsx_ok(xlsx_rows[i][value]), row
            assert csv_rows[i][flag] == str(int(row["suppressed"]))
            assert xlsx_rows[i][flag].value == int(row["suppressed"])
            assert xlsx_rows[i][flag].number_format == "0"
        typed = pl.read_csv(folder / f"{table}.csv", separator=";", decimal_comma=True)
        assert typed["suppressed"].dtype == pl.Int64


def randomised_rules(rng: random.Random) -> dict:
    """rules.toml with random thresholds, versions and disclosure threshold."""
    config = copy.deepcopy(rules())
    config["version"] = f"2027.{rng.randint(1, 12)}.{rng.randint(1, 9)}"
    for rule in config["rule"]:
        rule["version"] = str(rng.randint(1, 9))
        if "threshold" in rule:
            rule["threshold"] = rng.choice([0.07, 0.125, 3, 17, 25.5])
    levels = sorted(rng.sample(range(1, 9), 3))
    for level, value in zip(("low", "medium", "high"), levels, strict=True):
        config["composite"][level] = value
    return config


@pytest.mark.parametrize("seed", SEEDS)
def test_the_dictionary_defines_everything_in_latvian_and_english_with_thresholds(seed, tmp_path):
    rng = random.Random(seed)
    config = randomised_rules(rng)
    source = replace(sources(rng), rules=config)
    folder, tables = write(rng, tmp_path, source=source)
    dictionary = pl.read_parquet(folder / f"{DICTIONARY}.parquet")
    for row in dictionary.iter_rows(named=True):
        assert row["label_lv"] and row["definition_lv"] and row["definition_en"], row
        assert row["definition_lv"] != row["definition_en"], row
        if row["threshold"] is not None:
            assert number_text(row["threshold"], "lv") in row["definition_lv"], row
            assert number_text(row["threshold"], "en") in row["definition_en"], row
            assert row["rule_version"], row
    by_name = {(r["kind"], r["name"]): r for r in dictionary.iter_rows(named=True)}
    for rule in config["rule"]:
        found = by_name[("rule", rule["id"])]
        assert found["rule_version"] == rule["version"]
        assert found["threshold"] == rule.get("threshold")
        assert f"{rule['id']}, versija {rule['version']}" in found["definition_lv"]
    for level in ("low", "medium", "high"):
        found = by_name[("threshold", f"composite.{level}")]
        assert (found["threshold"], found["rule_version"]) == (
            config["composite"][level],
            config["version"],
        )
    assert by_name[("threshold", "disclosure.min_count")]["threshold"] == source.min_count
    measures = dictionary.filter(pl.col("kind") == "measure")
    mk89 = measures.filter(pl.col("name") == "mk89_crossings").row(0, named=True)
    threshold = next(r for r in config["rule"] if r["id"] == "MK89_UNJUSTIFIED")["threshold"]
    assert mk89["threshold"] == threshold
    for code in ("LAS", "R9", "KONS", "MENT", "INIC"):
        activity = by_name[("activity", code)]
        names = reference.activities().filter(pl.col("activity") == code)
        assert activity["definition_lv"].startswith(names["name_lv"][0])
        assert names["from_semester"][0] in activity["definition_lv"]
    for table in tables:  # every header of every wide sheet is defined
        headers = read_csv_text(folder / f"{table}{WIDE_SUFFIX}.csv")[0]
        defined = set(dictionary.filter(pl.col("table") == table)["label_lv"])
        assert set(headers) <= defined, set(headers) - defined
    assert ("mark", SUPPRESSED) in by_name


@pytest.mark.parametrize("seed", SEEDS)
def test_later_semesters_are_dictionary_rows_not_data_rows(seed, tmp_path):
    rng = random.Random(seed)
    tables = long_tables(rng)
    late = {  # figures of a later semester, as the release holds them
        name: pl.concat([frame, frame.with_columns(semester_id=pl.lit("2026/27-S1"))])
        for name, frame in tables.items()
    }
    folder, _ = write(rng, tmp_path, tables=late)
    for path in folder.iterdir():
        if path.suffix in (".csv", ".parquet", ".xlsx") and path.stem != DICTIONARY:
            assert "2026/27" not in extract_text(path), path.name
            if path.suffix == ".parquet":
                assert pl.read_parquet(path)["semester_id"].max() <= PERIOD
    dictionary = pl.read_parquet(folder / f"{DICTIONARY}.parquet")
    later = dictionary.filter(pl.col("kind") == "semester")["name"].to_list()
    calendar = semester_table(school_calendar())["semester_id"]
    assert later == sorted(calendar.filter(calendar > PERIOD))
    assert later[-1] == "2028/29-S2"


def bump(rng: random.Random, tables: dict[str, pl.DataFrame], count: int):
    """`count` random published count cells one higher, and the cells changed."""
    changed = []
    result = {}
    candidates = [
        (name, i)
        for name, frame in tables.items()
        for i, row in enumerate(frame.iter_rows(named=True))
        if row["value"] is not None and MEASURES[row["measure"]].scale == COUNT
    ]
    chosen = set(rng.sample(candidates, min(count, len(candidates))))
    for name, frame in tables.items():
        rows = [i for n, i in chosen if n == name]
        mask = pl.Series([i in rows for i in range(frame.height)])
        result[name] = frame.with_columns(
            value=pl.when(mask).then(pl.col("value") + 1).otherwise(pl.col("value"))
        )
        changed += [(*(frame.row(i, named=True)[k] for k in CELL_KEY), name) for i in rows]
    return result, changed


@pytest.mark.parametrize("seed", SEEDS)
def test_the_changelog_names_deliveries_rules_and_every_changed_cell(seed, tmp_path):
    rng = random.Random(seed)
    tables = long_tables(rng)
    # Received by the delivery log's clock, which need not be this machine's (the demo's is
    # simulated): what is new is what came after the latest delivery the previous revision had.
    after = datetime(2026, 1, 5, 2, 15, tzinfo=UTC)
    deliveries = pl.DataFrame(
        [
            ("S1", "grades", "S1/vertejumi.csv", datetime(2025, 12, 20, tzinfo=UTC),
             date(2025, 10, 1), date(2025, 10, 31)),  # had by r1
            ("S0", "absences", "S0/kavejumi_labojums.csv", after, date(2025, 11, 1),
             date(2025, 11, 30)),
            ("S1", "absences", "S1/kavejumi_2026-09.csv", after, date(2026, 9, 1),
             date(2026, 9, 30)),  # after the period
        ],
        schema=DELIVERY_SCHEMA, orient="row",
    )  # fmt: skip
    first, _ = write(rng, tmp_path, tables, sources(rng, deliveries.head(1)))
    count = rng.choice([1, 7, CHANGES_SHOWN, CHANGES_SHOWN + 30])
    bumped, changed = bump(rng, tables, count)
    metadata = {**METADATA, "rules": {"MK89_UNJUSTIFIED": "2"}}
    second, _ = write(rng, tmp_path, bumped, sources(rng, deliveries), metadata)
    assert (first.name, second.name) == ("r1", "r2")
    log = (second / "changelog.md").read_text(encoding="utf-8")
    assert "| S0 | absences | 01.11.2025–30.11.2025 | 05.01.2026 04:15 |" in log  # Riga time
    assert "S1/vertejumi.csv" not in log and "kavejumi_2026-09" not in log
    assert "rule MK89_UNJUSTIFIED: version 1 → 2" in log
    changes = pl.read_csv(second / "changes.csv", separator=";", infer_schema=False)
    changes = changes.rename(lambda c: c.lstrip("\ufeff"))
    keys = [*CELL_KEY, "table"]
    assert sorted(changes.select(keys).iter_rows()) == sorted(changed)
    before, after_ = changes["before"].cast(pl.Int64), changes["after"].cast(pl.Int64)
    assert (after_ - before).to_list() == [1] * len(changed)
    lines = [line for line in log.splitlines() if line.startswith("| ")]
    cell_lines = [line for line in lines if line.split(" | ")[0][2:] in TABLE_DIMENSIONS]
    if len(changed) > CHANGES_SHOWN:
        assert f"{CHANGES_SHOWN} shown of {len(changed)}; all in `changes.csv`." in log
        assert len(cell_lines) == CHANGES_SHOWN
    else:
        assert f"All {len(changed)} changed cells" in log
        assert len(cell_lines) == len(changed)
    for path in (first, second):
        note = (path / COVER_NOTE).read_text(encoding="utf-8-sig")
        assert f"Revīzija: {path.name}" in note
    assert "aizstāj r1" in (second / COVER_NOTE).read_text(encoding="utf-8-sig")


@pytest.mark.parametrize("seed", SEEDS)
def test_the_cover_note_says_what_who_when_the_rule_and_whom_to_ask(seed, tmp_path):
    rng = random.Random(seed)
    source = sources(rng)
    folder, tables = write(rng, tmp_path, source=source)
    raw = (folder / COVER_NOTE).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    note = raw.decode("utf-8-sig")
    publisher = reference.publisher()
    assert publisher.name == "Ogres novada pašvaldība"
    assert "“Skola – kopienā” Nr. 4.2.3.1/1/24/I/001" in note
    assert f"Sūtītājs: {publisher.name}" in note
    assert f"Pārskata periods: {PERIOD} (05.01.2026–19.06.2026)" in note
    generated = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["generated_at"]
    riga = datetime.fromisoformat(generated).astimezone(ZoneInfo("Europe/Riga"))
    assert f"Sagatavots: {riga:%d.%m.%Y %H:%M} (Rīgas laiks)" in note
    n = source.min_count
    assert f"Skolēnu skaiti no 1 līdz {n - 1} (mazāki par {n}) nav publicēti" in note
    for table, frame in tables.items():
        assert f"- {table}: {frame['suppressed'].sum()} no {frame.height} šūnām" in note
    assert f"Kontakts: {publisher.contact_role}, {publisher.contact_email}" in note
    assert "@" in publisher.contact_email and publisher.contact_email.split("@")[0] != ""


def test_the_scan_blocks_a_file_with_an_identifier(tmp_path):
    rng = random.Random(0)
    tables = long_tables(rng)
    leak = {**tables}
    leak["school_indicators"] = tables["school_indicators"].with_columns(
        school_name=pl.lit("Jānis 150312-21234")
    )
    with pytest.raises(IdentifierFound, match="not published"):
        write_revision(
            tmp_path, PERIOD, leak, sources(rng), METADATA,
            lambda text: text_findings(text, set(), []),
        )  # fmt: skip
    assert not any(tmp_path.rglob("*.*"))
