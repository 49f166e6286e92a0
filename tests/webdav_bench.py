"""The bench's WebDAV figure: `nastavnik sync` of a municipality served by the local WebDAV
server (tests/webdav_server.py) against the same folder read from disk (scripts/bench)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.webdav_server import LOGIN, PASSWORD, DavServer

NASTAVNIK = Path(sys.executable).parent / "nastavnik"


def _sync(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run([str(NASTAVNIK), "sync", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env=env)
    took = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(proc.stderr[-2000:])
    return took


def bench_webdav_sync(root: Path, out: Path, env: dict[str, str] | None = None,
                      runs: int = 2) -> dict[str, float]:
    """Seconds of a first sync (a new master each run: nothing reused) of `root`'s registry
    from disk and from the WebDAV server serving `root`, best of `runs`, and their ratio."""
    env = dict(env or os.environ, NASTAVNIK_WEBDAV_PASSWORD=PASSWORD)
    registry = str(root / "registry.csv")
    common = ["--registry", registry, "--period", "2026-11"]
    disk = min(_sync([*common, "--out", str(out / f"disk-{k}.xlsx")], env)
               for k in range(runs))
    with DavServer(root) as dav:
        dav_s = min(_sync([*common, "--out", str(out / f"dav-{k}.xlsx"), "--source-webdav",
                           dav.url, "--webdav-login", LOGIN], env) for k in range(runs))
        gets = dav.count("GET")
    schools = sum(1 for _ in root.joinpath("schools").glob("*.xlsx"))
    return {"webdav_s": round(dav_s, 2), "folder_s": round(disk, 2),
            "ratio": round(dav_s / disk, 2), "schools": schools, "downloads": gets}
