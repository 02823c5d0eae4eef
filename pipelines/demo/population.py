"""Simulated pupils and their enrolment over the school years, before any file is written.

Each pupil carries a latent risk that drifts from semester to semester and an ability; both
drive absences, grades, leaving, repeating and support. Everything comes from one seeded
random generator, so the same seed and arguments give the same population.
"""

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

import numpy as np

from pipelines.privacy import personal_code
from pipelines.privacy.names import FEMALE_FIRST_NAMES, MALE_FIRST_NAMES, SURNAMES
from pipelines.reference import tables as reference
from pipelines.reference.calendar import SchoolCalendar, SchoolYear
from pipelines.reference.rules import rules as rule_config

GENERAL_BASIC = "21011111"
GENERAL_SECONDARY = "31011011"
SPECIAL_NEEDS_BASIC = ("21015611", "21015811", "21015911")
NEW_CODES_FROM = date(2017, 7, 1)
CLASS_SIZE = 26
SPORT = "Sports un veselība"  # a sport-exempt pupil's results there are "atb", never failing
# docs/demo-data.md gives the source or the reason of each of these choices.
SCHOOL_SHIFT_SD = 0.35  # between-school spread of the latent risk (on the risk's z scale)
GYMNASIUM_SHIFT = -0.5  # the state gymnasium selects its pupils
DEFERRAL_RATE = 0.10  # school start deferred by a year (over-age by 1, not a risk sign)
DROPOUT_RATE = {1: 0.002, 4: 0.003, 7: 0.009, 10: 0.013}  # "pārtrauca mācības"/"cits" a year
ABROAD_RATE = 0.005  # moved abroad, a year
TRANSFER_RATE = 0.008  # moved to another Ogre school during the year
RAMP_DAYS = 75  # a leaver's risk climbs over this many days before leaving
RAMP_SIZE = 0.35
REEXAM_PASS = 0.7  # a supplementary exam passed
STATUS_RATES = {
    "trūcīga ģimene": 0.035,
    "maznodrošināta ģimene": 0.045,
    "ārpusģimenes aprūpe": 0.008,
    "sociālā dienesta uzraudzība": 0.025,
}


@dataclass
class Pupil:
    pupil_id: int
    code: str
    first_name: str
    surname: str
    sex: str
    born: date
    special_programme: str | None
    base_risk: float
    risk_trend: float
    ability: float
    frailty: float
    sport_exempt: bool
    ramps: list[date] = field(default_factory=list)  # leaving days whose approach raises risk

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.surname}"

    def programme(self, grade: int) -> str:
        if self.special_programme and grade <= 9:
            return self.special_programme
        return GENERAL_BASIC if grade <= 9 else GENERAL_SECONDARY

    def risk(self, semester_index: int) -> float:
        return float(np.clip(self.base_risk + self.risk_trend * semester_index, 0.0, 1.0))

    def approach(self, ordinals: np.ndarray) -> np.ndarray:
        """How near a leaving day is on each day (date ordinals): 0 until RAMP_DAYS before it,
        rising to 1 on its eve. Risk climbs by RAMP_SIZE times it, truancy triples."""
        near = np.zeros(len(ordinals))
        for day in self.ramps:
            before = (day.toordinal() - ordinals) / RAMP_DAYS
            near += np.where(before > 0, np.clip(1 - before, 0, 1), 0)
        return near

    def age_on(self, day: date) -> int:
        return day.year - self.born.year - ((day.month, day.day) < (self.born.month, self.born.day))


@dataclass
class Spell:
    """One pupil at one school in one grade during one school year."""

    pupil_id: int
    school_id: str
    school_year: str
    grade: int
    class_label: str
    admitted: date
    start: date
    end: date
    left: date | None = None
    leave_reason: str | None = None
    repeating: bool = False
    # subject indexes (into reference.subjects_for_grade) with an insufficient term result:
    # semester 1, and the year (semester 2 and year grade); the year's re-exams passed
    failing_s1: tuple[int, ...] = ()
    failing_year: tuple[int, ...] = ()
    reexam_passed: tuple[int, ...] = ()
    year_end_exit: bool = False

    @property
    def insufficient_after_reexams(self) -> int:
        return len(self.failing_year) - len(self.reexam_passed)

    def active_on(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass
class StatusSpell:
    pupil_id: int
    status: str
    start: date
    end: date | None


@dataclass
class Population:
    pupils: list[Pupil]
    spells: list[Spell]
    statuses: list[StatusSpell]
    years: list[SchoolYear]
    semester_index: dict[str, int] = field(default_factory=dict)
    school_shift: dict[str, float] = field(default_factory=dict)

    def spells_at(self, school_id: str, first: date, last: date) -> list[Spell]:
        return [
            s
            for s in self.spells
            if s.school_id == school_id and s.start <= last and s.end >= first
        ]


class PopulationBuilder:
    def __init__(self, rng: np.random.Generator, calendar: SchoolCalendar, scale: float):
        self.rng = rng
        self.calendar = calendar
        self.scale = scale
        self.pupils: list[Pupil] = []
        self.spells: list[Spell] = []
        self.used_codes: set[str] = set()
        self.school_shift = _school_shifts(rng)
        self.school_days: dict[tuple[str, int], list[date]] = {}

    def new_pupil(
        self, grade: int, year_start: date, school_id: str, history: bool = True
    ) -> tuple[Pupil, bool]:
        """A pupil entering `grade` in the year starting `year_start`, and whether the pupil
        repeats it. A deferred school start makes a pupil a year older, mostly regardless of
        risk; each earlier repetition (risk-linked) adds a year, so over-age by two or more is
        a risk sign. `history` False: a new first-grader, who repeated nothing."""
        rng = self.rng
        sex = "V" if rng.random() < 0.51 else "S"
        special = rng.random() < 0.04
        z = (
            rng.normal()
            + (0.35 if sex == "V" else 0.0)
            + (0.6 if special else 0.0)
            + self.school_shift.get(school_id, 0.0)
        )
        base_risk = float(1 / (1 + np.exp(-(1.6 * z - 2.4))))
        trend = float(rng.normal(0.06, 0.03)) if rng.random() < 0.12 else float(rng.normal(0, 0.01))
        ability = float(rng.normal(-1.2 * base_risk, 0.9))
        deferred = rng.random() < DEFERRAL_RATE * (1.5 if special else 1.0)
        repeats, repeating = 0, False
        if history:
            for earlier in range(1, grade):
                if (repeats == 0 or earlier == 9) and rng.random() < _repeat_p(base_risk, earlier):
                    repeats += 1
            repeating = bool(rng.random() < _repeat_p(base_risk, grade))
        first = MALE_FIRST_NAMES if sex == "V" else FEMALE_FIRST_NAMES
        surname = SURNAMES[int(rng.integers(len(SURNAMES)))][0 if sex == "V" else 1]
        born = self.birth_date(grade, year_start, int(deferred) + repeats + int(repeating))
        pupil = Pupil(
            pupil_id=len(self.pupils),
            code=self.unique_code(born),
            first_name=first[int(rng.integers(len(first)))],
            surname=surname,
            sex=sex,
            born=born,
            special_programme=str(rng.choice(SPECIAL_NEEDS_BASIC)) if special else None,
            base_risk=base_risk,
            risk_trend=trend,
            ability=ability,
            frailty=float(rng.gamma(2.0, 0.5)),
            sport_exempt=bool(rng.random() < 0.01),
        )
        self.pupils.append(pupil)
        return pupil, repeating

    def year_days(self, year: SchoolYear, grade: int) -> list[date]:
        key = (year.year_id, grade)
        if key not in self.school_days:
            self.school_days[key] = self.calendar.school_days(year.span.start, year.span.end, grade)
        return self.school_days[key]

    def unique_code(self, born: date) -> str:
        while True:
            if born >= NEW_CODES_FROM and self.rng.random() < 0.9:
                code = personal_code.new_form(int(self.rng.integers(10**9)))
            else:
                code = personal_code.old_form(born, int(self.rng.integers(1000)))
            if code not in self.used_codes:
                self.used_codes.add(code)
                return code

    def birth_date(self, grade: int, year_start: date, years_over: int) -> date:
        year = year_start.year - 6 - grade - years_over
        return date(year, 1, 1) + timedelta(days=int(self.rng.integers(365)))


def _school_shifts(rng: np.random.Generator) -> dict[str, float]:
    """Each school's latent risk shift: schools differ in absence, grades and leaving."""
    shifts = {}
    for school in reference.schools():
        shift = float(rng.normal(0, SCHOOL_SHIFT_SD))
        if school.grade_min >= 10:  # the state gymnasium: low, whatever the draw
            shift = GYMNASIUM_SHIFT + 0.3 * shift
        shifts[school.school_id] = shift
    return shifts


def _repeat_p(risk: float, grade: int) -> float:
    """The chance of repeating a grade, rising steeply with the latent risk; grade 9 (exams)
    most, secondary least. Tuned so that about 1.5% of pupils repeat in a year."""
    if grade == 9:
        return 0.004 + 0.45 * risk**2
    if grade >= 10:
        return 0.001 + 0.04 * risk**2
    return 0.001 + 0.10 * risk**2


def _allowance(grade: int) -> int:
    """The insufficient year results a pupil may keep after re-exams and still be promoted."""
    for band in rule_config()["promotion_band"]:
        if band["grade_min"] <= grade <= band["grade_max"]:
            return int(band["allowed_insufficient"])
    raise ValueError(f"no promotion band for grade {grade}")


def has_reexams(grade: int) -> bool:
    """Supplementary exams after the year: not in grades 1-3, nor in the exam grades 9 and 12."""
    return grade not in (1, 2, 3, 9, 12)


def _class_labels(count: int, grade: int) -> list[str]:
    classes = max(1, -(-count // CLASS_SIZE))
    letters = "abcdefghijklmnopqrstuvwxyz"
    names = [letters[c % 26] + (str(c // 26 + 1) if c >= 26 else "") for c in range(classes)]
    return [f"{grade}.{names[i % classes]}" for i in range(count)]


def _band_counts(total: int, scale: float) -> list[int]:
    """Split a school's grade-band head count over its three grades."""
    scaled = round(total * scale)
    base, extra = divmod(scaled, 3)
    return [base + (1 if i < extra else 0) for i in range(3)]


def _school_day_between(calendar: SchoolCalendar, rng, first: date, last: date, grade: int) -> date:
    days = calendar.school_days(first, last, grade)
    return days[int(rng.integers(len(days)))]


def build_population(
    rng: np.random.Generator, calendar: SchoolCalendar, scale: float, last_day: date
) -> Population:
    """Pupils and spells for every school year from 2025/26 up to the one holding `last_day`."""
    builder = PopulationBuilder(rng, calendar, scale)
    years = [y for y in calendar.years if y.span.start <= last_day]
    first_year = years[0]
    current: list[Spell] = []
    for school in reference.schools():
        if not school.valid_on(first_year.span.start):
            continue
        for band, (low, _) in reference.GRADE_BANDS.items():
            for offset, count in enumerate(_band_counts(school.pupils_by_band[band], scale)):
                grade = low + offset
                labels = _class_labels(count, grade)
                for label in labels:
                    pupil, repeating = builder.new_pupil(
                        grade, first_year.span.start, school.school_id
                    )
                    first_grade = 1 if grade <= 9 else 10
                    admitted_year = first_year.span.start.year - (grade - first_grade)
                    current.append(
                        Spell(
                            pupil_id=pupil.pupil_id,
                            school_id=school.school_id,
                            school_year=first_year.year_id,
                            grade=grade,
                            class_label=label,
                            admitted=date(admitted_year - (1 if repeating else 0), 9, 1),
                            start=first_year.span.start,
                            end=first_year.span.end,
                            repeating=repeating,
                        )
                    )
    for index, year in enumerate(years):
        if index > 0:
            current = _next_year(builder, year, current)
        _simulate_year(builder, year, current, semester_offset=2 * index)
    statuses = _status_spells(builder, years)
    semester_index = {s.semester_id: i for i, s in enumerate(calendar.semesters)}
    return Population(
        builder.pupils, builder.spells, statuses, years, semester_index, builder.school_shift
    )


def _dropout_rate(grade: int) -> float:
    return DROPOUT_RATE[max(g for g in DROPOUT_RATE if g <= grade)]


def _simulate_year(
    builder: PopulationBuilder, year: SchoolYear, spells: list[Spell], semester_offset: int
) -> None:
    """Leaving during the year (a constant monthly hazard, steeper for high-risk pupils and in
    older grades), transfers between Ogre schools and arrivals; term results and promotion."""
    rng, calendar = builder.rng, builder.calendar
    schools = [s for s in reference.schools() if s.valid_on(year.span.start)]
    queue = list(spells)
    arrivals = int(len(spells) * 0.01)
    for _ in range(arrivals):
        grade = int(rng.integers(1, 13))
        candidates = [s for s in schools if s.serves(grade)]
        school = candidates[int(rng.integers(len(candidates)))]
        day = _school_day_between(calendar, rng, year.span.start, year.semesters[1].end, grade)
        pupil, repeating = builder.new_pupil(grade, year.span.start, school.school_id)
        queue.append(
            Spell(
                pupil.pupil_id,
                school.school_id,
                year.year_id,
                grade,
                f"{grade}.a",
                day,
                day,
                year.span.end,
                repeating=repeating,
            )
        )
    # Who drops out: each grade band's annual rate of its pupils, drawn without replacement
    # with weights rising steeply with the pupil's risk and the school's shift (the count is
    # the rate's, not a random draw's, so that the documented rate holds at any seed).
    dropouts: set[int] = set()
    for rate in sorted(set(DROPOUT_RATE.values())):
        band = [s for s in queue if _dropout_rate(s.grade) == rate]
        if not band:
            continue
        weight = np.array(
            [
                (builder.pupils[s.pupil_id].risk(semester_offset + 1) + 0.02) ** 2
                * np.exp(0.5 * builder.school_shift.get(s.school_id, 0.0))
                for s in band
            ]
        )
        keys = np.log(rng.random(len(band))) / weight
        count = round(rate * len(band))
        dropouts |= {id(band[i]) for i in np.argsort(-keys)[:count]}
    for spell in queue:
        pupil = builder.pupils[spell.pupil_id]
        spell.end = year.semesters[1].end_for(spell.grade)
        share = max(0.0, (spell.end - spell.start).days / (spell.end - year.span.start).days)
        draw = rng.random()
        cut = np.cumsum([ABROAD_RATE, TRANSFER_RATE]) * share
        kind = 0 if id(spell) in dropouts else (1 if draw < cut[0] else 2 if draw < cut[1] else 3)
        if kind < 3:
            day = _leave_day(builder, pupil, spell, year, semester_offset, risk_weighted=kind == 0)
            if day is not None and day > spell.start:
                _leave(builder, spell, day, kind, schools=schools, queue=queue)
        _term_results(builder, spell, semester_offset)
        builder.spells.append(spell)


@cache
def _subjects(grade: int) -> tuple[str, ...]:
    return tuple(reference.subjects_for_grade(grade))


def _leave_day(builder, pupil: Pupil, spell: Spell, year, offset: int, risk_weighted: bool):
    """A school day of the spell, likelier in the semester when the pupil's risk is higher."""
    all_days = builder.year_days(year, spell.grade)
    days = all_days[bisect_right(all_days, spell.start) : bisect_right(all_days, spell.end)]
    if not days:
        return None
    weight = np.ones(len(days))
    if risk_weighted:
        in_s2 = np.array([d >= year.semesters[1].start for d in days])
        r1, r2 = pupil.risk(offset), pupil.risk(offset + 1)
        weight = np.where(in_s2, r2 + 0.02, r1 + 0.02) ** 2
    return days[int(builder.rng.choice(len(days), p=weight / weight.sum()))]


def _term_results(builder: PopulationBuilder, spell: Spell, offset: int) -> None:
    """The subjects with an insufficient semester-1 and year result, and the re-exams passed.
    Most year failures carry over from semester 1; promotion follows the rules' bands."""
    rng = builder.rng
    pupil = builder.pupils[spell.pupil_id]
    subjects = _subjects(spell.grade)
    n = len(subjects)
    shift = builder.school_shift.get(spell.school_id, 0.0)
    scale = 0.08 if spell.grade <= 3 else (0.6 if spell.grade >= 10 else 1.2)
    results = []
    for semester, weight in ((0, 1.0), (1, 0.5)):
        performance = pupil.ability - 2.2 * pupil.risk(offset + semester) - 0.4 * shift
        performance += rng.normal(0, 0.6)
        lam = max(0.0, -performance - 2.0) * scale * weight
        results.append(min(n, int(rng.poisson(lam))))
    exempt = {k for k, s in enumerate(subjects) if pupil.sport_exempt and s == SPORT}
    s1 = [int(k) for k in rng.permutation(n) if k not in exempt][: results[0]]
    kept = [k for k in s1 if rng.random() < 0.45]
    others = [int(k) for k in rng.permutation(n) if k not in kept and k not in exempt]
    year = sorted(kept + others[: max(0, results[1] - len(kept))])
    spell.failing_s1 = tuple(sorted(int(k) for k in s1))
    spell.failing_year = tuple(year)
    if has_reexams(spell.grade):
        spell.reexam_passed = tuple(
            k for k in year if rng.random() < REEXAM_PASS + 0.1 * np.clip(pupil.ability, -2, 2)
        )


def _leave(builder, spell: Spell, day: date, kind: int, schools, queue: list[Spell]) -> None:
    """kind 0: stopped learning or other (a dropout); 1: moved abroad; 2: another Ogre school."""
    rng = builder.rng
    spell.end = day - timedelta(days=1)
    spell.left = day
    if kind == 2:
        spell.leave_reason = "pāriet uz citu izglītības iestādi"
        targets = [s for s in schools if s.serves(spell.grade) and s.school_id != spell.school_id]
        target = targets[int(rng.integers(len(targets)))]
        start = day + timedelta(days=int(rng.integers(0, 6)))
        queue.append(
            Spell(
                spell.pupil_id,
                target.school_id,
                spell.school_year,
                spell.grade,
                f"{spell.grade}.a",
                start,
                start,
                spell.end,
                repeating=spell.repeating,
            )
        )
        return
    if kind == 1:
        spell.leave_reason = "izbraucis uz ārvalstīm"
        return
    spell.leave_reason = "pārtrauca mācības" if rng.random() < 0.7 else "cits"
    builder.pupils[spell.pupil_id].ramps.append(day)


def promoted(spell: Spell) -> bool:
    """models/rules.toml [[promotion_band]]: promoted unless the insufficient year results
    left after the supplementary exams exceed the grade band's allowance."""
    return spell.insufficient_after_reexams <= _allowance(spell.grade)


def _year_end_exit(builder: PopulationBuilder, spell: Spell, reason: str) -> None:
    """Leaving at the end of the year, dated inside the delivered year: the day after the
    grade's last day, or the year's last day itself when that is the grade's (grade 12)."""
    year = next(y for y in builder.calendar.years if y.year_id == spell.school_year)
    last = year.span.end
    spell.left = min(spell.end + timedelta(days=1), last)
    spell.leave_reason = reason
    spell.year_end_exit = True
    if spell.left <= spell.end:
        spell.end = spell.left - timedelta(days=1)


def _next_year(builder: PopulationBuilder, year: SchoolYear, previous: list[Spell]) -> list[Spell]:
    """Promotion, graduation, the merger and a new grade-1 cohort at the start of a year."""
    rng, start = builder.rng, year.span.start
    schools = {s.school_id: s for s in reference.schools() if s.valid_on(start)}
    latest: dict[int, Spell] = {}
    for spell in builder.spells:
        if spell.school_year == previous[0].school_year:
            latest[spell.pupil_id] = spell
    spells: list[Spell] = []
    for spell in latest.values():
        if spell.left is not None:
            continue
        passed = promoted(spell)
        if spell.grade in (9, 12) and passed:
            if spell.grade == 12 or rng.random() < 0.5:
                _year_end_exit(builder, spell, "ieguva izglītību")
                continue
        elif spell.grade == 12:
            reason = "pārtrauca mācības" if rng.random() < 0.5 else "cits"
            _year_end_exit(builder, spell, reason)
            continue
        grade = spell.grade if not passed else spell.grade + 1
        school_id = spell.school_id
        old_school = reference.school(school_id)
        if not old_school.valid_on(start):
            school_id = old_school.successor_id or school_id
        if not schools[school_id].serves(grade):
            candidates = sorted(s.school_id for s in schools.values() if s.serves(grade))
            gymnasium_first = grade == 10 and rng.random() < 0.6
            school_id = "OVG" if gymnasium_first else candidates[int(rng.integers(len(candidates)))]
        admitted = spell.admitted if school_id == spell.school_id else start
        spells.append(
            Spell(
                spell.pupil_id,
                school_id,
                year.year_id,
                grade,
                spell.class_label.replace(str(spell.grade), str(grade), 1),
                admitted,
                start,
                year.span.end,
                repeating=not passed,
            )
        )
    spells.extend(_new_cohort(builder, year, schools))
    return spells


def _new_cohort(builder: PopulationBuilder, year: SchoolYear, schools) -> list[Spell]:
    spells = []
    for school in schools.values():
        merged = [s for s in reference.schools() if s.successor_id == school.school_id]
        count = sum(
            _band_counts(s.pupils_by_band["1-3"], builder.scale)[0] for s in [school, *merged]
        )
        for label in _class_labels(count, 1):
            pupil, _ = builder.new_pupil(1, year.span.start, school.school_id, history=False)
            spells.append(
                Spell(
                    pupil.pupil_id,
                    school.school_id,
                    year.year_id,
                    1,
                    label,
                    year.span.start,
                    year.span.start,
                    year.span.end,
                )
            )
    return spells


def _status_spells(builder: PopulationBuilder, years: list[SchoolYear]) -> list[StatusSpell]:
    rng = builder.rng
    first, last = years[0].span.start, years[-1].span.end
    statuses = []
    for pupil in builder.pupils:
        for status, rate in STATUS_RATES.items():
            if rng.random() >= rate * (0.4 + 2.4 * pupil.base_risk):
                continue
            start = first - timedelta(days=int(rng.integers(0, 900)))
            if rng.random() < 0.3:
                start = first + timedelta(days=int(rng.integers(0, (last - first).days)))
            end = None
            if rng.random() < 0.35:
                end = start + timedelta(days=int(rng.integers(90, 540)))
            statuses.append(StatusSpell(pupil.pupil_id, status, start, end))
    return statuses
