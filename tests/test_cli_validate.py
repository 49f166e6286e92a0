"""`nastavnik validate` and `nastavnik indicators` through the real console script."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import date

import pytest
from openpyxl import load_workbook

from tests.cli import run
from tests.sample import clean_school
from tests.xlsx_marks import highlight_of
from workbook_templates import contract as C
from workbook_templates.build import write_school_workbook


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def clean_file(tmp_path):
    return write_school_workbook(tmp_path / "clean.xlsx", clean_school())


@pytest.fixture
def bad_file(tmp_path):
    data = clean_school()
    data["pairs"][0]["mentor_id"] = "Н-099"  # PAIR-001 on row 2
    data["mentees"][1]["consent_date"] = None  # CONSENT-001 on row 3
    data["mentors"][0]["birth_date"] = "31.02.1985"  # CELL-002 on row 2
    return write_school_workbook(tmp_path / "bad.xlsx", data)


def test_clean_school_exits_zero(clean_file):
    res = run("validate", clean_file)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "принято" in res.stdout
    assert "ошибок 0" in res.stdout


def test_errors_exit_one_and_are_listed(bad_file):
    res = run("validate", bad_file)
    assert res.returncode == 1
    for code in ("PAIR-001", "CONSENT-001", "CELL-002"):
        assert code in res.stdout
    assert "Traceback" not in res.stdout + res.stderr


def test_json_report(bad_file):
    res = run("validate", bad_file, "--format", "json")
    assert res.returncode == 1
    report = json.loads(res.stdout)
    assert report["status"] == "есть ошибки" and not report["valid"]
    found = {(f["code"], f["sheet"], f["row"], f["column"]) for f in report["findings"]}
    assert ("PAIR-001", C.PAIRS.name, 2, C.PAIRS.column("mentor_id").header) in found
    assert ("CONSENT-001", C.MENTEES.name, 3, C.MENTEES.column("consent_date").header) in found
    bad_date = [f for f in report["findings"] if f["code"] == "CELL-002"]
    assert bad_date and bad_date[0]["value"] == "31.02.1985"


@pytest.mark.parametrize("content, words", [
    (b"plain text, not a workbook", "не является книгой"),
    (b"PK\x03\x04truncated", "повреждён"),
])
def test_unreadable_file_exits_two(tmp_path, content, words):
    p = tmp_path / "школа.xlsx"
    p.write_bytes(content)
    res = run("validate", p)
    assert res.returncode == 2
    assert words in res.stdout
    assert "Traceback" not in res.stdout + res.stderr
    js = json.loads(run("validate", p, "--format", "json").stdout)
    assert js["status"] == "файл не читается" and js["file_error"]["message"]


def test_reference_date_option(clean_file):
    res = run("validate", clean_file, "--reference-date", "01.06.2027", "--format", "json")
    report = json.loads(res.stdout)
    assert report["reference_date"] == "2027-06-01"
    # «май 2027 года» is overdue on 01.06.2027
    assert any(f["code"] == "ROAD-001" for f in report["findings"])
    bad = run("validate", clean_file, "--reference-date", "завтра")
    assert bad.returncode == 2 and "не дата" in bad.stderr


def test_annotate_writes_a_copy(bad_file, tmp_path):
    before = _sha(bad_file)
    out = tmp_path / "annotated.xlsx"
    res = run("validate", bad_file, "--annotate", out)
    assert res.returncode == 1
    assert _sha(bad_file) == before, "the checked file must never change"
    wb = load_workbook(out)
    ws = wb[C.CHECK.name]
    headers = [c.value for c in ws[1]]
    assert headers == [c.header for c in C.CHECK.columns]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    codes = [r[1] for r in rows]
    assert {"PAIR-001", "CONSENT-001", "CELL-002"} <= set(codes)
    # errors first
    severities = [r[0] for r in rows]
    assert severities == sorted(severities, key=["ошибка", "предупреждение", "совет"].index)
    # each row links to the offending cell; the cell is highlighted and commented
    i = codes.index("PAIR-001") + 2
    link = ws.cell(row=i, column=1).hyperlink
    assert link.location == f"'{C.PAIRS.name}'!C2"
    cell = wb[C.PAIRS.name]["C2"]
    assert highlight_of(wb[C.PAIRS.name], "C2").endswith("FFC7CE")
    assert "PAIR-001" in cell.comment.text


def test_annotate_clears_old_findings(bad_file, tmp_path):
    first = tmp_path / "a1.xlsx"
    run("validate", bad_file, "--annotate", first)
    second = tmp_path / "a2.xlsx"
    run("validate", first, "--annotate", second)
    ws = load_workbook(second)[C.CHECK.name]
    codes = [r[1] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert codes.count("PAIR-001") == 1


def test_annotate_refuses_to_overwrite_input(bad_file):
    res = run("validate", bad_file, "--annotate", bad_file)
    assert res.returncode == 2
    assert "другое имя" in res.stderr


def test_annotate_keeps_macros(tmp_path, clean_file):
    xlsm = tmp_path / "school.xlsm"
    with zipfile.ZipFile(clean_file) as src, zipfile.ZipFile(xlsm, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        dst.writestr("xl/vbaProject.bin", b"VBA-PROJECT-BYTES")
    out = tmp_path / "checked.xlsm"
    res = run("validate", xlsm, "--annotate", out)
    assert res.returncode == 0, res.stdout
    with zipfile.ZipFile(out) as z:
        assert z.read("xl/vbaProject.bin") == b"VBA-PROJECT-BYTES"


@pytest.mark.libreoffice
def test_annotated_copy_opens_in_libreoffice(bad_file, tmp_path, soffice):
    out = tmp_path / "annotated.xlsx"
    run("validate", bad_file, "--annotate", out)
    converted = soffice(out, "xlsx")
    ws = load_workbook(converted)[C.CHECK.name]
    links = [ws.cell(row=r, column=1).hyperlink for r in range(2, ws.max_row + 1)]
    assert links and all(h is not None and h.location for h in links)
    assert all(not h.target for h in links), "links must stay inside the workbook"
    assert any(h.location.replace("'", "") == f"{C.PAIRS.name}!C2" for h in links)


def test_indicators_json_and_copy(clean_file, tmp_path):
    res = run("indicators", clean_file, "--format", "json")
    assert res.returncode == 0, res.stderr
    values = {v["key"]: v for v in json.loads(res.stdout)}
    mentees = values["mentees_10_19"]
    assert (mentees["numerator"], mentees["denominator"]) == (2, 300)
    assert values["teachers_covered"]["value"] == 5.0
    out = tmp_path / "ind.xlsx"
    res = run("indicators", clean_file, "--out", out)
    assert res.returncode == 0 and "Показатели" in res.stdout
    ws = load_workbook(out)[C.INDICATORS.name]
    titles = [r[0] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert "Охват педагогов программами наставничества" in titles


def test_indicators_custom_targets(clean_file, tmp_path):
    goals = tmp_path / "goals.toml"
    goals.write_text('[indicators.teachers_covered]\ntargets = { "2026" = 4 }\n',
                     encoding="utf-8")
    values = {v["key"]: v for v in json.loads(
        run("indicators", clean_file, "--targets", goals, "--format", "json").stdout)}
    assert values["teachers_covered"]["target"] == 4
    assert values["teachers_covered"]["met"] is True
    assert values["teachers_covered"]["target_is_default"] is False
    assert values["mentees_10_19"]["target_is_default"] is True


def test_help_is_russian():
    res = run("--help")
    assert res.returncode == 0
    assert "Проверить книгу школы" in res.stdout


def test_reference_default_is_period_end(clean_file):
    report = json.loads(run("validate", clean_file, "--format", "json").stdout)
    assert report["reference_date"] == date(2026, 11, 30).isoformat()


def test_usage_errors_are_russian(tmp_path):
    for args in (["sync", "--period", "2026-11"], ["validate", "--format", "xml", "x.xlsx"],
                 ["indicators", "--targets", tmp_path / "нет.toml", "x.xlsx"], ["нет-такой"]):
        res = run(*args)
        assert res.returncode == 2, args
        assert "Ошибка:" in res.stderr and "Использование:" in res.stderr, res.stderr
        for english in ("Error:", "Usage:", "Missing option", "does not exist", "No such"):
            assert english not in res.stderr, (args, res.stderr)


def test_annotated_copy_never_turns_a_value_into_a_formula(tmp_path):
    data = clean_school()
    data["mentors"][0]["birth_date"] = '=HYPERLINK("http://example.invalid","x")'
    src = write_school_workbook(tmp_path / "inj.xlsx", data)
    out = tmp_path / "inj-annotated.xlsx"
    assert run("validate", src, "--annotate", out).returncode == 1
    ws = load_workbook(out)[C.CHECK.name]
    quoted = [c for row in ws.iter_rows(min_row=2) for c in row
              if isinstance(c.value, str) and c.value.startswith("=HYPERLINK")]
    assert quoted and all(c.data_type == "s" for c in quoted)


def _with_member(src, dst, member: str, payload: bytes):
    """A copy of the workbook `src` with one package member replaced."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            zout.writestr(item, payload if item.filename == member else zin.read(item))
    return dst


@pytest.mark.parametrize("member, payload", [
    ("xl/comments/comment1.xml", b"<comments"),  # a cell comment part that is not XML
    ("xl/worksheets/sheet4.xml", b"<a>" * 100_000 + b"</a>" * 100_000),  # XML too deep
])
def test_annotate_on_a_damaged_package_is_file_damaged(clean_file, tmp_path, member, payload):
    """The check reads what it needs, but the copy cannot be made of the package: the same
    answer as every damaged file (exit 2, «файл повреждён»), and no copy, whole or half."""
    src = _with_member(clean_file, tmp_path / "школа.xlsx", member, payload)
    folder = tmp_path / "копии"
    folder.mkdir()
    out = folder / "школа-проверка.xlsx"
    res = run("validate", src, "--annotate", out)
    assert res.returncode == 2, res.stdout + res.stderr
    said = " ".join(res.stderr.split())
    assert "Копия с замечаниями не записана — файл повреждён" in said
    assert "Traceback" not in res.stdout + res.stderr
    assert list(folder.iterdir()) == []
    out.write_bytes(b"the copy of yesterday")  # an older copy stays as it was
    assert run("validate", src, "--annotate", out).returncode == 2
    assert out.read_bytes() == b"the copy of yesterday"
    assert list(folder.iterdir()) == [out]


def test_annotate_of_a_workbook_it_cannot_copy_exits_two(clean_file, tmp_path):
    res = run("validate", clean_file, "--annotate", tmp_path / "копия.ods")
    assert res.returncode == 2 and "то же расширение" in " ".join(res.stderr.split())
    assert not (tmp_path / "копия.ods").exists()
    where = tmp_path / "файл"
    where.write_text("не папка", encoding="utf-8")
    res = run("validate", clean_file, "--annotate", where / "копия.xlsx")
    assert res.returncode == 2 and "Копия с замечаниями не записана" in res.stderr
    assert "Traceback" not in res.stdout + res.stderr
