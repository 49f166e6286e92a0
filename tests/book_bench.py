"""Speed figures of «Книга организации» and the page's roadmap import, on the real server
(called by scripts/bench.py; not a test): a logged-in school downloads its pre-filled book, and
imports the largest seed roadmap (as the .docx a school would have) on the page, preview and
«Перенести» together."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from addin.web.access import add_school_code
from tests.web_bench import csrf_of, start_server

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
SECRET = "bench-school-01"
REGISTRY = ("код ОО;наименование;тип;источник;код муниципалитета\n"
            "ОО-900;МБОУ «Школа для замеров»;ОО;schools/ОО-900.xlsx;Энский район\n")


def _best(n: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _with_school(work: Callable[[httpx.Client, Path], float]) -> float:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        collect = tmp / "сдача"
        collect.mkdir()
        (collect / "registry.csv").write_text(REGISTRY, encoding="utf-8")
        codes = tmp / "коды.txt"
        add_school_code(codes, "ОО-900", SECRET)
        server = start_server("--collect-dir", collect, "--access-file", codes, "--registry",
                              collect / "registry.csv", log_path=tmp / "serve.log")
        try:
            with httpx.Client(base_url=server.url, timeout=300, follow_redirects=True) as c:
                token = csrf_of(c.get("/login").text)
                c.post("/login", data={"csrf": token, "school": "ОО-900", "code": SECRET})
                return work(c, tmp)
        finally:
            server.stop()


def bench_book_download() -> float:
    """Best seconds of one download of the pre-filled server-bound .xlsm (the slowest kind),
    once the templates are built."""
    def work(c: httpx.Client, _tmp: Path) -> float:
        for kind in ("xlsx", "xlsm", "ods"):  # the first download of each waits for its build
            assert c.get(f"/book/download/{kind}").status_code == 200
        return max(_best(5, lambda k=kind: c.get(f"/book/download/{k}").raise_for_status())
                   for kind in ("xlsx", "xlsm", "ods"))

    return _with_school(work)


def bench_roadmap_page() -> float:
    """Best seconds of the page's import of the largest seed roadmap: preview, then
    «Перенести» into the school's pre-filled book."""
    from addin.roadmap.importer import read_roadmap
    from tests.test_roadmap_import import write_docx

    seeds = sorted(SEEDS.glob("*.txt"), key=lambda p: p.stat().st_size)
    if not seeds:
        raise ImportError(f"no seed roadmaps in {SEEDS}")

    def work(c: httpx.Client, tmp: Path) -> float:
        doc = write_docx(read_roadmap(seeds[-1]), tmp / "дорожная карта.docx")
        c.get("/book/download/xlsx").raise_for_status()  # the template is built

        def once() -> None:
            form = c.get("/roadmap").text
            shown = c.post("/roadmap/preview", data={"csrf": csrf_of(form)},
                           files={"document": (doc.name, doc.read_bytes())})
            shown.raise_for_status()
            token = re.search(r'name="token" value="([^"]+)"', shown.text).group(1)
            c.post("/roadmap/apply", data={"csrf": csrf_of(shown.text), "token": token}
                   ).raise_for_status()

        return _best(3, once)

    return _with_school(work)
