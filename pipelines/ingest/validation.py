"""Row validation with pandera: every check of the contract's Quarantine list, lazily.

A raw table (strings, Latvian headers) is first *prepared* (`pipelines.ingest.prepare`):
columns get English names, values are parsed, and the facts a rule needs from outside the row
are joined on. The pandera model of the kind then states the rules over those columns. Rows
that fail any check go to quarantine with the source column, a masked value and a reason in
Latvian and English; the rest go on.

A table's own checks (`MODELS`, by `check`, a batch of new tables at once) depend on nothing
but the table, the day it came, the reference data and the key, so the ingest cache keeps
their outcome. The checks against other files (`PARTITION_MODELS`: the register, every
school's pupils) run by `check_partition` on the facts each row keeps for them, over every
table of a kind in the partition at once.

Each check method is named after its quarantine check id (`REASONS`), with a `__N` suffix
where one model has several checks of one id: pandera reports inherited checks by method name.
"""

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from pipelines.ingest.contract import KINDS
from pipelines.ingest.prepare import Context, Partition, judge_codes, judged, prepare, row_facts
from pipelines.privacy import personal_code

ABSENCE_MARKS = {
    "n": "absent",
    "ns": "illness",
    "nc": "other_justified",
    "nk": "late",
    "slimība": "illness",
    "cits attaisnots": "other_justified",
    "neattaisnots": "unjustified",
    "nokavēšanās": "late",
}
NOTE_REASONS = {"slimība", "ārsta apmeklējums", "ģimenes apstākļi", "sacensības", "cits"}
GRADE_TYPES = {
    "ikdienas", "nodarbība", "mājas darbs", "patstāvīgais darbs", "pārbaudes darbs",
    "diagnosticējošais darbs", "semestra vērtējums", "gada vērtējums", "pēcpārbaudījums",
}  # fmt: skip
LEAVE_REASONS = {
    "pāriet uz citu izglītības iestādi",
    "izbraucis uz ārvalstīm",
    "pārtrauca mācības",
    "ieguva izglītību",
    "cits",
}
SUPPORT_ACTIVITIES = {"LAS", "R9", "KONS", "MENT"}
GROUP_ACTIVITIES = {"INIC", "PART", "PAS"}
STATUSES = {
    "trūcīga ģimene",
    "maznodrošināta ģimene",
    "ārpusģimenes aprūpe",
    "sociālā dienesta uzraudzība",
}
CLASS_PATTERN = r"^(1[0-2]|[1-9])\.[a-zA-Zā-žĀ-Ž]\w*$"

REASONS: dict[str, tuple[str, str]] = {
    "code_format": (
        "personas kods neatbilst formātam",
        "the personal code does not have the form DDMMYY-CNNNX or 32NNNN-NNNNN",
    ),
    "code_birth_date": (
        "personas kodā nav derīga dzimšanas datuma",
        "the personal code holds no valid birth date",
    ),
    "code_check_digit": (
        "personas koda kontrolcipars nesakrīt",
        "the personal code's check digit is wrong",
    ),
    "date_unparseable": ("datumu nevar nolasīt", "the date cannot be read"),
    "date_future": (
        "datums ir vēlāks par faila saņemšanas dienu",
        "the date is later than the day the file was received",
    ),
    "date_outside_school_year": (
        "datums ir ārpus mācību gada",
        "the date lies outside the school year",
    ),
    "absence_on_day_without_lessons": (
        "kavējums dienā, kad nav mācību stundu (brīvdiena, svētki, brīvlaiks)",
        "an absence on a day without lessons (weekend, holiday, break)",
    ),
    "grade_out_of_scale": (
        "vērtējums neatbilst klases vērtēšanas skalai",
        "the grade is not on the scale of the pupil's grade level",
    ),
    "class_unknown": ("skolā nav šādas klases", "the class does not exist at the school"),
    "pupil_not_in_register": (
        "skolēns šajā datumā nav skolas skolēnu sarakstā",
        "the pupil is not in the school's register on that date",
    ),
    "support_outside_target_group": (
        "atbalsta aktivitāte neatbilst mērķa grupai",
        "the support activity is outside its target group",
    ),
    "pupil_in_no_register": (
        "skolēns nav neviena skolas skolēnu sarakstā",
        "the pupil is in no school's register, so the target group cannot be judged",
    ),
    "unknown_school": ("nezināma skola", "the school is not in the reference list"),
    "conflicting_duplicate": (
        "dublēts ieraksts ar atšķirīgām vērtībām",
        "a duplicate of another row with different values",
    ),
    "value_not_allowed": ("vērtība nav atļauta", "the value is not one the contract allows"),
    "missing_value": ("trūkst obligātas vērtības", "a required value is missing"),
}


def _one_of(values: set[str] | dict[str, str]) -> tuple[str, str]:
    listed = ", ".join(sorted(values))
    return listed, listed


YES_NO = ("jā vai nē", "jā or nē")
# What each `value_not_allowed` check allows, by kind and model column (None: a check of the
# whole row), in Latvian and English: the quarantine's reason says it after the reason.
ALLOWED: dict[str, dict[str | None, tuple[str, str]]] = {
    "skoleni": {
        "sex": ("V vai S", "V or S"),
        "programme": ("8 ciparu izglītības programmas kods", "an 8-digit programme code"),
        "leave_reason": _one_of(LEAVE_REASONS),
        "repeating_text": YES_NO,
    },
    "kavejumi": {
        "lesson_text": ("stundas numurs no 0 līdz 10", "a lesson number from 0 to 10"),
        "mark": _one_of(ABSENCE_MARKS),
    },
    "vertejumi": {"grade_type": _one_of(GRADE_TYPES)},
    "zimes": {
        "to_text": ("datums, ne agrāks par datumu laukā No", "a date not before the one in No"),
        "reason": _one_of(NOTE_REASONS),
    },
    "slodze": {"lessons_text": ("stundu skaits nedēļā no 1 līdz 45", "1 to 45 lessons a week")},
    "atbalsts": {
        "activity": _one_of(SUPPORT_ACTIVITIES),
        "hours_text": ("stundu skaits, 0 vai vairāk", "a number of hours, 0 or more"),
        "iap_text": YES_NO,
    },
    "aktivitates": {
        "activity": _one_of(GROUP_ACTIVITIES),
        None: (
            "skolēnu, vecāku un pedagogu skaits, katrs 0 vai vairāk",
            "the numbers of pupils, parents and teachers, each 0 or more",
        ),
    },
    "socialais_statuss": {"status": _one_of(STATUSES)},
}


def reason(kind: str, field: str | None, check_id: str) -> tuple[str, str]:
    """The quarantine reason of a failed check, in Latvian and English; for `value_not_allowed`
    with the values the contract allows in that field."""
    latvian, english = REASONS[check_id]
    if check_id != "value_not_allowed":
        return latvian, english
    allowed_lv, allowed_en = ALLOWED[kind][field]
    return f"{latvian}; atļauts: {allowed_lv}", f"{english}; allowed: {allowed_en}"


def _holds(data, expr: pl.Expr) -> pl.LazyFrame:
    return data.lazyframe.select(expr)


def _parsed_or_empty(data, parsed: str) -> pl.LazyFrame:
    """A date column that is empty, or parses."""
    return _holds(data, pl.col(data.key).is_null() | pl.col(parsed).is_not_null())


class Rows(pa.DataFrameModel):
    """Checks every kind shares: conflicting duplicates."""

    row: int

    @pa.dataframe_check(name="conflicting_duplicate")
    def conflicting_duplicate(cls, data):
        return _holds(data, ~pl.col("conflict"))

    class Config:
        strict = False
        coerce = False


class CodedRows(Rows):
    """Rows that name a pupil by personal code."""

    code: str = pa.Field(nullable=True)

    @pa.check("code", name="missing_value")
    def missing_value(cls, data):
        return _holds(data, pl.col("code").is_not_null())

    @pa.check("code", name="code_format")
    def code_format(cls, data):
        return _holds(data, pl.col("code_problem").fill_null("") != "format")

    @pa.check("code", name="code_birth_date")
    def code_birth_date(cls, data):
        return _holds(data, pl.col("code_problem").fill_null("") != "birth_date")

    @pa.check("code", name="code_check_digit")
    def code_check_digit(cls, data):
        return _holds(data, pl.col("code_problem").fill_null("") != "check_digit")


class DatedEvents(CodedRows):
    """Absences and grades: a dated event of a pupil in a class (the register checks are
    `RegisterChecks`)."""

    date_text: str = pa.Field(nullable=True)
    class_label: str = pa.Field(nullable=True)

    @pa.check("date_text", name="date_unparseable")
    def date_unparseable(cls, data):
        return _holds(data, pl.col("date").is_not_null())

    @pa.check("date_text", name="date_future")
    def date_future(cls, data):
        return _holds(data, pl.col("date").is_null() | (pl.col("date") <= pl.col("received")))

    @pa.check("date_text", name="date_outside_school_year")
    def date_outside_school_year(cls, data):
        return _holds(data, pl.col("date").is_null() | pl.col("in_school_year"))


class Pupils(CodedRows):
    """Pupil register (skoleni, Skolēni)."""

    birth_date_text: str = pa.Field(nullable=True)
    admitted_text: str = pa.Field(nullable=True)
    left_text: str = pa.Field(nullable=True)
    sex: str = pa.Field(nullable=True)
    class_label: str = pa.Field(nullable=True)
    programme: str = pa.Field(nullable=True)
    leave_reason: str = pa.Field(nullable=True)
    repeating_text: str = pa.Field(nullable=True)

    @pa.check("birth_date_text", name="date_unparseable")
    def date_unparseable(cls, data):
        return _holds(data, pl.col("birth_date").is_not_null())

    @pa.check("admitted_text", name="date_unparseable")
    def date_unparseable__1(cls, data):
        return _holds(data, pl.col("admitted").is_not_null())

    @pa.check("left_text", name="date_unparseable")
    def date_unparseable__2(cls, data):
        return _parsed_or_empty(data, "left")

    @pa.check("sex", name="value_not_allowed")
    def value_not_allowed(cls, data):
        return _holds(data, pl.col("sex").str.strip_chars().is_in(["V", "S"]))

    @pa.check("class_label", name="class_unknown")
    def class_unknown(cls, data):
        return _holds(
            data, pl.col("class_label").str.contains(CLASS_PATTERN) & pl.col("class_in_school")
        )

    @pa.check("programme", name="value_not_allowed")
    def value_not_allowed__1(cls, data):
        return _holds(data, pl.col("programme").str.strip_chars().str.contains(r"^\d{8}$"))

    @pa.check("leave_reason", name="value_not_allowed")
    def value_not_allowed__2(cls, data):
        reason = pl.col("leave_reason").str.strip_chars().str.to_lowercase()
        return _holds(data, reason.is_null() | reason.is_in(LEAVE_REASONS))

    @pa.check("repeating_text", name="value_not_allowed")
    def value_not_allowed__3(cls, data):
        return _holds(data, pl.col("repeating").is_null() | pl.col("repeating").is_in(["jā", "nē"]))


class Absences(DatedEvents):
    """Lesson absences (kavejumi, Kavējumi)."""

    lesson_text: str = pa.Field(nullable=True)
    mark: str = pa.Field(nullable=True)

    @pa.check("date_text", name="absence_on_day_without_lessons")
    def absence_on_day_without_lessons(cls, data):
        unjudged = pl.col("date").is_null() | pl.col("grade").is_null() | ~pl.col("in_school_year")
        return _holds(data, unjudged | pl.col("lesson_day"))

    @pa.check("lesson_text", name="value_not_allowed")
    def value_not_allowed(cls, data):
        return _holds(data, pl.col("lesson").is_between(0, 10).fill_null(False))

    @pa.check("mark", name="value_not_allowed")
    def value_not_allowed__1(cls, data):
        return _holds(data, pl.col("absence").is_in(list(ABSENCE_MARKS)).fill_null(False))


class Grades(DatedEvents):
    """Grades (vertejumi, Vērtējumi)."""

    grade_type: str = pa.Field(nullable=True)
    value: str = pa.Field(nullable=True)

    @pa.check("grade_type", name="value_not_allowed")
    def value_not_allowed(cls, data):
        kind = pl.col("grade_type").str.strip_chars().str.to_lowercase()
        return _holds(data, kind.is_in(GRADE_TYPES).fill_null(False))

    @pa.check("value", name="grade_out_of_scale")
    def grade_out_of_scale(cls, data):
        kind, grade = pl.col("value_kind"), pl.col("grade")
        always = kind.is_in(["nv", "atb", "percent"])
        early = (grade <= 3) & (kind == "level")
        later = (grade >= 4) & (kind == "mark") & pl.col("mark_value").is_between(1, 10)
        return _holds(data, (always | early | later).fill_null(False))


class Notes(CodedRows):
    """Justification notes (zimes)."""

    from_text: str = pa.Field(nullable=True)
    to_text: str = pa.Field(nullable=True)
    submitted_text: str = pa.Field(nullable=True)
    reason: str = pa.Field(nullable=True)

    @pa.check("from_text", "to_text", "submitted_text", name="date_unparseable")
    def date_unparseable(cls, data):
        parsed = {"from_text": "from", "to_text": "to", "submitted_text": "submitted"}[data.key]
        return _holds(data, pl.col(parsed).is_not_null())

    @pa.check("submitted_text", name="date_future")
    def date_future(cls, data):
        return _holds(
            data, pl.col("submitted").is_null() | (pl.col("submitted") <= pl.col("received"))
        )

    @pa.check("from_text", name="date_outside_school_year")
    def date_outside_school_year(cls, data):
        return _holds(data, pl.col("from").is_null() | pl.col("in_school_year"))

    @pa.check("to_text", name="value_not_allowed")
    def value_not_allowed(cls, data):
        return _holds(
            data,
            pl.col("to").is_null() | pl.col("from").is_null() | (pl.col("from") <= pl.col("to")),
        )

    @pa.check("reason", name="value_not_allowed")
    def value_not_allowed__1(cls, data):
        return _holds(
            data,
            pl.col("reason")
            .str.strip_chars()
            .str.to_lowercase()
            .is_in(NOTE_REASONS)
            .fill_null(False),
        )


class TimetableLoad(Rows):
    """Weekly lessons per class (slodze)."""

    class_label: str = pa.Field(nullable=True)
    lessons_text: str = pa.Field(nullable=True)

    @pa.check("lessons_text", name="value_not_allowed")
    def value_not_allowed(cls, data):
        return _holds(data, pl.col("lessons_per_week").is_between(1, 45).fill_null(False))


class Support(CodedRows):
    """Project support register (atbalsts)."""

    school_text: str = pa.Field(nullable=True)
    activity: str = pa.Field(nullable=True)
    start_text: str = pa.Field(nullable=True)
    end_text: str = pa.Field(nullable=True)
    hours_text: str = pa.Field(nullable=True)
    iap_text: str = pa.Field(nullable=True)

    @pa.check("school_text", name="unknown_school")
    def unknown_school(cls, data):
        return _holds(data, pl.col("school_id").is_not_null())

    @pa.check("activity", name="value_not_allowed")
    def value_not_allowed(cls, data):
        return _holds(
            data, pl.col("activity").str.strip_chars().is_in(SUPPORT_ACTIVITIES).fill_null(False)
        )

    @pa.check("start_text", name="date_unparseable")
    def date_unparseable(cls, data):
        return _holds(data, pl.col("start").is_not_null())

    @pa.check("start_text", name="date_future")
    def date_future(cls, data):
        return _holds(data, pl.col("start").is_null() | (pl.col("start") <= pl.col("received")))

    @pa.check("end_text", name="date_unparseable")
    def date_unparseable__1(cls, data):
        return _parsed_or_empty(data, "end")

    @pa.check("hours_text", name="value_not_allowed")
    def value_not_allowed__1(cls, data):
        return _holds(data, (pl.col("hours") >= 0).fill_null(False))

    @pa.check("iap_text", name="value_not_allowed")
    def value_not_allowed__2(cls, data):
        return _holds(data, pl.col("iap").is_in(["jā", "nē"]).fill_null(False))


class GroupActivities(Rows):
    """Group activities (aktivitates)."""

    school_text: str = pa.Field(nullable=True)
    activity: str = pa.Field(nullable=True)
    date_text: str = pa.Field(nullable=True)

    @pa.check("school_text", name="unknown_school")
    def unknown_school(cls, data):
        return _holds(data, pl.col("school_id").is_not_null())

    @pa.check("activity", name="value_not_allowed")
    def value_not_allowed(cls, data):
        return _holds(
            data, pl.col("activity").str.strip_chars().is_in(GROUP_ACTIVITIES).fill_null(False)
        )

    @pa.check("date_text", name="date_unparseable")
    def date_unparseable(cls, data):
        return _holds(data, pl.col("date").is_not_null())

    @pa.check("date_text", name="date_future")
    def date_future(cls, data):
        return _holds(data, pl.col("date").is_null() | (pl.col("date") <= pl.col("received")))

    @pa.dataframe_check(name="value_not_allowed")
    def value_not_allowed__1(cls, data):
        counts = [
            pl.col(c).is_not_null() & (pl.col(c) >= 0) for c in ("pupils", "parents", "teachers")
        ]
        return _holds(data, pl.all_horizontal(counts))


class SocialStatus(CodedRows):
    """Social-service statuses (socialais_statuss)."""

    status: str = pa.Field(nullable=True)
    start_text: str = pa.Field(nullable=True)
    end_text: str = pa.Field(nullable=True)

    @pa.check("status", name="value_not_allowed")
    def value_not_allowed(cls, data):
        return _holds(
            data,
            pl.col("status").str.strip_chars().str.to_lowercase().is_in(STATUSES).fill_null(False),
        )

    @pa.check("start_text", name="date_unparseable")
    def date_unparseable(cls, data):
        return _holds(data, pl.col("start").is_not_null())

    @pa.check("end_text", name="date_unparseable")
    def date_unparseable__1(cls, data):
        return _parsed_or_empty(data, "end")


MODELS: dict[str, type[Rows]] = {
    "skoleni": Pupils,
    "kavejumi": Absences,
    "vertejumi": Grades,
    "zimes": Notes,
    "slodze": TimetableLoad,
    "atbalsts": Support,
    "aktivitates": GroupActivities,
    "socialais_statuss": SocialStatus,
}
QUARANTINE_SCHEMA = {
    "row": pl.Int64,
    "column": pl.String,
    "masked_value": pl.String,
    "check": pl.String,
    "reason_lv": pl.String,
    "reason_en": pl.String,
}


class FactChecks(pa.DataFrameModel):
    """Checks against other files, over the facts a row keeps for them (`Kind.facts`)."""

    class Config:
        strict = False
        coerce = False


class RegisterChecks(FactChecks):
    """Absences and grades against the school's register: a pupil on it on the row's date, in a
    class it has."""

    masked_code: str = pa.Field(nullable=True)
    class_label: str = pa.Field(nullable=True)

    @pa.check("class_label", name="class_unknown")
    def class_unknown(cls, data):
        return _holds(data, pl.col("class_known"))

    @pa.check("masked_code", name="pupil_not_in_register")
    def pupil_not_in_register(cls, data):
        invalid = pl.col("code_problem").is_not_null() | pl.col("date").is_null()
        return _holds(data, invalid | pl.col("in_register"))


class TimetableChecks(FactChecks):
    """The timetable load against the school's register: a class it has."""

    class_label: str = pa.Field(nullable=True)

    @pa.check("class_label", name="class_unknown")
    def class_unknown(cls, data):
        return _holds(data, pl.col("class_known"))


class SupportChecks(FactChecks):
    """Project support against every school's register: a known pupil in the target group."""

    masked_code: str = pa.Field(nullable=True)
    activity: str = pa.Field(nullable=True)

    @pa.check("activity", name="support_outside_target_group")
    def support_outside_target_group(cls, data):
        activity = pl.col("activity").str.strip_chars()
        unjudged = ~pl.col("pupil_known") | pl.col("start").is_null()
        unjudged = unjudged | ~activity.is_in(SUPPORT_ACTIVITIES).fill_null(False)
        return _holds(data, unjudged | pl.col("in_target_group").fill_null(False))

    @pa.check("masked_code", name="pupil_in_no_register")
    def pupil_in_no_register(cls, data):
        return _holds(data, pl.col("code_problem").is_not_null() | pl.col("pupil_known"))


# The checks against other files (the partition's registers), by kind: run on `facts`.
PARTITION_MODELS: dict[str, type[FactChecks]] = {
    "kavejumi": RegisterChecks,
    "vertejumi": RegisterChecks,
    "slodze": TimetableChecks,
    "atbalsts": SupportChecks,
}
# The kinds whose checks against other files read only the school's register, and pass a
# row when some register row has its pupil on its date or its class: a row they pass passes
# against every larger register (the ingest cache's `Judged`).
GROWING_REGISTER_KINDS = frozenset({"kavejumi", "vertejumi", "slodze"})


@dataclass
class Checked:
    """A batch of one kind's tables (`table` tells them apart), each checked on its own: what
    depends only on their bytes, the day each came, the reference data, the rules and the key.
    `valid` holds the prepared rows that pass every such check, `facts` every distinct row's
    facts for the checks against other files (`Kind.facts`), `duplicates` each table's
    identical duplicate rows."""

    valid: pl.DataFrame
    facts: pl.DataFrame
    quarantine: pl.DataFrame
    duplicates: list[int]


def _masked(column: str, value: str | None) -> str | None:
    if value is None:
        return None
    if column == "Personas kods":
        return personal_code.mask(value)
    if column == "Dzimšanas datums":
        return "**.**." + value.strip().rstrip(".")[-4:]
    return value


def _headers(kind: str) -> dict[str, str]:
    """The delivered header of each column a model names (`masked_code`: the code's)."""
    headers = {v: k for k, v in KINDS[kind].headers.items()}
    return headers | ({"masked_code": headers["code"]} if "code" in headers else {})


def _failures(kind: str, model: type[pa.DataFrameModel], frame: pl.DataFrame) -> pl.DataFrame:
    """Each failing (`table`, `row`, column in Latvian, check id, model `field`: None for a
    check of the whole row) of a frame under a model."""
    try:
        model.validate(frame, lazy=True)
        failures = pl.DataFrame(schema={"index": pl.Int32, "column": pl.String, "check": pl.String})
    except pa.errors.SchemaErrors as errors:
        failures = errors.failure_cases.select("index", "column", "check")
        schema_level = failures.filter(pl.col("index").is_null())
        if schema_level.height:
            raise ValueError(
                f"{kind}: the prepared frame breaks its model: {schema_level.rows()}"
            ) from None
    positions = frame.select("table", "row").with_row_index("index")
    headers = _headers(kind)
    return (
        failures.unique()
        .with_columns(
            pl.col("index").cast(pl.UInt32),
            check=pl.col("check").str.split("__").list.first(),
            field=pl.when(pl.col("column").is_in(list(headers))).then(pl.col("column")),
            column=pl.col("column").replace_strict(
                headers, default=KINDS[kind].conflict_column, return_dtype=pl.String
            ),
        )
        .join(positions, on="index")
        .select("table", "row", "column", "check", "field")
    )


def _quarantine(
    kind: str, failures: pl.DataFrame, values: pl.DataFrame, mask: bool
) -> pl.DataFrame:
    """Quarantine rows (with `table`) of the failures, the value of each failing cell taken
    from `values` (by `table`, `row` and Latvian column), masked when `mask`."""
    failing = values.join(failures.select("table", "row").unique(), on=["table", "row"])
    cells = {(r["table"], r["row"]): r for r in failing.iter_rows(named=True)}
    rows = []
    for table, row, column, check, field in failures.iter_rows():
        value = cells[(table, row)].get(column)
        reason_lv, reason_en = reason(kind, field, check)
        rows.append(
            {
                "table": table,
                "row": row,
                "column": column,
                "masked_value": _masked(column, value) if mask else value,
                "check": check,
                "reason_lv": reason_lv,
                "reason_en": reason_en,
            }
        )
    schema = {"table": pl.Int64, **QUARANTINE_SCHEMA}
    return pl.DataFrame(rows, schema=schema).sort("table", "row", "check", "column")


def check(kind: str, raws: list[pl.DataFrame], contexts: list[Context]) -> Checked:
    """Check a batch of one kind's raw tables (each with `row`; the context of each), each on
    its own, in one pass of the kind's model: identical duplicate rows dropped, every check
    that needs no other file applied."""
    deduplicated = [
        raw.unique([c for c in raw.columns if c != "row"], keep="first", maintain_order=True)
        for raw in raws
    ]
    prepared = [
        prepare(kind, rows, context).with_columns(table=pl.lit(t, pl.Int64))
        for t, (rows, context) in enumerate(zip(deduplicated, contexts, strict=True))
    ]
    key = contexts[0].key if contexts else b""
    frame = judge_codes(pl.concat(prepared, how="diagonal_relaxed"), key)
    failures = _failures(kind, MODELS[kind], frame)
    values = pl.concat(
        [rows.with_columns(table=pl.lit(t, pl.Int64)) for t, rows in enumerate(deduplicated)],
        how="diagonal_relaxed",
    )
    valid = frame.join(failures.select("table", "row"), on=["table", "row"], how="anti")
    return Checked(
        valid=valid.sort("table", "row"),
        facts=row_facts(kind, frame).sort("table", "row"),
        quarantine=_quarantine(kind, failures, values, mask=True),
        duplicates=[raw.height - rows.height for raw, rows in zip(raws, deduplicated, strict=True)],
    )


def check_partition(kind: str, facts: pl.DataFrame, partition: Partition) -> pl.DataFrame:
    """Quarantine rows (with `table`) of the checks against other files, over every table of a
    kind in the partition at once (`Checked.facts`, `table` telling them apart)."""
    if kind not in PARTITION_MODELS or facts.is_empty():
        return pl.DataFrame(schema={"table": pl.Int64, **QUARANTINE_SCHEMA})
    frame = judged(kind, facts, partition)
    failures = _failures(kind, PARTITION_MODELS[kind], frame)
    headers = _headers(kind)
    values = facts.rename({c: headers[c] for c in facts.columns if c in headers})
    return _quarantine(kind, failures, values, mask=False)
