"""A demo municipality: invented schools, people, pairs and roadmaps with planted mistakes.

``generate_municipality`` builds the data of every school of an invented municipality (the same
arguments always give the same data); ``write_municipality`` writes the school workbooks, the
registry of schools and a manifest of the planted mistakes, so that the checks and the municipal
sync can be demonstrated and tested end to end. ``make_school`` builds one school's data alone,
at any size (benchmarks use a 5,000-participant school).

Everything here is invented: names of people, schools, organisations and the roadmap wording.
Text a user reads is Russian; rule codes and notes in the manifest are English.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

from workbook_templates import contract as C

#: Data of one school workbook: sheet key -> {field: value} (FORM) or [{column: value}] (TABLE).
SchoolData = dict[str, dict | list[dict]]

MUNICIPALITY = "Северо-Озёрский муниципальный округ"
UNKNOWN_VERSION = "0.9-неизвестная"
SUBMISSIONS = ("ok", "missing", "corrupt", "unknown_version")
#: Share of the bytes a "corrupt" file keeps.
CORRUPT_SHARE = 0.6
REGISTRY_HEADER = C.REGISTRY_HEADER

#: Every rule code the demo plants at least once across a municipality.
PLANTED_CODES: tuple[str, ...] = (
    "CELL-001", "CELL-002", "CELL-003", "CELL-004", "ID-001", "PERSON-001",
    "PAIR-001", "PAIR-002", "PAIR-003", "PAIR-004", "PAIR-005", "PAIR-006", "PAIR-007",
    "PAIR-008", "PAIR-009", "CONSENT-001", "CONSENT-002", "MENTOR-001", "AGE-001",
    "SCHOOL-002", "ROAD-001", "ROAD-002", "ROAD-003", "ROAD-004", "MEET-001", "MON-001",
)

MINOR_CONSENT, ADULT_CONSENT = C.dictionary_values("consent_givers")[1], C.CONSENT_SELF
STAGES = C.dictionary_values("stages")
MEETING_STAGE = dict(zip(C.dictionary_values("meeting_types"), STAGES, strict=True))

# ------------------------------------------------------------------------ invented word lists

_MALE_FIRST = (
    "Александр Алексей Андрей Арсений Артём Борис Вадим Виктор Владимир Глеб Даниил Денис "
    "Дмитрий Егор Иван Кирилл Константин Лев Максим Марк Матвей Михаил Никита Николай Олег "
    "Павел Роман Сергей Степан Тимофей Фёдор Ярослав"
).split()
_FEMALE_FIRST = (
    "Алина Алёна Анастасия Анна Валентина Варвара Вера Вероника Виктория Галина Дарья "
    "Екатерина Елена Елизавета Ирина Кристина Ксения Лариса Любовь Маргарита Марина Мария "
    "Наталья Нина Ольга Полина Светлана София Татьяна Ульяна Юлия Яна"
).split()
#: Patronymic stems: + «ич» (male) or + «на» (female).
_PATRONYMIC_STEMS = (
    "Александров Алексеев Анатольев Андреев Артёмов Борисов Васильев Викторов Владимиров "
    "Геннадьев Григорьев Денисов Дмитриев Евгеньев Иванов Игорев Константинов Максимов "
    "Михайлов Николаев Олегов Павлов Петров Романов Сергеев Юрьев"
).split()
#: Surnames in the male form; the female form is derived.
_SURNAMES = (
    "Смирнов Кузнецов Попов Соколов Новиков Фёдоров Морозов Волков Лебедев Семёнов Егоров "
    "Козлов Степанов Орлов Макаров Никитин Захаров Зайцев Соловьёв Яковлев Воробьёв Кузьмин "
    "Фролов Королёв Гусев Киселёв Ильин Поляков Сорокин Виноградов Ковалёв Белов Медведев "
    "Антонов Тарасов Жуков Баранов Филиппов Комаров Давыдов Беляев Герасимов Богданов Осипов "
    "Сидоров Матвеев Титов Марков Миронов Крылов Куликов Карпов Власов Мельников Гаврилов "
    "Тихонов Казаков Афанасьев Данилов Савельев Тимофеев Фомин Чернов Абрамов Мартынов Ефимов "
    "Федотов Щербаков Назаров Калинин Исаев Быков Маслов Родионов Коновалов Лазарев Воронин "
    "Климов Филатов Пономарёв Голубев Кудрявцев Прохоров Наумов Потапов Журавлёв Овчинников "
    "Трофимов Леонов Соболев Ермаков Колесников Гончаров Емельянов Никифоров Грачёв Котов "
    "Гришин Ефремов Архипов Громов Кириллов Малышев Панов Моисеев Румянцев Акимов Кондратьев "
    "Бирюков Горбунов Анисимов Ерёмин Тихомиров Галкин Лукьянов Михеев Скворцов Юдин "
    "Белоусов Нестеров Симонов Прокофьев Харитонов Князев Цветков Левин Митрофанов Воронцов "
    "Савин Жданов Блинов Игнатьев Покровский Вишневский Загорский Березовский Островский"
).split()

_SCHOOL_KINDS = (
    ("МБОУ", "СОШ № {n}"), ("МАОУ", "Гимназия № {n}"), ("МБОУ", "Лицей № {n}"),
    ("МБОУ", "ООШ № {n}"), ("МАОУ", "Центр образования № {n}"), ("МКОУ", "СОШ № {n}"),
)
_VILLAGE_SCHOOLS = ("Сосновская СОШ", "Кедровская ООШ", "Заречная СОШ", "Лесновская СОШ",
                    "Озерковская СОШ", "Берёзовская ООШ")
_COLLEGES = ("ГАПОУ «Северо-Озёрский технологический колледж»",
             "ГБПОУ «Озёрский политехнический техникум»",
             "ГБПОУ «Северо-Озёрский аграрный колледж»")
_DO_NAMES = ("МБУ ДО «Дом детского творчества «Радуга»»", "МАУ ДО «Центр юных техников «Импульс»»")
_EMPLOYERS = (
    "ООО «Северный хлеб»", "АО «Озёрский машиностроительный завод»", "ПАО «Озёрскэнерго»",
    "ООО «Агрофирма «Рассвет»»", "МУП «Водоканал Северо-Озёрского округа»",
    "ГБУЗ «Северо-Озёрская районная больница»", "ООО «ТехноСервис-Север»",
    "АО «Лесопромышленный комплекс «Озёрный»»",
)
_EMPLOYER_POSITIONS = ("инженер-технолог", "мастер участка", "программист", "фельдшер",
                       "главный механик", "агроном", "экономист", "электромонтёр")
_TEACHER_POSITIONS = {
    "ОО": ("учитель математики", "учитель русского языка и литературы", "учитель физики",
           "учитель начальных классов", "учитель истории", "учитель английского языка",
           "учитель информатики", "учитель биологии", "учитель химии", "педагог-психолог"),
    "СПО": ("преподаватель", "мастер производственного обучения", "преподаватель информатики",
            "преподаватель электротехники"),
    "ДО": ("педагог дополнительного образования", "педагог-организатор", "методист"),
}
_COLLEGE_GROUPS = ("ТМ", "ЭС", "ПК", "АГ", "СВ")
_DO_CLUBS = ("Робототехника", "Юный журналист", "Хореография", "Шахматы", "Экология",
             "Театральная студия", "3D-моделирование")
_STUDENT_REQUESTS = ("повышение успеваемости по математике", "подготовка к олимпиаде",
                     "адаптация в новом коллективе", "проектная деятельность",
                     "профессиональная ориентация", "помощь в изучении предметов",
                     "развитие лидерских качеств")
_TEACHER_REQUESTS = ("адаптация в профессии", "методика проведения урока",
                     "работа с родителями", "классное руководство", "подготовка к аттестации")
_RESULTS = ("индивидуальный план выполнен", "проект защищён на школьной конференции",
            "повышение успеваемости", "успешная адаптация в коллективе",
            "участие в муниципальном конкурсе")
_COMMENTS = ("всё понравилось", "хотелось бы больше встреч", "полезно и интересно",
             "нужно больше практики", None, None, None)

# ----------------------------------------------------------------------------- public types


@dataclass(frozen=True)
class PlantedMistake:
    """One deliberate error in a school's data and the rule expected to find it."""

    school_code: str
    code: str  # rule code, e.g. "PAIR-003"
    sheet: str  # sheet key of the contract
    row: int | None  # Excel row on TABLE sheets; None on the FORM sheet "school"
    column: str  # column key
    note: str  # short English description


@dataclass
class DemoSchool:
    """One school of the demo municipality, its data and what was planted in it."""

    code: str
    name: str
    org_type: str
    data: SchoolData
    mistakes: list[PlantedMistake] = field(default_factory=list)
    #: True when the school submits a readable file and its data has no mistake at all.
    clean: bool = False
    submission: str = "ok"  # "ok" | "missing" | "corrupt" | "unknown_version"


@dataclass
class DemoMunicipality:
    """The whole demo: every school and the reporting period."""

    name: str
    period: str
    reference_date: date
    schools: list[DemoSchool]

    def school(self, code: str) -> DemoSchool:
        """The school with this code (KeyError if absent)."""
        for s in self.schools:
            if s.code == code:
                return s
        raise KeyError(code)

    @property
    def mistakes(self) -> list[PlantedMistake]:
        """Every planted mistake, school by school."""
        return [m for s in self.schools for m in s.mistakes]


# ----------------------------------------------------------------------------- dates


def period_end(period: str) -> date:
    """Last day of a ГГГГ-ММ period."""
    year, month = (int(p) for p in period.split("-"))
    first_next = date(year + month // 12, month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def age_at(birth: date, when: date) -> int:
    """Full years of a person born on ``birth`` at ``when``."""
    return when.year - birth.year - ((when.month, when.day) < (birth.month, birth.day))


def _years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (28 Feb for 29 Feb)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _school_year_start(ref: date) -> date:
    """1 September of the school year ``ref`` falls in."""
    return date(ref.year if ref.month >= 9 else ref.year - 1, 9, 1)


def _fmt(day: date) -> str:
    """ДД.ММ.ГГГГ."""
    return day.strftime("%d.%m.%Y")


def _days(rng: random.Random, lo: int, hi: int) -> timedelta:
    """A random whole number of days in [lo, hi]."""
    return timedelta(days=rng.randint(lo, hi))


# ----------------------------------------------------------------------------- people


def _female_surname(surname: str) -> str:
    """Female form of a male surname (Смирнов -> Смирнова, Островский -> Островская)."""
    if surname.endswith("ский"):
        return surname[:-2] + "ая"
    return surname + "а"


class _People:
    """Invents people with unique (full name, birth date) inside one school."""

    def __init__(self, rng: random.Random, ref: date) -> None:
        self.rng, self.ref = rng, ref
        self.used: set[tuple[str, date]] = set()

    def name(self) -> str:
        """A full name «Фамилия Имя Отчество» with male/female agreement."""
        rng = self.rng
        surname, stem = rng.choice(_SURNAMES), rng.choice(_PATRONYMIC_STEMS)
        if rng.random() < 0.5:
            return f"{surname} {rng.choice(_MALE_FIRST)} {stem}ич"
        return f"{_female_surname(surname)} {rng.choice(_FEMALE_FIRST)} {stem}на"

    def birth(self, age: int) -> date:
        """A birth date giving exactly ``age`` full years at the reference date."""
        return _years_before(self.ref, age) - _days(self.rng, 0, 364)

    def person(self, ages: tuple[int, int], consent: date) -> tuple[str, date]:
        """A new unique person aged within ``ages`` whose minority is the same at ``consent``."""
        while True:
            full_name, birth = self.name(), self.birth(self.rng.randint(*ages))
            adult_now, adult_then = age_at(birth, self.ref) >= 18, age_at(birth, consent) >= 18
            if adult_now == adult_then and (full_name, birth) not in self.used:
                self.used.add((full_name, birth))
                return full_name, birth


def _consent_by(birth: date, ref: date) -> str:
    """Who signs the consent: a parent for a minor, the person otherwise."""
    return MINOR_CONSENT if age_at(birth, ref) < 18 else ADULT_CONSENT


# ----------------------------------------------------------------------------- pair kinds


@dataclass(frozen=True)
class _Kind:
    """A form of mentoring and who takes part in it."""

    form: str
    mentor: str  # "teacher" | "student" | "employer"
    mentee: str  # "student" | "teacher"
    mentor_ages: tuple[int, int]
    mentee_ages: tuple[int, int]
    group: tuple[int, int]  # number of mentees
    weight: int


_KINDS: dict[str, tuple[_Kind, ...]] = {
    "ОО": (
        _Kind("ученик – ученик", "student", "student", (15, 17), (10, 14), (1, 3), 3),
        _Kind("учитель – ученик", "teacher", "student", (28, 60), (10, 17), (1, 4), 2),
        _Kind("учитель – учитель", "teacher", "teacher", (32, 60), (22, 27), (1, 1), 2),
        _Kind("работодатель – ученик", "employer", "student", (25, 55), (14, 17), (1, 3), 1),
    ),
    "СПО": (
        _Kind("студент – студент", "student", "student", (17, 18), (15, 16), (1, 3), 3),
        _Kind("работодатель – студент", "employer", "student", (25, 55), (15, 17), (1, 3), 2),
        _Kind("преподаватель – преподаватель", "teacher", "teacher", (32, 60), (22, 27),
              (1, 1), 2),
    ),
    "ДО": (
        _Kind("учитель – ученик", "teacher", "student", (25, 60), (7, 15), (1, 4), 3),
        _Kind("ученик – ученик", "student", "student", (15, 17), (10, 14), (1, 2), 2),
        _Kind("учитель – учитель", "teacher", "teacher", (32, 60), (22, 27), (1, 1), 1),
    ),
}
_MENTOR_CATEGORY = {"teacher": "педагог", "student": "обучающийся",
                    "employer": "представитель работодателя"}


@dataclass
class _Pair:
    """A generated pair or group with direct access to its rows."""

    row: dict
    kind: _Kind
    mentor: dict
    mentees: list[dict]
    finished: bool
    meetings: list[dict] = field(default_factory=list)
    surveys: list[dict] = field(default_factory=list)

    @property
    def ids(self) -> set[str]:
        """IDs of the pair and of everyone in it."""
        return {self.row["id"], self.mentor["id"], *(m["id"] for m in self.mentees)}


@dataclass
class _School:
    """One school under construction: its rows plus the structure the planters need."""

    code: str
    org_type: str
    ref: date
    rng: random.Random
    people: _People
    form: dict = field(default_factory=dict)
    roadmap: list[dict] = field(default_factory=list)
    mentors: list[dict] = field(default_factory=list)
    mentees: list[dict] = field(default_factory=list)
    pairs: list[_Pair] = field(default_factory=list)
    meetings: list[dict] = field(default_factory=list)
    monitoring: list[dict] = field(default_factory=list)

    def data(self) -> SchoolData:
        """The SchoolData of this school (the row dicts are shared, not copied)."""
        return {
            "school": self.form, "roadmap": self.roadmap, "mentors": self.mentors,
            "mentees": self.mentees, "pairs": [p.row for p in self.pairs],
            "meetings": self.meetings, "monitoring": self.monitoring,
        }


def _pid(prefix: str, number: int) -> str:
    """A school-local ID such as Н-001."""
    return f"{prefix}-{number:03d}"


# ----------------------------------------------------------------------------- one school


def make_school(code: str, rng: random.Random, *, n_participants: int = 40,
                org_type: str = "ОО", name: str | None = None, period: str = "2026-11",
                municipality: str = MUNICIPALITY, reference_date: date | None = None
                ) -> SchoolData:
    """The clean data of one school with about ``n_participants`` mentors and mentees.

    Fast enough for benchmarks: 5,000 participants give about 20,000 rows in well under a second.
    """
    return _build_school(code, rng, n_participants=n_participants, org_type=org_type, name=name,
                         period=period, municipality=municipality,
                         reference_date=reference_date).data()


def _build_school(code: str, rng: random.Random, *, n_participants: int, org_type: str,
                  name: str | None, period: str, municipality: str,
                  reference_date: date | None) -> _School:
    """Build a clean school: pairs with their people, meetings, surveys, roadmap and form."""
    if org_type not in _KINDS:
        raise ValueError(f"unknown org_type {org_type!r}")
    ref = period_end(period)
    school = _School(code, org_type, ref, rng, _People(rng, ref))
    for number, planned in enumerate(_pair_plan(school, n_participants), 1):
        _add_pair(school, number, *planned)
    school.meetings.sort(key=lambda m: (m["date"], m["pair_id"]))
    school.monitoring.sort(key=lambda m: (m["survey_date"], m["participant_id"]))
    school.roadmap = _roadmap(school)
    school.form = _form(school, name or code, period, municipality, reference_date)
    return school


_Plan = tuple[_Kind, bool, tuple[int, int] | None, int]


def _pair_plan(school: _School, n_participants: int) -> list[_Plan]:
    """(kind, finished, mentor age override, mentees) of every pair, finished ones first.

    Every kind appears at least twice among active pairs and three finished pairs exist, so the
    mistake planters always find a target; the rest is random until the size is reached.
    """
    rng, kinds = school.rng, _KINDS[school.org_type]
    plan: list[_Plan] = []
    for kind in kinds:
        young = (15, 16) if kind.mentor == "student" and kind.mentor_ages[0] == 15 else None
        plan += [(kind, False, young, rng.randint(*kind.group)),
                 (kind, False, None, rng.randint(*kind.group))]
    plan += [(kinds[i % len(kinds)], True, None, 1) for i in range(3)]
    size = sum(1 + p[3] for p in plan)
    weights = [k.weight for k in kinds]
    while size < n_participants:
        kind = rng.choices(kinds, weights)[0]
        plan.append((kind, rng.random() < 0.25, None, rng.randint(*kind.group)))
        size += 1 + plan[-1][3]
    plan.sort(key=lambda p: not p[1])
    return plan


def _pair_dates(school: _School, finished: bool) -> tuple[date, date | None]:
    """(start, end) of a pair: this school year for active ones, the previous one if finished."""
    rng, sy = school.rng, _school_year_start(school.ref)
    if finished:
        prev = date(sy.year - 1, 9, 1)
        return prev + _days(rng, 5, 50), date(sy.year, 5, 15) + _days(rng, 0, 16)
    latest = max(sy + timedelta(days=5), min(sy + timedelta(days=50),
                                             school.ref - timedelta(days=30)))
    return sy + _days(rng, 5, (latest - sy).days), None


def _add_pair(school: _School, number: int, kind: _Kind, finished: bool,
              mentor_ages: tuple[int, int] | None, n_mentees: int) -> None:
    """Create one pair or group with its mentor, mentees, meetings and surveys."""
    rng = school.rng
    start, end = _pair_dates(school, finished)
    mentor = _new_mentor(school, kind, mentor_ages or kind.mentor_ages, start)
    mentees = [_new_mentee(school, kind, start) for _ in range(n_mentees)]
    row = {
        "id": _pid("П", number), "form": kind.form, "mentor_id": mentor["id"],
        "mentee_ids": ", ".join(m["id"] for m in mentees), "start_date": start,
        "order_ref": f"№ {rng.randint(20, 160)} от {_fmt(start - _days(rng, 0, 3))}",
        "agreement_date": start,
    }
    pair = _Pair(row, kind, mentor, mentees, finished)
    school.pairs.append(pair)
    _add_meetings(school, pair, start, end)
    _add_surveys(school, pair, start, end)


def _new_mentor(school: _School, kind: _Kind, ages: tuple[int, int], start: date) -> dict:
    """A mentor row of the kind's mentor role."""
    rng = school.rng
    consent = start - _days(rng, 5, 25)
    full_name, birth = school.people.person(ages, consent)
    age = age_at(birth, school.ref)
    row = {"id": _pid("Н", len(school.mentors) + 1), "full_name": full_name, "birth_date": birth,
           "category": _MENTOR_CATEGORY[kind.mentor], "trained": C.YES,
           "consent_date": consent, "consent_by": _consent_by(birth, school.ref)}
    if kind.mentor == "teacher":
        row["position"] = rng.choice(_TEACHER_POSITIONS[school.org_type])
        row["experience_years"] = max(5, age - 22 - rng.randint(0, 6))
    elif kind.mentor == "student":
        row["position"] = _student_group(school, birth, mentor=True)
    else:
        row["position"] = rng.choice(_EMPLOYER_POSITIONS)
        row["organization"] = rng.choice(_EMPLOYERS)
        row["experience_years"] = rng.randint(3, max(3, age - 21))
        row["record_cert_date"] = start - _days(rng, 15, 90)
    school.mentors.append(row)
    return row


def _new_mentee(school: _School, kind: _Kind, start: date) -> dict:
    """A mentee row: a student of the right age, or a young specialist / teacher."""
    rng = school.rng
    consent = start - _days(rng, 5, 25)
    row: dict = {"id": _pid("У", len(school.mentees) + 1)}
    if kind.mentee == "student":
        ages = kind.mentee_ages
        if school.org_type != "СПО" and rng.random() < 0.08:
            ages = (max(7, ages[0] - 3), max(7, ages[0] - 1))  # a few younger pupils
        full_name, birth = school.people.person(ages, consent)
        row.update(full_name=full_name, birth_date=birth, category="обучающийся",
                   group=_student_group(school, birth, mentor=False))
        if rng.random() < 0.15:
            row["special_category"] = rng.choice(C.dictionary_values("special_categories"))
        row["request"] = rng.choice(_STUDENT_REQUESTS)
    else:
        young = rng.random() < 0.7
        full_name, birth = school.people.person(kind.mentee_ages if young else (28, 50), consent)
        row.update(full_name=full_name, birth_date=birth,
                   category="молодой специалист" if young else "педагог",
                   request=rng.choice(_TEACHER_REQUESTS))
    row.update(consent_date=consent, consent_by=_consent_by(birth, school.ref))
    school.mentees.append(row)
    return row


def _student_group(school: _School, birth: date, *, mentor: bool) -> str:
    """Class «7 «Б»», college group «ТМ-25» or a club of additional education."""
    rng = school.rng
    sy = _school_year_start(school.ref)
    age = age_at(birth, sy)
    if school.org_type == "СПО":
        course = min(4, max(1, age - 14))
        return f"{rng.choice(_COLLEGE_GROUPS)}-{(sy.year - course + 1) % 100:02d}"
    if school.org_type == "ДО":
        return f"объединение «{rng.choice(_DO_CLUBS)}»"
    grade = min(11, max(1, age - 6))
    label = f"{grade} «{rng.choice('АБВГ')}»"
    return f"{label} класс" if mentor else label


def _add_meetings(school: _School, pair: _Pair, start: date, end: date | None) -> None:
    """знакомство → пробная → планирование → рабочие (→ итоговая) and the pair's stage/plan."""
    rng, last = school.rng, end or school.ref
    meetings: list[tuple[date, str]] = []
    day = start + _days(rng, 0, 2)
    for kind in ("знакомство", "пробная", "планирование"):
        if day > last or (end and day >= end):
            break
        meetings.append((day, kind))
        day += _days(rng, 5, 9)
    if len(meetings) == 3:
        day = meetings[-1][0] + _days(rng, 14, 28)
        while day <= last and not (end and day >= end):
            meetings.append((day, "рабочая"))
            day += _days(rng, 14, 28)
    if end:
        meetings.append((end, "итоговая"))
    pid = pair.row["id"]
    pair.meetings = [{"date": d, "pair_id": pid, "meeting_type": t, "confirmed": C.YES,
                      "feedback": C.YES} for d, t in meetings]
    school.meetings.extend(pair.meetings)
    _set_progress(rng, pair, meetings, end)


def _set_progress(rng: random.Random, pair: _Pair, meetings: list[tuple[date, str]],
                  end: date | None) -> None:
    """Plan, stage, plan share, end date and result consistent with the meetings held."""
    row = pair.row
    planning = [d for d, t in meetings if t == "планирование"]
    row["plan"] = C.YES if planning else C.NO
    if planning:
        row["plan_date"] = planning[0]
    row["stage"] = MEETING_STAGE[meetings[-1][1]] if meetings else STAGES[0]
    working = sum(1 for _, t in meetings if t == "рабочая")
    if end:
        row.update(plan_percent=rng.choice((90, 95, 100, 100)), end_date=end,
                   result=rng.choice(_RESULTS))
    elif planning:
        row["plan_percent"] = min(80, 10 + 15 * working)


def _add_surveys(school: _School, pair: _Pair, start: date, end: date | None) -> None:
    """December and May surveys of the pair's participants while the pair was running."""
    rng, last = school.rng, end or school.ref
    waves = []
    for year in range(start.year, last.year + 1):
        waves += [(date(year, 12, rng.randint(10, 20)), "декабрь"),
                  (date(year, 5, rng.randint(5, 12)), "май")]
    people = [(pair.mentor["id"], "наставник")] + [(m["id"], "наставляемый") for m in pair.mentees]
    for day, wave in sorted(waves):
        if not start + timedelta(days=30) <= day <= last:
            continue
        for pid, role in people:
            if rng.random() < 0.75:
                pair.surveys.append({"participant_id": pid, "role": role, "wave": wave,
                                     "survey_date": day, "satisfaction": rng.randint(6, 10),
                                     "comment": rng.choice(_COMMENTS)})
    school.monitoring.extend(pair.surveys)


def _form(school: _School, name: str, period: str, municipality: str,
          reference_date: date | None) -> dict:
    """The «Сведения об ОО» form with denominators above every count the data gives."""
    rng, ref = school.rng, school.ref
    students = [r for r in school.mentors + school.mentees if r["category"] == "обучающийся"]
    ages = [age_at(r["birth_date"], ref) for r in students]
    n10 = sum(10 <= a <= 19 for a in ages)
    n15 = sum(15 <= a <= 19 for a in ages)
    total = round(len(students) * rng.uniform(2.5, 4.0)) + rng.randint(50, 200)
    s10 = n10 + int((total - len(students)) * rng.uniform(0.5, 0.7))
    s15 = n15 + int((s10 - n10) * rng.uniform(0.3, 0.45))
    teachers = [r for r in school.mentors if r["category"] == "педагог"]
    teachers += [r for r in school.mentees if r["category"] in ("педагог", "молодой специалист")]
    young = sum(r["category"] == "молодой специалист" for r in teachers)
    partners = {r["organization"] for r in school.mentors if r.get("organization")}
    curator, _ = school.people.person((35, 55), ref)
    return {
        "code": school.code, "name": name, "org_type": school.org_type,
        "municipality": municipality, "curator": curator, "period": period,
        "reference_date": reference_date, "students_total": total, "students_10_19": s10,
        "students_15_19": s15, "teachers_total": len(teachers) + rng.randint(10, 40),
        "young_teachers": young + rng.randint(0, 4),
        "partners_total": len(partners) + rng.randint(0, 3),
    }


# ----------------------------------------------------------------------------- roadmap


@dataclass(frozen=True)
class _Item:
    """A roadmap item template: deadline as a function of the school-year start year Y."""

    section: int
    activity: str
    deadline: Callable[[int], tuple[str, date | None]]  # -> (text, due date or None)
    responsible: str
    result: str
    indicator: str = ""
    required: bool = False
    recurrence: str = ""


_SECTIONS = {
    1: "Подготовка условий для запуска программы наставничества",
    2: "Формирование баз наставников и наставляемых",
    3: "Работа наставнических пар и групп",
    4: "Обучение наставников и кураторов",
    5: "Мониторинг и оценка результатов",
    6: "Завершение и подведение итогов",
}


def _until(day: int, month: int, shift: int = 0, style: str = "до") -> Callable[[int], tuple]:
    """A «до ДД.ММ.ГГГГ» deadline (or a bare date) in year Y + shift."""
    def build(year: int) -> tuple[str, date]:
        due = date(year + shift, month, day)
        return (f"до {_fmt(due)}" if style == "до" else _fmt(due)), due
    return build


def _month(month: int, text: str, shift: int = 0) -> Callable[[int], tuple]:
    """A month deadline such as «сентябрь 2026 г.», due the month's last day."""
    def build(year: int) -> tuple[str, date]:
        y = year + shift
        return text.format(y=y), period_end(f"{y}-{month:02d}")
    return build


def _fixed(text: str) -> Callable[[int], tuple]:
    """A deadline without a date of its own (recurrence or no deadline at all)."""
    return lambda year: (text, None)


_ITEMS: tuple[_Item, ...] = (
    _Item(1, "Изучение методологии наставничества (распоряжение Р-145) и типовых документов "
          "рабочей группой", _month(8, "август {y} года"), "директор, рабочая группа",
          "протокол совещания", required=True),
    _Item(1, "Назначение куратора внедрения целевой модели наставничества",
          _until(1, 9), "директор", "приказ о назначении куратора", required=True),
    _Item(1, "Утверждение положения о наставничестве и дорожной карты", _until(15, 9),
          "директор, куратор", "приказ, положение, дорожная карта", required=True),
    _Item(1, "Информирование педагогов, обучающихся и родителей о программе наставничества",
          _month(9, "сентябрь {y} г."), "куратор, классные руководители",
          "публикация на сайте, протоколы собраний"),
    _Item(2, "Сбор запросов потенциальных наставляемых", _fixed("сентябрь ежегодно"),
          "заместитель директора", "перечень запросов", recurrence="ежегодно"),
    _Item(2, "Анкетирование потенциальных наставников, сбор согласий на обработку "
          "персональных данных", _until(30, 9), "куратор", "анкеты, согласия", required=True),
    _Item(2, "Формирование базы наставников", _month(10, "октябрь {y} г."), "куратор",
          "база наставников", "число наставников", required=True),
    _Item(2, "Актуализация базы наставляемых", _fixed("в течение учебного года"), "куратор",
          "база наставляемых", "число наставляемых"),
    _Item(3, "Формирование наставнических пар и групп, приказ о закреплении", _until(10, 10),
          "директор, куратор", "приказ о закреплении пар и групп", "число пар", required=True),
    _Item(3, "Составление индивидуальных планов наставляемых",
          _month(10, "сентябрь-октябрь {y}"), "наставники", "индивидуальные планы",
          required=True),
    _Item(3, "Встречи наставников и наставляемых с подтверждающими формами и отзывами",
          _fixed("в течение учебного года"), "наставники", "формы встреч, отзывы"),
    _Item(3, "Психолого-педагогическое сопровождение пар и групп", _fixed("постоянно"),
          "педагог-психолог", "консультации"),
    _Item(4, "Обучающий семинар для наставников", _month(11, "ноябрь {y} г."), "куратор",
          "программа семинара, список участников", required=True),
    _Item(4, "Повышение квалификации куратора и рабочей группы",
          _fixed("по отдельному графику"), "заместитель директора", "удостоверения"),
    _Item(5, "Персонифицированный учёт участников программ наставничества",
          _fixed("ежеквартально"), "куратор", "база участников", recurrence="ежеквартально"),
    _Item(5, "Представление сведений в муниципальный наставнический центр",
          _fixed("ежемесячно 25 числа"), "куратор", "рабочая книга", recurrence="ежемесячно"),
    _Item(5, "Внутренний мониторинг реализации программы наставничества",
          _until(20, 12), "куратор", "справка по итогам мониторинга"),
    _Item(5, "Анкетирование удовлетворённости наставников и наставляемых",
          _fixed("январь, июнь"), "куратор", "результаты анкетирования",
          "удовлетворённость, %"),
    _Item(5, "Сведения о численности участников для федеральной статистики",
          _until(30, 12, style="date"), "куратор", "отчёт"),
    _Item(5, "Оценка качества реализации программ наставничества",
          _month(5, "май {y} года", shift=1), "рабочая группа", "аналитическая справка"),
    _Item(6, "Итоговое мероприятие, награждение лучших наставников",
          _month(6, "май-июнь {y} г.", shift=1), "директор, куратор", "приказ о поощрении"),
    _Item(6, "Публикация итогов программы на сайте организации",
          _until(30, 6, shift=1), "куратор", "страница сайта"),
)


def _roadmap(school: _School) -> list[dict]:
    """12–20 roadmap rows: done before the reference date, in progress or not started after."""
    rng, ref = school.rng, school.ref
    year = _school_year_start(ref).year
    required = [i for i in _ITEMS if i.required]
    optional = [i for i in _ITEMS if not i.required]
    total = rng.randint(max(12, len(required)), min(20, len(_ITEMS)))
    keep = set(rng.sample(optional, total - len(required)))
    rows, numbers = [], dict.fromkeys(_SECTIONS, 0)
    for item in _ITEMS:
        if not item.required and item not in keep:
            continue
        numbers[item.section] += 1
        rows.append(_roadmap_row(rng, ref, year, item, f"{item.section}.{numbers[item.section]}"))
    return rows


def _roadmap_row(rng: random.Random, ref: date, year: int, item: _Item, number: str) -> dict:
    """One roadmap row with a status consistent with its deadline and the reference date."""
    text, due = item.deadline(year)
    row = {"item_no": number, "section": _SECTIONS[item.section], "activity": item.activity,
           "deadline_text": text, "responsible": item.responsible, "result": item.result,
           "indicator": item.indicator or None}
    if due and text.startswith("до") and rng.random() < 0.4:
        row["due_date"] = due
    if item.recurrence and rng.random() < 0.5:
        row["recurrence"] = item.recurrence
    if text == "сентябрь ежегодно":  # this year's occurrence is due 30 September
        due = date(year, 9, 30)
    if due and due <= ref:
        done = min(due, ref) - _days(rng, 0, 12)
        row.update(status=C.STATUS_DONE, done_date=done, evidence=_evidence(rng, done))
    elif due:
        row["status"] = "не начато" if (due - ref).days > 60 else "в работе"
    else:
        row["status"] = "в работе"
    return row


def _evidence(rng: random.Random, day: date) -> str:
    """A reference to the document that proves an item done."""
    return rng.choice((
        f"приказ № {rng.randint(5, 150)} от {_fmt(day)}",
        f"протокол № {rng.randint(1, 9)} от {_fmt(day)}",
        f"приказ № {rng.randint(5, 150)}-од от {_fmt(day)}",
        "https://school.example.ru/nastavnichestvo",
    ))


# ----------------------------------------------------------------------------- planting


class _Planter:
    """Plants mistakes in one school, each on rows no other planted mistake touches."""

    def __init__(self, school: _School) -> None:
        self.s, self.rng = school, school.rng
        self.touched: set[str] = set()
        self.touched_items: set[int] = set()
        self.mistakes: list[PlantedMistake] = []

    # -- helpers
    def _mistake(self, code: str, sheet: str, row: int | None, column: str, note: str) -> bool:
        self.mistakes.append(PlantedMistake(self.s.code, code, sheet, row, column, note))
        return True

    def _pairs(self, test: Callable[[_Pair], bool]) -> _Pair | None:
        """A random untouched pair passing ``test``, marked as touched."""
        found = [p for p in self.s.pairs if not (p.ids & self.touched) and test(p)]
        if not found:
            return None
        pair = self.rng.choice(found)
        self.touched |= pair.ids
        return pair

    def _row(self, sheet: str, row: dict) -> int:
        """Excel row of a row dict of a TABLE sheet."""
        rows = [p.row for p in self.s.pairs] if sheet == "pairs" else getattr(self.s, sheet)
        return next(i for i, r in enumerate(rows) if r is row) + C.FIRST_DATA_ROW

    def _item(self, test: Callable[[dict], bool]) -> tuple[int, dict] | None:
        """A random untouched roadmap row passing ``test``, marked as touched."""
        found = [i for i, r in enumerate(self.s.roadmap)
                 if i not in self.touched_items and test(r)]
        if not found:
            return None
        index = self.rng.choice(found)
        self.touched_items.add(index)
        return index + C.FIRST_DATA_ROW, self.s.roadmap[index]

    def _missing_id(self, prefix: str) -> str:
        """An ID of the prefix that no row has and no append will use."""
        count = {"Н": len(self.s.mentors), "У": len(self.s.mentees), "П": len(self.s.pairs)}
        return _pid(prefix, count[prefix] + 500 + self.rng.randint(0, 99))

    def plant(self, code: str) -> bool:
        """Plant one mistake of ``code``; False when this school has no suitable target."""
        return getattr(self, "_" + code.replace("-", "_").lower())()

    # -- cells
    def _cell_001(self) -> bool:
        pair = self._pairs(lambda p: p.kind.mentee == "student" and p.kind.mentor != "student")
        if not pair:
            return False
        mentee = pair.mentees[0]
        mentee["birth_date"] = None
        return self._mistake("CELL-001", "mentees", self._row("mentees", mentee), "birth_date",
                             "required birth date of a mentee left empty")

    def _cell_002(self) -> bool:
        pair = self._pairs(lambda p: p.kind.mentor == "teacher")
        if not pair:
            return False
        mentor = pair.mentor
        mentor["birth_date"] = f"31.02.{mentor['birth_date'].year}"
        return self._mistake("CELL-002", "mentors", self._row("mentors", mentor), "birth_date",
                             f"mentor birth date is the impossible text {mentor['birth_date']!r}")

    def _cell_003(self) -> bool:
        pair = self._pairs(lambda p: not p.finished and p.row.get("stage") == STAGES[3])
        if not pair:
            return False
        pair.row["stage"] = "в процессе"
        return self._mistake("CELL-003", "pairs", self._row("pairs", pair.row), "stage",
                             "stage 'в процессе' is not in the stages dictionary")

    def _cell_004(self) -> bool:
        pair = self._pairs(lambda p: bool(p.surveys))
        if not pair:
            return False
        survey = pair.surveys[0]
        survey["satisfaction"] = 12
        return self._mistake("CELL-004", "monitoring", self._row("monitoring", survey),
                             "satisfaction", "satisfaction 12 is above the 1–10 scale")

    # -- ids and people
    def _id_001(self) -> bool:
        pair = self._pairs(lambda p: p.kind.mentee == "student")
        if not pair:
            return False
        original = pair.mentees[0]
        consent = original["consent_date"]
        full_name, birth = self.s.people.person((11, 16), consent)
        row = dict(original, full_name=full_name, birth_date=birth,
                   group=_student_group(self.s, birth, mentor=False),
                   consent_by=_consent_by(birth, self.s.ref))
        self.s.mentees.append(row)
        return self._mistake("ID-001", "mentees", self._row("mentees", row), "id",
                             f"a second mentee typed with the existing ID {row['id']}")

    def _person_001(self) -> bool:
        pair = self._pairs(lambda p: p.kind.mentee == "student")
        if not pair:
            return False
        original = pair.mentees[0]
        row = dict(original, id=_pid("У", len(self.s.mentees) + 1))
        self.s.mentees.append(row)
        return self._mistake("PERSON-001", "mentees", self._row("mentees", row), "full_name",
                             f"mentee {original['id']} entered again as {row['id']}")

    # -- pairs
    def _pair_001(self) -> bool:
        pair = self._pairs(lambda p: not p.finished)
        if not pair:
            return False
        pair.row["mentor_id"] = self._missing_id("Н")
        return self._mistake("PAIR-001", "pairs", self._row("pairs", pair.row), "mentor_id",
                             f"mentor {pair.row['mentor_id']} is not on the mentors sheet")

    def _pair_002(self) -> bool:
        pair = self._pairs(lambda p: not p.finished and len(p.mentees) > 1) or self._pairs(
            lambda p: not p.finished)
        if not pair:
            return False
        missing = self._missing_id("У")
        pair.row["mentee_ids"] += f", {missing}"
        return self._mistake("PAIR-002", "pairs", self._row("pairs", pair.row), "mentee_ids",
                             f"mentee {missing} is not on the mentees sheet")

    def _pair_003(self) -> bool:
        pair = self._pairs(lambda p: p.kind.mentee == "teacher")
        if not pair:
            return False
        mentee, mentor = pair.mentees[0], pair.mentor
        mentee.update(full_name=mentor["full_name"], birth_date=mentor["birth_date"],
                      category="педагог")
        return self._mistake("PAIR-003", "pairs", self._row("pairs", pair.row), "mentee_ids",
                             f"mentor {mentor['id']} is the same person as mentee {mentee['id']}")

    def _pair_004(self) -> bool:
        pair = self._pairs(lambda p: p.kind.form == "учитель – ученик")
        if not pair:
            return False
        pair.row["form"] = "учитель – учитель"
        return self._mistake("PAIR-004", "pairs", self._row("pairs", pair.row), "mentee_ids",
                             "form 'учитель – учитель' with student mentees")

    def _pair_005(self) -> bool:
        ref = self.s.ref

        def fits(p: _Pair) -> bool:
            return (p.kind.form == "ученик – ученик" and not p.finished
                    and self._older_birth(p.mentor["birth_date"]) is not None)

        pair = self._pairs(fits)
        if not pair:
            return False
        mentee = pair.mentees[0]
        mentee["birth_date"] = self._older_birth(pair.mentor["birth_date"])
        mentee["group"] = _student_group(self.s, mentee["birth_date"], mentor=False)
        mentee["consent_by"] = _consent_by(mentee["birth_date"], ref)
        return self._mistake("PAIR-005", "pairs", self._row("pairs", pair.row), "mentor_id",
                             f"student mentor {pair.mentor['id']} is younger than mentee "
                             f"{mentee['id']}")

    def _older_birth(self, mentor_birth: date) -> date | None:
        """A birth date over a year before the mentor's that still gives a minor, or None."""
        birth = mentor_birth - timedelta(days=400 + mentor_birth.toordinal() % 150)
        ok = age_at(birth, self.s.ref) <= 17 and age_at(birth, self.s.ref) > age_at(
            mentor_birth, self.s.ref)
        return birth if ok else None

    def _pair_006(self) -> bool:
        pair = self._pairs(lambda p: not p.finished and p.kind.mentor == "teacher")
        if not pair:
            return False
        others = [m["id"] for m in self.s.mentors
                  if m["id"] != pair.mentor["id"] and m["category"] == pair.mentor["category"]]
        if not others:
            return False
        pair.row["mentor_id"] = f"{pair.mentor['id']}, {self.rng.choice(others)}"
        return self._mistake("PAIR-006", "pairs", self._row("pairs", pair.row), "mentor_id",
                             f"two mentors in one pair: {pair.row['mentor_id']}")

    def _pair_007(self) -> bool:
        pair = self._pairs(lambda p: p.finished)
        if not pair:
            return False
        end = pair.row["end_date"]
        pair.row["end_date"] = _years_before(end, 1)
        return self._mistake("PAIR-007", "pairs", self._row("pairs", pair.row), "end_date",
                             "end date typed a year early, before the start date")

    def _pair_008(self) -> bool:
        pair = self._pairs(lambda p: p.finished)
        if not pair:
            return False
        pair.row["end_date"] = None
        return self._mistake("PAIR-008", "pairs", self._row("pairs", pair.row), "end_date",
                             "stage 'завершение' without an end date")

    def _pair_009(self) -> bool:
        pair = self._pairs(lambda p: not p.finished)
        if not pair:
            return False
        pair.row["agreement_date"] = None
        return self._mistake("PAIR-009", "pairs", self._row("pairs", pair.row),
                             "agreement_date", "active pair without an agreement date")

    # -- consents, mentors, ages
    def _consent_001(self) -> bool:
        pair = self._pairs(lambda p: True)
        if not pair:
            return False
        mentee = pair.mentees[0]
        mentee["consent_date"] = None
        return self._mistake("CONSENT-001", "mentees", self._row("mentees", mentee),
                             "consent_date", "mentee without a personal-data consent")

    def _consent_002(self) -> bool:
        def minor(p: _Pair) -> bool:
            return p.kind.mentee == "student" and age_at(p.mentees[0]["birth_date"],
                                                         self.s.ref) <= 16
        pair = self._pairs(minor)
        if not pair:
            return False
        mentee = pair.mentees[0]
        mentee["consent_by"] = C.CONSENT_SELF
        return self._mistake("CONSENT-002", "mentees", self._row("mentees", mentee),
                             "consent_by", "a minor signed the consent without a parent")

    def _mentor_001(self) -> bool:
        def fits(p: _Pair) -> bool:
            return (p.kind.mentor == "employer" and not p.finished
                    and all(age_at(m["birth_date"], self.s.ref) < 18 for m in p.mentees))
        pair = self._pairs(fits)
        if not pair:
            return False
        pair.mentor["record_cert_date"] = None
        return self._mistake("MENTOR-001", "mentors", self._row("mentors", pair.mentor),
                             "record_cert_date",
                             "employer mentor of minors without a criminal-record certificate")

    def _age_001(self) -> bool:
        pair = self._pairs(lambda p: p.kind.mentee == "student" and p.kind.mentor != "student")
        if not pair:
            return False
        mentee = pair.mentees[0]
        born = mentee["birth_date"]
        mentee["birth_date"] = born.replace(year=self.s.ref.year + self.rng.randint(1, 4),
                                            day=min(born.day, 28))
        return self._mistake("AGE-001", "mentees", self._row("mentees", mentee), "birth_date",
                             "student birth date after the reference date")

    # -- form and roadmap
    def _school_002(self) -> bool:
        form = self.s.form
        if form["students_10_19"] > form["students_total"]:
            return False
        form["students_10_19"] = form["students_total"] + self.rng.randint(10, 40)
        return self._mistake("SCHOOL-002", "school", None, "students_10_19",
                             "students aged 10–19 exceed all students")

    def _road_001(self) -> bool:
        found = self._item(lambda r: r.get("status") == C.STATUS_DONE
                           and r["deadline_text"].startswith("до ")) or self._item(
            lambda r: r.get("status") == C.STATUS_DONE)
        if not found:
            return False
        row_no, row = found
        due = min(date(self.s.ref.year, 10, 15), self.s.ref - timedelta(days=20))
        row.update(deadline_text=f"до {_fmt(due)}", due_date=None, status="в работе",
                   done_date=None, evidence=None)
        return self._mistake("ROAD-001", "roadmap", row_no, "deadline_text",
                             "item due before the reference date is still in progress")

    def _road_002(self) -> bool:
        found = self._item(lambda r: r.get("status") == C.STATUS_DONE)
        if not found:
            return False
        row_no, row = found
        row["done_date"] = None
        return self._mistake("ROAD-002", "roadmap", row_no, "done_date",
                             "done item without a completion date")

    def _road_003(self) -> bool:
        found = self._item(lambda r: r.get("status") == C.STATUS_DONE)
        if not found:
            return False
        row_no, row = found
        row.update(evidence=None, result=None)
        return self._mistake("ROAD-003", "roadmap", row_no, "evidence",
                             "done item without a supporting document or result")

    def _road_004(self) -> bool:
        found = self._item(lambda r: r.get("status") == "не начато")
        if not found:
            return False
        row_no, row = found
        row.update(deadline_text="когда получится", due_date=None)
        return self._mistake("ROAD-004", "roadmap", row_no, "deadline_text",
                             "deadline text no parser can read")

    # -- meetings and monitoring
    def _meet_001(self) -> bool:
        def working(p: _Pair) -> int:
            return sum(m["meeting_type"] == "рабочая" for m in p.meetings)

        pair = self._pairs(lambda p: working(p) >= 2) or self._pairs(lambda p: working(p) >= 1)
        if not pair:
            return False
        meeting = [m for m in pair.meetings if m["meeting_type"] == "рабочая"][-1]
        meeting["pair_id"] = self._missing_id("П")
        return self._mistake("MEET-001", "meetings", self._row("meetings", meeting), "pair_id",
                             f"meeting of an unknown pair {meeting['pair_id']}")

    def _mon_001(self) -> bool:
        pair = self._pairs(lambda p: any(s["role"] == "наставляемый" for s in p.surveys))
        if not pair:
            return False
        survey = next(s for s in pair.surveys if s["role"] == "наставляемый")
        survey["participant_id"] = self._missing_id("У")
        return self._mistake("MON-001", "monitoring", self._row("monitoring", survey),
                             "participant_id",
                             f"survey of an unknown participant {survey['participant_id']}")


#: Codes a school type cannot host (no pair of the needed form).
_UNSUPPORTED: dict[str, frozenset[str]] = {
    "СПО": frozenset({"PAIR-004", "PAIR-005"}),
    "ДО": frozenset({"MENTOR-001"}),
    "ОО": frozenset(),
}


def _deal_codes(rng: random.Random, schools: list[_School]) -> dict[str, list[str]]:
    """Give each school 3–6 distinct codes so that every code is dealt at least once."""
    quota = {s.code: rng.randint(3, 6) for s in schools}
    while sum(quota.values()) < len(PLANTED_CODES):
        smallest = min(quota, key=lambda c: quota[c])
        quota[smallest] += 1
    codes = list(PLANTED_CODES)
    rng.shuffle(codes)
    codes.sort(key=lambda c: sum(c not in _UNSUPPORTED[s.org_type] for s in schools))
    codes += rng.choices(PLANTED_CODES, k=sum(quota.values()) - len(codes))
    dealt: dict[str, list[str]] = {s.code: [] for s in schools}
    for code in codes:
        fits = [s for s in schools if code not in dealt[s.code]
                and code not in _UNSUPPORTED[s.org_type] and len(dealt[s.code]) < quota[s.code]]
        if fits:
            best = max(fits, key=lambda s: (quota[s.code] - len(dealt[s.code]), -schools.index(s)))
            dealt[best.code].append(code)
    return dealt


def _plant_all(rng: random.Random, schools: list[_School]) -> dict[str, list[PlantedMistake]]:
    """Plant the dealt codes; a code a school cannot host moves to another school."""
    planters = {s.code: _Planter(s) for s in schools}
    leftovers = []
    for code_school, codes in _deal_codes(rng, schools).items():
        for code in codes:
            if not planters[code_school].plant(code):
                leftovers.append(code)
    for code in leftovers:
        if not any(p.plant(code) for p in planters.values()
                   if code not in {m.code for m in p.mistakes}):
            raise RuntimeError(f"no school can host a {code} mistake")
    missing = set(PLANTED_CODES) - {m.code for p in planters.values() for m in p.mistakes}
    if missing:
        raise RuntimeError(f"codes not planted: {sorted(missing)}")
    return {code: p.mistakes for code, p in planters.items()}


# ----------------------------------------------------------------------------- municipality


def _school_names(rng: random.Random, types: list[str]) -> list[str]:
    """Distinct invented names for schools of the given types."""
    numbers = rng.sample(range(1, 40), len(types))
    villages, colleges, dos = (list(x) for x in (_VILLAGE_SCHOOLS, _COLLEGES, _DO_NAMES))
    for pool in (villages, colleges, dos):
        rng.shuffle(pool)
    names = []
    for number, org_type in zip(numbers, types, strict=True):
        if org_type == "СПО":
            names.append(colleges.pop() if colleges else f"ГБПОУ «Колледж № {number}»")
        elif org_type == "ДО":
            names.append(dos.pop() if dos else f"МБУ ДО «Центр творчества № {number}»")
        elif villages and rng.random() < 0.25:
            names.append(f"МБОУ «{villages.pop()}»")
        else:
            owner, pattern = rng.choice(_SCHOOL_KINDS)
            names.append(f"{owner} «{pattern.format(n=number)}»")
    return names


_SIZES = {"ОО": (30, 70), "СПО": (40, 80), "ДО": (25, 45)}
#: Participants of the one school that holds every planted code in a small municipality.
SMALL_MISTAKEN_SIZE = 100
#: Tries of drawing the schools with mistakes again when a code finds no place in them.
PLANT_ATTEMPTS = 20
#: Fewer schools than FULL_LAYOUT: what each one is, in the order schools are taken
#: (a school with mistakes first: the demo exists to show them).
SMALL_ROLES = ("mistaken", "clean", "missing", "corrupt", "clean", "unknown_version", "clean")
FULL_LAYOUT = len(SMALL_ROLES) + 1
CLEAN_TYPES = ("ОО", "ОО", "ДО")


def _layout(rng: random.Random, n: int) -> tuple[list[str], dict[int, str], int]:
    """Types of the n schools, the positions of the non-"ok" submissions and how many of the
    first schools are clean.

    Schools 1 and 2 (ОО) and 3 (ДО) are clean; 4 is a college, and a second college sits in the
    middle of municipalities of ten or more; three other ОО do not submit properly.
    """
    if n < FULL_LAYOUT:
        return _small_layout(n)
    types = ["ОО", "ОО", "ДО", "СПО"] + ["ОО"] * (n - 4)
    if n >= 10:
        types[n // 2 + 2] = "СПО"
    candidates = [i for i in range(4, n) if types[i] == "ОО"]
    special = rng.sample(candidates, 3)
    return types, dict(zip(sorted(special), ("missing", "corrupt", "unknown_version"),
                           strict=True)), len(CLEAN_TYPES)


def _small_layout(n: int) -> tuple[list[str], dict[int, str], int]:
    """A municipality of 1–7 schools: the first n roles of SMALL_ROLES, clean schools first,
    then the one school that holds every planted mistake (an ОО, which can host them all),
    then the submissions that fail."""
    roles = SMALL_ROLES[:n]
    clean = roles.count("clean")
    broken = [r for r in roles if r not in ("clean", "mistaken")]
    types = [*CLEAN_TYPES[:clean], "ОО", *["ОО"] * len(broken)]
    return types, {clean + 1 + i: r for i, r in enumerate(broken)}, clean


def generate_municipality(n_schools: int = 12, seed: int = 2026, period: str = "2026-11",
                          participants_per_school: int | None = None) -> DemoMunicipality:
    """An invented municipality of ``n_schools`` (at least 1) with planted mistakes.

    Schools 1–3 are clean, three others are "missing", "corrupt" and "unknown_version" (with
    clean data), the rest carry 3–6 planted mistakes each (more when there are too few of them to
    hold every code once). Below 8 schools one school holds every planted code and the others
    are, in this order, clean, missing, corrupt, clean, unknown_version, clean (SMALL_ROLES).
    The same arguments always give the same data.
    """
    if n_schools < 1:
        raise ValueError("a demo municipality needs at least 1 school")
    rng = random.Random(seed)
    types, special, clean = _layout(rng, n_schools)
    names = _school_names(rng, types)
    mistaken = [i for i in range(n_schools) if i >= clean and i not in special]
    sizes = [participants_per_school or rng.randint(*_SIZES[t]) for t in types]
    if n_schools < FULL_LAYOUT:  # one school holds every code: room for all of them
        sizes = [max(n, SMALL_MISTAKEN_SIZE) if i in mistaken else n for i, n in enumerate(sizes)]

    def build(index: int, attempt: int = 0) -> _School:
        code = f"ОО-{index + 1:03d}"
        ref_date = period_end(period) if types[index] == "ДО" else None
        school_seed = f"{seed}:{code}" + (f":{attempt}" if attempt else "")
        return _build_school(code, random.Random(school_seed), n_participants=sizes[index],
                             org_type=types[index], name=names[index], period=period,
                             municipality=MUNICIPALITY, reference_date=ref_date)

    built = [build(i) for i in range(n_schools)]
    for attempt in range(1, PLANT_ATTEMPTS + 1):
        try:
            planted = _plant_all(rng, [built[i] for i in mistaken])
            break
        except RuntimeError:
            # A school whose data cannot host a code (e.g. no roadmap item far enough ahead):
            # the same school drawn again from the next seed; the data stay reproducible.
            if attempt == PLANT_ATTEMPTS:
                raise
            for i in mistaken:
                built[i] = build(i, attempt)
    schools = []
    for index, s in enumerate(built):
        submission = special.get(index, "ok")
        mistakes = planted.get(s.code, [])
        schools.append(DemoSchool(code=s.code, name=s.form["name"], org_type=s.org_type,
                                  data=s.data(), mistakes=mistakes,
                                  clean=submission == "ok" and not mistakes,
                                  submission=submission))
    return DemoMunicipality(MUNICIPALITY, period, period_end(period), schools)


# ----------------------------------------------------------------------------- writing


def write_municipality(muni: DemoMunicipality, out_dir: Path) -> Path:
    """Write schools/<code>.xlsx, registry.csv and planted_mistakes.json into ``out_dir``."""
    from workbook_templates.build import write_school_workbook

    out_dir = Path(out_dir)
    (out_dir / "schools").mkdir(parents=True, exist_ok=True)
    for school in muni.schools:
        path = out_dir / _source(school)
        path.unlink(missing_ok=True)
        if school.submission == "missing":
            continue
        write_school_workbook(path, school.data)
        if school.submission == "corrupt":
            payload = path.read_bytes()
            path.write_bytes(payload[: int(len(payload) * CORRUPT_SHARE)])
        elif school.submission == "unknown_version":
            _set_version(path, UNKNOWN_VERSION)
    _write_registry(muni, out_dir / "registry.csv")
    (out_dir / "planted_mistakes.json").write_text(
        json.dumps(manifest(muni), ensure_ascii=False, indent=1), encoding="utf-8")
    return out_dir


def _source(school: DemoSchool) -> str:
    """Path of the school's workbook relative to the output folder."""
    return f"schools/{school.code}.xlsx"


def _set_version(path: Path, version: str) -> None:
    """Overwrite the template version on the Инструкция sheet and in the defined name."""
    from openpyxl import load_workbook
    from openpyxl.workbook.defined_name import DefinedName

    wb = load_workbook(path)
    ws = wb[C.INSTRUCTIONS.name]
    for row in ws.iter_rows(min_col=1, max_col=2):
        if row[0].value == C.VERSION_LABEL:
            row[1].value = version
    text = '"' + version.replace('"', '""') + '"'
    wb.defined_names[C.VERSION_DEFINED_NAME] = DefinedName(C.VERSION_DEFINED_NAME,
                                                           attr_text=text)
    wb.save(path)


def _write_registry(muni: DemoMunicipality, path: Path) -> None:
    """registry.csv: UTF-8 with BOM, ';'-separated, one row per school."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(REGISTRY_HEADER)
        for school in muni.schools:
            writer.writerow((school.code, school.name, school.org_type, _source(school)))


def manifest(muni: DemoMunicipality) -> dict:
    """The JSON-ready manifest: municipality, schools with status, and every planted mistake."""
    return {
        "municipality": muni.name,
        "period": muni.period,
        "reference_date": muni.reference_date.isoformat(),
        "schools": [{"code": s.code, "name": s.name, "org_type": s.org_type,
                     "submission": s.submission, "clean": s.clean, "source": _source(s),
                     "mistakes": len(s.mistakes)} for s in muni.schools],
        "mistakes": [asdict(m) for m in muni.mistakes],
    }

