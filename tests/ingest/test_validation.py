"""One case per quarantine reason id: a good row loads, the same row with one value broken is
quarantined with that reason, and every reason id of `REASONS` has a case. A table is checked
as ingest checks it: its own checks (`check`), then those against other files
(`check_partition`)."""

import random
from dataclasses import dataclass
from datetime import date

import polars as pl
import pytest

from pipelines.ingest.partition import PartitionIngest
from pipelines.ingest.validation import (
    ABSENCE_MARKS,
    ALLOWED,
    GRADE_TYPES,
    GROUP_ACTIVITIES,
    MODELS,
    NOTE_REASONS,
    REASONS,
    SUPPORT_ACTIVITIES,
    check,
    check_partition,
)
from pipelines.privacy.personal_code import old_form
from pipelines.privacy.pseudonym import pupil_key
from pipelines.reference.calendar import school_calendar

KEY = b"test-key"
PUPIL = old_form(date(2014, 3, 9), 123)  # in grade 5 in 2025/26: 11 years old
STRANGER = old_form(date(2014, 5, 2), 456)  # valid, but on no register
RECEIVED = date(2025, 10, 20)
GOOD: dict[str, dict[str, str]] = {
    "skoleni": {
        "Personas kods": PUPIL, "Vārds": "Anna", "Uzvārds": "Ozola",
        "Dzimšanas datums": "09.03.2014", "Dzimums": "S", "Klase": "5.a",
        "Izglītības programma": "21011111", "Uzņemšanas datums": "01.09.2025",
        "Atskaitīšanas datums": "", "Atskaitīšanas iemesls": "", "Atkārtoti mācās": "Nē",
    },
    "kavejumi": {
        "Personas kods": PUPIL, "Klase": "5.a", "Datums": "06.10.2025", "Stunda": "2",
        "Priekšmets": "Matemātika", "Atzīme": "n",
    },
    "vertejumi": {
        "Personas kods": PUPIL, "Klase": "5.a", "Priekšmets": "Matemātika",
        "Datums": "06.10.2025", "Darba veids": "Ikdienas", "Vērtējums": "7",
    },
    "zimes": {
        "Personas kods": PUPIL, "No": "06.10.2025", "Līdz": "07.10.2025",
        "Iemesls": "slimība", "Iesniegts": "08.10.2025",
    },
    "atbalsts": {
        "Personas kods": PUPIL, "Skola": "OCP", "Aktivitāte": "KONS",
        "Sākuma datums": "12.01.2026", "Beigu datums": "", "Stundas": "4,5",
        "Atbalsta sniedzējs": "psihologs", "IAP": "Nē",
    },
    "aktivitates": {
        "Skola": "OCP", "Aktivitāte": "INIC", "Nosaukums": "Skolas dārzs",
        "Datums": "06.10.2025", "Skolēni": "12", "Vecāki": "3", "Pedagogi": "2",
    },
}  # fmt: skip


@dataclass(frozen=True)
class Case:
    """The kind, the cell broken and its value, the day the file came; a conflicting
    duplicate is the good row and the broken one together."""

    kind: str
    column: str
    value: str
    received: date = RECEIVED
    duplicate: bool = False


CASES: dict[str, Case] = {
    "code_format": Case("kavejumi", "Personas kods", "12345-6789"),
    "code_birth_date": Case("kavejumi", "Personas kods", "310214-20005"),
    "code_check_digit": Case("kavejumi", "Personas kods", PUPIL[:-1] + str((int(PUPIL[-1]) + 1) % 10)),
    "date_unparseable": Case("vertejumi", "Datums", "31.02.2026"),
    "date_future": Case("kavejumi", "Datums", "21.10.2025"),
    "date_outside_school_year": Case("vertejumi", "Datums", "15.07.2025"),
    "absence_on_day_without_lessons": Case("kavejumi", "Datums", "04.10.2025"),
    "grade_out_of_scale": Case("vertejumi", "Vērtējums", "S"),
    "class_unknown": Case("kavejumi", "Klase", "5.z"),
    "pupil_not_in_register": Case("vertejumi", "Personas kods", STRANGER),
    "support_outside_target_group": Case("atbalsts", "Aktivitāte", "MENT", date(2026, 2, 1)),
    "pupil_in_no_register": Case("atbalsts", "Personas kods", STRANGER, date(2026, 2, 1)),
    "unknown_school": Case("aktivitates", "Skola", "Rīgas Valsts 1. ģimnāzija"),
    "conflicting_duplicate": Case("kavejumi", "Atzīme", "ns", duplicate=True),
    "value_not_allowed": Case("zimes", "Iemesls", "atvaļinājums"),
    "missing_value": Case("skoleni", "Personas kods", ""),
}  # fmt: skip


@dataclass
class Result:
    valid: pl.DataFrame
    quarantine: pl.DataFrame


def validate(kind: str, rows: pl.DataFrame, received: date, known: pl.DataFrame | None = None):
    """A table of a school (OCP) whose register holds PUPIL in 5.a, checked; the municipality
    knows the `known` register rows of every school (by default PUPIL's)."""
    known = pupils(pupil_key(KEY, PUPIL)) if known is None else known
    ingest = PartitionIngest("OCP", None, None, school_calendar(), KEY, known)
    register = pl.DataFrame(
        {"pupil_key": [pupil_key(KEY, PUPIL)], "admitted": [date(2025, 9, 1)]},
    ).with_columns(left=pl.lit(None, pl.Date), class_label=pl.lit("5.a"))
    checked = check(kind, [rows], [ingest.context(received)])
    found = check_partition(kind, checked.facts, ingest.facts(register))
    quarantine = pl.concat([checked.quarantine, found]).sort("row", "check", "column")
    valid = checked.valid.filter(~pl.col("row").is_in(found["row"].implode()))
    return Result(valid, quarantine.drop("table"))


def pupils(
    key: str, *snapshots: tuple[int, date, date], born: tuple[int, int] = (2014, 3)
) -> pl.DataFrame:
    """Register rows of one pupil: (grade, period start, period end) per snapshot."""
    snapshots = snapshots or ((5, date(2025, 9, 1), date(2026, 6, 30)),)
    return pl.DataFrame(
        [
            {"pupil_key": key, "grade": grade, "birth_year": born[0], "birth_month": born[1],
             "admitted": date(2021, 9, 1), "left": None, "repeating": False,
             "period_start": first, "period_end": last}
            for grade, first, last in snapshots
        ],
        schema_overrides={"birth_year": pl.Int32, "birth_month": pl.Int8, "left": pl.Date},
    )  # fmt: skip


def raw(rows: list[dict[str, str]]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String))
    frame = frame.with_columns(pl.when(pl.all() != "").then(pl.all()))
    return frame.with_row_index("row", offset=2).cast({"row": pl.Int64})


def test_every_reason_has_a_case():
    assert set(CASES) == set(REASONS)


@pytest.mark.parametrize("kind", list(GOOD))
def test_the_good_row_of_each_kind_loads(kind):
    received = CASES["support_outside_target_group"].received if kind == "atbalsts" else RECEIVED
    result = validate(kind, raw([GOOD[kind]]), received)
    assert result.quarantine.is_empty(), result.quarantine.to_dicts()
    assert result.valid.height == 1


@pytest.mark.parametrize("reason", list(CASES))
def test_a_broken_value_is_quarantined_with_its_reason(reason):
    case = CASES[reason]
    good = GOOD[case.kind]
    broken = {**good, case.column: case.value}
    rows = [good, broken] if case.duplicate else [broken]
    result = validate(case.kind, raw(rows), case.received)
    quarantined = result.quarantine.filter(pl.col("check") == reason)
    assert quarantined.height >= 1, result.quarantine.to_dicts()
    assert quarantined["column"].to_list()[0] == case.column
    assert {r.split("; allowed: ")[0] for r in quarantined["reason_en"]} == {REASONS[reason][1]}
    assert result.valid.is_empty()


@pytest.mark.parametrize("kind", [kind for kind, row in GOOD.items() if "Personas kods" in row])
def test_a_code_in_digits_other_than_0_to_9_is_quarantined_as_a_format_problem(kind):
    # fullwidth digits, as an East Asian input method types them: digits to Python's int(),
    # not to the contract (a key made of them once raised UnicodeEncodeError and stopped ingest)
    written = PUPIL.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})
    received = CASES["support_outside_target_group"].received if kind == "atbalsts" else RECEIVED
    result = validate(kind, raw([{**GOOD[kind], "Personas kods": written}]), received)
    assert result.valid.is_empty()
    assert "code_format" in result.quarantine["check"].to_list(), result.quarantine.to_dicts()


def _value_checks(model) -> set[str | None]:
    """The fields of a model with a `value_not_allowed` check (None: a check of the whole row)."""
    schema = model.to_schema()
    fields = {
        name
        for name, column in schema.columns.items()
        for c in column.checks
        if c.name == "value_not_allowed"
    }
    return fields | ({None} if any(c.name == "value_not_allowed" for c in schema.checks) else set())


@pytest.mark.parametrize("kind", list(MODELS))
def test_every_value_check_says_what_is_allowed(kind):
    assert set(ALLOWED.get(kind, {})) == _value_checks(MODELS[kind])


LISTED = {
    ("zimes", "Iemesls"): NOTE_REASONS,
    ("kavejumi", "Atzīme"): set(ABSENCE_MARKS),
    ("vertejumi", "Darba veids"): GRADE_TYPES,
    ("atbalsts", "Aktivitāte"): SUPPORT_ACTIVITIES,
    ("aktivitates", "Aktivitāte"): GROUP_ACTIVITIES,
}


@pytest.mark.parametrize("seed", range(5))
def test_a_value_not_allowed_is_quarantined_naming_every_allowed_value(seed):
    """A random value outside a listed field's values: the reason, in both languages, names
    every value the contract allows there, and the value given is not among them."""
    rng = random.Random(seed)
    kind, column = rng.choice(sorted(LISTED))
    value = "".join(rng.choice("xyzqw") for _ in range(6))
    result = validate(kind, raw([{**GOOD[kind], column: value}]), RECEIVED)
    quarantined = result.quarantine.filter(pl.col("check") == "value_not_allowed")
    assert quarantined.height == 1
    english, latvian = quarantined["reason_en"][0], quarantined["reason_lv"][0]
    listed_en = english.split("; allowed: ")[1].split(", ")
    listed_lv = latvian.split("; atļauts: ")[1].split(", ")
    assert sorted(listed_en) == sorted(listed_lv) == sorted(LISTED[(kind, column)])
    assert value not in listed_en


AFTER_ONLY = ((5, date(2026, 3, 2), date(2026, 3, 2)),)
TARGET_GROUP_CASES = {
    "the only snapshot starts after the support date, grade fits": ("KONS", AFTER_ONLY, (2014, 3), None),
    "the only snapshot starts after the support date, grade does not fit": (
        "LAS", AFTER_ONLY, (2014, 3), "support_outside_target_group",
    ),
    "a mentee of 11, too young for MENT": ("MENT", (), (2014, 3), "support_outside_target_group"),
    "a mentee of 13 years and 11 months": ("MENT", ((8, date(2025, 9, 1), date(2025, 12, 19)),), (2012, 2), None),
    "the nearest snapshot, before the start, decides": (
        "LAS",
        ((3, date(2025, 9, 1), date(2025, 12, 19)), (4, date(2026, 9, 1), date(2026, 12, 18))),
        (2017, 5),
        None,
    ),
    "the nearest snapshot, after the start, decides": (
        "LAS",
        ((3, date(2025, 9, 1), date(2025, 9, 30)), (4, date(2026, 1, 20), date(2026, 1, 20))),
        (2016, 5),
        "support_outside_target_group",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(TARGET_GROUP_CASES))
def test_the_target_group_is_judged_from_every_register(case):
    activity, snapshots, born, expected = TARGET_GROUP_CASES[case]
    known = pupils(pupil_key(KEY, PUPIL), *snapshots, born=born)
    row = {**GOOD["atbalsts"], "Aktivitāte": activity}
    result = validate("atbalsts", raw([row]), date(2026, 2, 1), known)
    assert result.quarantine["check"].to_list() == ([expected] if expected else [])
    assert result.valid.height == (0 if expected else 1)


def test_a_pupil_no_register_knows_never_passes_by_default():
    row = {**GOOD["atbalsts"], "Aktivitāte": "KONS"}
    nobody = pupils(pupil_key(KEY, PUPIL)).clear()
    result = validate("atbalsts", raw([row]), date(2026, 2, 1), nobody)
    assert result.quarantine["check"].to_list() == ["pupil_in_no_register"]
    assert result.valid.is_empty()
