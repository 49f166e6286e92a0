"""Run `nastavnik validate` on many files cheaply, each in a process of its own.

Starting the console script costs about a second per file (pandas and the rules are imported
anew); a corpus of 200+ files would take minutes. This runner imports the CLI once, then forks
one child per file: the child runs the console script's own entry point (`sync.cli.main`) with
`validate FILE` as its arguments, its output in files, exactly as a user's process would. The
parent caps each child's time and memory and reads the child's peak memory from wait4().

    python -m tests.corpus_runner < paths.json > results.json

Linux only (fork, /proc); the tests that use it run on Linux CI.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

#: Per-file caps: a child over them is killed and reported.
TIME_CAP = 30.0
MEMORY_CAP_KB = 1536 * 1024
PARALLEL = 2


@dataclass
class Outcome:
    """What one `nastavnik validate FILE` did."""

    path: str
    exit: int | None  # None when killed
    stdout: str
    stderr: str
    seconds: float
    max_rss_kb: int
    killed: str = ""  # "time" or "memory"


def _child(path: str, out: Path, err: Path, extra: list[str]) -> None:
    """Runs in the forked child: the console script's entry point, output to files."""
    code = 1
    try:
        with out.open("wb") as fo, err.open("wb") as fe:
            os.dup2(fo.fileno(), 1)
            os.dup2(fe.fileno(), 2)
        sys.argv = ["nastavnik", "validate", path, *extra]
        from sync.cli import main

        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 (what escapes main is the user's traceback)
        import traceback

        traceback.print_exc()
        code = 99
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run_all(paths: list[str], extra: list[str] | None = None, parallel: int = PARALLEL,
            time_cap: float = TIME_CAP) -> list[Outcome]:
    """Validate every path in a forked child, at most `parallel` at a time."""
    import sync.cli  # noqa: F401  (imported once, shared by every child)
    from addin import indicators, validate  # noqa: F401
    from addin.xlsx import annotate  # noqa: F401

    tmp = Path(tempfile.mkdtemp(prefix="corpus-runner-"))
    pending = list(enumerate(paths))
    running: dict[int, tuple[int, str, float]] = {}
    results: dict[int, Outcome] = {}
    killed: dict[int, str] = {}
    while pending or running:
        while pending and len(running) < parallel:
            i, path = pending.pop(0)
            pid = os.fork()
            if pid == 0:
                _child(path, tmp / f"{i}.out", tmp / f"{i}.err", extra or [])
            running[pid] = (i, path, time.monotonic())
        time.sleep(0.01)
        for pid, (i, path, started) in list(running.items()):
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done == 0:
                reason = _over_cap(pid, started, time_cap)
                if reason and pid not in killed:
                    killed[pid] = reason
                    os.kill(pid, signal.SIGKILL)
                continue
            del running[pid]
            results[i] = Outcome(
                path=path, exit=None if pid in killed else os.waitstatus_to_exitcode(status),
                stdout=_read(tmp / f"{i}.out"), stderr=_read(tmp / f"{i}.err"),
                seconds=round(time.monotonic() - started, 3), max_rss_kb=usage.ru_maxrss,
                killed=killed.pop(pid, ""))
    for f in tmp.iterdir():
        f.unlink()
    tmp.rmdir()
    return [results[i] for i in range(len(paths))]


def _over_cap(pid: int, started: float, time_cap: float) -> str:
    if time.monotonic() - started > time_cap:
        return "time"
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return ""
    for line in status.splitlines():
        if line.startswith("VmRSS:") and int(line.split()[1]) > MEMORY_CAP_KB:
            return "memory"
    return ""


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def baseline_rss_kb() -> int:
    """This process's peak memory so far (what each forked child starts from)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    os.environ.setdefault("COLUMNS", "200")
    os.environ.setdefault("NO_COLOR", "1")
    request = json.load(sys.stdin)
    outcomes = run_all(request["paths"], request.get("extra"))
    json.dump({"baseline_kb": baseline_rss_kb(), "outcomes": [asdict(o) for o in outcomes]},
              sys.stdout, ensure_ascii=False)
