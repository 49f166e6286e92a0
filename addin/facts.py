"""Facts derived from a batch of workbooks at a reference date, shared by rules and
indicators: ages, active pairs, the pair-to-mentee links, everyone in one table, and the
school-aware lookups every rule uses (IDs are local to a school: joins go on (school, ID))."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from addin.model import ROW, SCHOOL, WorkbookBatch, normalize_header
from addin.roadmap_dates import resolve_due


@dataclass
class Facts:
    """The batch and the date the figures are taken at."""

    wb: WorkbookBatch
    reference_date: date

    @property
    def ref(self) -> pd.Timestamp:
        return pd.Timestamp(self.reference_date)

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
        cache = self.__dict__.setdefault("_ages", {})
        if key not in cache:
            cache[key] = ages(self.t(key)["birth_date"], self.ref)
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

    @cached_property
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

    @cached_property
    def pair_mentees(self) -> pd.DataFrame:
        """One row per (pair, mentee ID) with the pair's columns."""
        pairs = self.t("pairs")
        ids = pairs["mentee_ids"].map(split_ids)
        out = pairs.assign(mentee_id=ids).explode("mentee_id", ignore_index=True)
        return out[out["mentee_id"].notna()].reset_index(drop=True)

    @cached_property
    def active_pairs(self) -> pd.DataFrame:
        """Pairs started by the reference date and not ended before it."""
        p = self.t("pairs")
        started = p["start_date"].notna() & (p["start_date"] <= self.ref)
        open_ = p["end_date"].isna() | (p["end_date"] >= self.ref)
        return p[started & open_]

    @cached_property
    def active_links(self) -> pd.DataFrame:
        """(school, mentor ID, mentee ID) of every active pair, one row per mentee."""
        pm = self.pair_mentees
        return pm[_in(pm[ROW], pm[SCHOOL], self.active_pairs)]

    @cached_property
    def roadmap_due(self) -> pd.DataFrame:
        """Per roadmap row: parsed deadline, one-off due date, recurring flag."""
        return resolve_due(self.t("roadmap"))


def _in(rows: pd.Series, schools: pd.Series, table: pd.DataFrame) -> np.ndarray:
    """Whether each (school, Excel row) is a row of `table`."""
    keys = pd.MultiIndex.from_arrays([schools.to_numpy(), rows.to_numpy()])
    return keys.isin(pd.MultiIndex.from_arrays([table[SCHOOL].to_numpy(),
                                                table[ROW].to_numpy()]))


def _keys(schools: Any, ids: Any) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays([np.asarray(schools, dtype="int64"),
                                      np.asarray(ids, dtype=object)])


def member(rows: pd.DataFrame, key: str, table: pd.DataFrame, column: str = "id") -> pd.Series:
    """Whether rows[key] is among table[column] of the same school (NA is never a member)."""
    present = table[table[column].notna()]
    found = _keys(rows[SCHOOL], rows[key]).isin(_keys(present[SCHOOL], present[column]))
    return pd.Series(found, index=rows.index, dtype=bool) & rows[key].notna()


def lookup(rows: pd.DataFrame, key: str, table: pd.DataFrame, column: str,
           by: str = "id") -> pd.Series:
    """table[column] of the record whose `by` equals rows[key] in the same school.

    The first of duplicate IDs wins; a missing ID gives NA; works on empty tables of any dtype.
    """
    src = table[table[by].notna()]
    index = _keys(src[SCHOOL], src[by])
    mapping = pd.Series(src[column].to_numpy(), index=index, dtype=table[column].dtype)
    mapping = mapping[~index.duplicated()]
    values = mapping.reindex(_keys(rows[SCHOOL], rows[key]))
    return pd.Series(values.to_numpy(), index=rows.index, dtype=mapping.dtype)


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
    """Name + birth date of each record (NA where either is missing): one key per person."""
    known = (table["full_name"].notna() & table["birth_date"].notna()).to_numpy()
    names = [normalize_header(v) for v in table["full_name"].to_numpy()[known]]
    births = table["birth_date"].to_numpy()[known].astype("datetime64[D]").astype(str)
    key = pd.Series(None, index=table.index, dtype=object)
    key[known] = [f"{n}|{b}" for n, b in zip(names, births, strict=True)]
    return key
