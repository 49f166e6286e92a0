"""A curator and participants of a survey wave over HTTP (httpx), for the page tests and for
scripts/bench: a school's book with N participants, opening a wave, reading the codes,
answering, and the bench of concurrent answers (`bench_answers`)."""

from __future__ import annotations

import random
import re
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import httpx

from tests.web_bench import csrf_of, start_server
from workbook_templates import surveys as S

CODE_RE = re.compile(r";(\d{4} \d{4} \d{4});")
BENCH_SECRET = "BENCH-CODE-2026"


def survey_book(path: Path, school: str = "ОО-001", participants: int = 40,
                seed: int = 29) -> Path:
    """A clean book of this month (so today's answers count) without survey rows."""
    from workbook_templates.build import write_school_workbook
    from workbook_templates.demo import make_school

    data = make_school(school, random.Random(seed), n_participants=participants,
                       period=date.today().strftime("%Y-%m"))
    data["monitoring"] = []
    return write_school_workbook(path, data)


def login(c: httpx.Client, school: str, secret: str) -> httpx.Response:
    token = csrf_of(c.get("/login").text)
    return c.post("/login", data={"csrf": token, "school": school, "code": secret})


def open_wave(c: httpx.Client, book: Path, wave: str = S.DECEMBER,
              roles: str = "both") -> httpx.Response:
    """POST /surveys/open as a signed-in curator (redirects followed: the wave page)."""
    token = csrf_of(c.get("/surveys").text)
    year = date.today().year if date.today().month >= 9 else date.today().year - 1
    return c.post("/surveys/open", data={"csrf": token, "wave": wave, "year": str(year),
                                         "roles": roles},
                  files={"file": (book.name, book.read_bytes())})


def codes_of(c: httpx.Client, wave_url: str) -> list[tuple[str, str, str]]:
    """(participant ID, role, code) from the wave's list of codes."""
    text = c.get(f"{wave_url}/codes.csv").text.lstrip("\ufeff")
    out = []
    for line in text.splitlines()[1:]:
        pid, role, code, _ = line.split(";")
        out.append((pid, role, code))
    return out


def answer(base_url: str, code: str, score: int, comment: str = "",
           client: httpx.Client | None = None, timed: bool = False):  # noqa: ANN201
    """One participant: the code form, the code, the questionnaire sent; the last response
    (with the seconds of the saving request when `timed`)."""
    own = client is None
    c = client or httpx.Client(base_url=base_url, timeout=60)
    try:
        token = csrf_of(c.get("/answer").text)
        r = c.post("/answer", data={"csrf": token, "code": code})
        if r.status_code != 200:
            return (r, 0.0) if timed else r
        started = time.perf_counter()
        r = c.post("/answer/save", data={
            "csrf": token, "code": code, "satisfaction": str(score), "comfort": "4",
            "usefulness": "3", "meetings_held": "да", "wish_to_continue": "да",
            "comment": comment})
        return (r, time.perf_counter() - started) if timed else r
    finally:
        if own:
            c.close()


def bench_answers(n: int = 500, window: float = 30.0, clients: int = 64) -> dict:
    """`n` participants arrive evenly over `window` seconds (500 in 30 s: twice the rate of
    «500 within a minute») and answer through a real server, each on its own connection, up
    to `clients` at once: errors, and the median and p95 of one participant's three requests
    (code form, code, answers) and of the request that saves the answer."""
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        from addin.web.access import add_school_code

        codes_file = tmp / "codes.txt"
        add_school_code(codes_file, "ОО-001", BENCH_SECRET)
        book = survey_book(tmp / "school.xlsx", participants=n + n // 4)
        server = start_server("--access-file", codes_file, "--collect-dir", tmp / "collect",
                              log_path=tmp / "serve.log")
        try:
            with httpx.Client(base_url=server.url, follow_redirects=True, timeout=120) as c:
                login(c, "ОО-001", BENCH_SECRET)
                wave = open_wave(c, book)
                codes = [code for _, _, code in codes_of(c, str(wave.url))][:n]
            if len(codes) < n:
                raise RuntimeError(f"the book gave {len(codes)} codes, not {n}")
            # one connection pool for all: a client of its own per participant (own cookies)
            # would otherwise build an SSL context each, costing the machine more than the server
            pool_transport = httpx.HTTPTransport(limits=httpx.Limits(max_connections=clients))
            started = time.perf_counter()

            def one(i: int) -> tuple[float, float, bool]:
                time.sleep(max(0.0, started + i * window / n - time.perf_counter()))
                begin = time.perf_counter()
                try:
                    # not closed: closing a client would close the shared pool
                    c = httpx.Client(base_url=server.url, timeout=60, transport=pool_transport)
                    r, save = answer(server.url, codes[i], random.randint(1, 10), client=c,
                                     timed=True)
                    ok = r.status_code == 200 and 'id="done"' in r.text
                    if not ok:
                        failures.append(f"{r.status_code}")
                except httpx.HTTPError as exc:
                    ok, save = False, 0.0
                    failures.append(type(exc).__name__)
                return time.perf_counter() - begin, save, ok

            failures: list[str] = []
            with ThreadPoolExecutor(clients) as pool:
                results = list(pool.map(one, range(n)))
            took = time.perf_counter() - started
            pool_transport.close()
        finally:
            server.stop()
    whole = sorted(t for t, _, _ in results)
    saves = sorted(s for _, s, _ in results)
    return {"answers": n, "window_s": window, "seconds": round(took, 2),
            "errors": sum(not ok for _, _, ok in results),
            "median_s": round(statistics.median(whole), 3), "p95_s": _p95(whole),
            "save_median_s": round(statistics.median(saves), 3), "save_p95_s": _p95(saves),
            "failures": sorted(set(failures))}


def _p95(times: list[float]) -> float:
    return round(times[int(0.95 * (len(times) - 1))], 3)


if __name__ == "__main__":  # python -m tests.survey_client
    print(bench_answers())
