"""From nothing to the first submission without a terminal, in headless Chromium on the REAL
`nastavnik serve`: a curator logs in, downloads the school's book (its «Сведения об ОО» holds
the registry's code and name), imports a .docx roadmap and then the same roadmap as PDF on the
page, fills a few rows as a person would in Excel (openpyxl), checks and submits; the staff's
board shows the submission.

The PDF is made by LibreOffice Writer (skipped where it is absent, failed in CI).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from openpyxl import load_workbook

from addin.model import SchoolWorkbook, normalize_header
from addin.web.access import add_school_code, add_staff
from tests import roadmap_docs as docs
from tests.web_bench import login_in_browser as login
from tests.web_bench import start_server
from workbook_templates import contract as C
from workbook_templates.demo import make_school

SCHOOL, SECRET = "ОО-001", "school-one-001"
#: The server builds no .ods template here (no LibreOffice run at its start).
NO_ODS = {"SOFFICE": ""}
STAFF, STAFF_SECRET = "metodist1", "staff-secret-001"
NAME = "МБОУ «Лицей № 1 г. Энска»"
REGISTRY = ("код ОО;наименование;тип;источник;код муниципалитета\n"
            f"{SCHOOL};{NAME};ОО;schools/{SCHOOL}.xlsx;Энский район\n"
            "ОО-002;МБОУ «Школа № 2»;ОО;schools/ОО-002.xlsx;Энский район\n")
#: What the curator types on «Сведения об ОО» (the registry's fields are there already).
FORM_KEYS = ("curator", "students_total", "students_10_19", "students_15_19", "teachers_total",
             "young_teachers", "partners_total")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    base = tmp_path_factory.mktemp("first")
    collect = base / "сдача"
    collect.mkdir()
    (collect / "registry.csv").write_text(REGISTRY, encoding="utf-8")
    codes = base / "коды.txt"
    add_school_code(codes, SCHOOL, SECRET)
    add_staff(codes, STAFF, STAFF_SECRET)
    server = start_server("--collect-dir", collect, "--access-file", codes, "--registry",
                          collect / "registry.csv", "--period", "2026-11",
                          log_path=base / "serve.log", env=NO_ODS)
    yield server, collect
    server.stop()


def save_download(page, click: str, path: Path) -> Path:
    with page.expect_download(timeout=180_000) as info:
        page.click(click)
    info.value.save_as(path)
    return path


def import_on_page(page, url: str, document: Path, out: Path, book: Path | None = None,
                   replace: bool = False) -> str:
    """Upload the roadmap (and a book), read the preview, press «Перенести»."""
    page.goto(f"{url}/roadmap")
    page.set_input_files("#document", str(document))
    if book is not None:
        page.set_input_files("#book", str(book))
    if replace:
        page.check("input[name=replace]")
    page.click("#preview-button")
    page.wait_for_selector("#roadmap-summary")
    summary = page.inner_text("#roadmap-summary")
    save_download(page, "#apply-button", out)
    return summary


def fill_as_a_person(book: Path, out: Path) -> Path:
    """Type the form's counts and a few mentors, mentees and pairs (invented people) into
    the book, by the headers of its sheets."""
    data = make_school(SCHOOL, random.Random(3), n_participants=4)
    wb = load_workbook(book)
    form = wb[C.SCHOOL.name]
    rows = {normalize_header(form.cell(row=r, column=1).value or ""): r
            for r in range(2, form.max_row + 1)}
    for key in FORM_KEYS:
        header = normalize_header(C.SCHOOL.column(key).header)
        form.cell(row=rows[header], column=2, value=data["school"][key])
    for key in ("mentors", "mentees", "pairs"):
        sheet = C.sheet(key)
        ws = wb[sheet.name]
        where = {normalize_header(c.value): c.column for c in ws[C.HEADER_ROW] if c.value}
        for i, record in enumerate(data[key], start=C.FIRST_DATA_ROW):
            for col in sheet.columns:
                value = record.get(col.key)
                if value not in (None, ""):
                    ws.cell(row=i, column=where[normalize_header(col.header)], value=value)
    wb.save(out)
    return out


def test_first_submission_without_a_terminal(site, browser, soffice, tmp_path):
    server, collect = site
    docx_path = docs.split_docx(tmp_path / "дорожная карта.docx", docs.INVENTED, cut_item="1.2")
    try:
        pdf_path = soffice(docx_path, "pdf")
    except AssertionError:
        if os.environ.get("CI") or os.environ.get("REQUIRE_SOFFICE"):
            raise
        pytest.skip("LibreOffice Writer not installed; apt-get install libreoffice-writer-nogui")

    context = browser.new_context(accept_downloads=True, locale="ru-RU",
                                  viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(120_000)
    login(page, server.url, SCHOOL, SECRET)

    # 1. The school's own book, pre-filled from the registry.
    page.goto(f"{server.url}/book")
    assert NAME in page.inner_text("#book-fields")
    book = save_download(page, "#get-xlsx", tmp_path / "книга.xlsx")
    form = load_workbook(book)[C.SCHOOL.name]
    assert (form["B2"].value, form["B3"].value) == (SCHOOL, NAME)

    # 2. The roadmap from a .docx into the pre-filled book, then from the PDF, replacing it.
    expected = [i.no for i in docs.items_of(docs.INVENTED)]
    summary = import_on_page(page, server.url, docx_path, tmp_path / "с картой.xlsx")
    assert f"мероприятий — {len(expected)}" in summary
    first = tmp_path / "с картой.xlsx"
    assert list(SchoolWorkbook.from_path(first).tables["roadmap"]["item_no"]) == expected
    summary = import_on_page(page, server.url, pdf_path, tmp_path / "из pdf.xlsx", book=first,
                             replace=True)
    assert f"мероприятий — {len(expected)}" in summary
    road = SchoolWorkbook.from_path(tmp_path / "из pdf.xlsx").tables["roadmap"]
    assert list(road["item_no"]) == expected

    # 3. A few rows typed in, then the usual check and submission.
    filled = fill_as_a_person(tmp_path / "из pdf.xlsx", tmp_path / "готово.xlsx")
    page.goto(f"{server.url}/")
    page.set_input_files("#file", str(filled))
    page.get_by_role("button", name="Проверить").click()
    page.wait_for_selector("#status")
    assert page.get_attribute("#status", "data-status") != "есть ошибки", \
        page.inner_text("main")
    page.get_by_role("button", name="Отправить в муниципалитет").click()
    page.wait_for_selector("#receipt-sha256")
    context.close()

    # 4. The municipal centre's board shows it.
    staff = browser.new_context(locale="ru-RU")
    board = staff.new_page()
    board.set_default_timeout(120_000)
    login(board, server.url, STAFF, STAFF_SECRET)
    board.goto(f"{server.url}/staff")
    board.wait_for_selector("#board")
    assert board.get_attribute(f"tr[data-code='{SCHOOL}']", "data-status") == "сдано"
    assert board.get_attribute("tr[data-code='ОО-002']", "data-status") == "не сдано"
    staff.close()
    assert (collect / "schools" / f"{SCHOOL}.xlsx").is_file()
