"""Checks on people: duplicates, ages, consents, certificates of external mentors."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from addin.model import normalize_header
from addin.rules.base import Context, Finding, Severity, ages, rule, split_ids
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
        name = t["full_name"].map(normalize_header)
        person = name + "|" + t["birth_date"].astype(str)
        known = t["full_name"].notna() & t["birth_date"].notna()
        dup = known & person.duplicated(keep="first")
        first = t[known].assign(p=person[known]).drop_duplicates("p").set_index("p")["id"]
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
        bounds = t["category"].map(lambda c, key=key: AGE_BOUNDS.get((key, c), (0, 120)))
        lo = bounds.map(lambda b: b[0])
        hi = bounds.map(lambda b: b[1])
        bad = age.notna() & ((age < lo) | (age > hi) | (age < 0))
        yield from ctx.findings(
            "AGE-001", t[bad].assign(age=age[bad]), "birth_date",
            lambda r: ("Дата рождения в будущем относительно даты отчёта." if r["age"] < 0
                       else f"Возраст {int(r['age'])} лет необычен для категории "
                            f"«{r['category']}»."),
            sheet_key=key)


@rule("CONSENT-001", E, "mentors,mentees", "Нет согласия на обработку персональных данных",
      "Получите согласие (за несовершеннолетнего — от родителя) и укажите его дату.")
def missing_consent(ctx: Context) -> Iterator[Finding]:
    for key in ("mentors", "mentees"):
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
        t = ctx.t(key)
        age = ages(t["birth_date"], ctx.ref)
        bad = (age < ADULT_AGE) & t["consent_date"].notna() & (t["consent_by"] != parent)
        yield from ctx.findings(
            "CONSENT-002", t[bad.fillna(False)], "consent_by",
            lambda r: f"Участнику {r['id']} нет 18 лет: согласие должен дать родитель.",
            sheet_key=key)


@rule("MENTOR-001", E, "mentors", "Нет справки об отсутствии судимости",
      "Внешний наставник, работающий с несовершеннолетними, должен представить справку об "
      "отсутствии судимости: укажите её дату.")
def criminal_record(ctx: Context) -> Iterator[Finding]:
    mentors = ctx.t("mentors")
    external = mentors[mentors["category"].isin(C.EXTERNAL_MENTOR_CATEGORIES)
                       & mentors["record_cert_date"].isna()]
    if external.empty:
        return
    links = ctx.active_pairs.assign(mentee_id=ctx.active_pairs["mentee_ids"].map(split_ids))
    links = links.explode("mentee_id")
    mentees = ctx.t("mentees")
    age = pd.Series(ages(mentees["birth_date"], ctx.ref).to_numpy(), index=mentees["id"])
    age = age[~age.index.duplicated()]
    links = links.assign(age=links["mentee_id"].map(age))
    with_minors = set(links.loc[links["age"] < ADULT_AGE, "mentor_id"])
    bad = external[external["id"].isin(with_minors)]
    yield from ctx.findings(
        "MENTOR-001", bad, "record_cert_date",
        lambda r: (f"Наставник {r['id']} («{r['category']}») работает с несовершеннолетними "
                   "без справки об отсутствии судимости."),
        value=lambda r: r["id"])


@rule("MENTOR-002", A, "mentors", "Наставник не прошёл обучение",
      "Направьте наставника на обучение наставников и отметьте «да», когда оно пройдено.")
def untrained(ctx: Context) -> Iterator[Finding]:
    mentors = ctx.t("mentors")
    active = set(ctx.active_pairs["mentor_id"])
    bad = mentors["id"].isin(active) & (mentors["trained"] != C.YES)
    yield from ctx.findings("MENTOR-002", mentors[bad], "trained",
                            lambda r: f"Наставник {r['id']} ведёт пару, но обучение не отмечено.")

