"""Delivery sequences: a delivery replaces only what its rows prove, a delivery that loads
nothing replaces nothing, a delivery that would remove most of the rows in force is held
until released, and the rows in force are what the contract says after any sequence."""

import json
import os
import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from pipelines.cli import main
from pipelines.demo.files import Sheet, xlsx_bytes
from pipelines.ingest.contract import KINDS
from pipelines.ingest.partition import stage_partition, stage_partitions
from pipelines.ingest.readers import period_in_name
from pipelines.ingest.staging import read_table
from pipelines.privacy.pseudonym import KEY_VARIABLE, PseudonymKey, pupil_key
from pipelines.reference.calendar import school_calendar

FIXTURES = Path(__file__).parents[1] / "fixtures" / "tolerated"
KEY = b"test-key"
SCHOOL = "TIS"
REGISTER = (FIXTURES / "skoleni_20250901-20251219.csv").read_text(encoding="utf-8")
FIFTH_GRADERS = [line.split(";")[0] for line in REGISTER.splitlines()[2:] if ";5.a;" in line]
HEADER = ";".join(KINDS["kavejumi"].columns)
SCHOOL_DAYS = school_calendar().school_days(date(2025, 9, 1), date(2025, 12, 19), 5)


@dataclass(frozen=True)
class Absence:
    code: str
    day: date
    lesson: int
    mark: str = "n"

    def line(self, bad_code: bool = False) -> str:
        code = "12345-6789" if bad_code else self.code
        return f"{code};5.a;{self.day:%d.%m.%Y};{self.lesson};Matemātika;{self.mark}"


def deliver(landing: Path, name: str, data: bytes, moment: datetime) -> None:
    path = landing / SCHOOL / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (moment.timestamp(), moment.timestamp()))


def csv(absences: list[Absence], bad_codes: bool = False) -> bytes:
    return ("\n".join([HEADER, *(a.line(bad_codes) for a in absences)]) + "\n").encode()


def evening(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 18, tzinfo=UTC)


def staged(tmp_path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Stage the school from its landing folder: absences in force, and the delivery log."""
    report = stage_partition(
        SCHOOL, tmp_path / "landing", tmp_path / "archive", tmp_path / "staging", KEY
    )
    log = report.log
    reconciles = (
        log["rows_read"] == log["rows_loaded"] + log["rows_quarantined"] + log["rows_duplicate"]
    )
    assert reconciles.all(), log
    absences = read_table(tmp_path / "staging", "absences")
    absences = pl.DataFrame() if absences is None else absences
    return absences, log


def with_register(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    deliver(landing, "skoleni_20250901-20251219.csv", REGISTER.encode(), evening(date(2025, 9, 5)))
    return landing


# -- a school whose nightly workbooks carry no period -----------------------------------------


def workbook(register: bool, absences: list[Absence], title: str | None) -> bytes:
    """A dialect-M workbook: the register sheet (no row dates) and the absences sheet."""
    sheets = []
    if register:
        rows = []
        for line in REGISTER.splitlines()[2:]:
            code, first, last, born, sex, klase, programme, admitted, _, _, repeating = line.split(
                ";"
            )
            rows.append(
                [f"{first} {last}", code, born, sex, klase, programme, admitted, None, None,
                 repeating or None]
            )  # fmt: skip
        sheets.append(Sheet("Skolēni", title, list(KINDS["skoleni"].sheet_columns), rows))
    reasons = {"n": "Neattaisnots", "ns": "Slimība"}
    rows = [
        ["Vārds Uzvārds", a.code, "5.a", f"{a.day:%d.%m.%Y}", a.lesson, "Matemātika",
         reasons[a.mark]]
        for a in absences
    ]  # fmt: skip
    sheets.append(Sheet("Kavējumi", title, list(KINDS["kavejumi"].sheet_columns), rows))
    return xlsx_bytes(sheets)


def test_nightly_workbooks_without_a_period_add_their_days_and_lose_nothing(tmp_path):
    landing = tmp_path / "landing"
    term = [d for d in SCHOOL_DAYS if d <= date(2025, 10, 31)]
    semester = [Absence(FIFTH_GRADERS[0], day, 1 + i % 3) for i, day in enumerate(term)]
    title = "2025./2026. mācību gads · 1.sem. · 01.09.2025.–31.10.2025."
    deliver(landing, "eksports_20251031.xlsx", workbook(True, semester, title), evening(term[-1]))
    nights = [d for d in SCHOOL_DAYS if d > date(2025, 10, 31)][:5]
    nightly = {day: [Absence(FIFTH_GRADERS[1], day, 2), Absence(FIFTH_GRADERS[0], day, 4)]
               for day in nights}  # fmt: skip
    for day, rows in nightly.items():
        deliver(landing, f"eksports_{day:%Y%m%d}.xlsx", workbook(True, rows, None), evening(day))

    absences, log = staged(tmp_path)

    expected = len(semester) + sum(len(rows) for rows in nightly.values())
    assert absences.height == expected
    assert absences["date"].min() == term[0] and absences["date"].max() == nights[-1]
    assert set(log["status"]) == {"loaded"}
    for row in log.iter_rows(named=True):
        mine = absences.filter(pl.col("delivery_sha") == row["sha256"])
        if row["file"].endswith("20251031.xlsx"):
            assert (row["period_start"], row["period_end"]) == (
                date(2025, 9, 1),
                date(2025, 10, 31),
            )
        else:
            night = datetime.strptime(row["file"][-13:-5], "%Y%m%d").date()
            assert (row["period_start"], row["period_end"]) == (night, night)
            assert set(mine["date"]) == {night}
            assert row["period_source"] == "delivery day (snapshot), data"


# -- deliveries that load nothing --------------------------------------------------------------


@pytest.mark.parametrize("broken", ["dates outside the school year", "personal codes"])
def test_a_later_delivery_that_loads_nothing_replaces_nothing(tmp_path, broken):
    landing = with_register(tmp_path)
    days = SCHOOL_DAYS[20:25]
    good = [Absence(FIFTH_GRADERS[0], day, 1) for day in days]
    name = f"kavejumi_{days[0]:%Y%m%d}-{days[-1]:%Y%m%d}.csv"
    deliver(landing, name, csv(good), evening(days[-1]))
    if broken == "personal codes":
        later = csv(good, bad_codes=True)
    else:
        summer = [date(2025, 7, 14) + timedelta(days=i) for i in range(len(good))]
        later = csv([Absence(a.code, day, 1) for a, day in zip(good, summer, strict=True)])
    deliver(landing, name.replace(".csv", "_labots.csv"), later, evening(days[-1] + timedelta(3)))

    absences, log = staged(tmp_path)

    assert sorted(absences["date"].to_list()) == days
    (empty,) = log.filter(pl.col("file").str.ends_with("_labots.csv")).iter_rows(named=True)
    assert empty["status"] == "nothing_loaded"
    assert empty["rows_loaded"] == 0 and empty["rows_quarantined"] == len(good)
    assert "replaces nothing" in empty["reason"]
    (first,) = log.filter(pl.col("file").str.ends_with(name)).iter_rows(named=True)
    assert first["status"] == "loaded" and first["rows_superseded"] == 0


# -- the drop guard ----------------------------------------------------------------------------


def test_a_correction_that_removes_most_rows_is_held_until_released(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PMP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(KEY_VARIABLE, KEY.decode())
    landing = with_register(tmp_path)
    days = SCHOOL_DAYS[:40]
    term = [Absence(FIFTH_GRADERS[i % 2], day, 1 + i % 5) for i, day in enumerate(days)]
    name = f"kavejumi_{days[0]:%Y%m%d}-{days[-1]:%Y%m%d}.csv"
    deliver(landing, name, csv(term), evening(days[-1]))
    shrunk = term[:4]  # 90% fewer rows for the same period
    deliver(
        landing, name.replace(".csv", "_labots.csv"), csv(shrunk), evening(days[-1] + timedelta(2))
    )

    absences, log = staged(tmp_path)
    assert absences.height == len(term)
    (held,) = log.filter(pl.col("status") == "held").iter_rows(named=True)
    assert held["file"].endswith("_labots.csv")
    assert "would replace 40 rows in force with 4 on the same days (90% fewer)" in held["reason"]
    assert "pmp release" in held["reason"]

    again = landing / SCHOOL / "kavejumi_atkartoti.csv"  # the same bytes sent again: a duplicate
    again.write_bytes((landing / held["file"]).read_bytes())
    main(["release", held["sha256"][:16], "--reason", "the school confirmed the correction"])
    said = capsys.readouterr().out
    assert said.startswith(f"released {held['file']}: loaded, 4 rows")
    absences = read_table(tmp_path / "staging", "absences")
    assert absences.height == len(shrunk)
    (entry,) = [
        json.loads(line)
        for line in (tmp_path / "audit" / "releases.jsonl").read_text().splitlines()
    ]
    assert entry["sha256"] == held["sha256"]
    assert entry["reason"] == "the school confirmed the correction"
    with pytest.raises(SystemExit, match="is loaded, not held"):
        main(["release", held["sha256"], "--reason", "again"])


def test_a_later_delivery_replaces_a_held_one(tmp_path):
    landing = with_register(tmp_path)
    days = SCHOOL_DAYS[:20]
    term = [Absence(FIFTH_GRADERS[0], day, 1) for day in days]
    name = f"kavejumi_{days[0]:%Y%m%d}-{days[-1]:%Y%m%d}.csv"
    deliver(landing, name, csv(term), evening(days[-1]))
    held, fixed = name.replace(".csv", "_a.csv"), name.replace(".csv", "_b.csv")
    deliver(landing, held, csv(term[:2]), evening(days[-1]) + timedelta(days=1))
    again = [Absence(FIFTH_GRADERS[1], day, 2) for day in days]
    deliver(landing, fixed, csv(again), evening(days[-1]) + timedelta(days=2))

    absences, log = staged(tmp_path)

    assert set(absences["lesson"]) == {2}
    statuses = dict(log.select("file", "status").iter_rows())
    assert statuses[f"{SCHOOL}/{held}"] == "superseded"
    reason = log.filter(pl.col("file") == f"{SCHOOL}/{held}")["reason"][0]
    assert reason.startswith("held (") and f"then replaced by {SCHOOL}/{fixed}" in reason


# -- any sequence ------------------------------------------------------------------------------


def oracle(files: list[tuple[str, list[Absence], bool]]) -> set[tuple[str, date, int, str]]:
    """The rows in force by the contract, applied file by file: (name, absences, codes bad)."""
    in_force: set[tuple[str, date, int, str]] = set()
    seen: set[bytes] = set()
    for name, absences, bad in files:
        data = csv(absences, bad)
        if data in seen:  # the same bytes twice change nothing
            continue
        seen.add(data)
        if bad:  # nothing loads, so nothing is replaced
            continue
        named = period_in_name(name)
        start, end = named or (min(a.day for a in absences), max(a.day for a in absences))
        covered = {row for row in in_force if start <= row[1] <= end}
        on_those_days = [a for a in absences if a.day in {row[1] for row in covered}]
        if len(on_those_days) < 0.5 * len(covered):  # held: it would empty half of them
            continue
        in_force = (in_force - covered) | {(a.code, a.day, a.lesson, a.mark) for a in absences}
    return in_force


SEQUENCE_SEED = 1414
CHOICES = ("good", "correction", "all bad", "duplicate", "shrinking", "nightly")


def random_sequence(rng: random.Random) -> list[tuple[str, list[Absence], bool]]:
    """Good files, corrections of a period, files whose every code is bad, the same bytes
    again, a period's file shrunk to a fifth, and nightly files named without a period."""
    files: list[tuple[str, list[Absence], bool]] = []
    for index in range(rng.randint(2, 7)):
        choice = rng.choice(CHOICES if files else CHOICES[:3])
        first = rng.randrange(0, 50)
        days = SCHOOL_DAYS[first : first + rng.randint(1, 15)]
        absences = [
            Absence(rng.choice(FIFTH_GRADERS), day, lesson, rng.choice(["n", "ns"]))
            for day in days
            for lesson in rng.sample(range(1, 8), rng.randint(1, 3))
        ]
        period = f"{days[0]:%Y%m%d}-{days[-1]:%Y%m%d}"
        match choice:
            case "duplicate":
                _, absences, bad = rng.choice(files)
                files.append((f"kopija_{index}.csv", absences, bad))
            case "shrinking":
                name, previous, _ = rng.choice(files)
                files.append((f"s{index}_{name}", previous[: max(1, len(previous) // 5)], False))
            case "all bad":
                files.append((f"kavejumi_{period}_{index}.csv", absences, True))
            case "nightly":
                files.append((f"kavejumi_nakts_{index}.csv", absences, False))
            case _:
                files.append((f"kavejumi_{period}_{index}.csv", absences, False))
    return files


@pytest.mark.parametrize("sequence", range(30))
def test_any_delivery_sequence_leaves_what_the_contract_says(tmp_path, sequence):
    files = random_sequence(random.Random(SEQUENCE_SEED * 100 + sequence))
    landing = with_register(tmp_path)
    moment = evening(SCHOOL_DAYS[-1])
    for name, absences, bad in files:
        deliver(landing, name, csv(absences, bad), moment)
        moment += timedelta(hours=1)

    in_force, log = staged(tmp_path)

    by_key = {pupil_key(KEY, code): code for code in FIFTH_GRADERS}
    found = {
        (by_key[key], day, lesson, mark)
        for key, day, lesson, mark in in_force.select("pupil_key", "date", "lesson", "mark").rows()
    } if in_force.height else set()  # fmt: skip
    assert found == oracle(files), [name for name, _, _ in files]
    assert log.height == len(files) + 1


# -- found by review: each a sequence that once went wrong ------------------------------------


def register(repeating: str, rows: int | None = None) -> bytes:
    """The fixture register without its title row (no declared period), all pupils marked."""
    lines = REGISTER.splitlines()[1:]
    body = [";".join([*line.split(";")[:10], repeating]) for line in lines[1:]][:rows]
    return ("\n".join([lines[0], *body]) + "\n").encode()


def test_a_later_register_of_the_year_is_in_force_alone(tmp_path):
    landing = tmp_path / "landing"
    deliver(landing, "skoleni.csv", register("Jā"), evening(date(2025, 9, 8)))
    deliver(landing, "skoleni_labots.csv", register("Nē", rows=2), evening(date(2025, 9, 9)))
    stage_partition(SCHOOL, landing, tmp_path / "archive", tmp_path / "staging", KEY)
    pupils = read_table(tmp_path / "staging", "pupils")
    assert pupils.height == 2 and not pupils["repeating"].any()
    assert set(pupils["period_start"]) == {date(2025, 9, 9)}


def test_a_workbook_held_for_two_kinds_stays_held_until_both_are_replaced(tmp_path):
    landing = tmp_path / "landing"
    days = SCHOOL_DAYS[:40]
    title = f"{days[0]:%d.%m.%Y}.–{days[-1]:%d.%m.%Y}."
    full = [Absence(FIFTH_GRADERS[i % 2], day, 1 + i % 5) for i, day in enumerate(days)]
    deliver(landing, "w1.xlsx", workbook(True, full, title), evening(days[-1]))
    sheets = [
        Sheet("Skolēni", title, list(KINDS["skoleni"].sheet_columns),
              [["A B", FIFTH_GRADERS[0], "14.03.2015", "S", "5.a", "21011111", "01.09.2021",
                None, None, "Nē"]]),
        Sheet("Kavējumi", title, list(KINDS["kavejumi"].sheet_columns),
              [["A B", a.code, "5.a", f"{a.day:%d.%m.%Y}", a.lesson, "Matemātika",
                "Neattaisnots"] for a in full[:2]]),
    ]  # fmt: skip
    deliver(landing, "w2.xlsx", xlsx_bytes(sheets), evening(days[-1]) + timedelta(days=1))
    name = f"kavejumi_{days[0]:%Y%m%d}-{days[-1]:%Y%m%d}.csv"
    deliver(landing, name, csv(full), evening(days[-1]) + timedelta(days=2))
    _, log = staged(tmp_path)
    (w2,) = log.filter(pl.col("file") == f"{SCHOOL}/w2.xlsx").iter_rows(named=True)
    assert w2["status"] == "held"
    assert w2["reason"].startswith("skoleni ") and "kavejumi" not in w2["reason"]


def test_a_file_rejected_for_its_period_reconciles(tmp_path):
    landing = tmp_path / "landing"
    path = landing / "MRV" / "kavejumi_20250901-20251219.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(csv([Absence(FIFTH_GRADERS[0], d, 1) for d in SCHOOL_DAYS[:3]]))
    report = stage_partition("MRV", landing, tmp_path / "archive", tmp_path / "staging", KEY)
    (row,) = report.log.iter_rows(named=True)
    assert row["status"] == "rejected" and row["reason"].startswith("period_outside")
    assert row["rows_read"] == 0


def test_two_sheets_of_one_kind_in_a_workbook_do_not_replace_each_other(tmp_path):
    landing = tmp_path / "landing"
    deliver(landing, "s.csv", REGISTER.encode(), evening(date(2025, 9, 5)))
    days = SCHOOL_DAYS[10:20]
    rows = [["A B", FIFTH_GRADERS[0], "5.a", f"{d:%d.%m.%Y}", n, "Matemātika", "Neattaisnots"]
            for d in days for n in (1, 2)]  # fmt: skip
    columns = list(KINDS["kavejumi"].sheet_columns)
    sheets = [
        Sheet("Kavējumi", None, columns, rows[::2]),
        Sheet("Kavējumi ", None, columns, rows[1::2]),
    ]
    deliver(landing, "e.xlsx", xlsx_bytes(sheets), evening(days[-1]))
    absences, log = staged(tmp_path)
    assert absences.height == len(rows)
    assert log.filter(pl.col("file") == f"{SCHOOL}/e.xlsx")["rows_superseded"][0] == 0


def test_rows_outside_a_declared_period_replace_only_their_own_lessons(tmp_path):
    landing = with_register(tmp_path)
    september = [d for d in SCHOOL_DAYS if d.month == 9]
    both = [d for d in SCHOOL_DAYS if d.month in (9, 10)]
    name = f"kavejumi_{both[0]:%Y%m%d}-{both[-1]:%Y%m%d}.csv"
    deliver(landing, name, csv([Absence(FIFTH_GRADERS[0], d, 1) for d in both]), evening(both[-1]))
    narrow = f"kavejumi_{september[0]:%Y%m%d}-{september[-1]:%Y%m%d}.csv"
    again = [Absence(FIFTH_GRADERS[0], d, 1, "ns") for d in both]
    deliver(landing, narrow, csv(again), evening(both[-1]) + timedelta(days=1))
    absences, log = staged(tmp_path)
    assert absences.height == len(both) and set(absences["mark"]) == {"ns"}
    (row,) = log.filter(pl.col("file") == f"{SCHOOL}/{narrow}").iter_rows(named=True)
    assert (row["period_start"], row["period_end"]) == (september[0], september[-1])


def test_one_misdated_row_does_not_empty_a_day_another_file_delivered(tmp_path):
    """A nightly file with one row dated the day before: that lesson is corrected, the rest of
    that day stays; a file that would empty a day it does not really deliver is held."""
    landing = with_register(tmp_path)
    monday, tuesday = SCHOOL_DAYS[30], SCHOOL_DAYS[31]
    day_one = [Absence(FIFTH_GRADERS[i % 2], monday, 1 + i // 2) for i in range(12)]
    deliver(landing, f"kavejumi_{monday:%Y%m%d}-{monday:%Y%m%d}.csv", csv(day_one), evening(monday))
    named = f"kavejumi_{tuesday:%Y%m%d}-{tuesday:%Y%m%d}.csv"
    day_two = [Absence(FIFTH_GRADERS[0], tuesday, n) for n in range(1, 8)]
    deliver(landing, named, csv([*day_two, replace(day_one[0], mark="ns")]), evening(tuesday))
    unnamed = [Absence(FIFTH_GRADERS[1], SCHOOL_DAYS[32], n) for n in range(1, 8)]
    unnamed.append(Absence(FIFTH_GRADERS[0], monday, 9))
    deliver(landing, "kavejumi_nakts.csv", csv(unnamed), evening(SCHOOL_DAYS[32]))
    absences, log = staged(tmp_path)
    monday_rows = absences.filter(pl.col("date") == monday)
    assert monday_rows.height == len(day_one)
    assert monday_rows.filter(pl.col("lesson") == 1)["mark"].to_list().count("ns") == 1
    statuses = dict(log.select("file", "status").iter_rows())
    assert statuses[f"{SCHOOL}/kavejumi_nakts.csv"] == "held"


def test_support_judged_before_the_registers_came_is_judged_again_with_them(tmp_path):
    """The municipality's run came first and found no register: its support rows were
    quarantined. Staging any school re-stages the municipality after it, with the registers."""
    landing = tmp_path / "landing"
    header = ";".join(KINDS["atbalsts"].columns)
    row = f"{FIFTH_GRADERS[0]};{SCHOOL};KONS;12.01.2026;;4;psihologs;Nē"
    path = landing / "_municipality" / "atbalsts_20260112-20260130.csv"
    path.parent.mkdir(parents=True)
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    moment = datetime(2026, 2, 1, 18, tzinfo=UTC).timestamp()
    os.utime(path, (moment, moment))
    key = PseudonymKey(KEY, "a test")
    (first,) = stage_partitions(["_municipality"], landing, tmp_path / "a", tmp_path / "s", key, 1)
    assert first.quarantine["check"].to_list() == ["pupil_in_no_register"]
    deliver(landing, "skoleni_20250901-20251219.csv", REGISTER.encode(), evening(date(2025, 9, 5)))
    reports = stage_partitions([SCHOOL], landing, tmp_path / "a", tmp_path / "s", key, 1)
    assert [r.partition for r in reports] == [SCHOOL, "_municipality"]
    assert read_table(tmp_path / "s", "support").height == 1
