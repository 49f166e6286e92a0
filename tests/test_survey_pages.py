"""Surveys by link through the REAL `nastavnik serve`: the curator's wave pages (signed in as a
school), the public answer page on a phone viewport in headless Chromium, the transfer of the
answers into the book, hostile comments, and codes guessed by brute force."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from markupsafe import escape
from openpyxl import load_workbook

from addin.indicators import compute_indicators, load_targets
from addin.model import SchoolWorkbook
from addin.validate import validate_workbook
from addin.web.access import add_school_code
from tests.hostile_corpus import JUNK
from tests.survey_client import answer, codes_of, login, open_wave, survey_book
from tests.web_bench import csrf_of, start_server
from workbook_templates import contract as C
from workbook_templates import surveys as S

SECRETS = {"ОО-001": "SURVEY-ONE-2026", "ОО-002": "SURVEY-TWO-2026", "ОО-003": "SURVEY-3-2026"}
STAFF_SECRET = "STAFF-SURVEY-2026"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2, "locale": "ru-RU"}
INJECTIONS = sorted({JUNK["markup"](r, 0) for r in range(7)})


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("surveys")


@pytest.fixture(scope="module")
def codes_file(base: Path) -> Path:
    path = base / "codes.txt"
    for school, secret in SECRETS.items():
        add_school_code(path, school, secret)
    from addin.web.access import add_staff

    add_staff(path, "metodist", STAFF_SECRET)
    return path


@pytest.fixture(scope="module")
def server(base: Path, codes_file: Path):
    s = start_server("--access-file", codes_file, "--collect-dir", base / "collect",
                     log_path=base / "serve.log")
    yield s
    s.stop()


@contextmanager
def curator(server, school: str) -> Iterator[httpx.Client]:
    """A client signed in as the school."""
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=120) as c:
        login(c, school, SECRETS[school])
        yield c


def pick(page, key: str, value: str) -> None:
    """Tap the choice of a question, as a finger does (the label, not the hidden radio)."""
    page.locator(f"#q-{key} label.choice", has=page.locator(f'input[value="{value}"]')).click()


def fill_questionnaire(page, score: int, comment: str = "") -> None:
    pick(page, "satisfaction", str(score))
    pick(page, "comfort", "4")
    pick(page, "usefulness", "5")
    pick(page, "meetings_held", "да")
    pick(page, "wish_to_continue", "да")
    if comment:
        page.fill("#q-comment textarea", comment)
    page.get_by_role("button", name="Отправить").click()


# -- the acceptance: 30 participants on phones --------------------------------------------------
def test_thirty_participants_answer_on_phones_and_the_book_gets_their_mean(
        server, browser, base: Path) -> None:
    book = survey_book(base / "ОО-001.xlsx", "ОО-001", participants=40)
    desk = browser.new_context(accept_downloads=True, locale="ru-RU")
    cur = desk.new_page()
    cur.set_default_timeout(60_000)
    cur.goto(f"{server.url}/login")
    cur.fill("#school", "ОО-001")
    cur.fill("#code", SECRETS["ОО-001"])
    cur.get_by_role("button", name="Войти").click()
    cur.goto(f"{server.url}/surveys")
    cur.select_option("#wave", S.DECEMBER)
    cur.select_option("#roles", "both")
    cur.set_input_files("#file", str(book))
    cur.get_by_role("button", name="Открыть волну и выдать коды").click()
    cur.wait_for_selector("#progress")
    wave_url = cur.url
    cur.click("#slips-link")
    slips = cur.locator(".slip")
    cards = [(slips.nth(i).locator(".slip-pid").inner_text(),
              slips.nth(i).locator(".slip-code").inner_text()) for i in range(slips.count())]
    assert len(cards) >= 32
    assert cur.locator(".slip svg").count() == len(cards)  # a QR code on every slip
    assert "с телефонов участников" in cur.inner_text("#local-only")  # 127.0.0.1 on slips
    wb = SchoolWorkbook.from_path(book)
    names = set(wb.table("mentors")["full_name"]) | set(wb.table("mentees")["full_name"])
    slip_text = cur.inner_text("body")
    assert not any(n in slip_text for n in names)  # no name on a slip

    scores: dict[str, int] = {}
    first = browser.new_context(**PHONE).new_page()  # kept: this one corrects the answer later
    shared = browser.new_context(**PHONE)  # the other phones: cookies cleared between them,
    others = shared.new_page()  # which is all a phone keeps of this site
    for i, (who, code) in enumerate(cards[:30]):
        page = first if i == 0 else others
        shared.clear_cookies()
        page.set_default_timeout(60_000)
        if i % 2:  # the QR code: the link carries the code after «#», the page sends it
            page.goto(f"{server.url}/answer#{code.replace(' ', '')}")
        else:
            page.goto(f"{server.url}/answer")
            assert "Имя не нужно" in page.inner_text("#privacy")
            page.fill("#code", code)
            page.get_by_role("button", name="Открыть анкету").click()
        page.wait_for_selector("#answer-form")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert page.locator("input[name*=name], input[name*=fio]").count() == 0
        score = 1 + (i * 7) % 10
        fill_questionnaire(page, score)
        page.wait_for_selector("#done")
        scores[who] = score

    # the same code on another phone is refused, and says nothing of whose code it is
    other = browser.new_context(**PHONE).new_page()
    other.goto(f"{server.url}/answer")
    other.fill("#code", cards[1][1])
    other.get_by_role("button", name="Открыть анкету").click()
    assert "уже заполнена" in other.inner_text("#error")
    assert cards[1][0] not in other.content()
    other.goto(f"{server.url}/answer")
    other.fill("#code", "0000 0000 0001")
    other.get_by_role("button", name="Открыть анкету").click()
    assert "Такого кода нет" in other.inner_text("#error")

    # the first participant corrects the answer on their phone before the wave closes
    first.click("#edit-link")
    first.wait_for_selector("#correcting")
    checked = first.locator('#q-satisfaction input:checked').get_attribute("value")
    assert checked == str(scores[cards[0][0]])
    fill_questionnaire(first, 10)
    assert "исправлен" in first.inner_text("#done")
    scores[cards[0][0]] = 10

    # the curator sees the progress (counts only), closes the wave
    cur.goto(wave_url)
    assert cur.inner_text("#answered").startswith("30 из ")
    page_text = cur.inner_text("body")
    assert not any(who in page_text for who in scores)  # no individual answers listed
    cur.get_by_role("button", name="Закрыть волну").click()
    cur.wait_for_selector("#delete-button")

    # late answers are refused: a code not used yet, and a correction
    late = browser.new_context(**PHONE).new_page()
    late.goto(f"{server.url}/answer")
    late.fill("#code", cards[31][1])
    late.get_by_role("button", name="Открыть анкету").click()
    assert "завершено" in late.inner_text("#error")
    first.goto(f"{server.url}/answer/mine")
    assert "завершено" in first.inner_text("#error")

    # «Перенести ответы»: the book comes back with the rows; it validates, and the indicators
    # are the mean of the answers (value = mean score × 10 %)
    cur.set_input_files("#transfer-file", str(book))
    with cur.expect_download() as got:
        cur.get_by_role("button", name="Перенести ответы").click()
    out = base / "transferred.xlsx"
    got.value.save_as(out)
    wb = SchoolWorkbook.from_path(out)
    report = validate_workbook(wb)
    assert report.errors == 0, [f.message_ru for f in report.findings if f.severity.value ==
                                "ошибка"][:5]
    rows = wb.table("monitoring")
    assert len(rows) == 30 and set(rows["wave"]) == {S.DECEMBER}
    values = {v.key: v for v in compute_indicators(wb, None, load_targets())}
    roles = dict(zip(rows["participant_id"], rows["role"], strict=True))
    for key, role in (("satisfaction_mentees", S.MENTEE), ("satisfaction_mentors", S.MENTOR)):
        mine = [s for who, s in scores.items() if roles[who] == role]
        assert mine, role
        assert (values[key].numerator, values[key].denominator) == (sum(mine), len(mine))
        assert values[key].value == pytest.approx(statistics.mean(mine) * 10, abs=0.05)
    desk.close()


# -- hostile comments ----------------------------------------------------------------------------
def test_hostile_comments_are_escaped_on_the_page_and_stay_text_in_a_1_1_book(
        server, base: Path) -> None:
    book = survey_book(base / "ОО-002.xlsx", "ОО-002", participants=16, seed=2)
    with curator(server, "ОО-002") as c:
        wave_url = str(open_wave(c, book, roles="mentees").url)
        codes = codes_of(c, wave_url)
    assert len(codes) >= len(INJECTIONS)
    for (_, _, code), text in zip(codes, INJECTIONS, strict=False):
        with httpx.Client(base_url=server.url, timeout=60) as p:
            r = answer(server.url, code, 6, comment=text, client=p)
            assert r.status_code == 200 and 'id="done"' in r.text
            again = p.get("/answer/mine")  # the correction form shows the comment back
            assert again.status_code == 200
            assert str(escape(text)) in again.text  # shown back as text
            assert "<script>alert" not in again.text
    # the book of template 1.1 has the four extra columns after «Комментарий»: a copy gets
    # their headers here, and the extra answers go into them by name
    wb = load_workbook(book)
    for j, key in enumerate(S.EXTRA_KEYS, start=7):
        wb[C.MONITORING.name].cell(row=1, column=j, value=S.BY_KEY[key].header)
    newer = base / "ОО-002-1.1.xlsx"
    wb.save(newer)
    with curator(server, "ОО-002") as c:
        token = csrf_of(c.get(wave_url).text)
        r = c.post(f"{wave_url}/transfer", data={"csrf": token},
                   files={"file": (newer.name, newer.read_bytes())})
    assert r.status_code == 200, r.text[:500]
    out = base / "hostile.xlsx"
    out.write_bytes(r.content)
    ws = load_workbook(out)[C.MONITORING.name]
    cells = [ws.cell(row=n, column=6) for n in range(2, 2 + len(INJECTIONS))]
    assert sorted(c.value for c in cells) == INJECTIONS
    assert all(c.data_type == "s" for c in cells)
    assert {tuple(ws.cell(row=n, column=j).value for j in range(7, 11))
            for n in range(2, 2 + len(INJECTIONS))} == {(4, 3, "да", "да")}
    assert sorted(SchoolWorkbook.from_path(out).table("monitoring")["comment"]) == INJECTIONS


# -- who sees what ---------------------------------------------------------------------------------
def test_a_wave_is_its_schools_own(server, base: Path) -> None:
    book = survey_book(base / "ОО-003.xlsx", "ОО-003", participants=10, seed=3)
    with curator(server, "ОО-003") as c:
        r = open_wave(c, book, wave=S.MAY)
        assert r.status_code == 200
        wave_url = str(r.url)
        again = open_wave(c, book, wave=S.MAY)
        assert again.status_code == 409 and "уже открыта" in again.text
        listing = c.get(f"{wave_url}/codes.csv")
        assert listing.headers["content-type"].startswith("text/csv")
    with curator(server, "ОО-002") as other:
        assert other.get(wave_url).status_code == 404
        assert other.get(f"{wave_url}/codes.csv").status_code == 404
        r = open_wave(other, book)  # another school's book
        assert r.status_code == 403 and "ОО-003" in r.text
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=60) as staff:
        login(staff, "metodist", STAFF_SECRET)
        r = staff.get("/surveys")
        assert r.status_code == 403 and "организация под своим кодом" in r.text
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=60) as anon:
        r = anon.get(wave_url)
        assert str(r.url).endswith("/login")
    with curator(server, "ОО-003") as c:
        token = csrf_of(c.get(wave_url).text)
        r = c.post(f"{wave_url}/delete", data={"csrf": token})
        assert r.status_code == 200 and c.get(wave_url).status_code == 404
        code = listing.text.splitlines()[1].split(";")[2]
    r = answer(server.url, code, 5)  # the codes went with the wave
    assert r.status_code == 404 and "Такого кода нет" in r.text
    log = server.log()
    assert code not in log and code.replace(" ", "") not in log  # codes never logged


# -- brute force on codes --------------------------------------------------------------------------
def test_guessing_codes_is_slowed_and_then_refused_like_logins(base: Path, codes_file: Path
                                                                ) -> None:
    s = start_server("--access-file", codes_file, "--collect-dir", base / "collect-guess",
                     log_path=base / "guess.log")
    try:
        book = survey_book(base / "guess.xlsx", "ОО-001", participants=10, seed=4)
        with curator(s, "ОО-001") as c:
            real = codes_of(c, str(open_wave(c, book).url))[0][2]

        def guess(client: httpx.Client, token: str, n: int) -> tuple[int, float]:
            started = time.perf_counter()
            r = client.post("/answer", data={"csrf": token, "code": f"{n:012d}"})
            return r.status_code, time.perf_counter() - started

        # threads, not asyncio: the module's Playwright holds this thread's event loop
        with httpx.Client(base_url=s.url, timeout=60) as client, ThreadPoolExecutor(20) as pool:
            token = csrf_of(client.get("/answer").text)
            started = time.perf_counter()
            got = list(pool.map(lambda n: guess(client, token, n), range(1, 21)))
        assert time.perf_counter() - started < 15  # waiting holds no worker thread
        assert [status for status, _ in got] == [404] * 20
        assert min(t for _, t in got) >= 0.9  # each wrong code waits a second
        r = answer(s.url, real, 5)  # now even the right code is refused from this address
        assert r.status_code == 429 and "Слишком много неверных кодов" in r.text
        assert real not in r.text and real.replace(" ", "") not in r.text
    finally:
        s.stop()


# -- on one computer (open mode) -------------------------------------------------------------------
def test_on_one_computer_the_wave_is_the_books_school(base: Path) -> None:
    s = start_server("--collect-dir", base / "collect-local", log_path=base / "local.log")
    try:
        book = survey_book(base / "local.xlsx", "ОО-007", participants=8, seed=5)
        with httpx.Client(base_url=s.url, follow_redirects=True, timeout=60) as c:
            r = open_wave(c, book, roles="mentors")  # no login on one's own computer
            assert r.status_code == 200 and "Организация ОО-007" in r.text
            codes = codes_of(c, str(r.url))
            assert codes and {role for _, role, _ in codes} == {S.MENTOR}
            assert "ОО-007" in c.get("/surveys").text
        r = answer(s.url, codes[0][2], 8)
        assert r.status_code == 200 and 'id="done"' in r.text
    finally:
        s.stop()
