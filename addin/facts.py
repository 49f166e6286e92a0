"""Facts derived from a SchoolWorkbook at a reference date, shared by rules and indicators:
ages, active pairs, the pair-to-mentee links, everyone in one table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

import pandas as pd

from addin.model import ROW, SchoolWorkbook, normalize_header
from addin.roadmap_dates import resolve_due


@dataclass
class Facts:
    """The workbook and the date the figures are taken at."""

    wb: SchoolWorkbook
    reference_date: date

    @property
    def ref(self) -> pd.Timestamp:
        return pd.Timestamp(self.reference_date)

    def t(self, key: str) -> pd.DataFrame:
        """Typed table of a sheet."""
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

    @cached_property
    def people(self) -> pd.DataFrame:
        """Mentors and mentees in one table: id, role, full_name, birth_date, category, age."""
        parts = []
        for key, role in (("mentors", "наставник"), ("mentees", "наставляемый")):
            t = self.t(key)
            parts.append(pd.DataFrame({
                "id": t["id"], "role": role, "sheet": key, ROW: t[ROW],
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
    def roadmap_due(self) -> pd.DataFrame:
        """Per roadmap row: parsed deadline, one-off due date, recurring flag."""
        return resolve_due(self.t("roadmap"))


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
