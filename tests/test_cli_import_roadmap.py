"""`nastavnik import-roadmap` through the real console script."""

from __future__ import annotations

import hashlib

from addin.model import SchoolWorkbook
from tests.cli import run
from workbook_templates.build import write_school_workbook

TEXT = (
    "План мероприятий\n\n"
    "№\tМероприятия\tСроки\tОтветственный\n"
    "1.\tОрганизационный этап\t\t\n"
    "1.1\tПриказ о внедрении целевой модели\tдо 30.09.2026\tДиректор\n"
    "1.2\tАнкетирование наставляемых\tежеквартально\tКуратор\n"
    "1.3\tФормирование пар\tв течение двух недель с даты определения модели\tКуратор\n"
)


def test_import_into_a_copy(tmp_path):
    doc = tmp_path / "карта.txt"
    doc.write_text(TEXT, encoding="utf-8")
    school = write_school_workbook(tmp_path / "school.xlsx")
    before = hashlib.sha256(school.read_bytes()).hexdigest()
    res = run("import-roadmap", doc, "--into", school, "--anchor-date", "01.09.2026")
    assert res.returncode == 0, res.stdout + res.stderr
    out = tmp_path / "school-дорожная-карта.xlsx"
    assert "Перенесено строк: 3" in res.stdout
    assert hashlib.sha256(school.read_bytes()).hexdigest() == before
    road = SchoolWorkbook.from_path(out).tables["roadmap"]
    assert list(road["deadline_text"]) == ["до 30.09.2026", "ежеквартально",
                                           "в течение двух недель с даты определения модели"]
    assert str(road["due_date"].iloc[2].date()) == "2026-09-15"


def test_dry_run_writes_nothing(tmp_path):
    doc = tmp_path / "карта.txt"
    doc.write_text(TEXT, encoding="utf-8")
    school = write_school_workbook(tmp_path / "school.xlsx")
    res = run("import-roadmap", doc, "--into", school, "--dry-run")
    assert res.returncode == 0
    assert not (tmp_path / "school-дорожная-карта.xlsx").exists()


def test_not_a_roadmap(tmp_path):
    doc = tmp_path / "письмо.txt"
    doc.write_text("Уважаемые коллеги!\nПросим сдать отчёт.\n", encoding="utf-8")
    school = write_school_workbook(tmp_path / "school.xlsx")
    res = run("import-roadmap", doc, "--into", school)
    assert res.returncode == 2
    assert "Не удалось прочитать дорожную карту" in res.stderr
    assert "Traceback" not in res.stderr
