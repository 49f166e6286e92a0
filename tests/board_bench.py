"""Speed of the boards, measured by `scripts/bench` (not a test): the municipal board of
2,000 organisations with their books in the collection folder (the first view, when none is
checked yet; every book checked, before a sync; after «Собрать свод»), its xlsx, the regional
board of 50 municipalities × 40 organisations, and the regional master from the page.

Each view is a GET of the real app in this process (routing, the board, rendering), with a
staff or regional login; each figure is the best of three (the first view: one). «Before a
sync» the books' check summaries are written straight into the journal (see `_summaries`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from addin.web.access import REGION, STAFF, add_staff
from addin.web.app import create_app
from addin.web.config import ServerConfig
from tests.web_bench import csrf_of

PERIOD = "2026-11"
LOGIN, SECRET = "bench1", "bench-secret-001"
#: Each figure: (seconds, target seconds).
Figures = dict[str, tuple[float, float]]


def _client(tmp: Path, config: ServerConfig, role: str, **services: object):  # noqa: ANN202
    from fastapi.testclient import TestClient

    codes = tmp / f"коды-{role}.txt"
    add_staff(codes, LOGIN, SECRET, role)
    app = create_app(replace(config, access_file=codes), **services)
    c = TestClient(app)
    token = csrf_of(c.get("/login").text)
    c.post("/login", data={"csrf": token, "school": LOGIN, "code": SECRET})
    return c


def _timed(c, path: str) -> float:  # noqa: ANN001
    t = time.perf_counter()
    r = c.get(path)
    took = time.perf_counter() - t
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    return took


def _best(c, path: str, n: int = 3) -> float:  # noqa: ANN001
    return min(_timed(c, path) for _ in range(n))


def _wait(c, progress: str, timeout: float = 1800) -> dict:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = c.get(progress).json()
        if state["state"] != "running":
            return state
        time.sleep(0.2)
    raise AssertionError(f"{progress}: still running after {timeout} s")


def _start(c, page: str, period: str) -> int:  # noqa: ANN001
    html = c.get(page).text
    after = re.search(r'name="after" value="(\d+)"', html).group(1)
    r = c.post(page, data={"csrf": csrf_of(html), "period": period, "after": after})
    return int(re.search(r"#run-(\d+)", str(r.url)).group(1))


def bench_municipal_board(tmp: Path, make_municipality: Callable[[Path, int, int], object],
                          n_schools: int = 2000) -> Figures:
    """The municipal board and its xlsx around a sync, over n_schools books in the folder."""
    from sync.workspace_service import FolderSyncService

    root = tmp / "board"
    t = time.perf_counter()
    make_municipality(root, n_schools, 10)
    print(f"  {n_schools} книг в папке сбора созданы за {time.perf_counter() - t:.0f} с")
    config = ServerConfig(collect_dir=root, registry_path=root / "registry.csv", period=PERIOD)
    c = _client(tmp, config, STAFF, workspace_service=FolderSyncService())
    _timed(c, "/staff/registry")  # the server's first page: imports, templates, the registry
    first = _timed(c, "/staff")  # nothing hashed or checked: the books go to the background
    _summaries(config, FolderSyncService())
    figures = {"board_first_view": (first, 1.0),
               "board_before_sync": (_best(c, "/staff"), 1.0),
               "board_xlsx_before_sync": (_best(c, "/staff/board.xlsx"), 1.0)}
    t = time.perf_counter()
    job = _start(c, "/staff/sync", PERIOD)
    state = _wait(c, f"/staff/sync/{job}/progress")
    assert state["state"] == "done", state
    print(f"  «Собрать свод» со страницы: {time.perf_counter() - t:.1f} с")
    figures |= {"board_after_sync": (_best(c, "/staff"), 1.0),
                "board_xlsx_after_sync": (_best(c, "/staff/board.xlsx"), 1.0)}
    return figures


def _summaries(config: ServerConfig, service: object) -> None:
    """Every book's check summary in the journal, as the background checks leave it: the
    view's cost does not depend on what the summaries say, and checking 2,000 books one by
    one takes minutes that measure the checks, not the board. The hashes are real."""
    from addin.web.journal import Check, now_iso
    from addin.web.workspace import Workspace

    ws = Workspace(config, service)
    t = time.perf_counter()
    for entry in ws.registry():
        path = ws.school_file(entry.code, entry)
        if path is not None and path.is_file():
            sha = ws.sha_of(path)
            if ws.journal.check(sha) is None:
                ws.journal.remember_check(Check(sha, entry.code, PERIOD, "ошибок нет", 0, 0, 0,
                                                "", now_iso()))
    print(f"  сводки проверок книг записаны за {time.perf_counter() - t:.0f} с")


def bench_region_board(tmp: Path, db_url: str, period: str) -> Figures:
    """The regional board, a municipality's page, the board's xlsx, and «Собрать свод
    региона» from the page (start to the master ready), over a filled regional store."""
    from sync.region_service import StoreRegionService

    config = ServerConfig(collect_dir=tmp / "рнц", region=True, db_url=db_url, period=period)
    c = _client(tmp, config, REGION, region_service=StoreRegionService(db_url))
    board = _best(c, f"/region?period={period}")
    code = re.search(r'class="region-row" data-code="([^"]+)"', c.get("/region").text)[1]
    figures = {"region_board": (board, 1.0),
               "region_municipality_page": (_best(c, f"/region/m/{code}?period={period}"), 1.0),
               "region_board_xlsx": (_best(c, f"/region/board.xlsx?period={period}"), 1.0)}
    t = time.perf_counter()
    job = _start(c, "/region/sync", period)
    state = _wait(c, f"/region/sync/{job}/progress")
    took = time.perf_counter() - t
    assert state["state"] == "done", state
    assert c.get(f"/region/runs/{job}/master").status_code == 200
    figures["region_master_from_page"] = (took, 15.0)
    return figures
