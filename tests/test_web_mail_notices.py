"""E-mail from the municipal workspace over the demo municipality, through the REAL `nastavnik
serve` and a REAL SMTP server (aiosmtpd): the centre in Chromium filters «не сдано», previews
the letter and its recipients, sends, and sees the outcome per school on the board; a return
for revision is mailed at once; after «Собрать свод» each school gets its result, worded as its
own page shows it; and no letter, log line or journal row holds a participant's name or birth
date.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest

from addin.web.access import add_school_code, add_staff
from addin.web.journal import Journal
from tests.smtp_server import MailServer
from tests.test_web_remind import address, letters_table, write_registry
from tests.web_bench import csrf_of, start_server
from workbook_templates.demo import DemoMunicipality, generate_municipality, write_municipality

STAFF, SECRET = "metodist1", "staff-secret-001"
SCHOOL, SCHOOL_SECRET = "ОО-001", "school-one-001"
NO_ADDRESS = "ОО-002"  # its book is removed too: «не сдано» and nowhere to write
RETURNED = "ОО-003"


@pytest.fixture(scope="module")
def muni() -> DemoMunicipality:
    return generate_municipality(6)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, muni: DemoMunicipality):
    """(serve, SMTP server, collect folder) for the demo municipality with addresses."""
    base = tmp_path_factory.mktemp("demo-mail")
    collect = write_municipality(muni, base / "сдача")
    (collect / "schools" / f"{NO_ADDRESS}.xlsx").unlink()
    write_registry(collect / "registry.csv",
                   [(s.code, s.name, "" if s.code == NO_ADDRESS else address(s.code))
                    for s in muni.schools])
    codes = base / "коды.txt"
    add_staff(codes, STAFF, SECRET)
    add_school_code(codes, SCHOOL, SCHOOL_SECRET)
    with MailServer(base, "starttls") as mail:
        server = start_server("--collect-dir", collect, "--access-file", codes, "--registry",
                              collect / "registry.csv", "--period", muni.period,
                              "--mail-config", mail.settings_toml(base / "почта.toml"),
                              log_path=base / "serve.log")
        yield server, mail, collect
        server.stop()


def login(c: httpx.Client, who: str, secret: str) -> None:
    token = csrf_of(c.get("/login").text)
    c.post("/login", data={"csrf": token, "school": who, "code": secret})


def test_centre_filters_not_submitted_previews_sends_and_sees_outcomes(demo, browser, muni):  # noqa: F811
    server, mail, _ = demo
    missing = [s for s in muni.schools if s.submission == "missing" or s.code == NO_ADDRESS]
    context = browser.new_context(locale="ru-RU", viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(f"{server.url}/login")
    page.fill("#school", STAFF)
    page.fill("#code", SECRET)
    page.get_by_role("button", name="Войти").click()
    page.wait_for_selector("#board")
    page.click("#filter-missing")
    page.wait_for_selector("#filter-missing.on")
    page.click("#remind")
    page.wait_for_selector("#letter-preview")
    with_address = [s for s in missing if s.code != NO_ADDRESS]
    assert page.inner_text("#letter-subject") == (
        f"Напоминание: отчёт по наставничеству за {muni.period} — {with_address[0].name}")
    assert "не сдано" in page.inner_text("#letter-text")
    states = page.eval_on_selector_all(
        "tr.recipient", "els => els.map(e => [e.dataset.code, e.dataset.state])")
    assert sorted(states) == sorted([s.code, "no-address" if s.code == NO_ADDRESS else "to-send"]
                                    for s in missing)
    page.click("#send-letters")
    page.wait_for_selector("#mail-summary")
    shown = page.eval_on_selector_all(
        "tr.board-row", "els => els.map(e => [e.dataset.code, "
        "e.querySelector('td.mail') ? e.querySelector('td.mail').dataset.mail : ''])")
    assert sorted(shown) == sorted([s.code, "no-address" if s.code == NO_ADDRESS else "sent"]
                                   for s in missing)
    assert page.locator(f"tr[data-code='{NO_ADDRESS}'] td.mail").inner_text().startswith(
        "нет адреса")
    assert sorted(g.rcpt_tos[0] for g in mail.letters) == sorted(address(s.code)
                                                                for s in with_address)
    context.close()


def test_a_return_for_revision_is_mailed_at_once(demo, muni) -> None:
    server, mail, _ = demo
    before = len(mail.letters)
    comment = "Заполните лист «Встречи» за ноябрь и сдайте снова."
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=120) as c:
        login(c, STAFF, SECRET)
        page = c.get(f"/staff/school/{RETURNED}?period={muni.period}").text
        r = c.post(f"/staff/school/{RETURNED}/return",
                   data={"csrf": csrf_of(page), "period": muni.period, "comment": comment})
        assert r.status_code == 200
        shown = re.findall(r'<li data-kind="returned" data-outcome="([^"]+)">', r.text)
        assert shown == ["sent"]  # the school's page tells the staff the letter went
    new = mail.letters[before:]
    assert [g.rcpt_tos for g in new] == [[address(RETURNED)]]
    name = muni.school(RETURNED).name
    assert new[0].subject == f"Книга возвращена на доработку: {name}, {muni.period}"
    assert comment in new[0].body() and comment in new[0].body("html").replace("&#34;", '"')


def test_after_the_sync_each_school_gets_its_result_as_its_page_shows(demo, muni) -> None:
    server, mail, collect = demo
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=300) as c:
        login(c, STAFF, SECRET)
        form = c.get("/staff/sync").text
        after = re.search(r'name="after" value="(\d+)"', form).group(1)
        c.post("/staff/sync", data={"csrf": csrf_of(form), "period": muni.period,
                                    "after": after})
        job = Journal(collect / "workspace" / "journal.sqlite").last_job_id()
        deadline = time.monotonic() + 300
        while c.get(f"/staff/sync/{job}/progress").json()["state"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.3)
        preview = c.get(f"/staff/remind/results?job={job}").text
        before = len(mail.letters)
        c.post("/staff/remind/results", data={"csrf": csrf_of(preview), "job": str(job)})
        again = c.get(f"/staff/remind/results?job={job}").text  # a second press: none left
        assert 'id="letter-none"' in again
    new = {g.rcpt_tos[0]: g for g in mail.letters[before:]}
    assert sorted(new) == sorted(address(s.code) for s in muni.schools if s.code != NO_ADDRESS)
    journal = Journal(collect / "workspace" / "journal.sqlite")
    for s in muni.schools:
        if s.code == NO_ADDRESS:
            continue
        _, fb = journal.feedback(s.code)
        text = new[address(s.code)].body()
        assert f"(код {s.code}): {fb.status}" in text
        for note in fb.notes:
            assert note["message"] in text
    # the school's own page shows the same verdict
    with httpx.Client(base_url=server.url, follow_redirects=True, timeout=120) as c:
        login(c, SCHOOL, SCHOOL_SECRET)
        status = re.search(r'id="my-sync-status">([^<]+)<', c.get("/").text).group(1)
    assert f"(код {SCHOOL}): {status}" in new[address(SCHOOL)].body()
    assert {r["kind"] for r in letters_table(collect)} == {"reminder", "returned", "result"}


def test_no_participant_data_in_letters_log_or_journal(demo, muni) -> None:
    server, mail, collect = demo
    assert len(mail.letters) >= 6  # the tests above ran first
    letters = "\n".join(f"{g.subject}\n{g.body()}\n{g.body('html')}" for g in mail.letters)
    raw = b"".join(g.raw for g in mail.letters)
    log = server.log()
    journal = b"".join(p.read_bytes() for p in (collect / "workspace").glob("journal.sqlite*"))
    rows = "\n".join(" ".join(map(str, tuple(r))) for r in letters_table(collect))
    people = [p for s in muni.schools for sheet in ("mentors", "mentees")
              for p in s.data[sheet]]
    names = {str(p["full_name"]) for p in people} | {str(s.data["school"]["curator"])
                                                     for s in muni.schools}
    births = {p["birth_date"].strftime(f) for p in people if hasattr(p["birth_date"], "year")
              for f in ("%d.%m.%Y", "%Y-%m-%d")}
    births |= {p["birth_date"] for p in people if isinstance(p["birth_date"], str)
               and len(p["birth_date"]) >= 8}  # dates the demo wrote as text
    assert names and births and muni.school(SCHOOL).name in letters  # decoded, not empty
    for text in (letters, log, rows):
        assert not [n for n in names if n in text]
        assert not [b for b in births if b in text]
    assert not [n for n in names if n.encode() in journal or n.encode() in raw]
    assert not [b for b in births if b.encode() in journal]
    assert "Traceback" not in log


REMIND_GETS = ["/staff/remind", "/staff/remind/letter.html", "/staff/remind/results?job=1"]
REMIND_POSTS = ["/staff/remind", "/staff/remind/results"]


def test_remind_routes_are_staff_only(demo) -> None:
    server, mail, _ = demo
    before = len(mail.letters)
    with httpx.Client(base_url=server.url, timeout=60) as anon, \
            httpx.Client(base_url=server.url, timeout=60, follow_redirects=True) as school:
        login(school, SCHOOL, SCHOOL_SECRET)
        token = csrf_of(school.get("/").text)
        for path in REMIND_GETS:
            r = anon.get(path)
            assert (r.status_code, r.headers.get("location")) == (303, "/login"), path
            assert school.get(path).status_code == 403, path
        for path in REMIND_POSTS:
            r = anon.post(path, data={"period": "2026-11", "filter": "missing"})
            assert (r.status_code, r.headers.get("location")) == (303, "/login"), path
            r = school.post(path, data={"csrf": token, "period": "2026-11", "job": "1"})
            assert r.status_code == 403, path
    assert len(mail.letters) == before
