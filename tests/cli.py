"""Run the installed `nastavnik` console script as a user would (a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

NASTAVNIK = Path(sys.executable).parent / "nastavnik"


def run(*args: object, timeout: float = 300) -> subprocess.CompletedProcess:
    """`nastavnik ARGS` with no stdin; returns the finished process (text output)."""
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1")
    return subprocess.run([str(NASTAVNIK), *map(str, args)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout, env=env)
