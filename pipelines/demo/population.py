"""Simulated pupils and their enrolment over the school years, before any file is written.

Each pupil carries a latent risk that drifts from semester to semester and an ability; both
drive absences, grades, leaving, repeating and support. Everything comes from one seeded
random generator, so the same seed and arguments give the same population.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from pipelines.privacy import personal_code
from pipelines.privacy.names import FEMALE_FIRST_NAMES, MALE_FIRST_NAMES, SURNAMES
from pipelines.reference import tables as reference
from pipelines.reference.calendar import SchoolCalendar, SchoolYear

GENERAL_BASIC = "21011111"
GENERAL_SECONDARY = "31011011"
SPECIAL_NEEDS_BASIC = ("21015611", "21015811", "21015911")
NEW_CODES_FROM = date(2017, 7, 1)
CLASS_SIZE = 26
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

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.surname}"

    def programme(self, grade: int) -> str:
        if self.special_programme and grade <= 9:
            return self.special_programme
        return GENERAL_BASIC if grade <= 9 else GENERAL_SECONDARY

    def risk(self, semester_index: int) -> float:
        return float(np.clip(self.base_risk + self.risk_trend * semester_index, 0.0, 1.0))

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
    failing_subjects: int = 0

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

    def new_pupil(self, born: date, special_needs_rate: float = 0.04) -> Pupil:
        rng = self.rng
        sex = "V" if rng.random() < 0.51 else "S"
        special = rng.random() < special_needs_rate
        z = rng.normal() + (0.35 if sex == "V" else 0.0) + (0.6 if special else 0.0)
        base_risk = float(1 / (1 + np.exp(-(1.6 * z - 2.4))))
        trend = float(rng.normal(0.06, 0.03)) if rng.random() < 0.12 else float(rng.normal(0, 0.01))
        ability = float(rng.normal(-1.2 * base_risk, 0.9))
        first = MALE_FIRST_NAMES if sex == "V" else FEMALE_FIRST_NAMES
        surname = SURNAMES[int(rng.integers(len(SURNAMES)))][0 if sex == "V" else 1]
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
        return pupil

    def unique_code(self, born: date) -> str:
        while True:
            if born >= NEW_CODES_FROM and self.rng.random() < 0.9:
                code = personal_code.new_form(int(self.rng.integers(10**9)))
            else:
                code = personal_code.old_form(born, int(self.rng.integers(1000)))
            if code not in self.used_codes:
                self.used_codes.add(code)
                return code

    def birth_date(self, grade: int, year_start: date, over_age: bool) -> date:
        year = year_start.year - 6 - grade - (1 if over_age else 0)
        return date(year, 1, 1) + timedelta(days=int(self.rng.integers(365)))


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
                    repeating = rng.random() < (0.06 if grade == 9 else 0.012)
                    over_age = repeating or rng.random() < 0.03
                    born = builder.birth_date(grade, first_year.span.start, over_age)
                    pupil = builder.new_pupil(born)
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
    return Population(builder.pupils, builder.spells, statuses, years, semester_index)


def _simulate_year(
    builder: PopulationBuilder, year: SchoolYear, spells: list[Spell], semester_offset: int
) -> None:
    """Mid-year leaving, transfers between Ogre schools and arrivals; failing subjects."""
    rng, calendar = builder.rng, builder.calendar
    schools = [s for s in reference.schools() if s.valid_on(year.span.start)]
    queue = list(spells)
    arrivals = int(len(spells) * 0.01)
    for _ in range(arrivals):
        grade = int(rng.integers(1, 13))
        candidates = [s for s in schools if s.serves(grade)]
        school = candidates[int(rng.integers(len(candidates)))]
        day = _school_day_between(calendar, rng, year.span.start, year.semesters[1].end, grade)
        pupil = builder.new_pupil(builder.birth_date(grade, year.span.start, rng.random() < 0.1))
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
            )
        )
    for spell in queue:
        pupil = builder.pupils[spell.pupil_id]
        risk = pupil.risk(semester_offset + 1)
        spell.end = year.semesters[1].end_for(spell.grade)
        leave_p = 0.006 + 0.05 * risk**2 * (2.0 if spell.grade >= 7 else 0.5)
        transfer_p = 0.008
        draw = rng.random()
        if draw < leave_p + transfer_p:
            day = _school_day_between(calendar, rng, spell.start, spell.end, spell.grade)
            if day > spell.start:
                _leave(builder, spell, day, transfer=draw >= leave_p, schools=schools, queue=queue)
        performance = pupil.ability - 2.2 * risk + rng.normal(0, 0.6)
        spell.failing_subjects = int(rng.poisson(max(0.0, -performance - 2.2) * 1.5))
        builder.spells.append(spell)


def _leave(builder, spell: Spell, day: date, transfer: bool, schools, queue: list[Spell]) -> None:
    rng = builder.rng
    spell.end = day - timedelta(days=1)
    spell.left = day
    if transfer:
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
    risk = builder.pupils[spell.pupil_id].base_risk
    weights = np.array([0.25, 0.45 * risk * (spell.grade >= 7) + 0.02, 0.08, 0.1])
    spell.leave_reason = str(
        rng.choice(
            [
                "izbraucis uz ārvalstīm",
                "pārtrauca mācības",
                "pāriet uz citu izglītības iestādi",
                "cits",
            ],
            p=weights / weights.sum(),
        )
    )


def _promoted(spell: Spell) -> bool:
    """Cabinet Regulation No. 11 p. 25, with one supplementary exam allowed in grades 4-8."""
    if spell.grade <= 3:
        return spell.failing_subjects < 3
    if spell.grade <= 8:
        return spell.failing_subjects <= 1
    return spell.failing_subjects == 0


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
        promoted = _promoted(spell)
        if spell.grade in (9, 12) and promoted:
            spell.left = spell.end + timedelta(days=1)
            spell.leave_reason = "ieguva izglītību"
            if spell.grade == 12 or rng.random() < 0.5:
                continue
        elif spell.grade == 12:
            spell.left = spell.end + timedelta(days=1)
            spell.leave_reason = "cits"
            continue
        grade = spell.grade if not promoted else spell.grade + 1
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
                repeating=not promoted,
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
            pupil = builder.new_pupil(builder.birth_date(1, year.span.start, False))
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
