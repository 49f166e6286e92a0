"""Files replaced whole: written beside their target, then renamed over it.

``os.replace`` within one folder is atomic, so a reader (Excel, the server, the next sync)
meets either the old file or the new one, never half of one, and a failure leaves the old
file as it was. The temporary file is created by ``mkstemp`` (mode 0600) and named after the
target's extension, which some writers read.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(out: Path, *, mode: int | None = None) -> Iterator[Path]:
    """A temporary path beside `out` to write to: when the block ends it replaces `out`
    (given `mode`), and when the block raises it is removed."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".tmp-", suffix=out.suffix, dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(out: Path, data: bytes, *, mode: int | None = None,
                durable: bool = False) -> None:
    """Replace `out` with `data`; `durable`: on disk (fsync) before the rename, for files
    that must survive a power cut (submissions, access codes)."""
    with replacing(out, mode=mode) as tmp, tmp.open("wb") as fh:
        fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
