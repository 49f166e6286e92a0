"""The collection folder the page submits to, read by `nastavnik sync --source-dir`.

Layout (``<collect>`` is ``nastavnik serve --collect-dir``)::

    <collect>/schools/<code>.<ext>                         the CURRENT file of each school
    <collect>/archive/<code>/<period>/<UTC time>-<sha256[:12]>.<ext>   every submitted version
    <collect>/submissions.jsonl                            one line per submission (no names)

One current file per school: a new submission replaces it (and removes a current file of the
same school with another extension), whatever its period; the archive keeps every version by
the workbook's «Отчётный период». Every file is written to a temporary name in its folder and
renamed into place, so `nastavnik sync` never reads half a file.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from addin.atomic_file import write_bytes
from addin.web import clock
from addin.web.access import valid_school_code

SUFFIXES = (".xlsx", ".xlsm", ".ods")
NO_PERIOD = "без-периода"
#: Submitted files are readable by the owner and the group (the sync may run in the group).
FILE_MODE = 0o640
_PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_lock = threading.Lock()


@dataclass(frozen=True)
class Receipt:
    """What the school is shown and the journal records after a submission."""

    school_code: str
    school_name: str
    period: str
    submitted_at: str  # ISO 8601, local time with offset
    sha256: str
    size: int
    current: str  # path relative to the collection folder, e.g. schools/ОО-001.xlsx
    archived: str  # path relative to the collection folder
    replaced: bool  # an earlier current file of this school was replaced


def period_folder(period: object) -> str:
    text = str(period or "").strip()
    return text if _PERIOD_RE.match(text) else NO_PERIOD


def submit(collect_dir: Path, checked: Path, school_code: str, school_name: str,
           period: object, now: datetime | None = None) -> Receipt:
    """Store an accepted workbook as the school's current file and in the archive."""
    suffix = checked.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"unsupported suffix {suffix}")
    if not valid_school_code(school_code):
        raise ValueError("school code is not a safe file name")
    payload = checked.read_bytes()
    digest = hashlib.sha256(payload).hexdigest()
    now = now or clock.now()
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    root = Path(collect_dir)
    folder = period_folder(period)
    current = root / "schools" / f"{school_code}{suffix}"
    archived = root / "archive" / school_code / folder / f"{stamp}-{digest[:12]}{suffix}"
    with _lock:
        write_bytes(archived, payload, mode=FILE_MODE, durable=True)
        replaced = any((root / "schools" / f"{school_code}{s}").exists() for s in SUFFIXES)
        write_bytes(current, payload, mode=FILE_MODE, durable=True)
        for other in SUFFIXES:
            if other != suffix:
                (root / "schools" / f"{school_code}{other}").unlink(missing_ok=True)
        receipt = Receipt(school_code, school_name, folder, now.isoformat(timespec="seconds"),
                          digest, len(payload), current.relative_to(root).as_posix(),
                          archived.relative_to(root).as_posix(), replaced)
        with (root / "submissions.jsonl").open("a", encoding="utf-8") as fh:
            record = {k: v for k, v in asdict(receipt).items() if k != "school_name"}
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return receipt
