"""The demo municipality: determinism, planted mistakes, files written, invented names."""

from __future__ import annotations

import csv
import json
import random
import re
import zipfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from workbook_templates import contract as C
from workbook_templates.demo import (
    PLANTED_CODES,
    SMALL_ROLES,
    UNKNOWN_VERSION,
    DemoMunicipality,
    age_at,
    generate_municipality,
    make_school,
    write_municipality,
)

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


@pytest.fixture(scope="module")
def muni() -> DemoMunicipality:
    return generate_municipality()


@pytest.fixture(scope="module")
def written(muni: DemoMunicipality, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_municipality(muni, tmp_path_factory.mktemp("demo"))


def _snapshot(m: DemoMunicipality) -> list:
    return [(s.code, s.name, s.org_type, s.data, s.mistakes, s.submission) for s in m.schools]


def _ok(m: DemoMunicipality) -> list:
    return [s for s in m.schools if s.submission == "ok"]


# ----------------------------------------------------------------------------- generation


def test_same_seed_same_data_other_seed_differs(muni: DemoMunicipality) -> None:
    assert _snapshot(generate_municipality()) == _snapshot(muni)
    assert _snapshot(generate_municipality(seed=7)) != _snapshot(muni)


def test_every_code_planted_and_statuses(muni: DemoMunicipality) -> None:
    assert {m.code for m in muni.mistakes} == set(PLANTED_CODES)
    statuses = [s.submission for s in muni.schools]
    for status in ("missing", "corrupt", "unknown_version"):
        assert statuses.count(status) == 1
    assert [s.clean for s in muni.schools[:3]] == [True, True, True]
    assert {s.org_type for s in muni.schools[:3]} == {"ОО", "ДО"}
    assert 1 <= sum(s.org_type == "СПО" for s in muni.schools) <= 2
    for s in muni.schools:
        if s.clean or s.submission != "ok":
            assert s.mistakes == []
        else:
            assert 3 <= len(s.mistakes) <= 6
            assert all(m.school_code == s.code for m in s.mistakes)


@pytest.mark.parametrize("n, seed", [(8, 1), (20, 3)])
def test_other_sizes_plant_every_code(n: int, seed: int) -> None:
    m = generate_municipality(n, seed)
    assert len(m.schools) == n
    assert {x.code for x in m.mistakes} == set(PLANTED_CODES)


@pytest.mark.parametrize("n", range(1, 8))
def test_a_small_municipality_holds_every_code_in_one_school(n: int) -> None:
    """Below 8 schools: one ОО with every planted code, then clean and failed submissions in
    the order SMALL_ROLES gives them."""
    for seed in (2026, 1, 7):
        m = generate_municipality(n, seed)
        assert [s.code for s in m.schools] == [f"ОО-{i:03d}" for i in range(1, n + 1)]
        mistaken = [s for s in m.schools if s.mistakes]
        assert len(mistaken) == 1 and mistaken[0].org_type == "ОО"
        assert {x.code for x in m.mistakes} == set(PLANTED_CODES)
        roles = ["mistaken" if s.mistakes else "clean" if s.clean else s.submission
                 for s in m.schools]
        assert sorted(roles) == sorted(SMALL_ROLES[:n])
        assert all(s.clean or s.submission != "ok" for s in m.schools if not s.mistakes)
    assert _snapshot(generate_municipality(n, 5)) == _snapshot(generate_municipality(n, 5))


def test_no_schools_rejected() -> None:
    with pytest.raises(ValueError):
        generate_municipality(0)


def test_mistake_rows_hold_the_planted_values(muni: DemoMunicipality) -> None:
    for s in muni.schools:
        for m in s.mistakes:
            if m.sheet == "school":
                assert m.row is None and m.column in s.data["school"]
                continue
            rows = s.data[m.sheet]
            assert C.FIRST_DATA_ROW <= m.row < C.FIRST_DATA_ROW + len(rows), m
            row = rows[m.row - C.FIRST_DATA_ROW]
            assert m.column in C.sheet(m.sheet).headers
            expected = {"CELL-001": lambda r: r["birth_date"] is None,
                        "CELL-002": lambda r: isinstance(r["birth_date"], str),
                        "CELL-003": lambda r: r["stage"] == "в процессе",
                        "CELL-004": lambda r: r["satisfaction"] == 12,
                        "PAIR-006": lambda r: "," in r["mentor_id"],
                        "PAIR-008": lambda r: r["end_date"] is None,
                        "PAIR-009": lambda r: r["agreement_date"] is None,
                        "CONSENT-001": lambda r: r["consent_date"] is None,
                        "CONSENT-002": lambda r: r["consent_by"] == C.CONSENT_SELF,
                        "ROAD-002": lambda r: r["done_date"] is None,
                        "ROAD-004": lambda r: r["deadline_text"] == "когда получится"}
            if m.code in expected:
                assert expected[m.code](row), m


def test_clean_schools_are_consistent(muni: DemoMunicipality) -> None:
    """Invariants the rules rely on, checked without the rules."""
    ref = muni.reference_date
    for s in [x for x in muni.schools if x.clean or x.submission != "ok"]:
        _check_consistent(s.data, ref)


def _check_consistent(data: dict, ref: date) -> None:
    mentors = {r["id"]: r for r in data["mentors"]}
    mentees = {r["id"]: r for r in data["mentees"]}
    people = list(mentors.values()) + list(mentees.values())
    assert len(mentors) == len(data["mentors"]) and len(mentees) == len(data["mentees"])
    assert len({(p["full_name"], p["birth_date"]) for p in people}) == len(people)
    for p in people:
        minor = age_at(p["birth_date"], ref) < 18
        assert p["consent_by"] == (C.dictionary_values("consent_givers")[1] if minor else "сам")
    pairs = {p["id"]: p for p in data["pairs"]}
    for pair in pairs.values():
        members = [mentors[pair["mentor_id"]]] + [mentees[i] for i in
                                                  pair["mentee_ids"].split(", ")]
        assert pair["form"] in C.dictionary_values("forms")
        assert all(p["consent_date"] < pair["start_date"] for p in members)
        assert pair["agreement_date"] and pair["start_date"] <= ref
        assert (pair["stage"] == C.STAGE_FINAL) == (pair.get("end_date") is not None)
        if pair.get("end_date"):
            assert pair["start_date"] < pair["end_date"] < ref
        if pair["form"] == "ученик – ученик":
            assert all(m["birth_date"] < pair["start_date"] for m in members)
            assert all(members[0]["birth_date"] < m["birth_date"] for m in members[1:])
        if members[0]["category"] in C.EXTERNAL_MENTOR_CATEGORIES:
            assert members[0]["record_cert_date"] < pair["start_date"]
    for meeting in data["meetings"]:
        pair = pairs[meeting["pair_id"]]
        assert pair["start_date"] <= meeting["date"] <= (pair.get("end_date") or ref)
    for survey in data["monitoring"]:
        assert survey["participant_id"] in (mentors if survey["role"] == "наставник" else mentees)
        assert 1 <= survey["satisfaction"] <= 10
    form = data["school"]
    assert form["students_15_19"] <= form["students_10_19"] <= form["students_total"]
    assert form["young_teachers"] <= form["teachers_total"]
    for item in data["roadmap"]:
        assert item["status"] in C.dictionary_values("roadmap_statuses")
        if item["status"] == C.STATUS_DONE:
            assert item["done_date"] <= ref and item["evidence"]
        elif item.get("due_date"):
            assert item["due_date"] > ref
    assert 12 <= len(data["roadmap"]) <= 20


def test_large_school_is_consistent() -> None:
    # its speed is measured by scripts/bench, not asserted here
    data = make_school("ОО-900", random.Random(1), n_participants=5000)
    participants = len(data["mentors"]) + len(data["mentees"])
    rows = sum(len(v) for k, v in data.items() if k != "school")
    assert 5000 <= participants < 5100
    assert 15_000 <= rows <= 30_000
    _check_consistent(data, date(2026, 11, 30))


@pytest.mark.parametrize("org_type", ["СПО", "ДО"])
def test_other_org_types_are_consistent(org_type: str) -> None:
    data = make_school("ОО-901", random.Random(3), n_participants=300, org_type=org_type)
    forms = {p["form"] for p in data["pairs"]}
    assert ("студент – студент" in forms) == (org_type == "СПО")
    _check_consistent(data, date(2026, 11, 30))


# ----------------------------------------------------------------------------- files


def test_registry_lists_every_school(muni: DemoMunicipality, written: Path) -> None:
    with (written / "registry.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    assert rows[0] == ["код ОО", "наименование", "тип", "источник"]
    assert [r[0] for r in rows[1:]] == [s.code for s in muni.schools]
    assert all(r[3] == f"schools/{r[0]}.xlsx" for r in rows[1:])


def test_missing_and_corrupt_files(muni: DemoMunicipality, written: Path) -> None:
    by_status = {s.submission: written / "schools" / f"{s.code}.xlsx" for s in muni.schools}
    assert not by_status["missing"].exists()
    assert by_status["corrupt"].exists() and not zipfile.is_zipfile(by_status["corrupt"])


def test_unknown_version_is_marked(muni: DemoMunicipality, written: Path) -> None:
    code = next(s.code for s in muni.schools if s.submission == "unknown_version")
    wb = load_workbook(written / "schools" / f"{code}.xlsx")
    labels = {r[0]: r[1] for r in wb[C.INSTRUCTIONS.name].iter_rows(values_only=True)}
    assert labels[C.VERSION_LABEL] == UNKNOWN_VERSION
    assert wb.defined_names[C.VERSION_DEFINED_NAME].attr_text == f'"{UNKNOWN_VERSION}"'


def test_good_files_open_and_row_counts_match(muni: DemoMunicipality, written: Path) -> None:
    for s in muni.schools:
        if s.submission not in ("ok", "unknown_version"):
            continue
        path = written / "schools" / f"{s.code}.xlsx"
        calamine = CalamineWorkbook.from_path(str(path))
        wb = load_workbook(path, read_only=True)
        for key in ("mentors", "mentees", "pairs"):
            name = C.sheet(key).name
            cal_rows = [r for r in calamine.get_sheet_by_name(name).to_python()[1:] if r[0]]
            xl_rows = [r for r in wb[name].iter_rows(min_row=C.FIRST_DATA_ROW, values_only=True)
                       if r[0] is not None]
            assert len(cal_rows) == len(xl_rows) == len(s.data[key]), (s.code, key)
        wb.close()


def test_planted_cells_in_files(muni: DemoMunicipality, written: Path) -> None:
    checked = set()
    for s in _ok(muni):
        wb = load_workbook(written / "schools" / f"{s.code}.xlsx")
        for m in s.mistakes:
            if m.sheet == "school":
                ws = wb[C.SCHOOL.name]
                values = {r[0]: r[1] for r in ws.iter_rows(values_only=True)}
                total = values[C.SCHOOL.column("students_total").header]
                assert values[C.SCHOOL.column(m.column).header] > total
            else:
                ws = wb[C.sheet(m.sheet).name]
                headers = [c.value for c in ws[C.HEADER_ROW]]
                col = headers.index(C.sheet(m.sheet).column(m.column).header) + 1
                value = ws.cell(row=m.row, column=col).value
                planted = s.data[m.sheet][m.row - C.FIRST_DATA_ROW][m.column]
                if isinstance(planted, date):
                    value = value.date()
                assert value == planted, m
            checked.add(m.code)
    assert {"CELL-002", "CELL-004", "SCHOOL-002", "ROAD-004", "PAIR-006"} <= checked


def test_manifest(muni: DemoMunicipality, written: Path) -> None:
    manifest = json.loads((written / "planted_mistakes.json").read_text(encoding="utf-8"))
    assert manifest["period"] == muni.period
    assert [s["submission"] for s in manifest["schools"]] == [s.submission for s in
                                                              muni.schools]
    assert [s["clean"] for s in manifest["schools"]] == [s.clean for s in muni.schools]
    assert len(manifest["mistakes"]) == len(muni.mistakes)
    assert set(manifest["mistakes"][0]) == {"school_code", "code", "sheet", "row", "column",
                                            "note"}


# ----------------------------------------------------------------------------- names


def test_no_seed_names_in_people(muni: DemoMunicipality) -> None:
    if not SEEDS.is_dir():
        pytest.skip(f"no seed roadmaps at {SEEDS} (a user's clone has no ../shared)")
    text = " ".join(p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt"))
    words = set(re.findall(r"[А-Яа-яЁё]+", text))
    names = [s.data["school"]["curator"] for s in muni.schools]
    for s in muni.schools:
        names += [p["full_name"] for p in s.data["mentors"] + s.data["mentees"]]
    for name in names:
        assert name not in text
        assert name.split()[0] not in words, name
