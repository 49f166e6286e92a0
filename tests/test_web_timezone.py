"""`nastavnik serve --timezone`: shown times and the deadline in the municipality's zone.

The server runs on a machine set to UTC for a municipality in UTC+10 (Asia/Vladivostok),
its clock moved around midnight of the deadline by libfaketime (the REAL server, its clock
set through a timestamp file between requests): a book submitted at 23:30 or 23:59:50 local
time on the 25th is on time, one at 00:00:10 on the 26th is a day late, though the machine's
own date is still the 25th.
"""

from __future__ import annotations

import glob
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from addin.web import clock
from addin.web.access import add_school_code, add_staff
from addin.web.helpers import when
from tests.served import serve
from tests.web_bench import csrf_of, free_port, upload

SCHOOL, SECRET = "ОО-500", "school-five-500"
IDLE = "ОО-501"  # never submits: its «days left» is counted in the zone too
STAFF, STAFF_SECRET = "metodist1", "staff-secret-001"
ZONE = "Asia/Vladivostok"
CACHE_SECONDS = 1
LIBFAKETIME = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))


# -- the clock, in this process -------------------------------------------------------------------
@pytest.fixture
def zone():
    clock.set_zone(ZONE)
    yield
    clock.set_zone(None)


@pytest.mark.parametrize(("utc", "local_day", "shown"), [
    ("2026-11-25T13:30:00+00:00", 25, "25.11.2026 23:30:00 (UTC+10:00)"),
    ("2026-11-25T13:59:59+00:00", 25, "25.11.2026 23:59:59 (UTC+10:00)"),
    ("2026-11-25T14:00:00+00:00", 26, "26.11.2026 00:00:00 (UTC+10:00)"),
    ("2026-11-25T16:30:00+03:00", 25, "25.11.2026 23:30:00 (UTC+10:00)"),  # recorded in Moscow
    ("2026-11-24T14:00:00", 25, "25.11.2026 00:00:00 (UTC+10:00)"),  # no offset: UTC
])
def test_times_and_days_are_the_zones(zone, utc: str, local_day: int, shown: str) -> None:
    assert clock.from_iso(utc).day == local_day
    assert when(utc) == shown


def test_now_and_today_are_the_zones(zone) -> None:
    moment = clock.now()
    assert moment.utcoffset().total_seconds() == 10 * 3600
    assert clock.today() == datetime.now(UTC).astimezone(clock.zone_named(ZONE)).date()
    assert clock.now_iso().endswith("+10:00")


# -- the real server around midnight --------------------------------------------------------------
def set_clock(path: Path, utc: str, wait: bool = True, url: str = "") -> None:
    """Stop the server's clock at `utc` (no drift however slow the machine): libfaketime
    rereads the file once a second; with `url`, wait until the server's own Date header
    shows the new time (a loaded machine may take longer than a second)."""
    # Replaced atomically: a file read while half written gives the real time, and a
    # result checked "twelve days ago" would be purged before it is submitted.
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{utc}\n", encoding="ascii")
    os.replace(tmp, path)
    if wait:
        time.sleep(CACHE_SECONDS + 0.2)
    if url:
        wait_for_server_clock(url, utc)


def wait_for_server_clock(url: str, utc: str, timeout: float = 60.0) -> None:
    """Poll /health until the server's Date header is `utc` (its clock is stopped there)."""
    from email.utils import parsedate_to_datetime

    want = datetime.strptime(utc, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = parsedate_to_datetime(httpx.get(f"{url}/health", timeout=30).headers["date"])
        if seen == want:
            return
        time.sleep(0.2)
    raise AssertionError(f"the server's clock shows {seen}, not {want}")


def board_deadline(c: httpx.Client, code: str) -> str:
    html = c.get("/staff?period=2026-11").text
    row = re.search(rf'data-code="{code}".*?data-label="Срок"[^>]*>([^<]*)<', html, re.S)
    assert row, html[:2000]
    return " ".join(row.group(1).split())


def submit(c: httpx.Client, book: Path) -> str:
    """Check and submit `book`; the receipt's time."""
    r = upload(c, book)
    assert 'name="submit_token"' in r.text, (r.status_code, str(r.url), r.text[-3000:])
    token = r.text.split('name="submit_token" value="')[1].split('"')[0]
    r = c.post("/submit", data={"csrf": csrf_of(r.text), "submit_token": token})
    assert r.status_code == 200 and "receipt-sha256" in r.text, r.text[:2000]
    return re.search(r'id="receipt-time">([^<]+)<', r.text).group(1)


def login(c: httpx.Client, name: str, secret: str) -> None:
    r = c.post("/login", data={"csrf": csrf_of(c.get("/login").text), "school": name,
                               "code": secret})
    assert r.status_code == 200, r.text[:500]


@pytest.fixture(scope="module")
def municipality(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if not LIBFAKETIME:
        if os.environ.get("REQUIRE_FAKETIME"):
            pytest.fail("libfaketime is required here (apt-get install faketime)")
        pytest.skip("libfaketime not installed (apt-get install faketime)")
    import random

    from workbook_templates.build import write_school_workbook
    from workbook_templates.demo import make_school

    base = tmp_path_factory.mktemp("zone")
    collect = base / "сдача"
    (collect / "schools").mkdir(parents=True)
    (collect / "registry.csv").write_text(
        "код ОО;наименование;тип;источник\n"
        f"{SCHOOL};Школа 500;ОО;schools/{SCHOOL}.xlsx\n{IDLE};Школа 501;ОО;schools/{IDLE}.xlsx\n",
        encoding="utf-8")
    book = write_school_workbook(base / "книга.xlsx",
                                 make_school(SCHOOL, random.Random(5), n_participants=40))
    codes = base / "коды.txt"
    add_school_code(codes, SCHOOL, SECRET)
    add_staff(codes, STAFF, STAFF_SECRET)
    return {"base": base, "collect": collect, "book": book, "codes": codes}


def test_a_book_at_2330_local_on_the_25th_is_on_time_and_after_midnight_late(
        municipality) -> None:
    m = municipality
    fake = m["base"] / "faketime.rc"
    set_clock(fake, "2026-11-25 13:30:00", wait=False)  # 23:30 in Vladivostok
    port = free_port()
    env = {"LD_PRELOAD": LIBFAKETIME[0], "FAKETIME_TIMESTAMP_FILE": str(fake),
           "FAKETIME_CACHE_DURATION": str(CACHE_SECONDS), "FAKETIME_DONT_FAKE_MONOTONIC": "1",
           "TZ": "UTC"}
    server = serve("--port", port, "--collect-dir", m["collect"], "--access-file", m["codes"],
                   "--registry", m["collect"] / "registry.csv", "--period", "2026-11",
                   "--timezone", ZONE, env=env, log_path=m["base"] / "serve.log",
                   url=f"http://127.0.0.1:{port}")
    try:
        with httpx.Client(base_url=server.url, follow_redirects=True, timeout=120) as school, \
                httpx.Client(base_url=server.url, follow_redirects=True, timeout=120) as staff:
            login(school, SCHOOL, SECRET)
            login(staff, STAFF, STAFF_SECRET)
            assert board_deadline(staff, IDLE) == "осталось 0 дн."
            assert submit(school, m["book"]) == "25.11.2026 23:30:00 (UTC+10:00)"
            assert board_deadline(staff, SCHOOL) == "в срок"

            set_clock(fake, "2026-11-25 13:59:50", url=server.url)  # 23:59:50 local
            assert submit(school, m["book"]) == "25.11.2026 23:59:50 (UTC+10:00)"
            assert board_deadline(staff, SCHOOL) == "в срок"

            # 00:00:10 on the 26th local; UTC: the 25th
            set_clock(fake, "2026-11-25 14:00:10", url=server.url)
            assert submit(school, m["book"]) == "26.11.2026 00:00:10 (UTC+10:00)"
            assert board_deadline(staff, SCHOOL) == "с опозданием 1 дн."
            assert board_deadline(staff, IDLE) == "просрочено на 1 дн."
    finally:
        server.stop()
    assert "Traceback" not in server.log()
