"""Two staff and school pages in headless Chromium on the REAL `nastavnik serve`, as people
click them: «Коды доступа» (a methodist issues a code, the school logs in with it, the code is
replaced and the school's open session ends) and «Обновить книгу до версии …» (a school's
book of the old template version cannot be sent, the page upgrades it, the new one is sent).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from addin.model import SchoolWorkbook
from addin.web.access import add_school_code, add_staff
from tests.old_books import downgrade
from tests.web_bench import login_in_browser as login
from tests.web_bench import start_server
from workbook_templates import contract as C
from workbook_templates.build import write_school_workbook
from workbook_templates.demo import make_school

STAFF, STAFF_SECRET = "metodist1", "staff-secret-001"
OLD_SCHOOL, OLD_SECRET = "ОО-002", "school-two-0002"
REGISTRY = ("код ОО;наименование;тип;источник\n"
            "ОО-001;МБОУ «Школа № 1 г. Энска»;ОО;schools/ОО-001.xlsx\n"
            f"{OLD_SCHOOL};МБОУ «Школа № 2 г. Энска»;ОО;schools/{OLD_SCHOOL}.xlsx\n")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    base = tmp_path_factory.mktemp("codes-upgrade")
    collect = base / "сдача"
    collect.mkdir()
    (collect / "registry.csv").write_text(REGISTRY, encoding="utf-8")
    codes = base / "коды.txt"
    add_staff(codes, STAFF, STAFF_SECRET)
    add_school_code(codes, OLD_SCHOOL, OLD_SECRET)
    server = start_server("--collect-dir", collect, "--access-file", codes, "--registry",
                          collect / "registry.csv", "--period", "2026-11",
                          "--old-versions-until", "2026-10", log_path=base / "serve.log",
                          env={"SOFFICE": ""})
    yield server, collect
    server.stop()
    assert "Traceback" not in server.log()


def new_page(browser, **options):
    context = browser.new_context(locale="ru-RU", **options)
    page = context.new_page()
    page.set_default_timeout(120_000)
    return context, page


def test_a_methodist_issues_and_replaces_a_code_on_the_page(site, browser) -> None:
    server, _ = site
    staff_ctx, staff = new_page(browser)
    login(staff, server.url, STAFF, STAFF_SECRET)
    staff.get_by_role("link", name="Коды доступа").first.click()
    row = staff.locator("tr[data-code='ОО-001']")
    assert row.get_attribute("data-has") == "no"
    row.get_by_role("button", name="Выдать код").click()
    assert "Код выдан: ОО-001" in staff.inner_text("h1")
    code = staff.inner_text("#new-code").strip()
    assert staff.locator("#page-qr").is_visible()

    school_ctx, school = new_page(browser)
    login(school, server.url, "ОО-001", code)
    assert school.url.rstrip("/") == server.url  # in: the check page
    assert "ОО-001" in school.inner_text("body")

    staff.get_by_role("link", name="← Все коды доступа").click()
    assert staff.locator("tr[data-code='ОО-001']").get_attribute("data-has") == "yes"
    assert code not in staff.content()  # shown once only
    staff.locator("tr[data-code='ОО-001']").get_by_role("button", name="Заменить код").click()
    assert "Код заменён: ОО-001" in staff.inner_text("h1")
    assert "сеансы организации завершены" in staff.inner_text("main")

    school.reload()
    assert school.url.endswith("/login")  # the school's open session ended
    login(school, server.url, "ОО-001", code)  # the old code no longer opens the page
    assert school.url.endswith("/login")
    school_ctx.close()
    staff_ctx.close()


def test_a_school_upgrades_its_old_book_on_the_page_and_sends_it(site, browser,
                                                                  tmp_path: Path) -> None:
    server, collect = site
    current = tmp_path / "текущая.xlsx"
    write_school_workbook(current, make_school(OLD_SCHOOL, random.Random(2), n_participants=40,
                                               period="2026-11"))
    old = downgrade(current, tmp_path / "книга-1.0.xlsx")

    context, page = new_page(browser, accept_downloads=True)
    login(page, server.url, OLD_SCHOOL, OLD_SECRET)
    page.set_input_files("#file", str(old))
    page.get_by_role("button", name="Проверить").click()
    page.wait_for_selector("#status")
    assert page.locator("#old-version").is_visible()
    assert page.get_by_role("button", name="Отправить в муниципалитет").count() == 0
    assert "принимались до периода 2026-10" in page.inner_text("main")
    with page.expect_download() as got:
        page.get_by_role("link", name=f"Обновить книгу до версии {C.TEMPLATE_VERSION}").click()
    upgraded = tmp_path / got.value.suggested_filename
    got.value.save_as(upgraded)
    assert SchoolWorkbook.from_path(upgraded).version == C.TEMPLATE_VERSION

    page.goto(f"{server.url}/")
    page.set_input_files("#file", str(upgraded))
    page.get_by_role("button", name="Проверить").click()
    page.wait_for_selector("#status")
    assert page.locator("#old-version").count() == 0
    page.get_by_role("button", name="Отправить в муниципалитет").click()
    page.wait_for_selector("#receipt-sha256")
    context.close()
    stored = collect / "schools" / f"{OLD_SCHOOL}.xlsx"
    assert SchoolWorkbook.from_path(stored).version == C.TEMPLATE_VERSION
