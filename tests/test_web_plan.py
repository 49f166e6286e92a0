"""The plan on the check page: gaps, pair suggestions and the calendar through the REAL
`nastavnik serve` (httpx on 127.0.0.1) and headless Chromium (the README picture)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import httpx
import pytest
from icalendar import Calendar
from openpyxl import load_workbook

from addin.xlsx.suggestions import SHEET_NAME
from tests.cli import run
from tests.web_bench import CHROMIUM, CHROMIUM_ARGS, start_server, upload
from workbook_templates.demo import generate_municipality, write_municipality

REPO = Path(__file__).resolve().parents[1]
DOCS_PICTURE = REPO / "docs" / "img" / "plan.png"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return write_municipality(generate_municipality(n_schools=8),
                              tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = start_server(log_path=tmp_path_factory.mktemp("serve") / "serve.log")
    yield s
    s.stop()


def _token(response: httpx.Response) -> str:
    return re.search(r"/result/([A-Za-z0-9_-]+)", str(response.url)).group(1)


def test_result_page_shows_the_plan_and_its_downloads(server, demo, tmp_path):
    book = demo / "schools" / "ОО-002.xlsx"
    cli = json.loads(run("suggest-pairs", book, "--format", "json").stdout)
    with httpx.Client(base_url=server.url, timeout=120, follow_redirects=True) as client:
        page = upload(client, book)
        assert page.status_code == 200
        html = page.text
        assert 'id="plan"' in html and "План: чего не хватает до целей" in html
        for gap in cli["gaps"]:
            assert f'data-key="{gap["key"]}"' in html
            if gap["missing"]:
                assert f'data-missing="{gap["missing"]}"' in html
        rows = re.findall(r'class="suggestion" data-mentor="([^"]+)" data-mentee="([^"]+)"',
                          html)
        assert rows == [(s["mentor_id"], s["mentee_id"]) for s in cli["suggestions"]]
        token = _token(page)

        ics = client.get(f"/result/{token}/calendar.ics")
        assert ics.status_code == 200
        assert ics.headers["content-type"].startswith("text/calendar")
        events = Calendar.from_ical(ics.content).walk("VEVENT")
        assert any(str(e["summary"]).startswith("Муниципальный мониторинг") for e in events)

        copy = client.get(f"/result/{token}/suggestions")
        assert copy.status_code == 200
        path = tmp_path / "копия.xlsx"
        path.write_bytes(copy.content)
        sheet = load_workbook(path, read_only=True)[SHEET_NAME]
        ids = [r[0] for r in sheet.iter_rows(min_row=2, values_only=True) if r[0]]
        assert ids == [s["pair_id"] for s in cli["suggestions"]]

    with httpx.Client(base_url=server.url, timeout=60) as stranger:
        stranger.get("/")
        assert stranger.get(f"/result/{token}/calendar.ics").status_code == 404
        assert stranger.get(f"/result/{token}/suggestions").status_code == 404


def test_unreadable_file_has_no_plan(server, tmp_path):
    bad = tmp_path / "книга.xlsx"
    bad.write_bytes(b"PK\x03\x04 broken")
    with httpx.Client(base_url=server.url, timeout=60, follow_redirects=True) as client:
        page = upload(client, bad)
        assert 'id="plan"' not in page.text
        token = _token(page)
        assert client.get(f"/result/{token}/calendar.ics").status_code == 404
        assert "Traceback" not in page.text


def test_plan_in_the_browser(server, demo, tmp_path):
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is required in CI (apt-get install -y chromium)")
        pytest.skip(f"headless Chromium not installed ({CHROMIUM} absent)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            ctx = browser.new_context(accept_downloads=True, locale="ru-RU",
                                      viewport={"width": 1200, "height": 900})
            page = ctx.new_page()
            page.set_default_timeout(60_000)
            page.goto(f"{server.url}/")
            page.set_input_files("input[type=file]", str(demo / "schools" / "ОО-002.xlsx"))
            page.get_by_role("button", name="Проверить").click()
            page.wait_for_selector("#plan")
            text = page.inner_text("#plan")
            assert "не хватает" in text and "Предложения пар" in text
            assert page.locator("tr.suggestion").count() > 0
            with page.expect_download() as info:
                page.click("#download-calendar")
            saved = tmp_path / info.value.suggested_filename
            info.value.save_as(saved)
            assert saved.suffix == ".ics"
            assert Calendar.from_ical(saved.read_bytes()).walk("VEVENT")
            shot = tmp_path / "plan.png"
            page.locator("#plan").screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
            if os.environ.get("NASTAVNIK_UPDATE_SCREENSHOT") == "1":
                DOCS_PICTURE.parent.mkdir(parents=True, exist_ok=True)
                box = page.eval_on_selector("#plan", """e => { const r = e.getBoundingClientRect();
                    return {x: r.left + scrollX, y: r.top + scrollY, width: r.width,
                            height: r.height}; }""")
                page.screenshot(path=str(DOCS_PICTURE), full_page=True, clip={
                    "x": box["x"], "y": box["y"], "width": box["width"],
                    "height": min(box["height"], 1150)})
        finally:
            browser.close()


def test_ods_book_gets_its_plan_though_the_file_is_not_kept(server, demo, soffice):
    """The plan is built by the check from the book in hand: an .ods book (no copy, and on
    this server without a collection folder its file is dropped after the check) still gets
    the gaps, the suggestions and the calendar; only the copy with suggestions is absent."""
    ods = soffice(demo / "schools" / "ОО-002.xlsx", "ods")
    cli = json.loads(run("suggest-pairs", demo / "schools" / "ОО-002.xlsx",
                         "--format", "json").stdout)
    with httpx.Client(base_url=server.url, timeout=120, follow_redirects=True) as client:
        page = upload(client, ods)
        assert page.status_code == 200
        assert 'id="plan"' in page.text
        rows = re.findall(r'class="suggestion" data-mentor="([^"]+)" data-mentee="([^"]+)"',
                          page.text)
        assert rows == [(s["mentor_id"], s["mentee_id"]) for s in cli["suggestions"]]
        assert 'id="download-suggestions"' not in page.text
        token = _token(page)
        ics = client.get(f"/result/{token}/calendar.ics")
        assert ics.status_code == 200 and Calendar.from_ical(ics.content).walk("VEVENT")
        assert client.get(f"/result/{token}/suggestions").status_code == 404
