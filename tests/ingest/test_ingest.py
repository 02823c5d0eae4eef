"""Ingest: every injected defect ends as the contract says, nothing is lost, nothing leaks."""

import os
import random
import re
import shutil
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from pipelines.ingest import contract
from pipelines.ingest.contract import STAGING_TABLES
from pipelines.ingest.partition import stage_partition
from pipelines.ingest.staging import PARQUET_GLOB, read_table
from pipelines.privacy.names import MALE_FIRST_NAMES, SURNAMES
from pipelines.privacy.scan import PERSONAL_CODE, identifier_findings

FIXTURES = Path(__file__).parents[1] / "fixtures" / "tolerated"
KEY = b"test-key"


@pytest.fixture(scope="session")
def outcome(demo, ingested) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Planted defects with a row, the quarantine and the delivery log."""
    _, manifest = demo
    defects = pl.DataFrame(manifest["defects"], infer_schema_length=None)
    return defects, read_table(ingested, "quarantine"), read_table(ingested, "delivery_log")


def test_every_quarantine_defect_is_quarantined_with_its_check(outcome):
    defects, quarantine, _ = outcome
    planted = defects.filter(pl.col("expected") == "quarantined")
    assert planted.height > 1000
    missed = planted.join(
        quarantine, left_on=["file", "row", "defect"], right_on=["file", "row", "check"], how="anti"
    )
    assert missed.height == 0, missed.head(10)


def test_nothing_is_quarantined_that_was_not_planted(outcome):
    defects, quarantine, _ = outcome
    planted_rows = defects.filter(pl.col("row").is_not_null()).select("file", "row").unique()
    unexplained = quarantine.join(planted_rows, on=["file", "row"], how="anti")
    assert unexplained.height == 0, unexplained.head(10)


def test_quarantine_rows_carry_reasons_and_masked_values(outcome):
    _, quarantine, _ = outcome
    assert quarantine.filter(
        pl.col("reason_lv").is_null() | pl.col("reason_en").is_null() | pl.col("column").is_null()
    ).is_empty()
    codes = quarantine.filter(pl.col("column") == "Personas kods")["masked_value"].drop_nulls()
    assert codes.len() > 100
    assert not codes.str.contains(PERSONAL_CODE).any()


def test_tolerated_row_variations_load(outcome):
    defects, quarantine, _ = outcome
    tolerated = defects.filter((pl.col("expected") == "loaded") & pl.col("row").is_not_null())
    assert set(tolerated["defect"]) == {"code_without_hyphen", "code_with_spaces"}
    assert tolerated.join(quarantine, on=["file", "row"], how="semi").is_empty()


def test_identical_duplicates_load_once_and_are_counted(outcome):
    defects, _, log = outcome
    planted = defects.filter(pl.col("defect") == "duplicate_identical").group_by("file").len()
    counted = planted.join(log.select("file", "rows_duplicate"), on="file")
    assert counted.height == planted.height
    assert (counted["rows_duplicate"] >= counted["len"]).all()


def test_rejected_files_name_their_reason(outcome):
    defects, _, log = outcome
    rejects = defects.filter(pl.col("category") == "reject").select("file", "defect")
    logged = rejects.join(log, on="file")
    assert logged.height == rejects.height == 9
    assert (logged["status"] == "rejected").all()
    for defect, reason in logged.select("defect", "reason").iter_rows():
        assert reason.startswith(defect) or defect == "unknown_school_folder", (defect, reason)
    folder = logged.filter(pl.col("defect") == "unknown_school_folder")["reason"][0]
    assert "XYZ is not a known school" in folder


def test_file_level_tolerations_are_noted_in_the_log(outcome):
    defects, _, log = outcome
    notes = {
        "encoding_windows_1257": "Windows-1257",
        "utf8_bom": "BOM",
        "crlf": "CRLF",
        "no_final_newline": "no newline",
        "trailing_empty_line": "trailing empty line",
        "title_row": "title row",
        "header_spaces_case": "case or spacing",
        "columns_shuffled": "another order",
        "extra_columns": "extra columns: Piezīmes, Avots",
    }
    file_level = defects.filter(pl.col("defect").is_in(list(notes)) & pl.col("row").is_null())
    joined = file_level.join(log, on="file")
    assert joined.height == file_level.height
    for defect, tolerated, status in joined.select("defect", "tolerated", "status").iter_rows():
        assert status in ("loaded", "superseded", "duplicate")
        if status != "duplicate":
            assert notes[defect] in (tolerated or ""), (defect, tolerated)
    same = defects.filter(pl.col("defect") == "same_bytes_twice").join(log, on="file")
    assert same["status"].to_list() == ["duplicate"]


def test_every_row_read_is_loaded_quarantined_or_a_duplicate(outcome):
    _, _, log = outcome
    read = log.filter(pl.col("status") != "rejected")
    balance = pl.col("rows_loaded") + pl.col("rows_quarantined") + pl.col("rows_duplicate")
    assert read.filter(pl.col("rows_read") != balance).is_empty()
    assert read["rows_read"].sum() > 2_000_000


def test_corrections_supersede_the_earlier_delivery(demo, outcome):
    _, manifest = demo
    _, _, log = outcome
    corrections = [f for f in manifest["files"] if f["supersedes"] and f["dialect"] == "E"]
    corrections = [f for f in corrections if f["school_id"] != contract.MUNICIPALITY_FOLDER]
    assert corrections
    for correction in corrections:
        earlier = log.filter(pl.col("file") == correction["supersedes"]).row(0, named=True)
        assert earlier["status"] == "superseded"
        assert earlier["superseded_by"] == correction["file"]


def test_staging_holds_no_identifier(ingested):
    files = sorted(ingested.rglob("*.parquet"))
    assert len(files) > 100
    for path in files:
        assert identifier_findings(pl.read_parquet(path), str(path)) == []
    pupils = read_table(ingested, "pupils")
    assert not set(pupils.columns) & {"code", "birth_date", "first_name", "surname"}
    assert pupils["birth_month"].is_between(1, 12).all()


def test_the_privacy_scan_finds_what_it_must():
    leaky = pl.DataFrame(
        {"note": ["ok", f"{MALE_FIRST_NAMES[0]} {SURNAMES[0][0]}", "010112-21234"]}
    )
    findings = identifier_findings(leaky, "planted")
    assert len(findings) == 2
    assert identifier_findings(pl.DataFrame({"code": ["x"]}), "planted")
    name = f"{MALE_FIRST_NAMES[0]} {SURNAMES[0][0]}"
    repeated = pl.DataFrame({"note": ["ok", name, "010112-21234", name, "010112-21234", None]})
    assert identifier_findings(repeated, "planted") == [
        "planted: column 'note' has 2 personal-code patterns",
        f"planted: column 'note' has 2 values with a common name, e.g. {name!r}",
    ]


def test_same_pupil_gets_the_same_key_everywhere(ingested):
    pupils = read_table(ingested, "pupils")
    support = read_table(ingested, "support")
    schools_per_pupil = pupils.group_by("pupil_key").agg(pl.col("school_id").n_unique())
    assert schools_per_pupil.filter(pl.col("school_id") > 1).height > 50
    assert support["pupil_key"].is_in(pupils["pupil_key"].implode()).mean() > 0.99


def test_ingesting_twice_gives_identical_staging(demo, ingested, tmp_path):
    landing, _ = demo
    again = tmp_path / "again"
    for partition in ("OCP", "SUP", contract.MUNICIPALITY_FOLDER):
        shutil.copytree(ingested / "pupils", again / "staging" / "pupils", dirs_exist_ok=True)
        stage_partition(partition, landing, again / "archive", again / "staging", KEY)
    for table in ("pupils", "absences", "grades", "support", "delivery_log", "quarantine"):
        for partition in ("OCP", "SUP", contract.MUNICIPALITY_FOLDER):
            files = sorted((ingested / table / partition).glob(PARQUET_GLOB))
            names = [f.name for f in files]
            assert names == sorted(
                f.name for f in (again / "staging" / table / partition).glob(PARQUET_GLOB)
            ), (table, partition)
            for first in files:
                second = again / "staging" / table / partition / first.name
                assert pl.read_parquet(first).equals(pl.read_parquet(second)), (table, partition)


def test_archive_keeps_every_file_by_content(demo, ingested):
    _, manifest = demo
    archive = ingested.parent / "archive"
    archived = {p.name.split(".")[0] for p in archive.rglob("*") if p.is_file()}
    log = read_table(ingested, "delivery_log")
    assert set(log["sha256"]) == archived
    assert log.height == len(manifest["files"])


# -- hand-written files for each tolerated variation ------------------------------------------


def _landing_with(tmp_path: Path, *files: tuple[str, bytes]) -> Path:
    landing = tmp_path / "landing"
    folder = landing / "TIS"
    folder.mkdir(parents=True)
    register = FIXTURES / "skoleni_20250901-20251219.csv"
    stamp = datetime(2025, 10, 9, 20, tzinfo=UTC).timestamp()
    for name, data in [(register.name, register.read_bytes()), *files]:
        (folder / name).write_bytes(data)
        os.utime(folder / name, (stamp, stamp))
        stamp += 60
    return landing


def _staged_absences(landing: Path, tmp_path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    report = stage_partition("TIS", landing, tmp_path / "archive", tmp_path / "staging", KEY)
    assert report.quarantine.is_empty(), report.quarantine
    assert report.findings == []
    columns = ["pupil_key", "class_label", "date", "lesson", "subject", "mark"]
    absences = read_table(tmp_path / "staging", "absences")
    return absences.select(columns).sort("date", "lesson"), report.log


def _title_row_workbook(tmp_path: Path) -> bytes:
    """The same register and absences as dialect M: title rows, real and text dates."""
    workbook = openpyxl.Workbook()
    register = workbook.active
    register.title = "Skolēni"
    register.append(["2025./2026. mācību gads · 1.sem. · 01.09.2025.–19.12.2025."])
    register.append(list(contract.SHEETS["Skolēni"].sheet_columns))
    lines = (FIXTURES / "skoleni_20250901-20251219.csv").read_text(encoding="utf-8").splitlines()
    for line in lines[2:]:
        code, first, last, born, sex, klase, programme, admitted, _, _, repeating = line.split(";")
        day, month, year = (int(x) for x in born.split("."))
        register.append(
            [f"{first} {last}", code, date(year, month, day), sex, klase, programme, admitted,
             None, None, repeating or None]
        )  # fmt: skip
    absences = workbook.create_sheet("Kavējumi")
    absences.append(["2025./2026. mācību gads · 1.sem. · 01.10.2025.–31.10.2025."])
    absences.append(list(contract.SHEETS["Kavējumi"].sheet_columns))
    reasons = {"n": "Neattaisnots", "ns": "Slimība", "nc": "Cits attaisnots", "nk": "Nokavēšanās"}
    baseline = (FIXTURES / "kavejumi_utf8_20251006-20251008.csv").read_text(encoding="utf-8")
    for line in baseline.splitlines()[1:]:
        code, klase, day_text, lesson, subject, mark = line.split(";")
        day, month, year = (int(x) for x in day_text.split("."))
        absences.append(
            [
                "Vārds Uzvārds",
                code,
                klase,
                date(year, month, day),
                int(lesson),
                subject,
                reasons[mark],
            ]
        )
    path = tmp_path / "m.xlsx"
    workbook.save(path)
    return path.read_bytes()


@pytest.mark.parametrize(
    ("variant", "notes"),
    [
        ("kavejumi_windows1257_crlf.csv", ["Windows-1257 encoding", "CRLF line endings"]),
        ("kavejumi_bom_trailing_dot_no_final_newline.csv", ["UTF-8 with BOM", "no newline"]),
        ("kavejumi_iso_title_row.csv", ["title row", "trailing empty line"]),
        ("kavejumi_shuffled_columns.csv", ["another order", "case or spacing", "Piezīmes"]),
    ],
)
def test_each_tolerated_variation_reads_like_the_plain_file(tmp_path, variant, notes):
    plain = FIXTURES / "kavejumi_utf8_20251006-20251008.csv"
    expected, _ = _staged_absences(
        _landing_with(tmp_path / "a", (plain.name, plain.read_bytes())), tmp_path / "a"
    )
    landing = _landing_with(tmp_path / "b", (variant, (FIXTURES / variant).read_bytes()))
    staged, log = _staged_absences(landing, tmp_path / "b")
    assert staged.equals(expected)
    assert expected.height == 5
    logged = log.filter(pl.col("file") == f"TIS/{variant}").row(0, named=True)
    assert logged["status"] == "loaded" and logged["rows_loaded"] == 5
    for note in notes:
        assert note in logged["tolerated"], (note, logged["tolerated"])


def test_title_row_workbook_reads_like_the_csv_files(tmp_path):
    plain = FIXTURES / "kavejumi_utf8_20251006-20251008.csv"
    expected, _ = _staged_absences(
        _landing_with(tmp_path / "a", (plain.name, plain.read_bytes())), tmp_path / "a"
    )
    landing = tmp_path / "b" / "landing"
    (landing / "TIS").mkdir(parents=True)
    (landing / "TIS" / "eksports.xlsx").write_bytes(_title_row_workbook(tmp_path))
    staged, log = _staged_absences(landing, tmp_path / "b")
    assert log["period_source"].to_list() == ["title row"]
    assert log["period_start"].to_list() == [date(2025, 9, 1)]
    assert staged.drop("mark").equals(expected.drop("mark"))
    assert staged["mark"].to_list() == ["unjustified", "unjustified", "ns", "nk", "nc"]


def test_a_corrected_delivery_replaces_exactly_its_period(tmp_path):
    header = "Personas kods;Klase;Datums;Stunda;Priekšmets;Atzīme"
    plain = (FIXTURES / "kavejumi_utf8_20251006-20251008.csv").read_text(encoding="utf-8")
    rows = plain.splitlines()[1:]
    corrected = [header, rows[2].replace(";ns", ";nc"), rows[3]]
    landing = _landing_with(
        tmp_path,
        ("kavejumi_20251006-20251008.csv", plain.encode()),
        ("kavejumi_20251007-20251007_labots.csv", ("\n".join(corrected) + "\n").encode()),
    )
    staged, log = _staged_absences(landing, tmp_path)
    by_day = staged.group_by("date").agg(pl.col("mark").sort()).sort("date")
    assert by_day.rows() == [
        (date(2025, 10, 6), ["n", "n"]),
        (date(2025, 10, 7), ["nc", "nk"]),
        (date(2025, 10, 8), ["nc"]),
    ]
    original = log.filter(pl.col("file").str.contains("20251006-20251008")).row(0, named=True)
    assert original["status"] == "loaded"
    assert original["rows_superseded"] == 2
    assert original["superseded_by"] == "TIS/kavejumi_20251007-20251007_labots.csv"


def test_a_period_before_a_school_existed_is_rejected(tmp_path):
    """MRV exists from 01.07.2026: a file for 2025/26 S1 in its folder is refused whole."""
    landing = tmp_path / "landing"
    (landing / "MRV").mkdir(parents=True)
    plain = FIXTURES / "kavejumi_utf8_20251006-20251008.csv"
    shutil.copy(plain, landing / "MRV" / plain.name)
    report = stage_partition("MRV", landing, tmp_path / "archive", tmp_path / "staging", KEY)
    (row,) = report.log.select("status", "reason", "kind").rows()
    assert row[0] == "rejected"
    assert row[1].startswith("period_outside_school_validity: 06.10.2025–08.10.2025")
    assert "01.07.2026–today" in row[1]
    assert row[2] == "kavejumi"
    again = stage_partition("MRV", landing, tmp_path / "archive", tmp_path / "staging", KEY)
    assert again.files_read == 0
    assert again.log.equals(report.log)


def test_staging_tables_have_the_schema_the_warehouse_reads(ingested):
    for table, kind in STAGING_TABLES.items():
        files = sorted((ingested / table).glob(f"*/{PARQUET_GLOB}"))
        assert files, table
        for path in files:
            assert dict(pl.read_parquet_schema(path)) == kind.staging, path


@pytest.mark.parametrize(
    ("programme", "special"),
    [("21011111", False), ("21015111", True), ("21015611", True), ("21015911", True),
     ("21016011", False), ("21015011", False)],
)  # fmt: skip
def test_special_education_programmes_are_digits_51_to_59(tmp_path, programme, special):
    folder = tmp_path / "landing" / "TIS"
    folder.mkdir(parents=True)
    register = (FIXTURES / "skoleni_20250901-20251219.csv").read_text(encoding="utf-8")
    (folder / "skoleni_20250901-20251219.csv").write_text(
        register.replace("21011111", programme).replace("21015611", programme), encoding="utf-8"
    )
    stage_partition("TIS", tmp_path / "landing", tmp_path / "archive", tmp_path / "staging", KEY)
    flags = read_table(tmp_path / "staging", "pupils")["special_needs_programme"]
    assert flags.to_list() == [special] * flags.len()


def test_every_tolerated_value_form_is_logged_with_its_row_count(tmp_path):
    """Random absences written with random tolerated forms: the log counts each form's rows,
    as an independent count over the written rows says (seed 14)."""
    rng = random.Random(14)
    register = (FIXTURES / "skoleni_20250901-20251219.csv").read_text(encoding="utf-8")
    codes = [line.split(";")[0] for line in register.splitlines()[2:] if line]
    days = [date(2025, 10, 6) + timedelta(days=d) for d in range(4)]  # delivered 09.10.2025
    header = "Personas kods;Klase;Priekšmets;Datums;Darba veids;Vērtējums"
    rows, expected = [], Counter()
    for lesson, day in enumerate(days * 6):
        code = rng.choice(codes[:1] + codes[2:3])
        code_form = rng.choice(["plain", "no hyphen", "spaces"])
        date_form = rng.choice(["plain", "iso", "dot"])
        value = rng.choice(["7", "85%", "72,5%", "72.5 %"])
        written_code = {"plain": code, "no hyphen": code.replace("-", ""),
                        "spaces": " " + code.replace("-", " - ") + " "}[code_form]  # fmt: skip
        written_day = {"plain": f"{day:%d.%m.%Y}", "iso": day.isoformat(),
                       "dot": f"{day:%d.%m.%Y}."}[date_form]  # fmt: skip
        subject = f"Priekšmets {lesson}"
        rows.append(f"{written_code};5.a;{subject};{written_day};Ikdienas;{value}")
        expected["personal codes without a hyphen"] += code_form == "no hyphen"
        expected["personal codes with spaces"] += code_form == "spaces"
        expected["ISO dates"] += date_form == "iso"
        expected["dates with a trailing dot"] += date_form == "dot"
        expected["decimal commas"] += "," in value
        expected["percent with a space before %"] += value.endswith(" %")
        expected["percent without a space before %"] += value[-1] == "%" and value[-2] != " "
    text = "\n".join([header, *rows]) + "\n"
    landing = _landing_with(tmp_path, ("vertejumi_20251006-20251017.csv", text.encode()))
    report = stage_partition("TIS", landing, tmp_path / "archive", tmp_path / "staging", KEY)
    assert report.quarantine.is_empty(), report.quarantine
    logged = report.log.filter(pl.col("file").str.contains("vertejumi"))["tolerated"][0]
    found = dict(re.findall(r"([^;(]+?) \((\d+) rows\)", logged))
    assert {k.strip(): int(v) for k, v in found.items()} == {k: v for k, v in expected.items() if v}


def test_staging_holds_every_row_the_generator_delivered_less_the_rows_it_broke(demo, ingested):
    """The generator as oracle: per school, kind and month, the staged absences and grades are
    the clean rows the generator delivered, less the rows its defects broke (each of those is
    in the quarantine: `test_every_quarantine_defect_is_quarantined_with_its_check`)."""
    _, manifest = demo
    kinds = {
        **{f["file"]: f["kinds"][0] for f in manifest["files"] if f["kinds"]},
        **{name: kind.name for name, kind in contract.SHEETS.items()},
    }
    broken = (
        pl.DataFrame(manifest["defects"], infer_schema_length=None)
        .filter((pl.col("category") == "quarantine") & pl.col("row_date").is_not_null())
        .with_columns(
            school_id=pl.col("file").str.split("/").list.first(),
            kind=pl.coalesce(pl.col("sheet"), pl.col("file")).replace_strict(kinds),
            month=pl.col("row_date").str.slice(0, 7),
            # a conflicting duplicate breaks one delivered row into two quarantined ones
            lost=pl.when(pl.col("defect") == "conflicting_duplicate").then(0.5).otherwise(1.0),
        )
        .group_by("school_id", "kind", "month")
        .agg(pl.col("lost").sum())
    )
    expected = (
        pl.DataFrame(manifest["delivered_rows"])
        .join(broken, on=["school_id", "kind", "month"], how="left")
        .select("school_id", "kind", "month", rows=pl.col("rows") - pl.col("lost").fill_null(0))
    )
    staged = pl.concat(
        read_table(ingested, table)
        .group_by("school_id", month=pl.col("date").dt.strftime("%Y-%m"))
        .len("staged")
        .with_columns(kind=pl.lit(kind))
        for kind, table in (("kavejumi", "absences"), ("vertejumi", "grades"))
    )
    compared = expected.join(staged, on=["school_id", "kind", "month"], how="full", coalesce=True)
    different = compared.filter(pl.col("rows").fill_null(0) != pl.col("staged").fill_null(0))
    assert different.is_empty(), different.sort("school_id", "kind", "month").rows()
