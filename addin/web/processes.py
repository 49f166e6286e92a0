"""Whether a process still runs: for sync jobs a killed server left behind (journal) and for
check workers whose server is gone (workers)."""

from __future__ import annotations

import os


def process_alive(pid: int) -> bool:
    """The process `pid` exists (one of another user's counts as existing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
