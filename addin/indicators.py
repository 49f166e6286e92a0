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

import numpy as np
import pandas as pd

from addin.facts import Facts, member, per_school, person_keys
from addin.model import SCHOOL, SchoolWorkbook, WorkbookBatch, normalize_header
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
#: Per indicator key: numerators per school, and counted denominators per school (None where
#: the denominator is a field of «Сведения об ОО»).
Counts = dict[str, tuple[np.ndarray, np.ndarray | None]]


def counts(wb: WorkbookBatch, reference_date: date) -> Counts:
    """(numerators, counted denominators or None) per indicator key, one value per school of
    the batch. Remembered on the batch per date: the check and the indicators both need them.
    """
    memo = wb.memo.setdefault("counts", {})
    if reference_date not in memo:
        memo[reference_date] = _counts(Facts(wb, reference_date))
    return memo[reference_date]


def _counts(ctx: Facts) -> Counts:
    n = ctx.n_schools
    links = ctx.active_links
    mentees = ctx.t("mentees").assign(age=ctx.age("mentees"))
    mentors = ctx.t("mentors").assign(age=ctx.age("mentors"))
    am = mentees[member(mentees, "id", links, "mentee_id")].drop_duplicates([SCHOOL, "id"])
    ar = mentors[member(mentors, "id", ctx.active_pairs, "mentor_id")].drop_duplicates(
        [SCHOOL, "id"])
    student = C.dictionary_values("mentee_categories")[0]

    def count(rows: pd.DataFrame, mask: pd.Series) -> np.ndarray:
        return per_school(mask.astype("float64"), rows[SCHOOL], n)

    employers = ar[ar["category"] == "представитель работодателя"]
    employers = employers.assign(org=employers["organization"].map(
        lambda v: normalize_header(v) if isinstance(v, str) else None))
    out: Counts = {
        "mentees_10_19": (count(am, (am["category"] == student) & am["age"].between(10, 19)),
                          None),
        "mentors_15_19": (count(ar, (ar["category"] == student) & ar["age"].between(15, 19)),
                          None),
        "young_teachers": (count(am, am["category"] == "молодой специалист"), None),
        "teachers_covered": (_teachers_in_any_role(am, ar, n), None),
        "partners": (per_school(employers["org"], employers[SCHOOL], n, "nunique"), None),
    }
    out.update(_surveys(ctx))
    out["plans_done"] = _plans(ctx)
    people = ctx.people
    out["consents"] = (count(people, people["consent_date"].notna()),
                       count(people, people["id"].notna()))
    out["roadmap_on_time"] = _roadmap(ctx)
    return out


def _teachers_in_any_role(active_mentees: pd.DataFrame, active_mentors: pd.DataFrame,
                          n: int) -> np.ndarray:
    """Distinct teachers among active mentors and mentees: a teacher may be both."""
    teachers = pd.concat([
        active_mentors[active_mentors["category"] == "педагог"],
        active_mentees[active_mentees["category"].isin(["педагог", "молодой специалист"])],
    ], ignore_index=True)
    keys = person_keys(teachers)
    # a person without name or birth date cannot be matched: count each such row once
    known = teachers[keys.notna().to_numpy()].assign(key=keys.dropna().to_numpy())
    unknown = teachers[keys.isna().to_numpy()]
    return (per_school(known["key"], known[SCHOOL], n, "nunique")
            + per_school(pd.Series(1.0, index=unknown.index), unknown[SCHOOL], n))


def _surveys(ctx: Facts) -> Counts:
    mon = ctx.t("monitoring")
    mon = mon[mon["satisfaction"].between(1, 10)
              & (mon["survey_date"].isna() | (mon["survey_date"] <= ctx.ref))]
    out: Counts = {}
    for key, role in (("satisfaction_mentees", "наставляемый"),
                      ("satisfaction_mentors", "наставник")):
        scores = mon[mon["role"] == role]
        out[key] = (per_school(scores["satisfaction"], scores[SCHOOL], ctx.n_schools),
                    per_school(scores["satisfaction"], scores[SCHOOL], ctx.n_schools, "count"))
    return out


def _plans(ctx: Facts) -> tuple[np.ndarray, np.ndarray]:
    p = ctx.t("pairs")
    finished = p[p["end_date"].notna() & (p["end_date"] <= ctx.ref)]
    done = (finished["plan_percent"] >= PLAN_DONE_PERCENT).astype("float64")
    return (per_school(done, finished[SCHOOL], ctx.n_schools),
            per_school(done, finished[SCHOOL], ctx.n_schools, "count"))


def _roadmap(ctx: Facts) -> tuple[np.ndarray, np.ndarray]:
    road = ctx.t("roadmap")
    due = ctx.roadmap_due
    live = road["status"] != C.STATUS_CANCELLED
    due_now = live & due["due"].notna() & (due["due"] <= ctx.ref) & ~due["recurring"]
    on_time = due_now & (road["status"] == C.STATUS_DONE) & road["done_date"].notna() & (
        road["done_date"] <= due["due"])
    return (per_school(on_time.astype("float64"), road[SCHOOL], ctx.n_schools),
            per_school(due_now.astype("float64"), road[SCHOOL], ctx.n_schools))


# -- values -------------------------------------------------------------------------------
def compute_indicators(wb: SchoolWorkbook, reference_date: date | None = None,
                       targets: dict[str, dict[str, Any]] | None = None) -> list[IndicatorValue]:
    """Every indicator of one school at the reference date, with its target."""
    ref = reference_date or wb.reference_date or date.today()
    return batch_indicators(wb, ref, targets)[0]


def batch_indicators(wb: WorkbookBatch, reference_date: date,
                     targets: dict[str, dict[str, Any]] | None = None
                     ) -> list[list[IndicatorValue]]:
    """Every indicator of every school of a batch at the reference date, with its target."""
    figures = counts(wb, reference_date)
    forms = wb.forms()
    out = []
    for i in range(len(wb.books)):
        sums = {}
        for k, (num, den) in figures.items():
            d = BY_KEY[k]
            if den is None:
                sums[k] = (float(num[i]), _form_denominator(forms.at[i, d.denominator_field]))
            else:
                sums[k] = (float(num[i]), float(den[i]))
        out.append(from_sums(sums, year=reference_date.year, targets=targets))
    return out


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


def _form_denominator(v: Any) -> float:
    number = isinstance(v, int | float | np.number) and not isinstance(v, bool)
    return float(v) if number and not pd.isna(v) and v >= 0 else 0.0
