"""Checks on pairs and groups: references, roles and ages by form, dates, stages, documents."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from addin.model import ROW, SCHOOL
from addin.rules.base import (
    Context,
    Finding,
    Severity,
    ages,
    lookup,
    member,
    rule,
    split_ids,
)
from workbook_templates import contract as C

E, W = Severity.ERROR, Severity.WARNING

#: Who may be mentor and mentee in each form, and the forms of peers: data of the contract.
FORM_ROLES, PEER_FORMS = C.FORM_ROLES, C.PEER_FORMS
ADULT = 18


def _single_mentor(pairs: pd.DataFrame) -> pd.Series:
    return pairs["mentor_id"].map(lambda v: len(split_ids(v)) == 1).astype(bool)


@rule("PAIR-001", E, "pairs", "Наставник не найден",
      "Впишите ID наставника с листа «Наставники» или добавьте наставника туда.")
def unknown_mentor(ctx: Context) -> Iterator[Finding]:
    p = ctx.having(ctx.t("pairs"), "mentors", "id")
    bad = p["mentor_id"].notna() & _single_mentor(p) & ~member(p, "mentor_id", ctx.t("mentors"))
    yield from ctx.findings("PAIR-001", p[bad], "mentor_id",
                            lambda r: f"Наставника с ID «{r['mentor_id']}» нет на листе "
                                      "«Наставники».")


@rule("PAIR-002", E, "pairs", "Наставляемый не найден",
      "Впишите ID наставляемых с листа «Наставляемые» через запятую или добавьте их туда.")
def unknown_mentee(ctx: Context) -> Iterator[Finding]:
    pm = ctx.having(ctx.pair_mentees, "mentees", "id")
    bad = pm[~member(pm, "mentee_id", ctx.t("mentees"))]
    yield from ctx.findings("PAIR-002", bad, "mentee_ids",
                            lambda r: f"Наставляемого с ID «{r['mentee_id']}» нет на листе "
                                      "«Наставляемые».")


@rule("PAIR-003", E, "pairs", "Наставник наставляет сам себя",
      "Наставник и наставляемый в паре — разные люди: исправьте ID.")
def self_mentoring(ctx: Context) -> Iterator[Finding]:
    # By name and birth date only: IDs are per sheet, mentor «1» and mentee «1» are two people.
    pm = ctx.pair_mentees
    mentors, mentees = ctx.t("mentors"), ctx.t("mentees")
    mentor_key = lookup(pm, "mentor_id", mentors.assign(key=ctx.person_key("mentors")), "key")
    mentee_key = lookup(pm, "mentee_id", mentees.assign(key=ctx.person_key("mentees")), "key")
    same = mentor_key.notna() & (mentor_key == mentee_key)
    yield from ctx.findings("PAIR-003", pm[same], "mentee_ids",
                            lambda r: f"Наставник {r['mentor_id']} и наставляемый "
                                      f"{r['mentee_id']} — один и тот же человек.")


@rule("PAIR-004", E, "pairs", "Участники не подходят к форме наставничества",
      "Проверьте форму наставничества и категории наставника и наставляемых. Допустимые "
      "категории по формам — в таблице в конце этого справочника.")
def form_roles(ctx: Context) -> Iterator[Finding]:
    pm = ctx.pair_mentees[ctx.pair_mentees["form"].isin(list(FORM_ROLES))]
    pm = pm.assign(mentor_cat=lookup(pm, "mentor_id", ctx.t("mentors"), "category"),
                   mentee_cat=lookup(pm, "mentee_id", ctx.t("mentees"), "category"))
    mentor_known = pm["mentor_cat"].isin(C.dictionary_values("mentor_categories"))
    mentee_known = pm["mentee_cat"].isin(C.dictionary_values("mentee_categories"))
    allowed = pd.DataFrame(
        [(f, side, c) for f, roles in FORM_ROLES.items() for side in (0, 1) for c in roles[side]],
        columns=["form", "side", "cat"])
    mentor_ok = _allowed(pm["form"], pm["mentor_cat"], allowed[allowed["side"] == 0])
    mentee_ok = _allowed(pm["form"], pm["mentee_cat"], allowed[allowed["side"] == 1])
    # One finding per pair for its mentor (the exploded rows repeat it per mentee).
    bad_mentor = pm[mentor_known & ~mentor_ok].drop_duplicates([SCHOOL, ROW])
    yield from ctx.findings(
        "PAIR-004", bad_mentor, "mentor_id",
        lambda r: f"Форма «{r['form']}»: наставник {r['mentor_id']} — «{r['mentor_cat']}».")
    bad_mentee = pm[mentee_known & ~mentee_ok]
    yield from ctx.findings(
        "PAIR-004", bad_mentee, "mentee_ids",
        lambda r: f"Форма «{r['form']}»: наставляемый {r['mentee_id']} — «{r['mentee_cat']}».")


@rule("PAIR-005", W, "pairs", "Наставник не старше наставляемого",
      "В формах «ученик – ученик» и «студент – студент» наставник старше наставляемого "
      "(в СПО, если оба совершеннолетние, возраст не важен): проверьте даты рождения или "
      "состав пары.")
def form_ages(ctx: Context) -> Iterator[Finding]:
    pm = ctx.pair_mentees[ctx.pair_mentees["form"].isin(PEER_FORMS)]
    mentor_birth = lookup(pm, "mentor_id", ctx.t("mentors"), "birth_date")
    mentee_birth = lookup(pm, "mentee_id", ctx.t("mentees"), "birth_date")
    # adult students of a college are peers whatever their ages
    adults = (ctx.org_type(pm) == C.ADULT_STUDENTS_ORG) & (
        ages(mentor_birth, ctx.ref) >= ADULT) & (ages(mentee_birth, ctx.ref) >= ADULT)
    bad = (mentor_birth.notna() & mentee_birth.notna() & (mentor_birth >= mentee_birth)
           & ~adults)
    yield from ctx.findings(
        "PAIR-005", pm[bad], "mentor_id",
        lambda r: f"Наставник {r['mentor_id']} не старше наставляемого {r['mentee_id']}.")


@rule("PAIR-006", E, "pairs", "В группе больше одного наставника",
      "У пары или группы один наставник: разделите группу или оставьте один ID.")
def group_shape(ctx: Context) -> Iterator[Finding]:
    p = ctx.t("pairs")
    bad = p["mentor_id"].notna() & ~_single_mentor(p)
    yield from ctx.findings("PAIR-006", p[bad], "mentor_id",
                            "В ячейке несколько наставников; у группы один наставник.")


@rule("PAIR-007", E, "pairs", "Дата окончания раньше даты начала",
      "Исправьте даты: окончание не раньше начала.")
def date_order(ctx: Context) -> Iterator[Finding]:
    p = ctx.t("pairs")
    bad = p["end_date"].notna() & p["start_date"].notna() & (p["end_date"] < p["start_date"])
    yield from ctx.findings("PAIR-007", p[bad], "end_date",
                            "Дата окончания раньше даты начала.")


@rule("PAIR-008", W, "pairs", "Этап не соответствует датам",
      "Завершённой паре укажите дату окончания и этап «завершение».")
def stage_vs_end(ctx: Context) -> Iterator[Finding]:
    # raw and typed tables share their index: the raw cell tells «empty» from «unreadable»
    no_end = ctx.raw("pairs")["end_date"].isna()
    p = ctx.having(ctx.t("pairs"), "pairs", "end_date", "stage")
    final_no_end = (p["stage"] == C.STAGE_FINAL) & no_end.loc[p.index]
    ended_not_final = (p["end_date"].notna() & (p["end_date"] <= ctx.ref) & p["stage"].notna()
                       & (p["stage"] != C.STAGE_FINAL))
    yield from ctx.findings("PAIR-008", p[final_no_end], "end_date",
                            "Этап «завершение», но дата окончания не указана.")
    yield from ctx.findings("PAIR-008", p[ended_not_final], "stage",
                            lambda r: f"Пара завершена, но этап — «{r['stage']}».")


@rule("PAIR-009", E, "pairs", "Нет соглашения у действующей пары",
      "Заключите соглашение наставника и наставляемого (за несовершеннолетнего подписывает "
      "родитель) и укажите его дату.")
def agreement(ctx: Context) -> Iterator[Finding]:
    a = ctx.having(ctx.active_pairs, "pairs", "agreement_date")
    missing = ctx.raw("pairs").loc[a.index, "agreement_date"].isna()
    yield from ctx.findings("PAIR-009", a[missing], "agreement_date",
                            lambda r: f"Пара {r['id']} работает без соглашения.",
                            value=lambda r: r["id"])


@rule("PAIR-010", W, "pairs", "Нет индивидуального плана",
      "Составьте индивидуальный план на встрече-планировании и отметьте «да».")
def plan(ctx: Context) -> Iterator[Finding]:
    a = ctx.having(ctx.active_pairs, "pairs", "plan")
    working = a["stage"].isin(C.dictionary_values("stages")[3:])
    yield from ctx.findings("PAIR-010", a[working & (a["plan"] != C.YES)], "plan",
                            lambda r: f"Пара {r['id']} на этапе «{r['stage']}» без "
                                      "индивидуального плана.")


def _allowed(forms: pd.Series, cats: pd.Series, allowed: pd.DataFrame) -> pd.Series:
    """Per row: whether (form, category) is one of the allowed combinations."""
    combos = set(zip(allowed["form"], allowed["cat"], strict=True))
    ok = [pair in combos for pair in zip(forms, cats, strict=True)]
    return pd.Series(ok, index=forms.index, dtype=bool)



@rule("PAIR-011", W, "pairs", "Процент выполнения плана не указан или введён как доля",
      "Укажите процент выполнения индивидуального плана числом от 0 до 100 (95, а не 0,95: "
      "Excel хранит введённые «95 %» как 0,95). Без него завершённая пара считается "
      "не выполнившей план.")
def plan_percent(ctx: Context) -> Iterator[Finding]:
    p = ctx.having(ctx.t("pairs"), "pairs", "plan_percent", "end_date")
    finished = p["end_date"].notna() & (p["end_date"] <= ctx.ref)
    empty = finished & ctx.raw("pairs")["plan_percent"].loc[p.index].isna()
    v = p["plan_percent"]
    # 0.95 is «95 %» as Excel stores it; 1 in a finished pair is «100 %» more likely than 1 %
    fraction = v.notna() & (v > 0) & ((v < 1) | ((v == 1) & finished))
    yield from ctx.findings("PAIR-011", p[empty], "plan_percent",
                            lambda r: f"Пара {r['id']} завершена, а процент выполнения плана "
                                      "не указан.", value=lambda r: r["id"])
    yield from ctx.findings("PAIR-011", p[fraction], "plan_percent",
                            lambda r: f"Похоже на долю, а не на процент: «{r['plan_percent']:g}»"
                                      f" — это {r['plan_percent'] * 100:g} %?")
