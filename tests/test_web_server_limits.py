"""Server leftovers (issue 16, item 4): a refused login waits without a thread-pool worker, the
result limit is per session, an unexpected error is one log line. (Replacing a code ends the
sessions: tests/test_web_workspace.py, on the real server.)

The app runs in this process: through httpx's ASGI transport where only the event loop
matters, and under a real uvicorn server on 127.0.0.1 where the log is what is tested.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path

import anyio.to_thread
import httpx
import pytest

from addin.web.access import add_school_code
from addin.web.app import create_app
from addin.web.config import ServerConfig
from addin.web.results import Entry, ResultStore
from tests.web_bench import csrf_of, free_port


def test_failed_logins_wait_without_holding_a_worker(tmp_path: Path) -> None:
    """With ONE worker thread, two refused logins are both waiting out their delay when a
    request that needs a worker (GET /health) comes, and it is answered first: the waits are
    in the event loop. (Were they in worker threads, the second refusal could only happen
    after the first login had answered.)"""
    codes = tmp_path / "codes.txt"
    add_school_code(codes, "ОО-001", "right-code-001")
    app = create_app(ServerConfig(access_file=codes))
    finished: list[str] = []

    async def scenario() -> None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 1
        loop = asyncio.get_running_loop()
        both_refused = asyncio.Event()
        refused = 0

        class Watch(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                nonlocal refused
                if record.getMessage().startswith("login refused"):
                    refused += 1
                    if refused == 2:
                        loop.call_soon_threadsafe(both_refused.set)

        watch = Watch()
        logging.getLogger("nastavnik.web").addHandler(watch)
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport,
                                         base_url="http://127.0.0.1") as c:
                token = csrf_of((await c.get("/login")).text)

                async def wrong(i: int) -> None:
                    r = await c.post("/login", data={"csrf": token, "school": "ОО-001",
                                                     "code": f"wrong-{i}"})
                    assert r.status_code == 401
                    finished.append("login")

                async def health() -> None:
                    await both_refused.wait()
                    r = await c.get("/health")
                    assert r.status_code == 200
                    finished.append("health")

                await asyncio.wait_for(asyncio.gather(wrong(1), wrong(2), health()), 60)
        finally:
            logging.getLogger("nastavnik.web").removeHandler(watch)

    asyncio.run(scenario())
    assert finished == ["health", "login", "login"]


def _entry(store: ResultStore, sid: str, n: int) -> Entry:
    folder = store.new_folder()
    return Entry(token=f"{sid}-{n}", folder=folder, created=time.time(), sid=sid,
                 display_name="книга.xlsx", suffix=".xlsx", report_path=folder / "report.json",
                 status="принято")


def test_result_limit_is_per_session() -> None:
    store = ResultStore(per_session=3)
    try:
        store.add(_entry(store, "a", 0))
        for n in range(10):  # one visitor floods the server
            store.add(_entry(store, "b", n))
        assert store.get("a-0", "a") is not None  # the other visitor keeps its result
        assert [n for n in range(10) if store.get(f"b-{n}", "b")] == [7, 8, 9]
        assert len(list(store.root.iterdir())) == 4  # the flood's folders are removed
    finally:
        store.close()


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def log_records():
    handler = _Collect()
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler.records
    root.removeHandler(handler)
    root.setLevel(old)


def test_unexpected_error_is_one_log_line_without_values(tmp_path: Path, log_records) -> None:
    import uvicorn

    app = create_app(ServerConfig(collect_dir=tmp_path))
    secret = "Иванов Иван Иванович 01.02.2010"

    def boom(token: str) -> None:
        raise ValueError(f"cell value {secret}")

    app.add_api_route("/boom/{token}", boom)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           log_level="info", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        r = httpx.get(f"http://127.0.0.1:{port}/boom/abc", headers={"Accept": "text/html"},
                      timeout=30)
        assert r.status_code == 500 and "Внутренняя ошибка сервера" in r.text
        assert secret not in r.text and "Traceback" not in r.text
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    errors = [rec for rec in log_records if rec.levelno >= logging.ERROR]
    assert [rec.getMessage() for rec in errors] == ["500 GET /boom/{token}: ValueError"]
    assert all(rec.exc_info is None for rec in log_records)
    assert not any(secret in rec.getMessage() for rec in log_records)
