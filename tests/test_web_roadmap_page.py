"""Roadmap import on the page, through the REAL `nastavnik serve`: the same engine and the same
words as `nastavnik import-roadmap`, «Перенести» gives the book with the roadmap (other sheets,
the school's own columns, the VBA project and the buttons kept), a document without a roadmap
gets the importer's Russian explanation and nothing is written."""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docx
import httpx
import pytest
from openpyxl import load_workbook

from addin.model import SchoolWorkbook
from addin.web.access import add_school_code
from tests import roadmap_docs as docs
from tests.cli import run
from tests.web_bench import csrf_of, start_server
from workbook_templates import contract as C
from workbook_templates.build import write_school_workbook

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # olevba's pyparsing
SECRET = "school-one-001"
#: The server builds no .ods template here (no LibreOffice run at its start).
NO_ODS = {"SOFFICE": ""}
REGISTRY = ("код ОО;наименование;тип;источник\n"
            "ОО-001;МБОУ «Лицей № 1 г. Энска»;ОО;schools/ОО-001.xlsx\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("roadmap-page")
    collect = base / "сдача"
    collect.mkdir()
    (collect / "registry.csv").write_text(REGISTRY, encoding="utf-8")
    codes = base / "коды.txt"
    add_school_code(codes, "ОО-001", SECRET)
    srv = start_server("--collect-dir", collect, "--access-file", codes, "--registry",
                       collect / "registry.csv", "--period", "2026-11",
                       log_path=base / "serve.log", env=NO_ODS)
    yield srv
    srv.stop()


@contextmanager
def school(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=120) as c:
        token = csrf_of(c.get("/login").text)
        c.post("/login", data={"csrf": token, "school": "ОО-001", "code": SECRET})
        yield c


def preview(c: httpx.Client, document: Path, book: tuple[str, bytes] | None = None,
            **fields: str) -> httpx.Response:
    token = csrf_of(c.get("/roadmap").text)
    files = {"document": (document.name, document.read_bytes())}
    if book is not None:
        files["book"] = book
    return c.post("/roadmap/preview", data={"csrf": token, **fields}, files=files)


def apply(c: httpx.Client, page: httpx.Response) -> httpx.Response:
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    return c.post("/roadmap/apply", data={"csrf": csrf_of(page.text), "token": token})


def page_text(r: httpx.Response) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", r.text))


def test_the_page_shows_what_the_cli_would_and_transfers_it(server, tmp_path):
    doc = docs.split_docx(tmp_path / "карта.docx", docs.INVENTED, cut_item="1.2")
    blank = write_school_workbook(tmp_path / "school.xlsx")
    cli = run("import-roadmap", doc, "--into", blank, "--dry-run")
    assert cli.returncode == 0, cli.stderr
    with school(server) as c:
        shown = preview(c, doc)
        assert shown.status_code == 200, shown.text
        text = " ".join(page_text(shown).split())
        for line in cli.stdout.splitlines():
            if line.strip():
                assert " ".join(line.split()) in text, line
        for item in docs.items_of(docs.INVENTED):
            assert item.no in text
        got = apply(c, shown)
    assert got.status_code == 200
    out = tmp_path / "out.xlsx"
    out.write_bytes(got.content)
    wb = SchoolWorkbook.from_path(out)
    assert wb.info.school_code == "ОО-001"  # the school's pre-filled book
    road = wb.tables["roadmap"]
    assert list(road["item_no"]) == [i.no for i in docs.items_of(docs.INVENTED)]


def test_own_xlsm_keeps_sheets_columns_vba_and_buttons(server, tmp_path):
    from oletools.olevba import VBA_Parser

    from workbook_templates.xlsm import BUTTONS_VML

    doc = docs.split_docx(tmp_path / "карта.docx", docs.INVENTED, cut_item="2.2")
    with school(server) as c:
        own = c.get("/book/download/xlsm").content
    wb = load_workbook(io.BytesIO(own), keep_vba=True)
    wb[C.ROADMAP.name].cell(row=1, column=20, value="Наш столбец")
    wb[C.ROADMAP.name].cell(row=2, column=20, value="заметка")
    wb.create_sheet("Мои заметки")["A1"] = "план на год"
    book = tmp_path / "моя.xlsm"
    wb.save(book)
    from workbook_templates.xlsm import add_buttons

    book.write_bytes(add_buttons(book.read_bytes()))
    with school(server) as c:
        shown = preview(c, doc, ("моя.xlsm", book.read_bytes()))
        assert shown.status_code == 200, shown.text
        got = apply(c, shown)
    out = tmp_path / "out.xlsm"
    out.write_bytes(got.content)
    result = load_workbook(out)
    assert "Мои заметки" in result.sheetnames
    assert result[C.ROADMAP.name].cell(row=1, column=20).value == "Наш столбец"
    assert result[C.ROADMAP.name].cell(row=2, column=20).value == "заметка"
    assert BUTTONS_VML in zipfile.ZipFile(out).namelist()
    parser = VBA_Parser(str(out))
    modules = {Path(n).stem for _f, _s, n, _c in parser.extract_macros()}
    parser.close()
    assert {"Remote", "NastavnikServer", "WebClient"} <= modules
    road = SchoolWorkbook.from_path(out).tables["roadmap"]
    assert list(road["item_no"].dropna()) == [i.no for i in docs.items_of(docs.INVENTED)]


def test_a_document_without_a_roadmap_is_explained_and_nothing_written(server, tmp_path):
    document = docx.Document()
    document.add_paragraph("Положение о наставничестве")
    table = document.add_table(rows=2, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Цель", "Задачи"
    path = tmp_path / "положение.docx"
    document.save(str(path))
    with school(server) as c:
        r = preview(c, path)
    assert r.status_code == 422
    assert "не найдена таблица дорожной карты" in page_text(r)
    assert 'action="/roadmap/apply"' not in r.text


def test_an_ods_book_is_refused_with_the_way_out(server, tmp_path):
    doc = docs.split_docx(tmp_path / "карта.docx", docs.INVENTED, cut_item="1.2")
    with school(server) as c:
        r = preview(c, doc, ("книга.ods", b"PK\x03\x04"))
    assert r.status_code == 400 and "Сохраните книгу как «Книга Excel (.xlsx)»" in page_text(r)


def test_an_order_with_two_roadmaps_transfers_the_chosen_one(server, tmp_path):
    doc = docs.college_order(tmp_path / "приказ.docx")
    with school(server) as c:
        shown = preview(c, doc)
        assert shown.status_code == 200, shown.text
        assert 'value="2">только таблицу 2' in shown.text
        token = re.search(r'name="token" value="([^"]+)"', shown.text).group(1)
        got = c.post("/roadmap/apply", data={"csrf": csrf_of(shown.text), "token": token,
                                             "table": "2"})
    out = tmp_path / "out.xlsx"
    out.write_bytes(got.content)
    road = SchoolWorkbook.from_path(out).tables["roadmap"]
    assert list(road["item_no"]) == [i.no for i in docs.items_of(docs.COLLEGE_2)]
