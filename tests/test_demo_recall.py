"""The validation engine on the demo municipality: every planted mistake is found (100 %
recall) and the clean schools get no finding at all (no false alarms)."""

from __future__ import annotations

import pytest

from addin.validate import validate_path
from workbook_templates import contract as C
from workbook_templates.demo import generate_municipality, write_municipality


@pytest.fixture(scope="module")
def municipality(tmp_path_factory):
    muni = generate_municipality()
    out = write_municipality(muni, tmp_path_factory.mktemp("muni"))
    reports = {s.code: validate_path(out / "schools" / f"{s.code}.xlsx")
               for s in muni.schools if s.submission != "missing"}
    return muni, reports


def test_every_planted_mistake_is_found(municipality):
    muni, reports = municipality
    missed = []
    for m in muni.mistakes:
        sheet = C.sheet(m.sheet)
        found = {(f.code, f.sheet, f.row) for f in reports[m.school_code].findings}
        if m.row is None:  # a field of the form: located by its label
            found = {(f.code, f.sheet, f.column) for f in reports[m.school_code].findings}
            key = (m.code, sheet.name, sheet.column(m.column).header)
        else:
            key = (m.code, sheet.name, m.row)
        if key not in found:
            missed.append((m.school_code, *key, m.note))
    assert not missed, f"missed {len(missed)} of {len(muni.mistakes)}: {missed}"


def test_clean_schools_have_no_findings(municipality):
    muni, reports = municipality
    clean = [s.code for s in muni.schools if s.clean]
    assert len(clean) >= 2
    for code in clean:
        assert reports[code].findings == [], (code, reports[code].findings[:5])
        assert reports[code].status == "принято"


def test_broken_submissions_are_statuses(municipality):
    muni, reports = municipality
    by_kind = {s.submission: s.code for s in muni.schools}
    assert reports[by_kind["corrupt"]].file_error.code == "file-corrupt"
    assert reports[by_kind["unknown_version"]].file_error.code == "template-version"


def test_schools_with_mistakes_are_rejected(municipality):
    muni, reports = municipality
    for s in muni.schools:
        if s.mistakes and any(C.sheet(m.sheet) for m in s.mistakes):
            assert reports[s.code].findings, s.code
