"""Pair suggestions: mentees in no active pair matched to mentors with free capacity.

Everything comes from the school's own sheets. A candidate pair obeys the rules ``validate``
enforces on «Пары и группы»: the form fits the roles (``FORM_ROLES``), in a peer form the mentor
is older (``PEER_FORMS``), an external mentor has the criminal-record certificate, a person is
not their own mentor, and the counts never exceed the denominators of «Сведения об ОО»
(SCHOOL-002). Among the allowed pairs, scipy's ``linear_sum_assignment`` picks the set that
closes the indicator gaps first (``addin.plan.gaps``) and spreads mentees over mentors.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from addin.facts import Facts, split_ids
from addin.indicators import BY_KEY, IndicatorValue, compute_indicators, counts
from addin.model import SchoolWorkbook, normalize_header
from addin.plan.gaps import SHORT, gap_by_key
from addin.rules.pairs import FORM_ROLES, PEER_FORMS
from addin.rules.persons import years_ru
from workbook_templates import contract as C

#: How many mentees one mentor may have in active pairs, unless a setting says otherwise.
DEFAULT_MENTOR_CAPACITY = 3
#: The largest side of the assignment problem (the page answers in about a second).
MAX_SIDE = 1500
#: Benefit of a pair: every pair counts, one that closes a gap counts much more.
BASE, GAP_BONUS, NEW_MENTOR_BONUS, SLOT_PENALTY, AGE_PENALTY = 1.0, 10.0, 3.0, 0.5, 0.2
INFEASIBLE = 1e6
_STUDENT, _TEACHER, _YOUNG = "обучающийся", "педагог", "молодой специалист"
_EMPLOYER = "представитель работодателя"
_FIRST_STAGE = C.dictionary_values("stages")[0]
#: Forms whose words belong to a college (СПО) rather than a school.
_COLLEGE_WORDS = ("студент", "преподаватель")


@dataclass(frozen=True)
class Suggestion:
    """One suggested pair, ready to be copied as a row of «Пары и группы»."""

    pair_id: str
    form: str
    mentor_id: str
    mentee_id: str
    start_date: date
    reason_ru: str
    closes: tuple[str, ...] = ()  # indicator keys whose gap this pair narrows

    def row(self) -> dict[str, Any]:
        """The row of «Пары и группы» (contract keys); dates are planned ones."""
        return {"id": self.pair_id, "form": self.form, "mentor_id": self.mentor_id,
                "mentee_ids": self.mentee_id, "start_date": self.start_date,
                "agreement_date": self.start_date, "stage": _FIRST_STAGE}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["start_date"] = self.start_date.isoformat()
        return d


@dataclass
class SuggestionResult:
    """The suggestions of one school and what could not be matched."""

    reference_date: date
    capacity: int
    suggestions: list[Suggestion] = field(default_factory=list)
    unpaired_mentees: int = 0
    free_slots: int = 0
    #: Mentees left without a suggestion: ID -> Russian reason.
    unmatched: dict[str, str] = field(default_factory=dict)

    def summary_ru(self) -> str:
        """One sentence for a message box, the CLI and the page."""
        if not self.unpaired_mentees:
            return "Все наставляемые уже в парах: предлагать некого."
        return (f"Наставляемых вне пар: {self.unpaired_mentees}; свободных мест у "
                f"наставников (не больше {self.capacity} наставляемых на наставника): "
                f"{self.free_slots}; предложено пар: {len(self.suggestions)}.")

    def to_dict(self) -> dict[str, Any]:
        return {"reference_date": self.reference_date.isoformat(), "capacity": self.capacity,
                "suggestions": [s.to_dict() for s in self.suggestions],
                "unpaired_mentees": self.unpaired_mentees, "free_slots": self.free_slots,
                "unmatched": self.unmatched, "summary_ru": self.summary_ru()}


# ----------------------------------------------------------------------------- the pipeline
def suggest_pairs(wb: SchoolWorkbook, reference_date: date | None = None, *,
                  capacity: int = DEFAULT_MENTOR_CAPACITY,
                  indicators: list[IndicatorValue] | None = None) -> SuggestionResult:
    """Suggested pairs of one school at the reference date, best first."""
    if capacity < 1:
        raise ValueError("capacity must be at least 1")
    ref = reference_date or wb.reference_date or date.today()
    facts = Facts(wb, ref)
    values = indicators if indicators is not None else compute_indicators(wb, ref)
    open_gaps = {k: g.missing or 0 for k, g in gap_by_key(values).items() if g.status == SHORT}
    mentees, mentors = _free_mentees(facts), _free_mentors(facts, capacity)
    result = SuggestionResult(ref, capacity, unpaired_mentees=len(mentees),
                              free_slots=int(mentors["free"].sum()) if len(mentors) else 0)
    if mentees.empty:
        return result
    mentees = _with_benefit(mentees, open_gaps).sort_values("benefit", ascending=False,
                                                            kind="stable").head(MAX_SIDE)
    form_of = _form_chooser(facts, wb.school.get("org_type"))
    slots = _slots(mentors, open_gaps).head(MAX_SIDE)
    chosen = _assign(mentees, mentors, slots, form_of)
    # plain dicts per row: pandas row access costs ~0.3 ms, thousands of pairs add up
    people, tutors = mentees.to_dict("index"), mentors.to_dict("index")
    slot_mentor = slots["mentor"].tolist()
    taken = _within_headroom(chosen, facts, people, tutors, slot_mentor)
    ids = _new_pair_ids(facts.t("pairs")["id"], len(taken))
    for pair_id, (mi, si, form) in zip(ids, taken, strict=True):
        mentee, mentor = people[mi], tutors[slot_mentor[si]]
        closes = tuple(k for k in _mentee_keys(mentee) + _mentor_keys(mentor) if k in open_gaps)
        result.suggestions.append(Suggestion(
            pair_id, form, str(mentor["id"]), str(mentee["id"]), ref,
            _reason(mentee, mentor, form, closes, open_gaps, capacity), closes))
    paired = {s.mentee_id for s in result.suggestions}
    for m in people.values():
        if m["id"] not in paired:
            result.unmatched[str(m["id"])] = _why_not(m, mentors, form_of)
    return result


def _open_pairs(facts: Facts) -> pd.DataFrame:
    """Pairs not ended before the reference date: active ones and those still to start."""
    p = facts.t("pairs")
    return p[p["end_date"].isna() | (p["end_date"] >= facts.ref)]


def _free_mentees(facts: Facts) -> pd.DataFrame:
    """Mentees with an ID and a known category who are in no active or planned pair."""
    t = facts.t("mentees").assign(age=facts.age("mentees"), key=facts.person_key("mentees"))
    active = {i for v in _open_pairs(facts)["mentee_ids"] for i in split_ids(v)}
    ok = (t["id"].notna() & ~t["id"].isin(active)
          & t["category"].isin(C.dictionary_values("mentee_categories")))
    return t[ok].drop_duplicates("id").reset_index(drop=True)


def _free_mentors(facts: Facts, capacity: int) -> pd.DataFrame:
    """Mentors who may take a mentee: known category, certificate if external, free places."""
    t = facts.t("mentors").assign(age=facts.age("mentors"), key=facts.person_key("mentors"))
    load: Counter = Counter()
    pairs = _open_pairs(facts)
    for mentor, mentees in zip(pairs["mentor_id"], pairs["mentee_ids"], strict=True):
        if isinstance(mentor, str):
            load[mentor] += len(split_ids(mentees))
    active = set(facts.active_pairs["mentor_id"].dropna())
    t = t[t["id"].notna() & ~t["id"].duplicated()]
    t = t.assign(load=t["id"].map(lambda i: load.get(i, 0)).astype(int),
                 active=t["id"].isin(active))
    t = t.assign(free=(capacity - t["load"]).clip(lower=0))
    external = t["category"].isin(C.EXTERNAL_MENTOR_CATEGORIES)
    ok = (t["category"].isin(C.dictionary_values("mentor_categories")) & (t["free"] > 0)
          & (~external | t["record_cert_date"].notna()))
    return t[ok].reset_index(drop=True)


# ----------------------------------------------------------------------------- what a pair closes
def _mentee_keys(m: dict[str, Any]) -> list[str]:
    """Indicators a mentee raises by entering an active pair."""
    keys = []
    if m["category"] == _STUDENT and pd.notna(m["age"]) and 10 <= m["age"] <= 19:
        keys.append("mentees_10_19")
    if m["category"] == _YOUNG:
        keys.append("young_teachers")
    if m["category"] in (_TEACHER, _YOUNG):
        keys.append("teachers_covered")
    return keys


def _mentor_keys(m: dict[str, Any]) -> list[str]:
    """Indicators a mentor raises by becoming active (only when not active yet)."""
    if m["active"]:
        return []
    if m["category"] == _STUDENT and pd.notna(m["age"]) and 15 <= m["age"] <= 19:
        return ["mentors_15_19"]
    if m["category"] == _TEACHER:
        return ["teachers_covered"]
    if m["category"] == _EMPLOYER and isinstance(m.get("organization"), str):
        return ["partners"]
    return []


def _with_benefit(mentees: pd.DataFrame, gaps: dict[str, int]) -> pd.DataFrame:
    benefit = [BASE + GAP_BONUS * sum(1 for k in _mentee_keys(m) if k in gaps)
               for m in mentees.to_dict("records")]
    return mentees.assign(benefit=benefit)


def _slots(mentors: pd.DataFrame, gaps: dict[str, int]) -> pd.DataFrame:
    """One row per free place of a mentor; later places of one mentor cost a little more."""
    rows = []
    for i, m in mentors.to_dict("index").items():
        bonus = NEW_MENTOR_BONUS * sum(1 for k in _mentor_keys(m) if k in gaps)
        for k in range(int(m["free"])):
            rows.append((i, k, (bonus if k == 0 else 0.0) - SLOT_PENALTY * (m["load"] + k)))
    slots = pd.DataFrame(rows, columns=["mentor", "k", "bonus"])
    return slots.sort_values(["k", "bonus"], ascending=[True, False], kind="stable").reset_index(
        drop=True)


# ----------------------------------------------------------------------------- forms
def _form_chooser(facts: Facts, org_type: Any):  # noqa: ANN202 (a closure)
    """(mentor category, mentee category) -> the form to suggest, or None if none fits.

    Among the forms that allow both roles, the one the school already uses most, then the
    one whose words fit the organisation (college or school), then the contract's order.
    """
    used = Counter(facts.t("pairs")["form"].dropna())
    college = org_type == "СПО"
    order = {f: i for i, f in enumerate(C.dictionary_values("forms"))}
    cache: dict[tuple[str, str], str | None] = {}

    def fits_org(form: str) -> bool:
        words = any(w in form for w in _COLLEGE_WORDS)
        return words == college

    def choose(mentor_cat: str, mentee_cat: str) -> str | None:
        key = (mentor_cat, mentee_cat)
        if key not in cache:
            forms = [f for f, (mc, ec) in FORM_ROLES.items() if mentor_cat in mc
                     and mentee_cat in ec]
            forms.sort(key=lambda f: (-used.get(f, 0), not fits_org(f), order.get(f, 99)))
            cache[key] = forms[0] if forms else None
        return cache[key]

    return choose


# ----------------------------------------------------------------------------- the assignment
def _assign(mentees: pd.DataFrame, mentors: pd.DataFrame, slots: pd.DataFrame,
            form_of) -> list[tuple[int, int, str]]:  # noqa: ANN001
    """(mentee index, slot index, form) of the best set of allowed pairs, best first."""
    if slots.empty:
        return []
    form_idx, cost = _cost_matrix(mentees, mentors, slots, form_of)
    rows, cols = linear_sum_assignment(cost)
    slot_mentor = slots["mentor"].to_numpy()
    picked = sorted((float(cost[r, c]), int(r), int(c)) for r, c in zip(rows, cols, strict=True)
                    if cost[r, c] < INFEASIBLE / 2)
    forms = list(FORM_ROLES)
    return [(int(mentees.index[r]), c, forms[form_idx[r, slot_mentor[c]]]) for _, r, c in picked]


def _cost_matrix(mentees: pd.DataFrame, mentors: pd.DataFrame, slots: pd.DataFrame,
                 form_of) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """(form index per mentee x mentor, cost per mentee x slot).

    The cost is the negative benefit of a pair, INFEASIBLE where a rule forbids it: no form
    for the two roles, a peer form with a mentor who is not older, one person on both sides.
    """
    forms = list(FORM_ROLES)
    m_cat, e_cat = mentors["category"].to_numpy(object), mentees["category"].to_numpy(object)
    m_cats, e_cats = sorted(set(m_cat)), sorted(set(e_cat))
    table = np.array([[_index(forms, form_of(a, b)) for b in e_cats] for a in m_cats], dtype=int)
    m_pos = np.array([m_cats.index(c) for c in m_cat], dtype=int)
    e_pos = np.array([e_cats.index(c) for c in e_cat], dtype=int)
    form_idx = table[m_pos[None, :], e_pos[:, None]]
    peer = np.isin(form_idx, [forms.index(f) for f in PEER_FORMS])
    m_birth = mentors["birth_date"].to_numpy("datetime64[ns]")
    e_birth = mentees["birth_date"].to_numpy("datetime64[ns]")
    older = ((m_birth[None, :] < e_birth[:, None]) & ~np.isnat(m_birth)[None, :]
             & ~np.isnat(e_birth)[:, None])
    m_key, e_key = mentors["key"].to_numpy(object), mentees["key"].to_numpy(object)
    same = (m_key[None, :] == e_key[:, None]) & pd.notna(m_key)[None, :]
    allowed = (form_idx >= 0) & (~peer | older) & ~same
    gap = (mentors["age"].to_numpy(float)[None, :] - mentees["age"].to_numpy(float)[:, None])
    age_cost = np.where(peer & ~np.isnan(gap), AGE_PENALTY * np.abs(np.nan_to_num(gap) - 3.0), 0)
    per_mentor = -mentees["benefit"].to_numpy(float)[:, None] + age_cost
    slot_mentor = slots["mentor"].to_numpy(int)
    cost = per_mentor[:, slot_mentor] - slots["bonus"].to_numpy(float)[None, :]
    cost[~allowed[:, slot_mentor]] = INFEASIBLE
    return form_idx, cost


def _index(items: list[str], item: str | None) -> int:
    return items.index(item) if item is not None else -1


def _within_headroom(chosen: list[tuple[int, int, str]], facts: Facts,
                     mentees: dict[int, dict], mentors: dict[int, dict],
                     slot_mentor: list[int]) -> list[tuple[int, int, str]]:
    """Drop pairs that would push a count over its denominator on «Сведения об ОО»."""
    room: dict[str, float] = {}
    for key, (num, _) in counts(facts.wb, facts.reference_date).items():
        field_ = BY_KEY[key].denominator_field
        den = facts.wb.school.get(field_) if field_ else None
        if isinstance(den, int | float) and not isinstance(den, bool):
            room[key] = den - num
    t = facts.t("mentors")
    working = t[t["id"].isin(set(facts.active_pairs["mentor_id"].dropna()))
                & (t["category"] == _EMPLOYER)]
    partners = {normalize_header(o) for o in working["organization"].dropna()}
    kept, new_mentors = [], set()
    for mi, si, form in chosen:
        j = slot_mentor[si]
        mentor = mentors[j]
        keys = _mentee_keys(mentees[mi])
        if j not in new_mentors:
            mkeys = _mentor_keys(mentor)
            if "partners" in mkeys and normalize_header(mentor["organization"]) in partners:
                mkeys = [k for k in mkeys if k != "partners"]
            keys = keys + mkeys
        need = Counter(keys)
        if any(room.get(k, float("inf")) < n for k, n in need.items()):
            continue
        for k, n in need.items():
            if k in room:
                room[k] -= n
        kept.append((mi, si, form))
        if not mentor["active"]:
            new_mentors.add(j)
            if isinstance(mentor.get("organization"), str):
                partners.add(normalize_header(mentor["organization"]))
    return kept


# ----------------------------------------------------------------------------- texts and IDs
def _reason(mentee: dict[str, Any], mentor: dict[str, Any], form: str, closes: tuple[str, ...],
            gaps: dict[str, int], capacity: int) -> str:
    parts = [f"{mentee['id']} ({_who(mentee)}) не состоит в паре",
             f"у наставника {mentor['id']} ({_who(mentor)}) занято {int(mentor['load'])} "
             f"из {capacity} мест",
             f"форма «{form}» допускает такие роли"]
    if form in PEER_FORMS and pd.notna(mentor["age"]) and pd.notna(mentee["age"]):
        diff = int(mentor["age"] - mentee["age"])
        parts.append("наставник старше" + (f" на {years_ru(diff)}" if diff > 0 else ""))
    if mentor["category"] in C.EXTERNAL_MENTOR_CATEGORIES:
        parts.append("справка об отсутствии судимости есть")
    for key in dict.fromkeys(closes):
        parts.append(f"сокращает разрыв «{BY_KEY[key].title}» (не хватает {gaps[key]})")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def _who(p: dict[str, Any]) -> str:
    age = f", {years_ru(int(p['age']))}" if pd.notna(p["age"]) and p["age"] >= 0 else ""
    return f"{p['category']}{age}"


def _why_not(mentee: dict[str, Any], mentors: pd.DataFrame, form_of) -> str:  # noqa: ANN001
    fits = [form_of(c, mentee["category"]) for c in mentors["category"].unique()]
    if mentors.empty:
        return "нет наставников со свободными местами"
    if not any(fits):
        return f"нет свободного наставника, подходящего к категории «{mentee['category']}»"
    return "подходящие наставники заняты другими предложениями или не старше наставляемого"


_ID_NUMBER = re.compile(r"^(.*?)(\d+)$")


def _new_pair_ids(existing: pd.Series, n: int) -> list[str]:
    """The next free pair IDs in the school's own style («П-046» after «П-045»)."""
    ids = {str(v) for v in existing.dropna()}
    prefix, width, top = "П-", 3, 0
    styles = Counter()
    for v in ids:
        m = _ID_NUMBER.match(v)
        if m:
            styles[(m.group(1), len(m.group(2)))] += 1
            top = max(top, int(m.group(2)))
    if styles:
        prefix, width = styles.most_common(1)[0][0]
    out, k = [], top
    while len(out) < n:
        k += 1
        candidate = f"{prefix}{k:0{width}d}"
        if candidate not in ids:
            out.append(candidate)
    return out


# ----------------------------------------------------------------------------- the setting
class PlanSettingsError(Exception):
    """The [plans] section of a settings file cannot be used; ``message_ru`` says why."""

    def __init__(self, message_ru: str) -> None:
        super().__init__(message_ru)
        self.message_ru = message_ru


def load_capacity(path: str | Path | None = None) -> int:
    """Mentees per mentor: ``[plans] mentor_capacity`` of a municipality's targets file
    (the same TOML as the targets), else DEFAULT_MENTOR_CAPACITY."""
    if path is None:
        return DEFAULT_MENTOR_CAPACITY
    try:
        with Path(path).open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PlanSettingsError(f"Не удалось прочитать файл настроек {path}: {exc}") from None
    value = data.get("plans", {}).get("mentor_capacity", DEFAULT_MENTOR_CAPACITY)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100:
        raise PlanSettingsError(
            f"В файле {Path(path).name} [plans] mentor_capacity должно быть целым числом от 1 "
            f"до 100, а указано «{value}».")
    return value
