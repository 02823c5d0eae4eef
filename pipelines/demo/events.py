"""What happens to simulated pupils in a semester: lesson absences, justification notes, grades,
project support, group activities. Vectorised per school, semester and grade.

Frames hold typed values and the internal `pupil_id`; the writers turn them into deliveries.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from pipelines.demo.population import RAMP_SIZE, Population, Spell, has_reexams
from pipelines.reference import tables as reference
from pipelines.reference.calendar import SchoolCalendar, Semester
from pipelines.reference.rules import rules as rule_config

ILL, OTHER, TRUANT, PARTIAL, LATE = 1, 2, 3, 4, 5
E_MARK = {ILL: "ns", OTHER: "nc", TRUANT: "n", PARTIAL: "n", LATE: "nk"}
M_REASON = {
    ILL: "Slimība",
    OTHER: "Cits attaisnots",
    TRUANT: "Neattaisnots",
    PARTIAL: "Neattaisnots",
    LATE: "Nokavēšanās",
}
ABSENCE_SCHEMA = {
    "pupil_id": pl.Int64,
    "class_label": pl.String,
    "date": pl.Date,
    "lesson": pl.Int64,
    "subject": pl.String,
    "mark": pl.String,
    "reason": pl.String,
}
NOTE_SCHEMA = {
    "pupil_id": pl.Int64,
    "from": pl.Date,
    "to": pl.Date,
    "reason": pl.String,
    "submitted": pl.Date,
}
GRADE_SCHEMA = {
    "pupil_id": pl.Int64,
    "class_label": pl.String,
    "subject": pl.String,
    "date": pl.Date,
    "type_e": pl.String,
    "type_m": pl.String,
    "value": pl.String,
}
DAILY_TYPES_M = ("Nodarbība", "Mājas darbs", "Patstāvīgais darbs")


@dataclass
class SemesterEvents:
    absences: pl.DataFrame
    notes: pl.DataFrame
    grades: pl.DataFrame


def _season(days: list[date]) -> np.ndarray:
    """Illness pressure by date: a winter wave peaking in mid-February, a smaller one in November."""
    ordinal = np.array([d.toordinal() for d in days], dtype=float)
    feb = np.array([date(d.year if d.month < 7 else d.year + 1, 2, 12).toordinal() for d in days])
    nov = np.array([date(d.year if d.month >= 7 else d.year - 1, 11, 20).toordinal() for d in days])
    return (
        1
        + 1.8 * np.exp(-(((ordinal - feb) / 20) ** 2))
        + 0.5 * np.exp(-(((ordinal - nov) / 15) ** 2))
    )


def _runs(cause: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, first and last column of every run of equal non-zero values along each row."""
    width = cause.shape[1] + 2
    flat = np.pad(cause, ((0, 0), (1, 1))).ravel()
    before, after = np.roll(flat, 1), np.roll(flat, -1)
    starts = np.nonzero((flat != 0) & (flat != before))[0]
    ends = np.nonzero((flat != 0) & (flat != after))[0]
    return starts // width, starts % width - 1, ends % width - 1


def _lessons_per_day(grade: int, days: list[date]) -> np.ndarray:
    weekly = reference.lesson_load()[grade]
    base, extra = divmod(weekly, 5)
    return np.array([base + (1 if d.weekday() < extra else 0) for d in days])


def _timetable(rng, grade: int, classes: int) -> np.ndarray:
    """Subject by class, weekday and lesson number (0..10): Latvian and maths weigh triple."""
    subjects = np.array(reference.subjects_for_grade(grade), dtype=object)
    weights = np.array([3.0 if s in ("Latviešu valoda", "Matemātika") else 1.0 for s in subjects])
    return rng.choice(subjects, size=(classes, 5, 11), p=weights / weights.sum())


def approach(population: Population, spells, day_ordinal: np.ndarray) -> np.ndarray:
    """Each pupil's nearness to leaving on each day (0 far or never, 1 on the eve)."""
    near = np.zeros((len(spells), len(day_ordinal)))
    for row, spell in enumerate(spells):
        pupil = population.pupils[spell.pupil_id]
        if pupil.ramps:
            near[row] = pupil.approach(day_ordinal)
    return near


def daily_risk(population: Population, spells, semester, day_ordinal: np.ndarray) -> np.ndarray:
    """Each pupil's latent risk on each day: the semester's, plus the climb before leaving."""
    index = population.semester_index[semester.semester_id]
    pupils = [population.pupils[s.pupil_id] for s in spells]
    span = max(1, semester.last_day.toordinal() - semester.start.toordinal())
    position = (day_ordinal - semester.start.toordinal()) / span - 0.5
    base = np.array([p.risk(index) for p in pupils])[:, None]
    trend = np.array([p.risk_trend for p in pupils])[:, None]
    risk = base + trend * position[None, :]
    risk += RAMP_SIZE * approach(population, spells, day_ordinal)
    return np.clip(risk, 0.0, 1.0)


def semester_events(
    rng: np.random.Generator,
    calendar: SchoolCalendar,
    population: Population,
    spells: list[Spell],
    semester: Semester,
    last_day: date,
) -> SemesterEvents:
    absences, notes, grades = [], [], []
    for grade in sorted({s.grade for s in spells}):
        grade_spells = [s for s in spells if s.grade == grade]
        end = min(semester.end_for(grade), last_day)
        days = calendar.school_days(semester.start, end, grade)
        if not days:
            continue
        a, n = _absences(rng, population, grade_spells, semester, days, grade)
        absences.append(a)
        notes.append(n)
        grades.append(_grades(rng, population, grade_spells, semester, days, grade, last_day))
    return SemesterEvents(
        pl.concat(absences) if absences else pl.DataFrame(schema=ABSENCE_SCHEMA),
        pl.concat(notes) if notes else pl.DataFrame(schema=NOTE_SCHEMA),
        pl.concat(grades) if grades else pl.DataFrame(schema=GRADE_SCHEMA),
    )


def _absences(rng, population, spells, semester, days, grade):
    pupils = [population.pupils[s.pupil_id] for s in spells]
    frailty = np.array([p.frailty for p in pupils])[:, None]
    day_ordinal = np.array([d.toordinal() for d in days])
    risk = daily_risk(population, spells, semester, day_ordinal)
    school = np.exp(
        0.6 * np.array([population.school_shift.get(s.school_id, 0.0) for s in spells])
    )[:, None]
    school = school * (1 + 2 * approach(population, spells, day_ordinal))
    start = np.array([s.start.toordinal() for s in spells])[:, None]
    stop = np.array([s.end.toordinal() for s in spells])[:, None]
    enrolled = (day_ordinal >= start) & (day_ordinal <= stop)
    shape = enrolled.shape

    onset = rng.random(shape) < 0.011 * _season(days)[None, :] * frailty
    length = 1 + rng.geometric(0.4, size=shape)
    ill = np.zeros(shape, dtype=bool)
    for k in range(8):
        starts = onset & (length > k)
        ill[:, k:] |= starts[:, : shape[1] - k]
    other = rng.random(shape) < 0.004
    truant = rng.random(shape) < 0.026 * risk**2 * school
    partial = rng.random(shape) < 0.09 * risk**2 * school
    late = rng.random(shape) < 0.02 * (0.3 + risk)
    cause = np.select([ill, other, truant, partial, late], [ILL, OTHER, TRUANT, PARTIAL, LATE], 0)
    cause = np.where(enrolled, cause, 0)

    rows, first, last = _runs(cause)
    kind = cause[rows, first]
    episode_risk = risk[rows, first]
    justified_by_mark = (np.isin(kind, [ILL, OTHER])) & (rng.random(len(rows)) < 0.5)
    gets_note = np.select(
        [kind == ILL, kind == OTHER, kind == TRUANT, kind == PARTIAL],
        [
            ~justified_by_mark,
            ~justified_by_mark,
            rng.random(len(rows)) < 0.35,
            rng.random(len(rows)) < 0.08,
        ],
        False,
    )
    late_note = rng.random(len(rows)) < np.where(
        np.isin(kind, [ILL, OTHER]), 0.04 + 0.3 * episode_risk, 0.6
    )
    partial_note = (kind == ILL) & (last > first) & (rng.random(len(rows)) < 0.08)
    note_to = np.where(partial_note, last - 1, last)
    lag = np.where(late_note, rng.integers(4, 12, len(rows)), rng.integers(0, 4, len(rows)))
    note_reason = np.select(
        [kind == ILL, kind == OTHER],
        [
            np.where(
                last == first, rng.choice(["slimība", "ārsta apmeklējums"], len(rows)), "slimība"
            ),
            rng.choice(["sacensības", "ģimenes apstākļi"], len(rows)),
        ],
        rng.choice(["ģimenes apstākļi", "cits"], len(rows)),
    )
    mark_by_cell = np.full(shape, "", dtype=object)
    reason_by_cell = np.full(shape, "", dtype=object)
    for r, f, last_col, k, by_mark, noted, late_n, to in zip(
        rows, first, last, kind, justified_by_mark, gets_note, late_note, note_to, strict=True
    ):
        cells = slice(f, last_col + 1)
        mark_by_cell[r, cells] = E_MARK[k] if (by_mark or k in (TRUANT, PARTIAL, LATE)) else "n"
        timely = noted and not late_n
        m_reason = M_REASON[k]
        if k in (TRUANT, PARTIAL) and timely:
            m_reason = "Cits attaisnots"
        reason_by_cell[r, cells] = m_reason
        if k in (ILL, OTHER) and not by_mark and not timely:
            reason_by_cell[r, cells] = "Neattaisnots"
        if k == ILL and timely and to < last_col:
            reason_by_cell[r, last_col] = "Neattaisnots"
    note_rows = np.nonzero(gets_note)[0]
    extended = days + [days[-1] + timedelta(days=i) for i in range(1, 20)]
    notes = pl.DataFrame(
        {
            "pupil_id": [spells[rows[i]].pupil_id for i in note_rows],
            "from": [days[first[i]] for i in note_rows],
            "to": [days[note_to[i]] for i in note_rows],
            "reason": [str(note_reason[i]) for i in note_rows],
            "submitted": [extended[note_to[i] + lag[i]] for i in note_rows],
        },
        schema=NOTE_SCHEMA,
    )

    lessons = _lessons_per_day(grade, days)
    p_idx, d_idx = np.nonzero(cause)
    cell_cause = cause[p_idx, d_idx]
    n_day = lessons[d_idx]
    whole_day = np.isin(cell_cause, [ILL, OTHER, TRUANT])
    count = np.where(
        whole_day, n_day, np.where(cell_cause == PARTIAL, rng.integers(1, 4, len(p_idx)), 1)
    )
    count = np.minimum(count, n_day)
    first_lesson = np.where(
        whole_day,
        1,
        np.where(cell_cause == PARTIAL, n_day - count + 1, rng.integers(1, n_day + 1)),
    )
    rep_p, rep_d = np.repeat(p_idx, count), np.repeat(d_idx, count)
    offsets = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    lesson = np.repeat(first_lesson, count) + offsets
    classes = sorted({s.class_label for s in spells})
    timetable = _timetable(rng, grade, len(classes))
    weekday = np.array([d.weekday() for d in days])
    class_of = np.array([s.class_label for s in spells], dtype=object)
    class_index = np.array([classes.index(s.class_label) for s in spells])
    subject = timetable[class_index[rep_p], weekday[rep_d], lesson]
    absences = pl.DataFrame(
        {
            "pupil_id": np.array([s.pupil_id for s in spells])[rep_p],
            "class_label": class_of[rep_p].tolist(),
            "date": [days[d] for d in rep_d],
            "lesson": lesson,
            "subject": subject.tolist(),
            "mark": mark_by_cell[rep_p, rep_d].tolist(),
            "reason": reason_by_cell[rep_p, rep_d].tolist(),
        },
        schema=ABSENCE_SCHEMA,
    )
    return absences, notes


def _grade_text(frame: pl.DataFrame) -> pl.Expr:
    """The delivered grade: atb, nv, a level for grades 1-3, a percent, or a 10-point mark."""
    score = pl.col("score")
    level = (
        pl.when(score < 4.5)
        .then(pl.lit("S"))
        .when(score < 6.5)
        .then(pl.lit("T"))
        .when(score < 8.5)
        .then(pl.lit("A"))
        .otherwise(pl.lit("P"))
    )
    percent = ((pl.col("score") * 10 + 5).round(0) + pl.col("half") * 0.5).clip(0, 100)
    percent_text = percent.cast(pl.String).str.replace(r"\.0$", "")
    percent_text = (
        pl.when(pl.col("style") == 0)
        .then(percent_text.str.replace(".", ",", literal=True) + "%")
        .when(pl.col("style") == 1)
        .then(percent_text + "%")
        .otherwise(percent_text.str.replace(".", ",", literal=True) + " %")
    )
    mark = pl.col("score").round(0).clip(1, 10).cast(pl.Int64).cast(pl.String)
    return (
        pl.when(pl.col("exempt"))
        .then(pl.lit("atb"))
        .when(pl.col("no_grade"))
        .then(pl.lit("nv"))
        .when(pl.col("grade") <= 3)
        .then(level)
        .when(pl.col("percent"))
        .then(percent_text)
        .otherwise(mark)
    )


def _grades(rng, population, spells, semester, days, grade, last_day) -> pl.DataFrame:
    """Daily grades, tests, diagnostics, semester and year grades and supplementary exams.

    A subject the pupil fails in the term (the population's `failing_s1`, `failing_year`)
    gets marks that fall over the term, and an insufficient term result; marks also fall as a
    pupil's risk climbs (a rising trend, or the approach of leaving)."""
    index = population.semester_index[semester.semester_id]
    subjects = np.array(reference.subjects_for_grade(grade), dtype=object)
    pass_mark = float(rule_config()["grades"]["pass_mark"])
    pupils = [population.pupils[s.pupil_id] for s in spells]
    day_ordinal = np.array([d.toordinal() for d in days])
    low = np.searchsorted(day_ordinal, [s.start.toordinal() for s in spells])
    high = np.searchsorted(day_ordinal, [s.end.toordinal() for s in spells], side="right")
    present = np.nonzero(high > low)[0]
    risk_day = daily_risk(population, spells, semester, day_ordinal)
    risk = np.array([p.risk(index) for p in pupils])
    shift = np.array([population.school_shift.get(s.school_id, 0.0) for s in spells])
    mean = np.clip(
        6.4 + 1.3 * np.array([p.ability for p in pupils]) - 2.6 * (risk - 0.12) - 0.5 * shift,
        1.5,
        9.6,
    )
    n_pupils, n_subjects = len(spells), len(subjects)
    failing = np.zeros((n_pupils, n_subjects), dtype=bool)
    for row, spell in enumerate(spells):
        failing[row, list(spell.failing_s1 if semester.number == 1 else spell.failing_year)] = True
    exempt = np.array([p.sport_exempt for p in pupils])[:, None] & (
        subjects == "Sports un veselība"
    )

    pair_p = np.repeat(present, n_subjects)
    pair_k = np.tile(np.arange(n_subjects), len(present))
    count = rng.poisson(3.5, len(pair_p)) + 2
    row_p, row_k = np.repeat(pair_p, count), np.repeat(pair_k, count)
    is_test = np.arange(count.sum()) == np.repeat(np.cumsum(count) - 1, count)
    day_idx = low[row_p] + (rng.random(len(row_p)) * (high - low)[row_p]).astype(int)
    term_position = day_idx / max(1, len(days) - 1)
    drift = 2.6 * (risk_day[row_p, day_idx] - risk[row_p])
    falling = failing[row_p, row_k] * 3.6 * term_position**1.5
    rows = {
        "p": row_p,
        "k": row_k,
        "date_index": day_idx,
        "score": rng.normal(mean[row_p] - falling - drift, 1.2),
        "no_grade": rng.random(len(row_p)) < 0.01 + 0.08 * risk_day[row_p, day_idx],
        "percent": is_test & (rng.random(len(row_p)) < 0.25),
        "type_e": np.where(is_test, "Pārbaudes darbs", "Ikdienas"),
        "type_m": np.where(
            is_test, "Pārbaudes darbs", np.array(DAILY_TYPES_M)[rng.integers(0, 3, len(row_p))]
        ),
    }
    parts = [pl.DataFrame(rows)]
    semester_end = semester.end_for(grade)
    if semester_end <= last_day and days[-1] == semester_end:
        exits = np.array([s.year_end_exit for s in spells]) & (semester.number == 2)
        final_p = present[(high[present] == len(days)) | exits[present]]
        kinds = ["Semestra vērtējums"] + (["Gada vērtējums"] if semester.number == 2 else [])
        for kind in kinds:
            fp, fk = np.repeat(final_p, n_subjects), np.tile(np.arange(n_subjects), len(final_p))
            fails = failing[fp, fk]
            score = np.where(
                fails,
                rng.uniform(1.6, pass_mark - 0.6, len(fp)),
                np.maximum(mean[fp] + rng.normal(0, 0.6, len(fp)), pass_mark),
            )
            parts.append(
                pl.DataFrame(
                    {
                        "p": fp,
                        "k": fk,
                        "date_index": high[fp] - 1,
                        "score": score,
                        "no_grade": fails & ((grade <= 3) | (rng.random(len(fp)) < 0.3)),
                        "percent": np.zeros(len(fp), dtype=bool),
                        "type_e": kind,
                        "type_m": kind,
                    }
                )
            )
        if semester.number == 2 and has_reexams(grade):
            rp, rk = np.nonzero(failing[final_p])
            passed = np.array(
                [k in spells[final_p[p]].reexam_passed for p, k in zip(rp, rk, strict=True)],
                dtype=bool,
            )
            parts.append(
                pl.DataFrame(
                    {
                        "p": final_p[rp],
                        "k": rk,
                        "date_index": np.full(len(rp), len(days) + 7),
                        "score": np.where(
                            passed,
                            rng.uniform(pass_mark, pass_mark + 2.4, len(rp)),
                            rng.uniform(1.6, pass_mark - 0.6, len(rp)),
                        ),
                        "no_grade": np.zeros(len(rp), dtype=bool),
                        "percent": np.zeros(len(rp), dtype=bool),
                        "type_e": "Pēcpārbaudījums",
                        "type_m": "Pēcpārbaudījums",
                    }
                )
            )
    if grade in (3, 6, 9) and semester.number == 2:
        diag = present[(high - low)[present] > 20]
        dk = np.array([list(subjects).index(s) for s in ("Latviešu valoda", "Matemātika")])
        dp, dk = np.repeat(diag, 2), np.tile(dk, len(diag))
        parts.append(
            pl.DataFrame(
                {
                    "p": dp,
                    "k": dk,
                    "date_index": ((low + high) // 2)[dp],
                    "score": mean[dp] + rng.normal(0, 0.8, len(dp)),
                    "no_grade": np.zeros(len(dp), dtype=bool),
                    "percent": np.ones(len(dp), dtype=bool),
                    "type_e": "Diagnosticējošais darbs",
                    "type_m": "Diagnosticējošais darbs",
                }
            )
        )
    extended = days + [days[-1] + timedelta(days=i) for i in range(1, 15)]
    frame = pl.concat(parts, how="vertical_relaxed")
    frame = frame.with_columns(
        grade=pl.lit(grade),
        exempt=pl.Series(exempt[frame["p"].to_numpy(), frame["k"].to_numpy()]),
        half=pl.Series(rng.integers(0, 2, frame.height)),
        style=pl.Series(rng.integers(0, 3, frame.height)),
    )
    pupil_ids = np.array([s.pupil_id for s in spells])
    classes = np.array([s.class_label for s in spells], dtype=object)
    graded = frame.select(
        pupil_id=pl.Series(pupil_ids[frame["p"].to_numpy()]),
        class_label=pl.Series(classes[frame["p"].to_numpy()].tolist(), dtype=pl.String),
        subject=pl.Series(subjects[frame["k"].to_numpy()].tolist(), dtype=pl.String),
        date=pl.Series([extended[i] for i in frame["date_index"].to_list()], dtype=pl.Date),
        type_e=pl.col("type_e"),
        type_m=pl.col("type_m"),
        value=_grade_text(frame),
    )
    return graded.unique(["pupil_id", "subject", "date", "type_e"], maintain_order=True)


def support_register(
    rng: np.random.Generator,
    calendar: SchoolCalendar,
    population: Population,
    last_day: date,
    scale: float,
) -> pl.DataFrame:
    """Project support spells per pupil, activity and semester, on the project's real timeline."""
    targets = {"LAS": 140, "KONS": 160, "MENT": 60}
    first_semester = "2025/26-S1"
    catalogue = reference.activities().filter(pl.col("unit") == "pupil")
    providers = {
        "LAS": ("pedagoga palīgs", "logopēds", "skolotājs"),
        "R9": ("skolotājs", "pedagoga palīgs"),
        "KONS": ("psihologs", "sociālais pedagogs", "speciālais pedagogs"),
        "MENT": ("mentors",),
    }
    rows: list[dict] = []
    for semester in calendar.semesters:
        if semester.start > last_day or semester.semester_id < first_semester:
            continue
        index = population.semester_index[semester.semester_id]
        active = [s for s in population.spells if s.active_on(semester.start + timedelta(days=30))]
        if not active:
            active = [
                s for s in population.spells if s.start <= last_day and s.end >= semester.start
            ]
        rules = catalogue.filter(pl.col("from_semester") <= semester.semester_id)
        for activity in rules["activity"].unique(maintain_order=True):
            bands = rules.filter(pl.col("activity") == activity)
            eligible = []
            for spell in active:
                pupil = population.pupils[spell.pupil_id]
                for rule in bands.iter_rows(named=True):
                    ok = rule["grade_min"] <= spell.grade <= rule["grade_max"]
                    ok &= not rule["repeaters_only"] or spell.repeating
                    ok &= rule["min_age"] is None or pupil.age_on(semester.start) >= rule["min_age"]
                    if ok:
                        eligible.append(spell)
                        break
            if not eligible:
                continue
            risk = np.array([population.pupils[s.pupil_id].risk(index) for s in eligible])
            weight = 0.15 + 4 * risk
            wanted = len(eligible) if activity == "R9" else round(targets[activity] * scale)
            wanted = min(wanted, len(eligible))
            keys = np.log(rng.random(len(eligible))) / weight
            chosen = np.argsort(-keys)[:wanted]
            for i in sorted(chosen):
                spell = eligible[i]
                start = max(spell.start, semester.start) + timedelta(days=int(rng.integers(7, 35)))
                end = min(spell.end, semester.end_for(spell.grade))
                if start > min(end, last_day):
                    continue
                weeks = max(1, (min(end, last_day) - start).days // 7)
                hours = round(weeks * float(rng.uniform(0.5, 2.0)) * 2) / 2
                rows.append(
                    {
                        "pupil_id": spell.pupil_id,
                        "school_id": spell.school_id,
                        "activity": activity,
                        "start": start,
                        "end": end if end <= last_day else None,
                        "hours": hours,
                        "provider": str(rng.choice(providers[activity])),
                        "iap": activity == "MENT" or rng.random() < 0.4,
                    }
                )
    return pl.DataFrame(rows)


def group_activities(
    rng: np.random.Generator, calendar: SchoolCalendar, last_day: date, scale: float
) -> pl.DataFrame:
    titles = {
        "INIC": ("Skolēnu pašpārvaldes iniciatīva", "Kopienas talka", "Vides projekts"),
        "PART": ("Latviešu valodas klubs", "Skolu apmaiņas diena", "Vecāku skola"),
        "PAS": ("Karjeras diena", "Drošības diena", "Sadarbības pasākums ar vecākiem"),
    }
    rows = []
    for semester in calendar.semesters:
        if semester.start > last_day:
            continue
        for school in reference.schools():
            if not school.valid_on(semester.start):
                continue
            for _ in range(int(rng.integers(1, 5))):
                activity = str(rng.choice(list(titles)))
                days = calendar.school_days(semester.start, min(semester.end, last_day), 5)
                pupils = int(rng.integers(8, 120) * min(scale, 3))
                rows.append(
                    {
                        "school_id": school.school_id,
                        "activity": activity,
                        "title": str(rng.choice(titles[activity])),
                        "date": days[int(rng.integers(len(days)))],
                        "pupils": pupils,
                        "parents": int(rng.integers(0, 30)),
                        "teachers": int(rng.integers(1, 12)),
                    }
                )
    return pl.DataFrame(rows)
