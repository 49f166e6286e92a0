"""Checks on people: duplicates, ages, consents, certificates of external mentors."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from addin.rules.base import (
    Context,
    Finding,
    Severity,
    ages,
    by_id,
    lookup,
    person_keys,
    rule,
    split_ids,
)
from workbook_templates import contract as C

E, W, A = Severity.ERROR, Severity.WARNING, Severity.ADVICE
ADULT_AGE = 18
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
        t = ctx.t(key)
        person = person_keys(t)
        known = person.notna()
        dup = known & person.duplicated(keep="first")
        first = pd.Series(t["id"].to_numpy(), index=pd.Index(person, dtype=object))[
            known.to_numpy()]
        first = first[~first.index.duplicated()]
        yield from ctx.findings(
            "PERSON-001", t[dup].assign(p=person[dup]), "full_name",
            lambda r, first=first: (f"Человек с тем же ФИО и датой рождения уже записан "
                                    f"под ID «{first.get(r['p'])}»."),
            value=lambda r: r["id"], sheet_key=key)


@rule("AGE-001", W, "mentors,mentees", "Возраст не соответствует категории",
      "Проверьте дату рождения и категорию участника.")
def implausible_age(ctx: Context) -> Iterator[Finding]:
    for key in ("mentors", "mentees"):
        t = ctx.t(key)
        age = ages(t["birth_date"], ctx.ref)
        bounds = {c: b for (k, c), b in AGE_BOUNDS.items() if k == key}
        lo = t["category"].map({c: b[0] for c, b in bounds.items()}).astype("float64")
        hi = t["category"].map({c: b[1] for c, b in bounds.items()}).astype("float64")
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
        if not ctx.has(key, "consent_date"):
            continue
        t = ctx.t(key)
        raw = ctx.raw(key)["consent_date"]
        bad = raw.isna().to_numpy() & t["id"].notna().to_numpy()
        yield from ctx.findings("CONSENT-001", t[bad], "consent_date",
                                "Нет даты согласия на обработку персональных данных.",
                                value=lambda r: r["id"], sheet_key=key)


@rule("CONSENT-002", E, "mentors,mentees", "Согласие за несовершеннолетнего дал не родитель",
      "За участника младше 18 лет согласие даёт родитель (законный представитель): "
      "получите такое согласие и отметьте это в столбце «Согласие дал».")
def minor_consent(ctx: Context) -> Iterator[Finding]:
    parent = C.dictionary_values("consent_givers")[1]
    for key in ("mentors", "mentees"):
        if not ctx.has(key, "consent_by"):
            continue
        t = ctx.t(key)
        # Age when the consent was given (the reference date if its date is unreadable).
        # Unknown (no birth date, CELL-001 reports it) or negative: no judgement.
        at = t["consent_date"].fillna(ctx.ref)
        age = _years_between(t["birth_date"], at)
        minor = age.between(0, ADULT_AGE, inclusive="left")
        consented = ctx.raw(key)["consent_date"].notna().to_numpy()
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
    if not ctx.has("mentors", "record_cert_date"):
        return
    mentors = ctx.t("mentors")
    external = mentors[mentors["category"].isin(C.EXTERNAL_MENTOR_CATEGORIES)
                       & ctx.raw("mentors")["record_cert_date"].isna().to_numpy()]
    if external.empty:
        return
    active = ctx.active_pairs
    links = active.assign(mentee_id=active["mentee_ids"].map(split_ids).astype(object))
    links = links.explode("mentee_id", ignore_index=True)
    mentees = ctx.t("mentees")
    age = lookup(links["mentee_id"], by_id(mentees.assign(age=ages(mentees["birth_date"],
                                                                    ctx.ref)), "age"))
    with_minors = set(links.loc[(age < ADULT_AGE).to_numpy(), "mentor_id"].dropna())
    bad = external[external["id"].isin(with_minors)]
    yield from ctx.findings(
        "MENTOR-001", bad, "record_cert_date",
        lambda r: (f"Наставник {r['id']} («{r['category']}») работает с несовершеннолетними "
                   "без справки об отсутствии судимости."),
        value=lambda r: r["id"])


@rule("MENTOR-002", A, "mentors", "Наставник не прошёл обучение",
      "Направьте наставника на обучение наставников и отметьте «да», когда оно пройдено.")
def untrained(ctx: Context) -> Iterator[Finding]:
    if not ctx.has("mentors", "trained"):
        return
    mentors = ctx.t("mentors")
    active = set(ctx.active_pairs["mentor_id"].dropna())
    bad = mentors["id"].isin(active) & (mentors["trained"] != C.YES)
    yield from ctx.findings("MENTOR-002", mentors[bad], "trained",
                            lambda r: f"Наставник {r['id']} ведёт пару, но обучение не отмечено.")


def _years_between(birth: pd.Series, at: pd.Series) -> pd.Series:
    """Whole years from each birth date to the matching date of `at` (NaN if unknown)."""
    years = at.dt.year - birth.dt.year
    before = (birth.dt.month > at.dt.month) | (
        (birth.dt.month == at.dt.month) & (birth.dt.day > at.dt.day))
    return (years - before.astype("float64")).astype("float64")
