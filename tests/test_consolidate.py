"""Consolidation of fetched schools: statuses for a wrong period or code, participants per
role, federal figures per form (distinct people)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from sync.consolidate import consolidate
from sync.figures import federal_figures
from sync.sources.base import SchoolEntry
from sync.sources.folder import FolderSource
from sync.sources.registry import RegistryError, read_registry
from tests.sample import clean_school
from workbook_templates.build import write_school_workbook


def _consolidate(tmp_path, data, code="ОО-901", period="2026-11"):
    write_school_workbook(tmp_path / "s.xlsx", data)
    entry = SchoolEntry(code, "Школа", "ОО", "s.xlsx")
    return consolidate([FolderSource(tmp_path).fetch(entry)], period)


def test_clean_school_is_accepted(tmp_path):
    assert _consolidate(tmp_path, clean_school()).schools[0].status.value == "принят"


def test_workbook_of_another_period_is_rejected(tmp_path):
    data = clean_school()
    data["school"]["period"] = "2026-10"
    school = _consolidate(tmp_path, data).schools[0]
    assert school.status.value == "отклонён"
    assert "2026-10" in school.reason and "2026-11" in school.reason


def test_code_with_latin_lookalikes_and_case_is_the_same_school(tmp_path):
    data = clean_school()
    data["school"]["code"] = "oo-901"  # Latin o, lower case
    assert _consolidate(tmp_path, data).schools[0].status.value == "принят"
    data["school"]["code"] = "ОО-902"
    assert _consolidate(tmp_path, data).schools[0].status.value == "отклонён"


def test_numeric_ids_do_not_mix_mentors_and_mentees(tmp_path):
    data = clean_school()
    for i, m in enumerate(data["mentors"], start=1):
        m["id"] = str(i)
    for i, m in enumerate(data["mentees"], start=1):
        m["id"] = str(i)
    data["mentees"].append({"id": "4", "full_name": "Лисицына Вера Павловна",
                            "birth_date": date(2012, 1, 1), "category": "обучающийся",
                            "consent_date": date(2026, 9, 1),
                            "consent_by": "родитель (законный представитель)"})
    data["mentors"].append({"id": "4", "full_name": "Егоров Илья Петрович",
                            "birth_date": date(1990, 1, 1), "category": "педагог",
                            "consent_date": date(2026, 9, 1), "consent_by": "сам",
                            "trained": "да"})
    data["pairs"][0].update(mentor_id="2", mentee_ids="1, 4")
    data["pairs"][1].update(mentor_id="1", mentee_ids="2")
    data["pairs"][2].update(mentor_id="3", mentee_ids="3")
    data["monitoring"][0]["participant_id"] = "1"
    data["monitoring"][1]["participant_id"] = "1"
    cons = _consolidate(tmp_path, data)
    assert cons.schools[0].status.accepted, cons.schools[0].report.findings
    people = cons.participants
    mentor4 = people[(people["role"] == "наставник") & (people["person_id"] == "4")]
    mentee4 = people[(people["role"] == "наставляемый") & (people["person_id"] == "4")]
    assert not mentor4["in_active_pair"].iloc[0] and mentee4["in_active_pair"].iloc[0]


def test_a_mentee_in_two_pairs_of_one_form_counts_once(tmp_path):
    data = clean_school()
    data["mentors"].append({"id": "Н-004", "full_name": "Зайцев Олег Игоревич",
                            "birth_date": date(2009, 6, 1), "category": "обучающийся",
                            "consent_date": date(2026, 9, 1), "trained": "да",
                            "consent_by": "родитель (законный представитель)"})
    data["pairs"].append({**data["pairs"][0], "id": "П-004", "mentor_id": "Н-004"})
    cons = _consolidate(tmp_path, data)
    figures = federal_figures(cons.participants, cons.pairs, {"ОО-901": "ОО"})
    row = figures.set_index("row_key").loc["form:mentees:ученик – ученик"]
    assert row["Всего"] == 1
    assert figures.set_index("row_key").loc["form:pairs:ученик – ученик"]["Всего"] == 2


def test_registry_type_is_normalized_or_refused(tmp_path):
    reg = tmp_path / "r.csv"
    reg.write_text("код ОО;наименование;тип;источник\nОО-1;Школа;оо;a.xlsx\n",
                   encoding="utf-8")
    assert read_registry(reg)[0].org_type == "ОО"
    reg.write_text("код ОО;наименование;тип;источник\nОО-1;Школа;гимназия;a.xlsx\n",
                   encoding="utf-8")
    with pytest.raises(RegistryError) as info:
        read_registry(reg)
    assert "гимназия" in info.value.message_ru


def test_x002_tells_a_mentor_from_a_mentee_with_the_same_id():
    """IDs are per sheet: mentee «1» gone while mentor «1» stays is a vanished participant;
    a store written before roles were kept still compares bare IDs."""
    from datetime import UTC, datetime

    from addin.report import Report
    from sync.consolidate import SchoolResult, SchoolStatus, Snapshot, vanished
    from sync.sources.base import Fetched, SchoolEntry

    entry = SchoolEntry("ОО-001", "Школа", "ОО", "a.xlsx")
    now = SchoolResult(entry, SchoolStatus.ACCEPTED, "", Fetched(
        entry, None, None, "a.xlsx", None, datetime.now(UTC)),
        report=Report(source="a.xlsx", reference_date=None, findings=[]))
    rows = {"pairs": pd.DataFrame({"school_code": [], "pair_id": [], "end_date": []}),
            "participants": pd.DataFrame({"school_code": ["ОО-001"], "role": ["наставник"],
                                          "person_id": ["1"]})}
    before = Snapshot("принят", people={("наставник", "1"), ("наставляемый", "1")},
                      participants={"1"})
    found = vanished([now], {"ОО-001": before}, rows)
    assert [f.code for f in found] == ["X-002"] and "1 (наставляемый)" in found[0].message_ru
    legacy = Snapshot("принят", participants={"1"})
    assert vanished([now], {"ОО-001": legacy}, rows) == []
