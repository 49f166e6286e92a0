"""One invented school: its pair kinds, participants, pairs, meetings, surveys and roadmap."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from workbook_templates import contract as C
from workbook_templates.demo.people import (
    COLLEGE_GROUPS,
    COMMENTS,
    DO_CLUBS,
    EMPLOYER_POSITIONS,
    EMPLOYERS,
    MEETING_STAGE,
    RESULTS,
    STAGES,
    STUDENT_REQUESTS,
    TEACHER_POSITIONS,
    TEACHER_REQUESTS,
    People,
    age_at,
    consent_by,
    fmt_date,
    period_end,
    random_days,
    school_year_start,
)
from workbook_templates.demo.types import MUNICIPALITY, SchoolData

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
class Pair:
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
class School:
    """One school under construction: its rows plus the structure the planters need."""

    code: str
    org_type: str
    ref: date
    rng: random.Random
    people: People
    form: dict = field(default_factory=dict)
    roadmap: list[dict] = field(default_factory=list)
    mentors: list[dict] = field(default_factory=list)
    mentees: list[dict] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    meetings: list[dict] = field(default_factory=list)
    monitoring: list[dict] = field(default_factory=list)

    def data(self) -> SchoolData:
        """The SchoolData of this school (the row dicts are shared, not copied)."""
        return {
            "school": self.form, "roadmap": self.roadmap, "mentors": self.mentors,
            "mentees": self.mentees, "pairs": [p.row for p in self.pairs],
            "meetings": self.meetings, "monitoring": self.monitoring,
        }


def person_id(prefix: str, number: int) -> str:
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
    return build_school(code, rng, n_participants=n_participants, org_type=org_type, name=name,
                         period=period, municipality=municipality,
                         reference_date=reference_date).data()


def build_school(code: str, rng: random.Random, *, n_participants: int, org_type: str,
                  name: str | None, period: str, municipality: str,
                  reference_date: date | None) -> School:
    """Build a clean school: pairs with their people, meetings, surveys, roadmap and form."""
    if org_type not in _KINDS:
        raise ValueError(f"unknown org_type {org_type!r}")
    ref = period_end(period)
    school = School(code, org_type, ref, rng, People(rng, ref))
    for number, planned in enumerate(_pair_plan(school, n_participants), 1):
        _add_pair(school, number, *planned)
    school.meetings.sort(key=lambda m: (m["date"], m["pair_id"]))
    school.monitoring.sort(key=lambda m: (m["survey_date"], m["participant_id"]))
    school.roadmap = _roadmap(school)
    school.form = _form(school, name or code, period, municipality, reference_date)
    return school


_Plan = tuple[_Kind, bool, tuple[int, int] | None, int]


def _pair_plan(school: School, n_participants: int) -> list[_Plan]:
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


def _pair_dates(school: School, finished: bool) -> tuple[date, date | None]:
    """(start, end) of a pair: this school year for active ones, the previous one if finished."""
    rng, sy = school.rng, school_year_start(school.ref)
    if finished:
        prev = date(sy.year - 1, 9, 1)
        return prev + random_days(rng, 5, 50), date(sy.year, 5, 15) + random_days(rng, 0, 16)
    latest = max(sy + timedelta(days=5), min(sy + timedelta(days=50),
                                             school.ref - timedelta(days=30)))
    return sy + random_days(rng, 5, (latest - sy).days), None


def _add_pair(school: School, number: int, kind: _Kind, finished: bool,
              mentor_ages: tuple[int, int] | None, n_mentees: int) -> None:
    """Create one pair or group with its mentor, mentees, meetings and surveys."""
    rng = school.rng
    start, end = _pair_dates(school, finished)
    mentor = _new_mentor(school, kind, mentor_ages or kind.mentor_ages, start)
    mentees = [_new_mentee(school, kind, start) for _ in range(n_mentees)]
    row = {
        "id": person_id("П", number), "form": kind.form, "mentor_id": mentor["id"],
        "mentee_ids": ", ".join(m["id"] for m in mentees), "start_date": start,
        "order_ref": f"№ {rng.randint(20, 160)} от {fmt_date(start - random_days(rng, 0, 3))}",
        "agreement_date": start,
    }
    pair = Pair(row, kind, mentor, mentees, finished)
    school.pairs.append(pair)
    _add_meetings(school, pair, start, end)
    _add_surveys(school, pair, start, end)


def _new_mentor(school: School, kind: _Kind, ages: tuple[int, int], start: date) -> dict:
    """A mentor row of the kind's mentor role."""
    rng = school.rng
    consent = start - random_days(rng, 5, 25)
    full_name, birth = school.people.person(ages, consent)
    age = age_at(birth, school.ref)
    row = {"id": person_id("Н", len(school.mentors) + 1), "full_name": full_name,
           "birth_date": birth,
           "category": _MENTOR_CATEGORY[kind.mentor], "trained": C.YES,
           "consent_date": consent, "consent_by": consent_by(birth, school.ref)}
    if kind.mentor == "teacher":
        row["position"] = rng.choice(TEACHER_POSITIONS[school.org_type])
        row["experience_years"] = max(5, age - 22 - rng.randint(0, 6))
    elif kind.mentor == "student":
        row["position"] = student_group(school, birth, mentor=True)
    else:
        row["position"] = rng.choice(EMPLOYER_POSITIONS)
        row["organization"] = rng.choice(EMPLOYERS)
        row["experience_years"] = rng.randint(3, max(3, age - 21))
        row["record_cert_date"] = start - random_days(rng, 15, 90)
    school.mentors.append(row)
    return row


def _new_mentee(school: School, kind: _Kind, start: date) -> dict:
    """A mentee row: a student of the right age, or a young specialist / teacher."""
    rng = school.rng
    consent = start - random_days(rng, 5, 25)
    row: dict = {"id": person_id("У", len(school.mentees) + 1)}
    if kind.mentee == "student":
        ages = kind.mentee_ages
        if school.org_type != "СПО" and rng.random() < 0.08:
            ages = (max(7, ages[0] - 3), max(7, ages[0] - 1))  # a few younger pupils
        full_name, birth = school.people.person(ages, consent)
        row.update(full_name=full_name, birth_date=birth, category="обучающийся",
                   group=student_group(school, birth, mentor=False))
        if rng.random() < 0.15:
            row["special_category"] = rng.choice(C.dictionary_values("special_categories"))
        row["request"] = rng.choice(STUDENT_REQUESTS)
    else:
        young = rng.random() < 0.7
        full_name, birth = school.people.person(kind.mentee_ages if young else (28, 50), consent)
        row.update(full_name=full_name, birth_date=birth,
                   category="молодой специалист" if young else "педагог",
                   request=rng.choice(TEACHER_REQUESTS))
    row.update(consent_date=consent, consent_by=consent_by(birth, school.ref))
    school.mentees.append(row)
    return row


def student_group(school: School, birth: date, *, mentor: bool) -> str:
    """Class «7 «Б»», college group «ТМ-25» or a club of additional education."""
    rng = school.rng
    sy = school_year_start(school.ref)
    age = age_at(birth, sy)
    if school.org_type == "СПО":
        course = min(4, max(1, age - 14))
        return f"{rng.choice(COLLEGE_GROUPS)}-{(sy.year - course + 1) % 100:02d}"
    if school.org_type == "ДО":
        return f"объединение «{rng.choice(DO_CLUBS)}»"
    grade = min(11, max(1, age - 6))
    label = f"{grade} «{rng.choice('АБВГ')}»"
    return f"{label} класс" if mentor else label


def _add_meetings(school: School, pair: Pair, start: date, end: date | None) -> None:
    """знакомство → пробная → планирование → рабочие (→ итоговая) and the pair's stage/plan."""
    rng, last = school.rng, end or school.ref
    meetings: list[tuple[date, str]] = []
    day = start + random_days(rng, 0, 2)
    for kind in ("знакомство", "пробная", "планирование"):
        if day > last or (end and day >= end):
            break
        meetings.append((day, kind))
        day += random_days(rng, 5, 9)
    if len(meetings) == 3:
        day = meetings[-1][0] + random_days(rng, 14, 28)
        while day <= last and not (end and day >= end):
            meetings.append((day, "рабочая"))
            day += random_days(rng, 14, 28)
    if end:
        meetings.append((end, "итоговая"))
    pid = pair.row["id"]
    pair.meetings = [{"date": d, "pair_id": pid, "meeting_type": t, "confirmed": C.YES,
                      "feedback": C.YES} for d, t in meetings]
    school.meetings.extend(pair.meetings)
    _set_progress(rng, pair, meetings, end)


def _set_progress(rng: random.Random, pair: Pair, meetings: list[tuple[date, str]],
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
                   result=rng.choice(RESULTS))
    elif planning:
        row["plan_percent"] = min(80, 10 + 15 * working)


def _add_surveys(school: School, pair: Pair, start: date, end: date | None) -> None:
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
                                     "comment": rng.choice(COMMENTS)})
    school.monitoring.extend(pair.surveys)


def _form(school: School, name: str, period: str, municipality: str,
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
        return (f"до {fmt_date(due)}" if style == "до" else fmt_date(due)), due
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


def _roadmap(school: School) -> list[dict]:
    """12–20 roadmap rows: done before the reference date, in progress or not started after."""
    rng, ref = school.rng, school.ref
    year = school_year_start(ref).year
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
        done = min(due, ref) - random_days(rng, 0, 12)
        row.update(status=C.STATUS_DONE, done_date=done, evidence=_evidence(rng, done))
    elif due:
        row["status"] = "не начато" if (due - ref).days > 60 else "в работе"
    else:
        row["status"] = "в работе"
    return row


def _evidence(rng: random.Random, day: date) -> str:
    """A reference to the document that proves an item done."""
    return rng.choice((
        f"приказ № {rng.randint(5, 150)} от {fmt_date(day)}",
        f"протокол № {rng.randint(1, 9)} от {fmt_date(day)}",
        f"приказ № {rng.randint(5, 150)}-од от {fmt_date(day)}",
        "https://school.example.ru/nastavnichestvo",
    ))


