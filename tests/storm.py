"""The deadline storm against a real `nastavnik serve`: many curators at once, each logging in,
checking and submitting a book; used by scripts/bench (the figures) and by the kill -9 and
backup tests.

`storm_site(folder, sizes)` writes the books (one per school: 125 or 5,000 participants), the
registry and the access file; `run_storm(url, curators)` starts every curator at the same
moment and returns what each met; `board(url, ...)` reads the staff board back.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.web_bench import csrf_of

STAFF_LOGIN, STAFF_SECRET = "metodist1", "storm-staff-secret"
PERIOD = "2026-11"
_ROW_RE = re.compile(r'<tr class="board-row" data-code="([^"]+)" data-status="([^"]+)"'
                     r'.*?</tr>', re.S)
_SHA_RE = re.compile(r'<code title="([0-9a-f]{64})">')
_NOTE_RE = re.compile(r'data-label="Организация">[^<]*<div class="hint">([^<]+)</div>')
_RECEIPT_RE = re.compile(r'id="receipt-sha256">([0-9a-f]{64})<')


@dataclass(frozen=True)
class Curator:
    code: str
    secret: str
    book: Path


@dataclass
class Outcome:
    """What one curator met: seconds of the check and of the submission, the receipt."""

    code: str
    check_s: float | None = None
    submit_s: float | None = None
    receipt: str = ""  # the SHA-256 the receipt page showed
    error: str = ""
    receipt_url: str = ""


@dataclass(frozen=True)
class BoardRow:
    code: str
    status: str
    sha256: str
    note: str


@dataclass
class Site:
    """The files a storm server needs."""

    collect: Path
    registry: Path
    access: Path
    curators: list[Curator] = field(default_factory=list)


def _xml_refs(text: str) -> str:
    return "".join(c if ord(c) < 128 else f"&#{ord(c)};" for c in text)


def rename_school(src: Path, dst: Path, old: str, new: str) -> Path:
    """A copy of a generated book under another school code (a copy takes ~50 ms, a new
    5,000-participant book several seconds)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/"):
                for a, b in ((old, new), (_xml_refs(old), _xml_refs(new))):
                    data = data.replace(a.encode(), b.encode())
            zout.writestr(item, data)
    return dst


def storm_site(folder: Path, sizes: list[int], period: str = PERIOD) -> Site:
    """One school per size (ОО-001…), its book of `period`, a registry and an access file
    with a code for each school and a staff account."""
    from addin.web.access import add_school_code, add_staff
    from workbook_templates.build import write_school_workbook
    from workbook_templates.demo import REGISTRY_HEADER, make_school

    books = folder / "books"
    books.mkdir(parents=True, exist_ok=True)
    collect = folder / "сдача"
    collect.mkdir(exist_ok=True)
    access = folder / "коды.txt"
    add_staff(access, STAFF_LOGIN, STAFF_SECRET)
    first: dict[int, tuple[str, Path]] = {}
    lines = [";".join(REGISTRY_HEADER)]
    site = Site(collect, folder / "реестр.csv", access)
    for i, size in enumerate(sizes):
        code = f"ОО-{i + 1:03d}"
        path = books / f"{code}.xlsx"
        if size in first:
            rename_school(first[size][1], path, first[size][0], code)
        else:
            write_school_workbook(path, make_school(code, random.Random(size), n_participants=size,
                                                    period=period))
            first[size] = (code, path)
        secret = f"storm-{code}-secret"
        site.curators.append(Curator(code, secret, path))
        add_school_code(access, code, secret)
        lines.append(f"{code};Школа {i + 1};ОО;schools/{code}.xlsx")
    site.registry.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return site


def login(c: httpx.Client, name: str, secret: str) -> httpx.Response:
    token = csrf_of(c.get("/login").text)
    return c.post("/login", data={"csrf": token, "school": name, "code": secret})


def check_and_submit(c: httpx.Client, curator: Curator, out: Outcome) -> None:
    """Upload the book, then press «Отправить в муниципалитет»; times go into `out`."""
    token = csrf_of(c.get("/").text)
    payload = curator.book.read_bytes()
    started = time.perf_counter()
    r = c.post("/check", data={"csrf": token},
               files={"file": (curator.book.name, payload)})
    out.check_s = time.perf_counter() - started
    m = re.search(r'name="submit_token" value="([^"]+)"', r.text)
    if r.status_code != 200 or m is None:
        out.error = f"check answered {r.status_code} without a submit button"
        return
    started = time.perf_counter()
    r = c.post("/submit", data={"csrf": csrf_of(r.text), "submit_token": m.group(1)})
    out.submit_s = time.perf_counter() - started
    got = _RECEIPT_RE.search(r.text)
    if r.status_code != 200 or got is None:
        out.error = f"submit answered {r.status_code} without a receipt"
        return
    out.receipt, out.receipt_url = got.group(1), str(r.url)
    if out.receipt != hashlib.sha256(payload).hexdigest():
        out.error = "the receipt's SHA-256 is not the book's"


def curator_run(url: str, curator: Curator, start: threading.Barrier | None = None,
                timeout: float = 600) -> Outcome:
    """One curator: log in, check, submit (errors are recorded, never raised)."""
    out = Outcome(curator.code)
    try:
        with httpx.Client(base_url=url, follow_redirects=True, timeout=timeout) as c:
            if start is not None:
                start.wait()
            if login(c, curator.code, curator.secret).status_code != 200:
                out.error = "login refused"
                return out
            check_and_submit(c, curator, out)
    except (httpx.HTTPError, threading.BrokenBarrierError) as exc:
        out.error = f"{type(exc).__name__}: {exc}"[:200]
    return out


def run_storm(url: str, curators: list[Curator], timeout: float = 600) -> list[Outcome]:
    """Every curator in its own thread, all released at once; outcomes in curator order."""
    start = threading.Barrier(len(curators))
    results: list[Outcome | None] = [None] * len(curators)

    def one(i: int) -> None:
        results[i] = curator_run(url, curators[i], start, timeout)

    threads = [threading.Thread(target=one, args=(i,), daemon=True)
               for i in range(len(curators))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r or Outcome(c.code, error="no result") for r, c in zip(results, curators,
                                                                     strict=True)]


def board(url: str, period: str = PERIOD, login_name: str = STAFF_LOGIN,
          secret: str = STAFF_SECRET) -> dict[str, BoardRow]:
    """The staff board of `period`, row by row."""
    with httpx.Client(base_url=url, follow_redirects=True, timeout=300) as c:
        assert login(c, login_name, secret).status_code == 200
        html = c.get("/staff", params={"period": period}).text
    return parse_board(html)


def parse_board(html: str) -> dict[str, BoardRow]:
    rows = {}
    for m in _ROW_RE.finditer(html):
        chunk = m.group(0)
        sha = _SHA_RE.search(chunk)
        note = _NOTE_RE.search(chunk)
        rows[m.group(1)] = BoardRow(m.group(1), m.group(2), sha.group(1) if sha else "",
                                    note.group(1).strip() if note else "")
    return rows


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory so far (Linux VmHWM) of a process and of every process under
    it (the check workers and their fork server), MB: pages they share count once per process,
    so the sum is an upper bound."""
    total = 0.0
    for one in [pid, *descendants(pid)]:
        try:
            lines = Path(f"/proc/{one}/status").read_text().splitlines()
        except OSError:  # ended meanwhile
            continue
        total += next((int(line.split()[1]) / 1024 for line in lines
                       if line.startswith("VmHWM:")), 0.0)
    return total


def descendants(pid: int) -> list[int]:
    """The processes under `pid`, children first (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *descendants(child)]
    return found


# -- the figures of scripts/bench -----------------------------------------------------------
#: Targets on 2 cores (issue 25): 50 curators, 0 errors, every submission on the board, p95 of
#: a check under 15 s, /health under 1 s throughout, peak memory under 2 GB.
CHECK_P95_TARGET_S, HEALTH_TARGET_S, PEAK_TARGET_MB = 15.0, 1.0, 2048.0


class _HealthWatch(threading.Thread):
    """GET /health every 0.25 s until stopped: the slowest answer and the failures."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.slowest, self.failures = url, 0.0, 0
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as c:
            while not self.stop.is_set():
                started = time.perf_counter()
                try:
                    ok = c.get("/health").status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.slowest = max(self.slowest, time.perf_counter() - started)
                self.failures += not ok
                self.stop.wait(0.25)


def _warm_up(url: str, curator: Curator) -> None:
    """One check without a submission: the server's first check loads the engine's modules."""
    with httpx.Client(base_url=url, follow_redirects=True, timeout=300) as c:
        login(c, curator.code, curator.secret)
        with curator.book.open("rb") as fh:
            c.post("/check", data={"csrf": csrf_of(c.get("/").text)},
                   files={"file": (curator.book.name, fh)})


def bench_storm(tmp: Path, curators: int = 50, small: int = 125, big: int = 5000) -> dict:
    """The deadline storm: `curators` at once against a fresh `nastavnik serve`, half with
    `small` and half with `big` books. Returns the figures (seconds, MB, counts)."""
    from tests.web_bench import start_server

    site = storm_site(tmp, [small if i % 2 == 0 else big for i in range(curators)])
    server = start_server("--collect-dir", site.collect, "--access-file", site.access,
                          "--registry", site.registry, "--period", PERIOD,
                          log_path=tmp / "storm-serve.log", timeout=120)
    watch = _HealthWatch(server.url)
    try:
        _warm_up(server.url, site.curators[0])  # a server at the deadline has checked before
        watch.start()
        started = time.perf_counter()
        outcomes = run_storm(server.url, site.curators)
        wall = time.perf_counter() - started
        watch.stop.set()
        watch.join()
        peak = peak_rss_mb(server.proc.pid)
        started = time.perf_counter()
        rows = board(server.url)
        board_s = time.perf_counter() - started
    finally:
        watch.stop.set()
        server.stop()
    checks = [o.check_s for o in outcomes if o.check_s is not None]
    submits = [o.submit_s for o in outcomes if o.submit_s is not None]
    errors = [o for o in outcomes if o.error]
    on_board = sum(1 for o in outcomes if o.receipt and o.code in rows
                   and rows[o.code].sha256 == o.receipt)
    return {"curators": curators, "small": small, "big": big, "wall_s": wall,
            "check_p50_s": percentile(checks, 50), "check_p95_s": percentile(checks, 95),
            "submit_p50_s": percentile(submits, 50), "submit_p95_s": percentile(submits, 95),
            "errors": len(errors), "error_samples": [f"{o.code}: {o.error}" for o in errors[:3]],
            "on_board": on_board, "health_max_s": watch.slowest,
            "health_failures": watch.failures, "peak_mb": peak, "board_s": board_s}


def flood_logins(url: str, address: str, total: int, concurrency: int, school: str,
                 code: str) -> tuple[list[int], str, str]:
    """`total` wrong logins from `address` over `concurrency` connections (run it in another
    process: its threads must not slow the measuring one). Returns the statuses in order,
    the first 429 page and its Retry-After."""
    from concurrent.futures import ThreadPoolExecutor

    statuses: list[int] = []
    first: list[httpx.Response] = []

    def attack(n: int) -> None:
        transport = httpx.HTTPTransport(local_address=address)
        with httpx.Client(base_url=url, transport=transport, timeout=120) as c:
            token = csrf_of(c.get("/login").text)
            for _ in range(n):
                r = c.post("/login", data={"csrf": token, "school": school, "code": code})
                statuses.append(r.status_code)
                if r.status_code == 429 and not first:
                    first.append(r)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for f in [pool.submit(attack, total // concurrency) for _ in range(concurrency)]:
            f.result()
    page = first[0] if first else None
    return statuses, page.text if page else "", page.headers.get("Retry-After", "") if page \
        else ""
