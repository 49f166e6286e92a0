"""Logins under attack, against the real `nastavnik serve`: 1,000 wrong logins from one
address (127.0.0.2 on the loopback) get 429s with a Russian page, while a curator logging in
from another address (127.0.0.1) at the same time gets in under 2 s, /health stays fast, and
the journal records the lockout without any code typed into the form.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from addin.web.access import LoginThrottle
from tests.storm import login, storm_site
from tests.web_bench import csrf_of, start_server

ATTACKER = "127.0.0.2"
WRONG_CODE = "ZZZZ-YYYY-XXXX"
GUESSED_SCHOOL = "ОО-777-опечатка"


def attacker_client(url: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=ATTACKER)
    return httpx.Client(base_url=url, transport=transport, timeout=60)


@pytest.fixture(scope="module")
def site(tmp_path_factory):  # noqa: ANN001, ANN201
    base = tmp_path_factory.mktemp("attack")
    made = storm_site(base, [125])
    server = start_server("--collect-dir", made.collect, "--access-file", made.access,
                          log_path=base / "serve.log")
    yield server, made
    server.stop()


def test_a_thousand_wrong_logins_from_one_address(site) -> None:
    server, made = site
    curator = made.curators[0]
    try:
        with attacker_client(server.url) as probe:
            probe.get("/login")
    except httpx.ConnectError:
        pytest.skip(f"cannot connect from {ATTACKER} on this machine's loopback")
    statuses: list[int] = []
    pages: list[httpx.Response] = []
    health: list[float] = []
    done = threading.Event()

    def attack(n: int) -> None:
        with attacker_client(server.url) as c:
            token = csrf_of(c.get("/login").text)
            for _ in range(n):
                r = c.post("/login", data={"csrf": token, "school": GUESSED_SCHOOL,
                                           "code": WRONG_CODE})
                statuses.append(r.status_code)
                if r.status_code == 429 and len(pages) < 1:
                    pages.append(r)

    def watch_health() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            while not done.is_set():
                started = time.perf_counter()
                assert c.get("/health").status_code == 200
                health.append(time.perf_counter() - started)
                time.sleep(0.05)

    watcher = threading.Thread(target=watch_health)
    watcher.start()
    with ThreadPoolExecutor(max_workers=25) as pool:
        attacks = [pool.submit(attack, 40) for _ in range(25)]
        while len(statuses) < 100:  # the flood is on
            time.sleep(0.02)
        with httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as c:
            started = time.perf_counter()
            r = login(c, curator.code, curator.secret)
            legit = time.perf_counter() - started
        for a in attacks:
            a.result()
    done.set()
    watcher.join()

    assert r.status_code == 200 and 'id="my-status"' in r.text or "Выйти" in r.text
    assert legit < 2.0, f"a legitimate login took {legit:.2f} s during the attack"
    assert len(statuses) == 1000
    assert statuses.count(429) >= 980, {s: statuses.count(s) for s in set(statuses)}
    assert statuses.count(401) <= 10
    assert max(health) < 1.0, f"/health took {max(health):.2f} s during the attack"
    page = pages[0]
    assert "Слишком много неудачных попыток входа с этого адреса" in page.text
    assert int(page.headers["Retry-After"]) >= 1
    # the journal: one lockout, the address and counts, no code or name typed into the form
    journal = made.collect / "workspace" / "journal.sqlite"
    with sqlite3.connect(journal) as conn:
        rows = conn.execute("SELECT actor, school, comment, sha256 FROM events "
                            "WHERE kind='lockout'").fetchall()
    assert len(rows) == 1 and rows[0][0] == ATTACKER and rows[0][1] == "", rows
    assert "после 10 неудачных попыток" in rows[0][2]
    for secret in (WRONG_CODE, GUESSED_SCHOOL, WRONG_CODE.replace("-", "")):
        assert secret.encode() not in journal.read_bytes()
        assert secret not in server.log()


def test_the_lockout_grows_and_a_success_clears_the_failures() -> None:
    throttle = LoginThrottle(limit=3, lock_seconds=0.3)
    for _ in range(2):
        assert not throttle.begin("10.0.0.1").locked
    throttle.succeeded("10.0.0.1")  # the curator got in: counting starts again
    for _ in range(3):
        assert not throttle.begin("10.0.0.1").locked
    first = throttle.begin("10.0.0.1")
    assert first.locked_now and first.locked == pytest.approx(0.3)
    assert throttle.begin("10.0.0.1").locked and not throttle.begin("10.0.0.1").locked_now
    assert not throttle.begin("10.0.0.9").locked  # another address is not affected
    time.sleep(0.35)
    for _ in range(3):
        assert not throttle.begin("10.0.0.1").locked
    second = throttle.begin("10.0.0.1")
    assert second.locked_now and second.locked == pytest.approx(0.6)
    delays = [throttle.delay(throttle.begin("10.0.0.2")) for _ in range(3)]
    assert delays == sorted(delays)
