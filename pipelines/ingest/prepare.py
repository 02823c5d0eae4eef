"""Preparing a raw table for validation: English column names, parsed values, and the facts
a rule needs from outside the row (the school's register and classes, the calendar, the
delivery date, the pupils every register knows).
"""

from dataclasses import dataclass
from datetime import date
from functools import cache

import polars as pl

from pipelines.ingest.contract import DROPPED_COLUMNS, KINDS
from pipelines.ingest.values import parse_date, parse_decimal
from pipelines.privacy import personal_code
from pipelines.privacy.pseudonym import pupil_keys
from pipelines.reference.calendar import SchoolCalendar, Semester


@dataclass(frozen=True)
class Context:
    """What a table's own checks need beyond the row itself: nothing from other files."""

    received: date
    calendar: SchoolCalendar
    school_grades: tuple[int, int] | None
    school_ids: dict[str, str]
    key: bytes


@dataclass(frozen=True)
class Partition:
    """What the checks that depend on other files need: `register` holds the school's register
    rows (`pupil_key`, `admitted`, `left`, `class_label`) from every register delivery;
    `pupils` the pseudonymised register rows of every school (`pupil_key`, `grade`,
    `birth_year`, `birth_month`, `admitted`, `left`, `repeating` and the period of the snapshot
    they come from), for the municipality feeds; `activity_rules` each support activity's
    target group."""

    register: pl.DataFrame
    pupils: pl.DataFrame
    activity_rules: pl.DataFrame


def _digits(column: str = "code") -> pl.Expr:
    return pl.col(column).str.replace_all(r"[\s-]", "")


def judge_codes(frame: pl.DataFrame, key: bytes) -> pl.DataFrame:
    """The prepared rows, when they have a code, with `code_problem` (`personal_code.problem`)
    and `pupil_key` (`pseudonym.pupil_key`), each made once per distinct code of the frame (a
    batch's files name the same pupils)."""
    if "code" not in frame.columns:
        return frame
    codes = frame["code"].drop_nulls().unique().to_list()
    problems = {code: personal_code.problem(code) for code in codes}
    return frame.with_columns(
        code_problem=pl.col("code").replace_strict(problems, default=None, return_dtype=pl.String),
        pupil_key=pupil_keys(key, frame["code"]),
    )


def masked_codes(codes: pl.Series) -> pl.Series:
    """Personal codes as quarantine shows them (`personal_code.mask`)."""
    masks = {code: personal_code.mask(code) for code in codes.drop_nulls().unique().to_list()}
    return codes.replace_strict(masks, default=None, return_dtype=pl.String)


def _grade_of(column: str = "class_label") -> pl.Expr:
    return pl.col(column).str.extract(r"^\s*(\d{1,2})\.", 1).cast(pl.Int64, strict=False)


def _in_school_year(calendar: SchoolCalendar, column: str) -> pl.Expr:
    inside = pl.lit(False)
    for year in calendar.years:
        inside = inside | pl.col(column).is_between(year.span.start, year.span.end)
    return inside


@cache
def _is_lesson_day(calendar: SchoolCalendar, day: date, grade: int) -> bool:
    """Whether pupils of a grade (1-12) have lessons on a day of a school year (once per day
    and grade in a process)."""
    return (
        1 <= grade <= 12
        and calendar.year_of(day) is not None
        and calendar.is_school_day(day, grade)
    )


def _lesson_days(frame: pl.DataFrame, calendar: SchoolCalendar) -> pl.DataFrame:
    """The frame with `lesson_day`: whether its row's grade has lessons on its date. Only the
    (date, grade) pairs the frame holds are looked up: a night's file asks for a day or two."""
    pairs = frame.select("date", "grade").drop_nulls().unique()
    days = pl.DataFrame(
        [
            (day, grade, True)
            for day, grade in pairs.iter_rows()
            if _is_lesson_day(calendar, day, grade)
        ],
        schema={"date": pl.Date, "grade": pl.Int64, "lesson_day": pl.Boolean},
        orient="row",
    )
    return frame.join(days, on=["date", "grade"], how="left").with_columns(
        pl.col("lesson_day").fill_null(False)
    )


def _in_register(frame: pl.DataFrame, register: pl.DataFrame) -> pl.DataFrame:
    """Flag rows (`at`) whose pupil is on the school's register on the row's date."""
    spells = register.select("pupil_key", "admitted", "left").unique()
    hits = (
        frame.select("at", "pupil_key", "date")
        .join(spells, on="pupil_key")
        .filter(
            (pl.col("admitted") <= pl.col("date"))
            & (pl.col("left").is_null() | (pl.col("date") < pl.col("left")))
        )
        .select("at")
        .unique()
        .with_columns(in_register=pl.lit(True))
    )
    return frame.join(hits, on="at", how="left").with_columns(
        pl.col("in_register").fill_null(False)
    )


def _class_known(frame: pl.DataFrame, register: pl.DataFrame) -> pl.DataFrame:
    classes = register["class_label"].str.to_lowercase().unique().to_list()
    return frame.with_columns(
        class_known=pl.col("class_label").str.strip_chars().str.to_lowercase().is_in(classes)
    )


def row_facts(kind: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The facts of a prepared table's rows (its codes judged, `judge_codes`) that the checks
    against other files need (`Kind.facts`; none but `table` and `row` for a kind without
    such checks)."""
    columns = KINDS[kind].facts
    if "masked_code" in columns:
        frame = frame.with_columns(masked_code=masked_codes(frame["code"]))
    return frame.select("table", "row", *columns)


def judged(kind: str, facts: pl.DataFrame, partition: Partition) -> pl.DataFrame:
    """The facts with what the partition says of them: whether the pupil is on the register
    on the row's date, the class exists, the support fits its target group."""
    facts = facts.with_row_index("at")
    match kind:
        case "kavejumi" | "vertejumi":
            facts = _class_known(_in_register(facts, partition.register), partition.register)
        case "slodze":
            facts = _class_known(facts, partition.register)
        case "atbalsts":
            facts = _target_group(facts, partition)
    return facts.sort("at").drop("at")


def _school_id(context: Context) -> pl.Expr:
    """A school written as its code or its full name (case, spacing and quotes ignored)."""
    normal = pl.col("school_text").str.replace_all(r"[\"'„“”]", "").str.replace_all(r"\s+", " ")
    normal = normal.str.strip_chars().str.to_lowercase()
    return normal.replace_strict(context.school_ids, default=None, return_dtype=pl.String)


def _value_kinds() -> list[pl.Expr]:
    value = pl.col("value").str.strip_chars()
    lowered = value.str.to_lowercase()
    is_percent = value.str.ends_with("%")
    number = parse_decimal("value")
    return [
        pl.when(lowered.is_in(["nv", "atb"]))
        .then(lowered)
        .when(value.is_in(["S", "T", "A", "P"]))
        .then(pl.lit("level"))
        .when(is_percent & number.is_between(0, 100))
        .then(pl.lit("percent"))
        .when(~is_percent & value.str.contains(r"^\d{1,2}$"))
        .then(pl.lit("mark"))
        .otherwise(pl.lit("invalid"))
        .alias("value_kind"),
        pl.when(is_percent).then(number).alias("percent"),
        pl.when(~is_percent).then(value.cast(pl.Int64, strict=False)).alias("mark_value"),
    ]


def prepare(kind: str, raw: pl.DataFrame, context: Context) -> pl.DataFrame:
    """The raw rows with English column names, parsed values and the facts a table's own checks
    need: the calendar, the delivery date, and whether the row's key repeats (the codes are
    judged over the batch, `judge_codes`)."""
    names = {k: v for k, v in KINDS[kind].headers.items() if k in raw.columns}
    frame = raw.drop([c for c in raw.columns if c in DROPPED_COLUMNS]).rename(names)
    if "code" in frame.columns:
        frame = frame.with_columns(code_digits=_digits())
    if "class_label" in frame.columns:
        frame = frame.with_columns(grade=_grade_of())
    match kind:
        case "skoleni":
            low, high = context.school_grades or (1, 12)
            frame = frame.with_columns(
                birth_date=parse_date("birth_date_text"),
                admitted=parse_date("admitted_text"),
                left=parse_date("left_text"),
                class_in_school=pl.col("grade").is_between(low, high),
                repeating=pl.col("repeating_text").str.strip_chars().str.to_lowercase(),
            )
        case "kavejumi":
            frame = frame.with_columns(
                date=parse_date("date_text"),
                lesson=pl.col("lesson_text").str.strip_chars().cast(pl.Int64, strict=False),
                absence=pl.col("mark").str.strip_chars().str.to_lowercase(),
            )
            frame = _lesson_days(frame, context.calendar)
        case "vertejumi":
            frame = frame.with_columns(parse_date("date_text").alias("date"), *_value_kinds())
        case "zimes":
            frame = frame.with_columns(
                **{"from": parse_date("from_text")},
                to=parse_date("to_text"),
                submitted=parse_date("submitted_text"),
                date=parse_date("submitted_text"),
            )
        case "slodze":
            frame = frame.with_columns(
                lessons_per_week=pl.col("lessons_text")
                .str.strip_chars()
                .cast(pl.Int64, strict=False)
            )
        case "atbalsts":
            frame = frame.with_columns(
                school_id=_school_id(context),
                start=parse_date("start_text"),
                end=parse_date("end_text"),
                date=parse_date("start_text"),
                hours=parse_decimal("hours_text"),
                iap=pl.col("iap_text").str.strip_chars().str.to_lowercase(),
            )
            frame = _start_semester(frame, context.calendar)
        case "aktivitates":
            frame = frame.with_columns(
                school_id=_school_id(context),
                date=parse_date("date_text"),
                **{
                    column: pl.col(f"{column}_text").str.strip_chars().cast(pl.Int64, strict=False)
                    for column in ("pupils", "parents", "teachers")
                },
            )
        case "socialais_statuss":
            frame = frame.with_columns(start=parse_date("start_text"), end=parse_date("end_text"))
    frame = frame.with_columns(
        conflict=pl.len().over(KINDS[kind].key) > 1,
        received=pl.lit(context.received),
    )
    if "date" in frame.columns:
        frame = frame.with_columns(in_school_year=_in_school_year(context.calendar, "date"))
    if kind == "zimes":
        frame = frame.with_columns(in_school_year=_in_school_year(context.calendar, "from"))
    return frame


def _semester_from(calendar: SchoolCalendar, day: date) -> Semester | None:
    """The semester a support spell starting on `day` is for: the one holding the day, or the
    next to start (a spell starting in a break is for the semester after it)."""
    return calendar.semester_of(day) or next((s for s in calendar.semesters if s.start > day), None)


def _start_semester(frame: pl.DataFrame, calendar: SchoolCalendar) -> pl.DataFrame:
    """Each support row's semester (`_semester_from`)."""
    semesters = {
        day: semester.semester_id
        for day in frame["start"].drop_nulls().unique().to_list()
        if (semester := _semester_from(calendar, day))
    }
    return frame.with_columns(
        start_semester=pl.col("start").replace_strict(
            semesters, default=None, return_dtype=pl.String
        ),
    )


def _target_group(frame: pl.DataFrame, partition: Partition) -> pl.DataFrame:
    """Whether each support row's (`at`) pupil fits the activity's target group at its start,
    judged from everything the registers of every school know: the age from the birth date in
    any register delivery, the grade (and repeating) from the register snapshot nearest the
    start, before or after it. `pupil_known` is false for a pupil no register knows: never a
    pass.
    """
    listed = frame.select("at", "pupil_key", "start").join(partition.pupils, on="pupil_key")
    start, first, last = pl.col("start"), pl.col("period_start"), pl.col("period_end")
    distance = (
        pl.when(start < first).then(first - start).when(start > last).then(start - last)
    ).otherwise(pl.duration(days=0))
    nearest = (
        listed.with_columns(distance=distance)
        .sort(["at", "distance", "period_end", "grade"], descending=[False, False, True, True])
        .group_by("at", maintain_order=True)
        .agg(pl.col("grade").first(), pl.col("repeating").first())
    )
    born = (  # the latest register's birth date, should two registers disagree
        listed.sort(["at", "period_end"], descending=[False, True])
        .group_by("at", maintain_order=True)
        .agg(pl.col("birth_year").drop_nulls().first(), pl.col("birth_month").drop_nulls().first())
    )
    facts = (
        nearest.join(born, on="at", how="left")
        .join(frame.select("at", "start"), on="at")
        .with_columns(
            age=pl.col("start").dt.year().cast(pl.Int64)
            - pl.col("birth_year")
            - (pl.col("start").dt.month() < pl.col("birth_month")).cast(pl.Int64)
        )
    )
    frame = frame.with_columns(pupil_known=pl.col("at").is_in(listed["at"].implode()))
    rules = partition.activity_rules
    judged = (
        facts.join(frame.select("at", "activity", "start_semester"), on="at")
        .join(rules, on="activity", how="left")
        .with_columns(
            fits=pl.col("grade").is_between(pl.col("grade_min"), pl.col("grade_max"))
            & (pl.col("start_semester") >= pl.col("from_semester"))
            & (pl.col("min_age").is_null() | (pl.col("age") >= pl.col("min_age")))
            & (~pl.col("repeaters_only").fill_null(False) | pl.col("repeating"))
        )
        .group_by("at")
        .agg(in_target_group=pl.col("fits").any())
    )
    return frame.join(judged, on="at", how="left")


# Raw value forms the contract tolerates: read like the plain form, and counted in the log.
DATE_TEXT_COLUMNS = (
    "birth_date_text", "admitted_text", "left_text", "date_text", "from_text", "to_text",
    "submitted_text", "start_text", "end_text",
)  # fmt: skip
DATE_FORMS = {
    "ISO dates": r"^\d{4}-\d{2}-\d{2}$",
    "dates with a trailing dot": r"^\d{2}\.\d{2}\.\d{4}\.$",
}
CODE_FORMS = {
    "personal codes without a hyphen": r"^\s*\d{11}\s*$",
    "personal codes with spaces": r"^\s|\s$|\s-|-\s",
}
NUMBER_FORMS = {
    "decimal commas": r"^\s*\d+,\d+\s*%?\s*$",
    "percent with a space before %": r"\d\s+%\s*$",
    "percent without a space before %": r"\d%\s*$",
}


def tolerated_forms(kind: str, raw: pl.DataFrame) -> dict[str, int]:
    """How many rows of a raw table write a value in each tolerated form (rows, not cells)."""
    names = {k: v for k, v in KINDS[kind].headers.items() if k in raw.columns}
    frame = raw.rename(names)
    groups = [
        (DATE_FORMS, [c for c in DATE_TEXT_COLUMNS if c in frame.columns]),
        (CODE_FORMS, [c for c in ("code",) if c in frame.columns]),
        (NUMBER_FORMS, [c for c in ("value", "hours_text") if c in frame.columns]),
    ]
    forms = {
        form: pl.any_horizontal(pl.col(c).str.contains(pattern) for c in columns)
        for patterns, columns in groups
        if columns
        for form, pattern in patterns.items()
    }
    if not forms:
        return {}
    counts = frame.select(**{f: e.fill_null(False).sum() for f, e in forms.items()}).row(
        0, named=True
    )
    return {form: count for form, count in counts.items() if count}
