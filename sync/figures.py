"""Participant counts of the federal statistics form, computed once from the municipal tables.

The master workbook (sheet «Численность участников») and the federal form render this same
table, so their figures are equal by construction. Rows are breakdowns of the participants in
active pairs at the reference date by role, category, age band and form of mentoring; columns
are school types (ОО, СПО, ДО) and the total.
"""

from __future__ import annotations

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


def federal_figures(participants: pd.DataFrame, pairs: pd.DataFrame,
                    org_types: dict[str, str]) -> pd.DataFrame:
    """The form's table: one row per figure, one column per school type plus the total.

    participants: consolidate.PARTICIPANT_COLUMNS; pairs: consolidate.PAIR_COLUMNS;
    org_types: school code -> ОО / СПО / ДО.
    """
    people = participants[participants["in_active_pair"].astype(bool)].copy()
    people["org_type"] = people["school_code"].map(org_types)
    rows: list[tuple[str, str, str, pd.Series]] = []
    for role, label in ROLE_LABELS.items():
        mine = people[people["role"] == role]
        rows.append((f"role:{role}", "По роли", label, mine["org_type"]))
    for role, dictionary in (("наставник", "mentor_categories"),
                             ("наставляемый", "mentee_categories")):
        mine = people[people["role"] == role]
        for cat in C.dictionary_values(dictionary):
            rows.append((f"category:{role}:{cat}", "По категории",
                         f"{ROLE_LABELS[role]}: {cat}", mine.loc[mine["category"] == cat,
                                                                 "org_type"]))
    mentees = people[people["role"] == "наставляемый"]
    for cat in C.dictionary_values("special_categories"):
        rows.append((f"special:{cat}", "Наставляемые особых категорий", cat,
                     mentees.loc[mentees["special_category"] == cat, "org_type"]))
    for role, label in ROLE_LABELS.items():
        mine = people[people["role"] == role]
        for lo, hi, band in AGE_BANDS:
            rows.append((f"age:{role}:{lo}", "По возрасту", f"{label}: {band}",
                         mine.loc[mine["age"].between(lo, hi), "org_type"]))
    rows += _by_form(pairs, org_types)
    table = pd.DataFrame([_count_row(*r) for r in rows], columns=COLUMNS)
    return table


def _by_form(pairs: pd.DataFrame, org_types: dict[str, str]) -> list:
    active = pairs[pairs["active"].astype(bool)].copy()
    active["org_type"] = active["school_code"].map(org_types)
    # a mentee in two pairs of one form is one person of that form
    links = active.assign(mentee_id=active["mentee_ids"].map(split_ids)).explode("mentee_id")
    links = links[links["mentee_id"].notna()].drop_duplicates(["school_code", "form",
                                                               "mentee_id"])
    rows = []
    for form in C.dictionary_values("forms"):
        mine = active[active["form"] == form]
        rows.append((f"form:pairs:{form}", "По форме наставничества",
                     f"Пары и группы: {form}", mine["org_type"]))
        rows.append((f"form:mentees:{form}", "По форме наставничества",
                     f"Наставляемые: {form}", links.loc[links["form"] == form, "org_type"]))
    return rows


def _count_row(key: str, section: str, label: str, org_type: pd.Series) -> list:
    counts = org_type.value_counts()
    per_type = [int(counts.get(t, 0)) for t in ORG_TYPES]
    return [key, section, label, *per_type, int(sum(per_type))]
