"""Participant counts of the federal statistics form, computed once from the municipal tables.

The master workbook (sheet «Численность участников») and the federal form render this same
table, so their figures are equal by construction. Rows are breakdowns of the participants in
active pairs at the reference date by role, category, age band and form of mentoring; columns
are school types (ОО, СПО, ДО) and the total.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from addin.facts import split_ids
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


def federal_figures(participants: pd.DataFrame, pairs: pd.DataFrame,
                    org_types: dict[str, str]) -> pd.DataFrame:
    """The form's table: one row per figure, one column per school type plus the total.

    participants: consolidate.PARTICIPANT_COLUMNS; pairs: consolidate.PAIR_COLUMNS;
    org_types: school code -> ОО / СПО / ДО.
    """
    rows = _figure_rows(participants, pairs, org_types)
    return pd.DataFrame([_count_row(k, sec, lab, part["org_type"]) for k, sec, lab, part in rows],
                        columns=COLUMNS)


def figure_trace(participants: pd.DataFrame, pairs: pd.DataFrame, org_types: dict[str, str],
                 rename: Callable[[str, str], str] | None = None) -> pd.DataFrame:
    """Which records make each figure: one row per (figure, school) with the count and the IDs
    (participant IDs; pair IDs for the rows about pairs), so that the counts of a figure's
    rows sum to the figure in every column. ``rename(school_code, id)`` replaces each
    participant ID (pseudonyms); pair IDs are kept, as on the master's «Пары» sheet.
    """
    out: list[list] = []
    renamed: dict[tuple[str, str], str] = {}  # one person appears in several figures

    def show(code: str, i: object, people: bool) -> str:
        if not isinstance(i, str):
            return NO_ID if pd.isna(i) else str(i)
        if not people or rename is None:
            return i
        if (code, i) not in renamed:
            renamed[(code, i)] = rename(code, i)
        return renamed[(code, i)]

    for key, section, label, part in _figure_rows(participants, pairs, org_types):
        people = not key.startswith("form:pairs:")
        part = part[part["org_type"].isin(ORG_TYPES)]  # the form counts only these columns
        for (code, org), ids in part.groupby(["school_code", "org_type"], sort=True)["id"]:
            for chunk in _chunks([show(code, i, people) for i in ids]):
                out.append([key, section, label, code, org, len(chunk), ", ".join(chunk)])
    return pd.DataFrame(out, columns=TRACE_COLUMNS)


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


def _figure_rows(participants: pd.DataFrame, pairs: pd.DataFrame, org_types: dict[str, str]
                 ) -> list[tuple[str, str, str, pd.DataFrame]]:
    """(row key, section, label, the records counted: school_code, org_type, id) per figure."""
    people = participants[participants["in_active_pair"].astype(bool)]
    people = people.assign(org_type=people["school_code"].map(org_types),
                           id=people["person_id"])
    rows: list[tuple[str, str, str, pd.DataFrame]] = []
    for role, label in ROLE_LABELS.items():
        mine = people[people["role"] == role]
        rows.append((f"role:{role}", "По роли", label, mine))
    for role, dictionary in (("наставник", "mentor_categories"),
                             ("наставляемый", "mentee_categories")):
        mine = people[people["role"] == role]
        for cat in C.dictionary_values(dictionary):
            rows.append((f"category:{role}:{cat}", "По категории",
                         f"{ROLE_LABELS[role]}: {cat}", mine[mine["category"] == cat]))
    mentees = people[people["role"] == "наставляемый"]
    for cat in C.dictionary_values("special_categories"):
        rows.append((f"special:{cat}", "Наставляемые особых категорий", cat,
                     mentees[mentees["special_category"] == cat]))
    for role, label in ROLE_LABELS.items():
        mine = people[people["role"] == role]
        for lo, hi, band in AGE_BANDS:
            rows.append((f"age:{role}:{lo}", "По возрасту", f"{label}: {band}",
                         mine[mine["age"].between(lo, hi)]))
    rows += _by_form(pairs, org_types)
    return [(k, sec, lab, part[["school_code", "org_type", "id"]]) for k, sec, lab, part in rows]


def _by_form(pairs: pd.DataFrame, org_types: dict[str, str]) -> list:
    active = pairs[pairs["active"].astype(bool)]
    active = active.assign(org_type=active["school_code"].map(org_types), id=active["pair_id"])
    # a mentee in two pairs of one form is one person of that form
    links = active.assign(mentee_id=active["mentee_ids"].map(split_ids)).explode("mentee_id")
    links = links[links["mentee_id"].notna()].drop_duplicates(["school_code", "form",
                                                               "mentee_id"])
    links = links.assign(id=links["mentee_id"])
    rows = []
    for form in C.dictionary_values("forms"):
        rows.append((f"form:pairs:{form}", "По форме наставничества",
                     f"Пары и группы: {form}", active[active["form"] == form]))
        rows.append((f"form:mentees:{form}", "По форме наставничества",
                     f"Наставляемые: {form}", links[links["form"] == form]))
    return rows


def _count_row(key: str, section: str, label: str, org_type: pd.Series) -> list:
    counts = org_type.value_counts()
    per_type = [int(counts.get(t, 0)) for t in ORG_TYPES]
    return [key, section, label, *per_type, int(sum(per_type))]
