"""Facts derived from a batch of workbooks at a reference date, shared by rules and
indicators: ages, active pairs, the pair-to-mentee links, everyone in one table, and the
school-aware lookups every rule uses (IDs are local to a school: joins go on (school, ID))."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import wraps
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from addin.model import ROW, SCHOOL, WorkbookBatch
from addin.roadmap_dates import resolve_due

_T = TypeVar("_T")


def shared(method: Callable[[Facts], _T]) -> property:
    """A derived table computed once per batch and date, whichever Facts asks: the check,
    the indicators and the municipal rows each make their own over the same batch."""
    name = method.__name__

    @wraps(method)
    def get(self: Facts) -> _T:
        memo = self.memo
        if name not in memo:
            memo[name] = method(self)
        return memo[name]
    return property(get)


@dataclass
class Facts:
    """The batch and the date the figures are taken at."""

    wb: WorkbookBatch
    reference_date: date

    @property
    def ref(self) -> pd.Timestamp:
        return pd.Timestamp(self.reference_date)

    @property
    def memo(self) -> dict[str, Any]:
        """What `shared` keeps, on the batch, for this reference date."""
        return self.wb.memo.setdefault(f"facts {self.reference_date}", {})

    @property
    def n_schools(self) -> int:
        return len(self.wb.books)

    def t(self, key: str) -> pd.DataFrame:
        """Typed table of a sheet (every school of the batch)."""
        return self.wb.tables[key]

    def raw(self, key: str) -> pd.DataFrame:
        """The same table as typed by the user."""
        return self.wb.raw[key]

    def age(self, key: str) -> pd.Series:
        """Ages at the reference date of the people of a sheet (mentors, mentees), cached."""
        return self._of_sheet("ages", key, lambda t: ages(t["birth_date"], self.ref))

    def person_key(self, key: str) -> pd.Series:
        """`person_keys` of a sheet (mentors, mentees), cached: several rules compare people."""
        return self._of_sheet("person_keys", key, person_keys)

    def _of_sheet(self, what: str, key: str,
                  make: Callable[[pd.DataFrame], pd.Series]) -> pd.Series:
        cache = self.memo.setdefault(what, {})
        if key not in cache:
            cache[key] = make(self.t(key))
        return cache[key]

    def lacking(self, sheet_key: str, *columns: str) -> set[int]:
        """Schools whose sheet lacks one of these columns (SHEET-002 reports it)."""
        return {i for i, b in enumerate(self.wb.books)
                if any(c in b.missing_columns.get(sheet_key, ()) for c in columns)}

    def having(self, rows: pd.DataFrame, sheet_key: str, *columns: str) -> pd.DataFrame:
        """The rows of schools whose sheet has all these columns: rules that would flag every
        row of a school because a column is missing stay silent for that school."""
        lacking = self.lacking(sheet_key, *columns)
        return rows[~rows[SCHOOL].isin(lacking)] if lacking else rows

    @shared
    def people(self) -> pd.DataFrame:
        """Mentors and mentees in one table: id, role, full_name, birth_date, category, age."""
        parts = []
        for key, role in (("mentors", "наставник"), ("mentees", "наставляемый")):
            t = self.t(key)
            parts.append(pd.DataFrame({
                SCHOOL: t[SCHOOL], "id": t["id"], "role": role, "sheet": key, ROW: t[ROW],
                "full_name": t["full_name"], "birth_date": t["birth_date"],
                "category": t["category"], "consent_date": t["consent_date"],
                "consent_by": t["consent_by"], "age": self.age(key)}))
        return pd.concat(parts, ignore_index=True)

    @shared
    def pair_mentees(self) -> pd.DataFrame:
        """One row per (pair, mentee ID) with the pair's columns."""
        pairs = self.t("pairs")
        ids = pairs["mentee_ids"].map(split_ids)
        out = pairs.assign(mentee_id=ids).explode("mentee_id", ignore_index=True)
        return out[out["mentee_id"].notna()].reset_index(drop=True)

    @shared
    def active_pairs(self) -> pd.DataFrame:
        """Pairs started by the reference date and not ended before it."""
        p = self.t("pairs")
        started = p["start_date"].notna() & (p["start_date"] <= self.ref)
        open_ = p["end_date"].isna() | (p["end_date"] >= self.ref)
        return p[started & open_]

    @shared
    def active_links(self) -> pd.DataFrame:
        """(school, mentor ID, mentee ID) of every active pair, one row per mentee."""
        pm = self.pair_mentees
        return pm[_in(pm[ROW], pm[SCHOOL], self.active_pairs)]

    @shared
    def roadmap_due(self) -> pd.DataFrame:
        """Per roadmap row: parsed deadline, one-off due date, recurring flag."""
        return resolve_due(self.t("roadmap"))


def _in(rows: pd.Series, schools: pd.Series, table: pd.DataFrame) -> np.ndarray:
    """Whether each (school, Excel row) is a row of `table`."""
    a, b = _pair_codes(schools, rows, table[SCHOOL], table[ROW])
    return np.isin(a, b[b >= 0]) & (a >= 0)


def _pair_codes(schools_a: Any, keys_a: Any, schools_b: Any, keys_b: Any
                ) -> tuple[np.ndarray, np.ndarray]:
    """(school, key) pairs of two tables as int64 codes comparable across both (-1 for a
    missing key): one hash pass instead of tuples or a MultiIndex."""
    keys = np.concatenate([np.asarray(keys_a, dtype=object), np.asarray(keys_b, dtype=object)])
    codes, _ = pd.factorize(keys, use_na_sentinel=True)
    schools = np.concatenate([np.asarray(schools_a, dtype="int64"),
                              np.asarray(schools_b, dtype="int64")])
    width = int(schools.max()) + 1 if len(schools) else 1
    pairs = np.where(codes >= 0, codes.astype("int64") * width + schools, -1)
    return pairs[:len(keys_a)], pairs[len(keys_a):]


def member(rows: pd.DataFrame, key: str, table: pd.DataFrame, column: str = "id") -> pd.Series:
    """Whether rows[key] is among table[column] of the same school (NA is never a member)."""
    a, b = _pair_codes(rows[SCHOOL], rows[key], table[SCHOOL], table[column])
    return pd.Series(np.isin(a, b[b >= 0]) & (a >= 0), index=rows.index, dtype=bool)


def lookup(rows: pd.DataFrame, key: str, table: pd.DataFrame, column: str,
           by: str = "id") -> pd.Series:
    """table[column] of the record whose `by` equals rows[key] in the same school.

    The first of duplicate IDs wins; a missing ID gives NA of the column's dtype.
    """
    a, b = _pair_codes(rows[SCHOOL], rows[key], table[SCHOOL], table[by])
    keep = ~(pd.Index(b).duplicated(keep="first") | (b < 0))
    where = pd.Index(b[keep]).get_indexer(a) if keep.any() else np.full(len(a), -1)
    found = where >= 0
    out = pd.Series(index=rows.index, dtype=table[column].dtype)
    if found.any():
        out[found] = table[column].to_numpy()[keep][where[found]]
    return out


def per_school(values: pd.Series, schools: pd.Series, n: int, how: str = "sum") -> np.ndarray:
    """A per-row value aggregated per school of a batch of n schools (0 where a school has
    no rows)."""
    grouped = values.groupby(schools.to_numpy()).agg(how)
    return grouped.reindex(range(n), fill_value=0).to_numpy(dtype="float64")


def split_ids(value: Any) -> list[str]:
    """'У-001, У-002;У-003' -> ['У-001', 'У-002', 'У-003']."""
    if not isinstance(value, str):
        return []
    return [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]


def ages(birth: pd.Series, ref: pd.Timestamp) -> pd.Series:
    """Whole years of age at `ref` (NaN where the birth date is missing)."""
    years = ref.year - birth.dt.year
    before_birthday = (birth.dt.month > ref.month) | (
        (birth.dt.month == ref.month) & (birth.dt.day > ref.day))
    return (years - before_birthday.astype("float64")).astype("float64")


def person_keys(table: pd.DataFrame) -> pd.Series:
    """Name + birth date of each record (NA where either is missing): one key per person.

    Names are compared as headers are (case, spaces, dashes and ё do not matter), in Arrow.
    """
    known = (table["full_name"].notna() & table["birth_date"].notna()).to_numpy()
    key = pd.Series(None, index=table.index, dtype=object)
    if not known.any():
        return key
    names = pa.array(table["full_name"].to_numpy()[known].astype(str))
    names = pc.utf8_lower(names)
    for old, new in _NAME_FOLDS:
        names = pc.replace_substring(names, old, new)
    names = pc.utf8_trim_whitespace(pc.replace_substring_regex(names, _SPACES, " "))
    births = table["birth_date"].to_numpy()[known].astype("datetime64[D]").astype(str)
    key[known] = pc.binary_join_element_wise(names, pa.array(births), "|").to_numpy(
        zero_copy_only=False)
    return key


_NAME_FOLDS = (("–", "-"), ("—", "-"), ("‑", "-"), ("ё", "е"), ("\n", " "))
_SPACES = r"[\s\p{Z}\x{1c}-\x{1f}\x{85}]+"
