"""The real `nastavnik serve` as a subprocess, for the page tests and for scripts/bench.

`start_server(...)` runs the installed console script on a free port, waits for /health and
captures its log; `bench_page_roundtrip(workbook)` measures upload -> rendered result page over
loopback with httpx (the figure scripts/bench reports; target under 1 s for 5,000 participants).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

NASTAVNIK = Path(sys.executable).parent / "nastavnik"
CHROMIUM = Path("/usr/bin/chromium")
#: Flags that keep headless Chromium off the network and working as root (see notes).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running `nastavnik serve`; `log()` is everything it printed so far."""

    proc: subprocess.Popen
    url: str
    log_path: Path
    args: list[str] = field(default_factory=list)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def health(self) -> int:
        return httpx.get(f"{self.url}/health", timeout=10).status_code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)


def start_server(*args: object, host: str = "127.0.0.1", connect: str | None = None,
                 log_path: Path | None = None, timeout: float = 60,
                 env: dict[str, str] | None = None) -> Server:
    """`nastavnik serve --host HOST --port <free> ARGS`, ready when GET /health answers
    (`env`: variables set for the server on top of the test's environment)."""
    connect = connect or ("127.0.0.1" if host in ("0.0.0.0", "::") else host)
    port = free_port(connect)
    if log_path is None:
        fd, name = tempfile.mkstemp(prefix="nastavnik-serve-", suffix=".log")
        os.close(fd)
        log_path = Path(name)
    cmd = [str(NASTAVNIK), "serve", "--host", host, "--port", str(port), *map(str, args)]
    env = dict(os.environ, PYTHONUNBUFFERED="1", NO_COLOR="1", COLUMNS="200", **(env or {}))
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env)
    server = Server(proc, f"http://{connect}:{port}", log_path, cmd)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nastavnik serve exited with {proc.returncode}:\n{server.log()}")
        try:
            if server.health() == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"nastavnik serve did not answer /health in {timeout} s:\n{server.log()}")


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    if not m:
        raise AssertionError("no CSRF field on the page")
    return m.group(1)


def login_in_browser(page, url: str, name: str, secret: str) -> None:  # noqa: ANN001
    """Log in on /login in a Playwright page as a person would: type, press «Войти»."""
    page.goto(f"{url}/login")
    page.fill("#school", name)
    page.fill("#code", secret)
    page.get_by_role("button", name="Войти").click()
    page.wait_for_load_state()


def upload(client: httpx.Client, workbook: Path, reference_date: str = "",
           name: str | None = None) -> httpx.Response:
    """GET / for the session and its CSRF token, then POST /check (redirects followed)."""
    form = client.get("/")
    token = csrf_of(form.text)
    with Path(workbook).open("rb") as fh:
        return client.post("/check", data={"csrf": token, "reference_date": reference_date},
                           files={"file": (name or Path(workbook).name, fh)})


def make_big_workbook(path: Path, participants: int = 5000) -> Path:
    """A clean school workbook of about `participants` people (~20,000 rows)."""
    import random

    from workbook_templates.build import write_school_workbook
    from workbook_templates.demo import make_school

    data = make_school("ОО-500", random.Random(5000), n_participants=participants)
    return write_school_workbook(path, data)


def bench_page_roundtrip(workbook: Path, base_url: str | None = None, repeat: int = 3) -> float:
    """Best of `repeat`: seconds from POST /check with the file to the rendered result page.

    Starts its own `nastavnik serve` on 127.0.0.1 unless `base_url` names a running one.
    """
    server = None if base_url else start_server()
    try:
        url = base_url or server.url
        times = []
        with httpx.Client(base_url=url, follow_redirects=True, timeout=300) as client:
            token = csrf_of(client.get("/").text)
            payload = Path(workbook).read_bytes()
            for _ in range(repeat):
                started = time.perf_counter()
                r = client.post("/check", data={"csrf": token},
                                files={"file": (Path(workbook).name, payload)})
                elapsed = time.perf_counter() - started
                if r.status_code not in (200, 422) or 'id="status"' not in r.text:
                    raise RuntimeError(f"unexpected answer {r.status_code}")
                times.append(elapsed)
        return min(times)
    finally:
        if server is not None:
            server.stop()
            server.log_path.unlink(missing_ok=True)


if __name__ == "__main__":  # python -m tests.web_bench [workbook]
    if len(sys.argv) > 1:
        book = Path(sys.argv[1])
    else:
        book = make_big_workbook(Path(tempfile.mkdtemp()) / "school-5000.xlsx")
    print(f"page round trip, {book.name}: {bench_page_roundtrip(book):.2f} s")
