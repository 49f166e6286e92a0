"""Logins under attack, against the real `nastavnik serve`: 1,000 wrong logins from one
address (127.0.0.2 on the loopback) get 429s with a Russian page, while a curator logging in
from another address (127.0.0.1) at the same time gets in under 2 s, /health stays fast, and
the journal records the lockout without any code typed into the form.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import httpx
import pytest

from addin.web.access import LoginThrottle
from tests.storm import flood_logins, storm_site
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
    health: list[float] = []
    done = threading.Event()

    def watch_health() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            while not done.is_set():
                started = time.perf_counter()
                assert c.get("/health").status_code == 200
                health.append(time.perf_counter() - started)
                time.sleep(0.05)

    watcher = threading.Thread(target=watch_health)
    # the flood comes from another process, as it would: its 50 threads do not share this
    # process's interpreter lock with the measuring threads
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        flood = pool.submit(flood_logins, server.url, ATTACKER, 1000, 50, GUESSED_SCHOOL,
                            WRONG_CODE)
        journal = made.collect / "workspace" / "journal.sqlite"
        deadline = time.monotonic() + 60
        while not _locked_out(journal) and time.monotonic() < deadline:  # the flood is on
            time.sleep(0.05)
        watcher.start()  # from the lockout on (the flood's start-up is the client's own work)
        with httpx.Client(base_url=server.url, timeout=30) as c:
            started = time.perf_counter()  # the form, then the code: 303 with the session
            token = csrf_of(c.get("/login").text)
            answer = c.post("/login", data={"csrf": token, "school": curator.code,
                                            "code": curator.secret})
            legit = time.perf_counter() - started
            assert answer.status_code == 303, answer.status_code
            r = c.get("/")
        assert not flood.done(), "the flood was over before the legitimate login"
        statuses, page_text, retry_after = flood.result()
    done.set()
    watcher.join()

    print(f"legitimate login {legit:.2f} s, /health at most {max(health):.2f} s, "
          f"429: {statuses.count(429)}, 401: {statuses.count(401)}")
    assert r.status_code == 200 and "Выйти" in r.text and curator.code in r.text
    assert legit < 2.0, f"a legitimate login took {legit:.2f} s during the attack"
    assert len(statuses) == 1000
    assert statuses.count(429) >= 980, {s: statuses.count(s) for s in set(statuses)}
    assert statuses.count(401) <= 10
    assert max(health) < 1.0, f"/health took {max(health):.2f} s during the attack"
    assert "Слишком много неудачных попыток входа с этого адреса" in page_text
    assert int(retry_after) >= 1
    # the journal: one lockout, the address and counts, no code or name typed into the form
    with sqlite3.connect(journal) as conn:
        rows = conn.execute("SELECT actor, school, comment, sha256 FROM events "
                            "WHERE kind='lockout'").fetchall()
    assert len(rows) == 1 and rows[0][0] == ATTACKER and rows[0][1] == "", rows
    assert "после 10 неудачных попыток" in rows[0][2]
    for secret in (WRONG_CODE, GUESSED_SCHOOL, WRONG_CODE.replace("-", "")):
        assert secret.encode() not in journal.read_bytes()
        assert secret not in server.log()


def _locked_out(journal: Path) -> bool:
    if not journal.exists():
        return False
    with sqlite3.connect(journal) as conn:
        return bool(conn.execute("SELECT 1 FROM events WHERE kind='lockout'").fetchone())


def test_the_lockout_grows_and_a_success_clears_the_failures() -> None:
    throttle = LoginThrottle(limit=3, lock_seconds=0.3)
    for _ in range(2):
        assert not throttle.failed("10.0.0.1").locked
    throttle.succeeded("10.0.0.1")  # the curator got in: counting starts again
    assert not throttle.locked("10.0.0.1")
    for _ in range(2):
        throttle.failed("10.0.0.1")
    first = throttle.failed("10.0.0.1")
    assert first.locked_now and first.locked == pytest.approx(0.3)
    assert throttle.locked("10.0.0.1") == pytest.approx(0.3, abs=0.05)
    assert not throttle.locked("10.0.0.9")  # another address is not affected
    time.sleep(0.35)
    assert not throttle.locked("10.0.0.1")
    for _ in range(2):
        assert not throttle.failed("10.0.0.1").locked
    second = throttle.failed("10.0.0.1")
    assert second.locked_now and second.locked == pytest.approx(0.6)  # twice as long
    many = LoginThrottle()
    delays = [many.delay(many.failed("10.0.0.2")) for _ in range(9)]
    assert delays == [1, 1, 1, 2, 4, 8, 8, 8, 8]
