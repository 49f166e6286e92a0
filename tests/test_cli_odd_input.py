"""`nastavnik` with the odd input a new user gives: missing arguments, a folder where a file is
expected, a targets file with a typo, a path that cannot be written, a database address that is
not one, a master that would replace the registry or a school's workbook. Every answer is a
Russian message with exit 2 (exit 1 stays «errors found»), never a traceback, an English system
message or a file lost."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from tests.cli import run
from tests.sample import clean_school
from workbook_templates.build import write_school_workbook
from workbook_templates.demo import generate_municipality, write_municipality

#: What a user must never read: tracebacks, click's and the system's English.
ENGLISH = ("Traceback", "Error:", "Usage:", "FILE", "integer", "Expected", "File exists",
           "Not a directory", "No such file", "Could not parse", "not a database",
           "Внутренняя ошибка", "непредвиденная ошибка")


def said(res) -> str:  # noqa: ANN001
    """Everything the command printed, with the console's line breaks undone."""
    return " ".join((res.stdout + res.stderr).split())


def refused(res, *words: str) -> None:  # noqa: ANN001
    text = said(res)
    assert res.returncode == 2, text
    for w in words:
        assert w in text, (w, text)
    for english in ENGLISH:
        assert english not in text, (english, text)
    assert not re.search(r"[A-Za-z]+(Error|Exception)\b", text), text  # a class name


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> Path:
    """A folder with a school workbook, a small demo municipality, a text file and a folder."""
    root = tmp_path_factory.mktemp("odd")
    write_school_workbook(root / "школа.xlsx", clean_school())
    write_municipality(generate_municipality(3, seed=5), root / "демо")
    (root / "заметка.txt").write_text("просто текст\n", encoding="utf-8")
    (root / "пустая").mkdir()
    return root


# -- arguments --------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["validate", "indicators", "suggest-pairs",
                                     "import-roadmap"])
def test_a_missing_file_argument_is_named_in_russian(command):
    refused(run(command), "Не указан аргумент 'ФАЙЛ'", "Использование:")


@pytest.mark.parametrize("args", [["validate", "{dir}"], ["indicators", "{dir}"],
                                  ["suggest-pairs", "{dir}"],
                                  ["calendar", "{dir}", "--out", "{root}/к.ics"],
                                  ["sync", "--registry", "{dir}", "--period", "2026-11",
                                   "--out", "{root}/с.xlsx"]])
def test_a_folder_where_a_file_is_expected(place, args):
    args = [a.format(dir=place / "пустая", root=place) for a in args]
    refused(run(*args), "— папка, а нужен файл")


# -- the targets file -------------------------------------------------------------------------
TARGETS = {
    "не TOML": ("просто текст\n", "записан с ошибкой в строке 1, позиции"),
    "не число": ('[indicators.teachers_covered]\ntargets = { "2026" = "много" }\n',
                 "цель на «2026» — «много»"),
    "не по годам": ("[indicators.teachers_covered]\ntargets = 5\n", "цели задаются по годам"),
    "не разделы": ("indicators = 5\n", "раздел [indicators] должен состоять из разделов"),
}


@pytest.mark.parametrize("kind", TARGETS)
@pytest.mark.parametrize("command", ["indicators", "suggest-pairs", "sync", "region"])
def test_a_targets_file_with_a_mistake(place, tmp_path, kind, command):
    text, words = TARGETS[kind]
    goals = tmp_path / "цели.toml"
    goals.write_text(text, encoding="utf-8")
    out = tmp_path / "свод.xlsx"
    args = {"indicators": ["indicators", place / "школа.xlsx"],
            "suggest-pairs": ["suggest-pairs", place / "школа.xlsx"],
            "sync": ["sync", "--registry", place / "демо" / "registry.csv", "--period",
                     "2026-11", "--out", out],
            "region": ["region", "--db", "sqlite:///нет.sqlite", "--period", "2026-11",
                       "--out", out]}[command]
    refused(run(*args, "--targets", goals), "Файл целей" if kind == "не TOML" else "файле целей",
            words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["цели.toml"]  # nothing written


# -- paths that cannot be written -------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["calendar", "{school}", "--out", "{bad}/к.ics"],
    ["suggest-pairs", "{school}", "--out", "{bad}/к.xlsx"],
    ["import-roadmap", "{school}", "--into", "{school}", "--out", "{bad}/к.xlsx"],
    ["indicators", "{school}", "--out", "{bad}/к.xlsx"],
    ["validate", "{school}", "--annotate", "{bad}/к.xlsx"],
    ["checks", "--out", "{bad}/checks.md"],
    ["serve", "add-staff", "--access-file", "{bad}/коды.txt", "--login", "metodist1"],
])
def test_a_path_under_a_file_is_a_russian_reason(place, args):
    """«/…/заметка.txt/к.ics»: the system says «Not a directory» or «File exists»; the user
    reads that a part of the path is a file."""
    args = [a.format(school=place / "школа.xlsx", bad=place / "заметка.txt") for a in args]
    refused(run(*args), "часть пути — файл, а не папка")


def test_import_roadmap_keeps_the_workbook_format(place, tmp_path):
    out = tmp_path / "копия.ods"
    refused(run("import-roadmap", place / "школа.xlsx", "--into", place / "школа.xlsx",
                "--out", out), "то же расширение", "«копия.ods»")
    assert not out.exists()


# -- sync ---------------------------------------------------------------------------------------
def test_sync_never_writes_the_master_over_the_registry_or_a_school(place):
    demo = place / "демо"
    registry = demo / "registry.csv"
    school = demo / "schools" / "ОО-001.xlsx"
    before = {p: sha(p) for p in (registry, school)}
    refused(run("sync", "--registry", registry, "--period", "2026-11", "--out", registry),
            "записывается в формате .xlsx", "«registry.csv»")
    refused(run("sync", "--registry", registry, "--period", "2026-11", "--out", school),
            "не может заменить книгу организации ОО-001")
    refused(run("sync", "--registry", registry, "--period", "2026-11",
                "--out", demo / "свод.ods"), "записывается в формате .xlsx")
    assert {p: sha(p) for p in before} == before
    # no history, lock or results beside the schools (ОО-003 is the one that did not submit)
    assert sorted(p.name for p in (demo / "schools").iterdir()) == ["ОО-001.xlsx", "ОО-002.xlsx"]


def test_sync_with_an_empty_or_missing_source_folder(place, tmp_path):
    registry = place / "демо" / "registry.csv"
    refused(run("sync", "--registry", registry, "--period", "2026-11", "--out",
                tmp_path / "свод.xlsx", "--source-dir", tmp_path / "нет"),
            "Папка", "не существует")
    assert not (tmp_path / "свод.xlsx").exists()
    res = run("sync", "--registry", registry, "--period", "2026-11", "--out",
              tmp_path / "свод.xlsx", "--source-dir", place / "пустая")
    assert res.returncode == 1, said(res)  # a run: every school «не представлен»
    text = said(res)
    assert "Ни одной книги не найдено" in text and "Принято 0 из 3" in text
    assert "Traceback" not in text and (tmp_path / "свод.xlsx").exists()
    found = run("sync", "--registry", registry, "--period", "2026-11", "--out",
                tmp_path / "свод.xlsx")
    assert "Ни одной книги не найдено" not in said(found)


# -- the history database -----------------------------------------------------------------------
def test_database_addresses_that_do_not_work(place, tmp_path):
    out = tmp_path / "свод.xlsx"
    sync = ["sync", "--registry", place / "демо" / "registry.csv", "--period", "2026-11",
            "--out", out]
    refused(run(*sync, "--db", "нет"), "«нет» — не адрес базы истории", "sqlite:///")
    assert not out.exists()
    not_db = place / "заметка.txt"
    for args in (["region", "--period", "2026-11", "--out", out],
                 ["federal-form", "--year", "2026", "--out", out]):
        refused(run(*args, "--db", "нет"), "«нет» — не адрес базы истории")
        missing = tmp_path / "нет.sqlite"
        refused(run(*args, "--db", f"sqlite:///{missing}"), "не найден", str(missing))
        assert not missing.exists(), "a reading command never creates a history"
        refused(run(*args, "--db", f"sqlite:///{not_db}"), "База истории недоступна",
                "— не база истории (SQLite)")
    assert not out.exists()


def test_federal_form_of_a_master_without_history(tmp_path):
    master = tmp_path / "свод.xlsx"
    refused(run("federal-form", "--year", "2026", "--master", master, "--out",
                tmp_path / "форма.xlsx"), "файл истории сборов не найден", "свод.history.sqlite")
    assert list(tmp_path.iterdir()) == []


# -- writers of a whole file --------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["demo-data", "--out", "{bad}/демо"],
    ["build-templates", "--out", "{bad}/шаблоны"],
    ["region", "--db", "sqlite:///{history}", "--period", "2026-11", "--out", "{bad}/р.xlsx"],
])
def test_whole_file_writers_under_a_file(place, history, args):
    args = [a.format(bad=place / "заметка.txt", history=history) for a in args]
    refused(run(*args), "часть пути — файл, а не папка")


@pytest.mark.parametrize("period", ["2026-13", "ноябрь"])
def test_demo_data_period_is_checked(tmp_path, period):
    refused(run("demo-data", "--out", tmp_path / "демо", "--period", period),
            "укажите период как ГГГГ-ММ")
    assert not (tmp_path / "демо").exists()


@pytest.fixture(scope="module")
def history(place, tmp_path_factory) -> Path:
    """The SQLite history of one sync of the small demo municipality."""
    master = tmp_path_factory.mktemp("synced") / "свод.xlsx"
    res = run("sync", "--registry", place / "демо" / "registry.csv", "--period", "2026-11",
              "--out", master)
    assert res.returncode == 1, said(res)
    return master.with_suffix(".history.sqlite")


def test_forms_and_the_regional_master_are_xlsx_files(history, tmp_path):
    master = history.with_name("свод.xlsx")
    for args in (["region", "--db", f"sqlite:///{history}", "--period", "2026-11"],
                 ["region", "--db", f"sqlite:///{history}", "--year", "2026"],
                 ["federal-form", "--year", "2026", "--master", master]):
        refused(run(*args, "--out", tmp_path / "итог.ods"), "файл записывается в формате .xlsx",
                "«итог.ods»")
    assert list(tmp_path.iterdir()) == []


def test_messages_with_brackets_keep_them(history, tmp_path):
    """A mapping with an unknown section: the message names «[indicators]» and the allowed
    «[form]», «[cells]», «[meta]» (the console once ate them as markup)."""
    from openpyxl import Workbook

    template = tmp_path / "бланк.xlsx"
    Workbook().save(template)
    mapping = tmp_path / "соответствие.toml"
    mapping.write_text("[indicators.teachers_covered]\ntargets = 5\n", encoding="utf-8")
    res = run("federal-form", "--year", "2026", "--master", history.with_name("свод.xlsx"),
              "--template", template, "--mapping", mapping, "--out", tmp_path / "ф.xlsx")
    refused(res, "[indicators]", "[form], [cells], [meta]")
    mapping.write_text("просто текст\n", encoding="utf-8")
    res = run("federal-form", "--year", "2026", "--master", history.with_name("свод.xlsx"),
              "--template", template, "--mapping", mapping, "--out", tmp_path / "ф.xlsx")
    refused(res, "ошибка синтаксиса TOML в строке 1")


def test_a_master_calendar_of_a_file_that_is_no_workbook(place, tmp_path):
    refused(run("calendar", "--master", place / "заметка.txt", "--out", tmp_path / "к.ics"),
            "Календарь не создан", "не удалось прочитать")
    assert list(tmp_path.iterdir()) == []
