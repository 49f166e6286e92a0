"""Checks on people: duplicates, ages, consents, certificates of external mentors."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from addin.model import SCHOOL
from addin.rules.base import (
    Context,
    Finding,
    Severity,
    ages,
    lookup,
    member,
    rule,
)
from workbook_templates import contract as C

E, W, A = Severity.ERROR, Severity.WARNING, Severity.ADVICE
ADULT_AGE = 18
#: Plausible ages of students of a college (СПО), adults among them.
ADULT_STUDENT_BOUNDS = (14, 65)
#: Plausible ages by (role sheet, category); outside them a birth date is likely mistyped.
AGE_BOUNDS: dict[tuple[str, str], tuple[int, int]] = {
    ("mentees", "обучающийся"): (5, 25),
    ("mentees", "молодой специалист"): (18, 40),
    ("mentees", "педагог"): (18, 80),
    ("mentors", "обучающийся"): (10, 25),
    ("mentors", "педагог"): (18, 85),
    ("mentors", "выпускник"): (15, 85),
    ("mentors", "родитель"): (18, 85),
    ("mentors", "представитель работодателя"): (18, 85),
    ("mentors", "иное"): (14, 90),
}


@rule("PERSON-001", W, "mentors,mentees", "Один человек записан дважды",
      "Оставьте одну строку на человека; если это разные люди, проверьте дату рождения.")
def duplicate_person(ctx: Context) -> Iterator[Finding]:
    for key in ("mentors", "mentees"):
        t = ctx.t(key).assign(p=ctx.person_key(key))
        known = t["p"].notna()
        dup = known & t.duplicated([SCHOOL, "p"], keep="first")
        if not dup.any():
            continue
        # the ID under which the person was first written, in the same school
        firsts = t[known].drop_duplicates([SCHOOL, "p"])
        bad = t[dup].assign(first=lookup(t[dup], "p", firsts, "id", by="p"))
        yield from ctx.findings(
            "PERSON-001", bad, "full_name",
            lambda r: (f"Человек с тем же ФИО и датой рождения уже записан "
                       f"под ID «{r['first']}»."),
            value=lambda r: r["id"], sheet_key=key)


@rule("AGE-001", W, "mentors,mentees", "Возраст не соответствует категории",
      "Проверьте дату рождения и категорию участника (обучающимся СПО может быть от 14 до "
      "65 лет).")
def implausible_age(ctx: Context) -> Iterator[Finding]:
    for key in ("mentors", "mentees"):
        t = ctx.t(key)
        age = ages(t["birth_date"], ctx.ref)
        bounds = {c: b for (k, c), b in AGE_BOUNDS.items() if k == key}
        lo = t["category"].map({c: b[0] for c, b in bounds.items()}).astype("float64")
        hi = t["category"].map({c: b[1] for c, b in bounds.items()}).astype("float64")
        college = (ctx.org_type(t) == C.ADULT_STUDENTS_ORG) & (t["category"] == "обучающийся")
        lo = lo.mask(college, ADULT_STUDENT_BOUNDS[0])
        hi = hi.mask(college, ADULT_STUDENT_BOUNDS[1])
        bad = age.notna() & ((age < lo.fillna(0)) | (age > hi.fillna(120)) | (age < 0))
        yield from ctx.findings(
            "AGE-001", t[bad].assign(age=age[bad]), "birth_date",
            lambda r: ("Дата рождения в будущем относительно даты отчёта." if r["age"] < 0
                       else f"Возраст {years_ru(int(r['age']))} необычен для категории "
                            f"«{r['category']}»."),
            sheet_key=key)


def years_ru(n: int) -> str:
    """«1 год», «3 года», «11 лет», «21 год»."""
    if n % 10 == 1 and n % 100 != 11:
        return f"{n} год"
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return f"{n} года"
    return f"{n} лет"


@rule("CONSENT-001", E, "mentors,mentees", "Нет согласия на обработку персональных данных",
      "Получите согласие (за несовершеннолетнего — от родителя) и укажите его дату.")
def missing_consent(ctx: Context) -> Iterator[Finding]:
    for key in ("mentors", "mentees"):
        t = ctx.having(ctx.t(key), key, "consent_date")
        raw = ctx.raw(key)["consent_date"].loc[t.index]
        bad = raw.isna() & t["id"].notna()
        yield from ctx.findings("CONSENT-001", t[bad], "consent_date",
                                "Нет даты согласия на обработку персональных данных.",
                                value=lambda r: r["id"], sheet_key=key)


@rule("CONSENT-002", E, "mentors,mentees", "Согласие за несовершеннолетнего дал не родитель",
      "За участника младше 18 лет согласие даёт родитель (законный представитель): "
      "получите такое согласие и отметьте это в столбце «Согласие дал».")
def minor_consent(ctx: Context) -> Iterator[Finding]:
    parent = C.dictionary_values("consent_givers")[1]
    for key in ("mentors", "mentees"):
        t = ctx.having(ctx.t(key), key, "consent_by")
        # Age when the consent was given (the reference date if its date is unreadable).
        # Unknown (no birth date, CELL-001 reports it) or negative: no judgement.
        at = t["consent_date"].fillna(ctx.ref)
        age = _years_between(t["birth_date"], at)
        minor = age.between(0, ADULT_AGE, inclusive="left")
        consented = ctx.raw(key)["consent_date"].loc[t.index].notna()
        bad = minor & consented & (t["consent_by"] != parent)
        yield from ctx.findings(
            "CONSENT-002", t[bad], "consent_by",
            lambda r: f"Участнику {r['id']} не было 18 лет в день согласия: согласие должен "
                      "дать родитель.",
            sheet_key=key)


@rule("MENTOR-001", E, "mentors", "Нет справки об отсутствии судимости",
      "Внешний наставник, работающий с несовершеннолетними, должен представить справку об "
      "отсутствии судимости: укажите её дату.")
def criminal_record(ctx: Context) -> Iterator[Finding]:
    mentors = ctx.having(ctx.t("mentors"), "mentors", "record_cert_date")
    no_cert = ctx.raw("mentors")["record_cert_date"].loc[mentors.index].isna()
    external = mentors[mentors["category"].isin(C.EXTERNAL_MENTOR_CATEGORIES) & no_cert]
    if external.empty:
        return
    links = ctx.active_links
    mentees = ctx.t("mentees").assign(age=ctx.age("mentees"))
    age = lookup(links, "mentee_id", mentees, "age")
    with_minors = links[(age < ADULT_AGE).to_numpy()]
    bad = external[member(external, "id", with_minors, "mentor_id")]
    yield from ctx.findings(
        "MENTOR-001", bad, "record_cert_date",
        lambda r: (f"Наставник {r['id']} («{r['category']}») работает с несовершеннолетними "
                   "без справки об отсутствии судимости."),
        value=lambda r: r["id"])


@rule("MENTOR-002", A, "mentors", "Наставник не прошёл обучение",
      "Направьте наставника на обучение наставников и отметьте «да», когда оно пройдено.")
def untrained(ctx: Context) -> Iterator[Finding]:
    mentors = ctx.having(ctx.t("mentors"), "mentors", "trained")
    bad = member(mentors, "id", ctx.active_pairs, "mentor_id") & (mentors["trained"] != C.YES)
    yield from ctx.findings("MENTOR-002", mentors[bad], "trained",
                            lambda r: f"Наставник {r['id']} ведёт пару, но обучение не отмечено.")


def _years_between(birth: pd.Series, at: pd.Series) -> pd.Series:
    """Whole years from each birth date to the matching date of `at` (NaN if unknown)."""
    years = at.dt.year - birth.dt.year
    before = (birth.dt.month > at.dt.month) | (
        (birth.dt.month == at.dt.month) & (birth.dt.day > at.dt.day))
    return (years - before.astype("float64")).astype("float64")
