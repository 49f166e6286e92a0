"""Participant counts of the federal statistics form, computed once from the municipal tables.

The master workbook (sheet «Численность участников») and the federal form render this same
table, so their figures are equal by construction. Rows are breakdowns of the participants in
active pairs at the reference date by role, category, age band and form of mentoring; columns
are school types (ОО, СПО, ДО) and the total.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from addin.facts import split_ids
from sync.joined import join_runs
from workbook_templates import contract as C

ORG_TYPES = C.dictionary_values("org_types")  # ("ОО", "СПО", "ДО")
TOTAL = "Всего"
COLUMNS = ["row_key", "section", "label", *ORG_TYPES, TOTAL]
#: Age bands (inclusive lower, inclusive upper, label).
AGE_BANDS = ((0, 9, "младше 10 лет"), (10, 14, "10–14 лет"), (15, 19, "15–19 лет"),
             (20, 35, "20–35 лет"), (36, 200, "36 лет и старше"))
ROLE_LABELS = {"наставник": "Наставники", "наставляемый": "Наставляемые"}


#: Columns of the trace («Расшифровка»): which records make each figure, per school.
TRACE_COLUMNS = ["row_key", "section", "label", "school_code", "org_type", "count", "ids"]
#: A cell holds at most 32,767 characters: longer ID lists continue on the next trace row.
MAX_IDS_CHARS = 30_000
NO_ID = "(без ID)"


def row_specs() -> list[tuple[str, str, str]]:
    """(row key, section, label) of every row of the form, in order, whatever the data."""
    rows = [(f"role:{role}", "По роли", label) for role, label in ROLE_LABELS.items()]
    for role, dictionary in (("наставник", "mentor_categories"),
                             ("наставляемый", "mentee_categories")):
        rows += [(f"category:{role}:{cat}", "По категории", f"{ROLE_LABELS[role]}: {cat}")
                 for cat in C.dictionary_values(dictionary)]
    rows += [(f"special:{cat}", "Наставляемые особых категорий", cat)
             for cat in C.dictionary_values("special_categories")]
    for role, label in ROLE_LABELS.items():
        rows += [(f"age:{role}:{lo}", "По возрасту", f"{label}: {band}")
                 for lo, _, band in AGE_BANDS]
    for form in C.dictionary_values("forms"):
        rows += [(f"form:pairs:{form}", "По форме наставничества", f"Пары и группы: {form}"),
                 (f"form:mentees:{form}", "По форме наставничества", f"Наставляемые: {form}")]
    return rows


def federal_figures(participants: pd.DataFrame, pairs: pd.DataFrame,
                    org_types: dict[str, str], *,
                    records: pd.DataFrame | None = None) -> pd.DataFrame:
    """The form's table: one row per figure, one column per school type plus the total.

    participants: consolidate.PARTICIPANT_COLUMNS; pairs: consolidate.PAIR_COLUMNS;
    org_types: school code -> ОО / СПО / ДО; records: their `counted_records`, when made.
    """
    long = records if records is not None else counted_records(participants, pairs, org_types)
    counts = (long.groupby(["row_key", "org_type"]).size().unstack(fill_value=0)
              .reindex(columns=list(ORG_TYPES), fill_value=0))
    specs = pd.DataFrame(row_specs(), columns=["row_key", "section", "label"])
    table = specs.join(counts, on="row_key").fillna({t: 0 for t in ORG_TYPES})
    table = table.astype({t: int for t in ORG_TYPES})
    table[TOTAL] = table[list(ORG_TYPES)].sum(axis=1).astype(int)
    return table[COLUMNS].reset_index(drop=True)


def figure_trace(participants: pd.DataFrame, pairs: pd.DataFrame, org_types: dict[str, str],
                 rename: Callable[[str, str], str] | None = None, *,
                 records: pd.DataFrame | None = None) -> pd.DataFrame:
    """Which records make each figure: one row per (figure, school) with the count and the IDs
    (participant IDs; pair IDs in the rows about pairs), so that the counts of a figure's rows
    sum to the figure in every column. ``rename(school_code, id)`` replaces each participant
    ID (pseudonyms); pair IDs are kept, as on the master's «Пары» sheet.
    """
    long = records if records is not None else counted_records(participants, pairs, org_types)
    long = long[long["org_type"].isin(ORG_TYPES)]
    if long.empty:
        return pd.DataFrame(columns=TRACE_COLUMNS)
    ids = long["id"].astype(object).fillna(NO_ID).astype(str)
    if rename is not None:
        people = long["person"].to_numpy(bool) & long["id"].map(
            lambda v: isinstance(v, str)).to_numpy(bool)
        pairs_ = long.loc[people, ["school_code", "id"]].drop_duplicates()
        names = {(c, i): rename(c, i) for c, i in zip(pairs_["school_code"], pairs_["id"],
                                                      strict=True)}
        ids[people] = [names[(c, i)] for c, i in zip(long.loc[people, "school_code"],
                                                     long.loc[people, "id"], strict=True)]
    specs = row_specs()
    order = pd.Categorical(long["row_key"], categories=[k for k, _, _ in specs]).codes
    if (order < 0).any():
        raise KeyError(f"not a row of the form: {long['row_key'][order < 0].iloc[0]}")
    school = pd.factorize(long["school_code"], sort=True)[0]
    at = np.lexsort((school, order))  # by figure, then school code; stable
    # one group per (figure, school), by position: the IDs joined in Arrow, not row by row
    keys, shown = order[at], ids.to_numpy(dtype=object)[at]
    starts, joined = join_runs(shown, keys, school[at], sep=", ")
    first, group = at[starts], keys[starts]
    out = pd.DataFrame({
        "row_key": np.array([k for k, _, _ in specs], dtype=object)[group],
        "section": np.array([sec for _, sec, _ in specs], dtype=object)[group],
        "label": np.array([lab for _, _, lab in specs], dtype=object)[group],
        "school_code": long["school_code"].to_numpy(dtype=object)[first],
        "org_type": long["org_type"].to_numpy(dtype=object)[first],
        "count": np.diff(np.r_[starts, len(keys)]).astype("int64"),
        "ids": joined.to_numpy(zero_copy_only=False)})
    too_long = np.flatnonzero(pc.utf8_length(joined).to_numpy() > MAX_IDS_CHARS)
    if len(too_long):  # rare: such a list goes on over the next rows
        out = _split_long(out, too_long, shown, starts)
    return out[TRACE_COLUMNS]


def _split_long(out: pd.DataFrame, rows: np.ndarray, ids: np.ndarray,
                starts: np.ndarray) -> pd.DataFrame:
    """Rows whose joined IDs would not fit in a cell, each as several rows of chunks."""
    ends = np.r_[starts[1:], len(ids)]
    counts, texts = out["count"].astype(object), out["ids"].astype(object)
    for r in rows:
        chunks = _chunks(list(ids[starts[r]:ends[r]]))
        counts.iat[r] = [len(c) for c in chunks]
        texts.iat[r] = [", ".join(c) for c in chunks]
    out = out.assign(count=counts, ids=texts).explode(["count", "ids"], ignore_index=True)
    return out.astype({"count": "int64"})


def _chunks(ids: list[str]) -> list[list[str]]:
    """IDs split so that each joined chunk fits in one cell."""
    chunks: list[list[str]] = [[]]
    size = 0
    for i in ids:
        if chunks[-1] and size + len(i) + 2 > MAX_IDS_CHARS:
            chunks.append([])
            size = 0
        chunks[-1].append(i)
        size += len(i) + 2
    return chunks


def counted_records(participants: pd.DataFrame, pairs: pd.DataFrame,
                    org_types: dict[str, str]) -> pd.DataFrame:
    """One row per record counted in a figure: row_key, school_code, org_type, id, person.

    A participant in an active pair counts in its role, its category, its special category
    (mentees) and its age band; an active pair counts in its form, and each mentee once per
    form and school.
    """
    people = _with_org(participants[participants["in_active_pair"].astype(bool)], org_types)
    role, cat = people["role"], people["category"]
    parts: list[pd.DataFrame] = []

    def add(frame: pd.DataFrame, mask: pd.Series, keys: pd.Series, id_col: str,
            person: bool) -> None:
        sub = frame[mask.to_numpy(bool)]
        parts.append(pd.DataFrame({"row_key": keys.to_numpy(object),
                                   "school_code": sub["school_code"].to_numpy(object),
                                   "org_type": sub["org_type"].to_numpy(object),
                                   "id": sub[id_col].to_numpy(object), "person": person},
                                  dtype=object))  # not Arrow text: read back as objects

    known = role.isin(list(ROLE_LABELS))
    add(people, known, _keys("role:{}", role[known]), "person_id", True)
    cats = (((role == "наставник") & cat.isin(C.dictionary_values("mentor_categories")))
            | ((role == "наставляемый") & cat.isin(C.dictionary_values("mentee_categories"))))
    add(people, cats, _keys("category:{}:{}", role[cats], cat[cats]), "person_id", True)
    special = (role == "наставляемый") & people["special_category"].isin(
        C.dictionary_values("special_categories"))
    add(people, special, _keys("special:{}", people.loc[special, "special_category"]),
        "person_id", True)
    band = _age_band(people["age"])
    aged = known & band.notna()
    add(people, aged, _keys("age:{}:{}", role[aged], band[aged]), "person_id", True)
    active = _with_org(pairs[pairs["active"].astype(bool)], org_types)
    forms = active["form"].isin(C.dictionary_values("forms"))
    add(active, forms, _keys("form:pairs:{}", active.loc[forms, "form"]), "pair_id", False)
    # a mentee in two pairs of one form is one person of that form
    links = active[forms].assign(mentee_id=active.loc[forms, "mentee_ids"].map(split_ids))
    links = links.explode("mentee_id")
    links = links[links["mentee_id"].notna()].drop_duplicates(["school_code", "form",
                                                               "mentee_id"])
    add(links, pd.Series(True, index=links.index), _keys("form:mentees:{}", links["form"]),
        "mentee_id", True)
    return pd.concat(parts, ignore_index=True)


def _with_org(frame: pd.DataFrame, org_types: dict[str, str]) -> pd.DataFrame:
    """The frame with each school's type (each distinct code looked up once)."""
    codes, uniques = pd.factorize(frame["school_code"].astype(object))
    # the last slot answers the code -1 of a missing school code
    types = np.array([org_types.get(c) for c in uniques] + [None], dtype=object)
    return frame.assign(org_type=pd.Series(types[codes] if len(codes) else [],
                                           index=frame.index, dtype=object))


def _keys(pattern: str, *columns: pd.Series) -> pd.Series:
    """Row keys from a pattern: each distinct combination of values is formatted once."""
    combined = np.zeros(len(columns[0]), dtype=np.int64)
    uniques = []
    for column in columns:
        codes, values = pd.factorize(column.astype(object).to_numpy())
        combined = combined * (len(values) + 1) + (codes + 1)
        uniques.append(values)
    distinct, inverse = np.unique(combined, return_inverse=True)
    texts = []
    for value in distinct.tolist():
        parts = []
        for values in reversed(uniques):
            value, r = divmod(value, len(values) + 1)
            parts.append(values[r - 1] if r else None)
        texts.append(pattern.format(*reversed(parts)))
    return pd.Series(np.array(texts, dtype=object)[inverse] if len(combined) else [],
                     dtype=object)


def _age_band(age: pd.Series) -> pd.Series:
    """The lower bound of each age's band as text ('10'), NA outside every band."""
    out = pd.Series(pd.NA, index=age.index, dtype=object)
    for lo, hi, _ in AGE_BANDS:
        out[age.between(lo, hi).to_numpy(bool)] = str(lo)
    return out
