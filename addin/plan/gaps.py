"""The gap in people: how many more people (or documents) reach each indicator's target.

A pure function over the ``IndicatorValue`` list of ``compute_indicators`` (or of the municipal
sums): every denominator is fixed (a count of the form or of the workbook), so the gap is the
smallest whole number ``x`` for which ``(numerator + x) / denominator`` reaches the target —
exact arithmetic with fractions (ceil), never a float guess; 0 when the indicators call the
target met; no number when the denominator is zero or there is no target.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

from addin.indicators import BY_KEY, IndicatorValue

#: What is missing, per indicator: (one — genitive singular, many — genitive plural).
UNITS: dict[str, tuple[str, str]] = {
    "mentees_10_19": ("наставляемого 10–19 лет", "наставляемых 10–19 лет"),
    "mentors_15_19": ("наставника из обучающихся 15–19 лет",
                      "наставников из обучающихся 15–19 лет"),
    "young_teachers": ("молодого специалиста в роли наставляемого",
                       "молодых специалистов в роли наставляемых"),
    "teachers_covered": ("педагога в программе наставничества",
                         "педагогов в программе наставничества"),
    "partners": ("организации-партнёра, предоставившей наставника",
                 "организаций-партнёров, предоставивших наставников"),
    "plans_done": ("завершённой пары с планом, выполненным на 90 % и более",
                   "завершённых пар с планом, выполненным на 90 % и более"),
    "consents": ("согласия на обработку ПД", "согласий на обработку ПД"),
    "roadmap_on_time": ("мероприятия, выполненного в срок", "мероприятий, выполненных в срок"),
}
#: Indicators that are a mean score, not a count: no gap in people, a score to reach instead.
SCORES = ("satisfaction_mentees", "satisfaction_mentors")
#: Why a denominator can be zero, per indicator.
ZERO_DENOMINATOR: dict[str, str] = {
    "mentees_10_19": "на листе «Сведения об ОО» нет обучающихся 10–19 лет",
    "mentors_15_19": "на листе «Сведения об ОО» нет обучающихся 15–19 лет",
    "young_teachers": "на листе «Сведения об ОО» нет молодых специалистов",
    "teachers_covered": "на листе «Сведения об ОО» нет педагогов",
    "partners": "на листе «Сведения об ОО» нет организаций-партнёров",
    "satisfaction_mentees": "нет анкет наставляемых",
    "satisfaction_mentors": "нет анкет наставников",
    "plans_done": "нет завершённых пар",
    "consents": "нет участников",
    "roadmap_on_time": "нет мероприятий, срок которых уже наступил",
}

MET, SHORT, NO_DATA, SCORE = "достигнута", "не хватает", "нет данных", "оценка"


@dataclass(frozen=True)
class Gap:
    """How far one indicator is from its target, in people or documents."""

    key: str
    title: str
    numerator: float
    denominator: float
    value: float | None
    target: float
    #: People or documents still missing; 0 when met; None when it cannot be counted.
    missing: int | None
    status: str  # MET, SHORT, NO_DATA or SCORE
    text_ru: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gaps(values: list[IndicatorValue]) -> list[Gap]:
    """The gap of every indicator that has a target (in the order of ``values``)."""
    return [g for g in (gap_of(v) for v in values) if g is not None]


def gap_of(v: IndicatorValue) -> Gap | None:
    """The gap of one indicator; None when it has no target."""
    if v.target is None:
        return None
    target = float(v.target)
    base = dict(key=v.key, title=v.title, numerator=v.numerator, denominator=v.denominator,
                value=v.value, target=target)
    if not v.denominator:
        why = ZERO_DENOMINATOR.get(v.key, "знаменатель равен нулю")
        return Gap(**base, missing=None, status=NO_DATA,
                   text_ru=f"Не рассчитать: {why}.")
    if v.key in SCORES:
        return _score_gap(v, base)
    # the indicators compare the value rounded to 0.1 %: what they call met needs no one more
    missing = 0 if v.met else people_missing(v.numerator, v.denominator, target, _scale(v.key))
    if missing == 0:
        return Gap(**base, missing=0, status=MET, text_ru=f"Цель {_pct(target)} достигнута.")
    room = v.denominator - v.numerator
    text = f"Чтобы достичь {_pct(target)}, не хватает {missing} {_unit(v.key, missing)}"
    if missing > room:
        text += f" — больше, чем возможно при знаменателе {v.denominator:g}"
    return Gap(**base, missing=missing, status=SHORT, text_ru=text + ".")


@lru_cache(maxsize=1 << 16)  # a city's schools repeat the same small counts and targets
def people_missing(numerator: float, denominator: float, target: float,
                   scale: float = 100.0) -> int:
    """Smallest whole x >= 0 with (numerator + x) / denominator * scale >= target, exactly:
    ceil(target * denominator / scale - numerator) in fractions, never a float guess."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    exact = Fraction(str(target)) * Fraction(str(denominator)) / Fraction(str(scale))
    return max(0, math.ceil(exact - Fraction(str(numerator))))


def _score_gap(v: IndicatorValue, base: dict[str, Any]) -> Gap:
    mean = v.numerator / v.denominator
    if v.met:
        return Gap(**base, missing=0, status=MET,
                   text_ru=f"Цель {_pct(base['target'])} достигнута (средняя оценка "
                           f"{_num(mean)} из 10).")
    need = base["target"] / _scale(v.key)
    return Gap(**base, missing=None, status=SCORE,
               text_ru=f"Средняя оценка {_num(mean)} из 10; для цели {_pct(base['target'])} "
                       f"нужна не ниже {_num(need)}.")


def _scale(key: str) -> float:
    d = BY_KEY.get(key)
    return d.scale if d is not None else 100.0


def _unit(key: str, n: int) -> str:
    one, many = UNITS.get(key, ("человека", "человек"))
    return one if n % 10 == 1 and n % 100 != 11 else many


def _pct(x: float) -> str:
    return f"{_num(x)} %"


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".").replace(".", ",")


def gap_by_key(values: list[IndicatorValue]) -> dict[str, Gap]:
    """Gaps keyed by indicator key (indicators without a target are absent)."""
    return {g.key: g for g in gaps(values)}
