"""Indicators of the mentoring target model: numerator / denominator at the reference date,
compared with the target for the year (addin/targets.toml, overridable by a municipality).

Municipal figures are sums of numerators over sums of denominators, never averages of
shares, so every indicator keeps its numerator and denominator.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from addin.facts import Facts, person_keys, split_ids
from addin.model import SchoolWorkbook, normalize_header
from workbook_templates import contract as C

DEFAULT_TARGETS = Path(__file__).with_name("targets.toml")
PLAN_DONE_PERCENT = 90


@dataclass(frozen=True)
class IndicatorDef:
    key: str
    title: str
    denominator_field: str | None  # field of «Сведения об ОО», or None when counted
    scale: float = 100.0  # value = numerator / denominator * scale


INDICATORS: tuple[IndicatorDef, ...] = (
    IndicatorDef("mentees_10_19", "Доля обучающихся 10–19 лет — наставляемых", "students_10_19"),
    IndicatorDef("mentors_15_19", "Доля обучающихся 15–19 лет — наставников", "students_15_19"),
    IndicatorDef("young_teachers", "Доля молодых специалистов (стаж 0–3 года) — наставляемых",
                 "young_teachers"),
    IndicatorDef("teachers_covered", "Охват педагогов программами наставничества",
                 "teachers_total"),
    IndicatorDef("partners", "Доля организаций-партнёров, предоставивших наставников",
                 "partners_total"),
    IndicatorDef("satisfaction_mentees", "Удовлетворённость наставляемых (анкеты)", None, 10.0),
    IndicatorDef("satisfaction_mentors", "Удовлетворённость наставников (анкеты)", None, 10.0),
    IndicatorDef("plans_done", f"Завершённые пары с планом, выполненным на {PLAN_DONE_PERCENT} % "
                 "и более", None),
    IndicatorDef("consents", "Участники с согласием на обработку персональных данных", None),
    IndicatorDef("roadmap_on_time", "Мероприятия дорожной карты, выполненные в срок", None),
)
BY_KEY = {d.key: d for d in INDICATORS}


@dataclass(frozen=True)
class IndicatorValue:
    """One indicator of one school (or of the municipality, when summed)."""

    key: str
    title: str
    numerator: float
    denominator: float
    value: float | None  # percent; None when the denominator is 0
    target: float | None
    target_is_default: bool
    met: bool | None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- targets ------------------------------------------------------------------------------
def load_targets(path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Targets per indicator: the defaults, with a municipality's file laid over them."""
    with DEFAULT_TARGETS.open("rb") as fh:
        targets = tomllib.load(fh)["indicators"]
    if path is not None:
        with Path(path).open("rb") as fh:
            override = tomllib.load(fh).get("indicators", {})
        for key, spec in override.items():
            targets[key] = {"default": False, **spec}
    return targets


def target_for(targets: dict[str, dict[str, Any]], key: str,
               year: int) -> tuple[float | None, bool]:
    """(target for the year, whether it is a default value) — the latest year not after it."""
    spec = targets.get(key)
    if not spec:
        return None, True
    years = sorted((int(y), float(v)) for y, v in spec.get("targets", {}).items())
    past = [v for y, v in years if y <= year]
    value = past[-1] if past else (years[0][1] if years else None)
    return value, bool(spec.get("default", False))


# -- numerators -----------------------------------------------------------------------------
def counts(wb: SchoolWorkbook, reference_date: date) -> dict[str, tuple[float, float | None]]:
    """(numerator, counted denominator or None) per indicator key, from the workbook.

    Remembered on the workbook per date: a check and the indicators both need them.
    """
    memo = wb.memo.setdefault("counts", {})
    if reference_date not in memo:
        memo[reference_date] = _counts(Facts(wb, reference_date))
    return memo[reference_date]


def _counts(ctx: Facts) -> dict[str, tuple[float, float | None]]:
    active = ctx.active_pairs
    mentee_ids = {i for v in active["mentee_ids"] for i in split_ids(v)}
    mentor_ids = set(active["mentor_id"].dropna())
    mentees, mentors = ctx.t("mentees"), ctx.t("mentors")
    mentees = mentees.assign(age=ctx.age("mentees"))
    mentors = mentors.assign(age=ctx.age("mentors"))
    am = mentees[mentees["id"].isin(mentee_ids)].drop_duplicates("id")
    ar = mentors[mentors["id"].isin(mentor_ids)].drop_duplicates("id")
    student = C.dictionary_values("mentee_categories")[0]
    out: dict[str, tuple[float, float | None]] = {
        "mentees_10_19": (float(((am["category"] == student) & am["age"].between(10, 19)).sum()),
                          None),
        "mentors_15_19": (float(((ar["category"] == student) & ar["age"].between(15, 19)).sum()),
                          None),
        "young_teachers": (float((am["category"] == "молодой специалист").sum()), None),
        "teachers_covered": (float(_teachers_in_any_role(am, ar)), None),
        "partners": (float(ar.loc[ar["category"] == "представитель работодателя",
                                  "organization"].dropna().map(normalize_header).nunique()), None),
    }
    out.update(_surveys(ctx))
    out["plans_done"] = _plans(ctx)
    people = ctx.people
    out["consents"] = (float(people["consent_date"].notna().sum()),
                       float(people["id"].notna().sum()))
    out["roadmap_on_time"] = _roadmap(ctx)
    return out


def _teachers_in_any_role(active_mentees: pd.DataFrame, active_mentors: pd.DataFrame) -> int:
    """Distinct teachers among active mentors and mentees: a teacher may be both."""
    teachers = pd.concat([
        active_mentors[active_mentors["category"] == "педагог"],
        active_mentees[active_mentees["category"].isin(["педагог", "молодой специалист"])],
    ], ignore_index=True)
    keys = person_keys(teachers)
    # a person without name or birth date cannot be matched: count each such row once
    return int(keys.dropna().nunique() + keys.isna().sum())


def _surveys(ctx: Facts) -> dict[str, tuple[float, float | None]]:
    mon = ctx.t("monitoring")
    mon = mon[mon["satisfaction"].between(1, 10)
              & (mon["survey_date"].isna() | (mon["survey_date"] <= ctx.ref))]
    out = {}
    for key, role in (("satisfaction_mentees", "наставляемый"),
                      ("satisfaction_mentors", "наставник")):
        scores = mon.loc[mon["role"] == role, "satisfaction"]
        out[key] = (float(scores.sum()), float(len(scores)))
    return out


def _plans(ctx: Facts) -> tuple[float, float]:
    p = ctx.t("pairs")
    finished = p[p["end_date"].notna() & (p["end_date"] <= ctx.ref)]
    return float((finished["plan_percent"] >= PLAN_DONE_PERCENT).sum()), float(len(finished))


def _roadmap(ctx: Facts) -> tuple[float, float]:
    road = ctx.t("roadmap")
    due = ctx.roadmap_due
    live = road["status"] != C.STATUS_CANCELLED
    due_now = live & due["due"].notna() & (due["due"] <= ctx.ref) & ~due["recurring"]
    on_time = due_now & (road["status"] == C.STATUS_DONE) & road["done_date"].notna() & (
        road["done_date"] <= due["due"])
    return float(on_time.sum()), float(due_now.sum())


# -- values -------------------------------------------------------------------------------
def compute_indicators(wb: SchoolWorkbook, reference_date: date | None = None,
                       targets: dict[str, dict[str, Any]] | None = None) -> list[IndicatorValue]:
    """Every indicator of one school at the reference date, with its target."""
    ref = reference_date or wb.reference_date or date.today()
    figures = counts(wb, ref)
    denominators = {d.key: _form_denominator(wb, d) for d in INDICATORS if d.denominator_field}
    return from_sums(
        {k: (num, den if den is not None else denominators.get(k, 0.0))
         for k, (num, den) in figures.items()},
        year=ref.year, targets=targets)


def from_sums(sums: dict[str, tuple[float, float]], year: int,
              targets: dict[str, dict[str, Any]] | None = None) -> list[IndicatorValue]:
    """Indicator values from (numerator, denominator) pairs: per school or summed over many."""
    targets = targets if targets is not None else load_targets()
    out = []
    for d in INDICATORS:
        num, den = sums.get(d.key, (0.0, 0.0))
        value = round(num / den * d.scale, 1) if den else None
        target, is_default = target_for(targets, d.key, year)
        met = None if value is None or target is None else value >= target
        note = "нет данных для расчёта" if not den else ""
        if is_default and target is not None:
            note = (note + "; " if note else "") + "цель по умолчанию"
        out.append(IndicatorValue(d.key, d.title, num, den, value, target, is_default, met, note))
    return out


def _form_denominator(wb: SchoolWorkbook, d: IndicatorDef) -> float:
    v = wb.school.get(d.denominator_field or "")
    return float(v) if isinstance(v, int | float) and v >= 0 else 0.0
