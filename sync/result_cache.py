"""Judged schools kept beside the master, so that a re-sync of the period re-reads only the
files that changed (incremental re-sync).

The results hold what the master holds (names and birth dates of participants among them), so
they live in a file beside the master workbook (`СВОД.results-ГГГГ-ММ.zip`), never in the
history store: the store, and a regional database above all, keeps no personal data.

A result is kept under the file's SHA-256 and the *engine version*: everything besides the
file that decides the result (program and template versions, the rule codes, the targets,
the reference date and the period). A school's payload is compressed JSON; the table rows of
all schools of the period are kept together in one row (PERIOD_TABLES), as Arrow IPC streams:
plain data, never pickled objects, since a regional database is shared by many municipal
centres.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
import zlib
from datetime import date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from addin.indicators import IndicatorValue
from addin.report import Report
from addin.rules import RULES, Finding, Severity
from sync.consolidate import SchoolResult, SchoolStatus
from sync.sources.base import Fetched
from workbook_templates import contract as C

#: Bump when the payload changes: results kept by an older format are judged again.
FORMAT = 7


def engine_version(reference_date: date, period: str, targets: dict[str, Any]) -> str:
    """A digest of everything besides the file that decides a school's result."""
    try:
        program = metadata.version("nastavnik")
    except metadata.PackageNotFoundError:  # running from a source tree
        program = "dev"
    basis = {"format": FORMAT, "program": program, "template": C.TEMPLATE_VERSION,
             "rules": sorted(RULES), "targets": targets, "reference_date": str(reference_date),
             "period": period}
    blob = json.dumps(basis, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


#: The store row that keeps the tables of every school of the period (not a school code).
PERIOD_TABLES = "*"


class ResultFile:
    """The results of one period beside the master: school code -> (cache key, engine version,
    payload), plus the period's table rows under PERIOD_TABLES. Replaced whole, atomically."""

    def __init__(self, master: Path, period: str) -> None:
        self.path = master.with_name(f"{master.stem}.results-{period}.zip")

    def read(self) -> dict[str, tuple[str, str, bytes]]:
        """What an earlier run of the period kept; empty when there is none or it is unusable."""
        try:
            with zipfile.ZipFile(self.path) as zf:
                index = json.loads(zf.read("index.json"))
                return {code: (key, version, zf.read(member))
                        for code, (key, version, member) in index.items()}
        except (OSError, KeyError, ValueError, zipfile.BadZipFile):
            return {}

    def write(self, rows: list[tuple[str, str, str, bytes]]) -> Path:
        """Write (code, cache key, engine version, payload) rows to a temporary file beside
        the final one; `commit` puts it in place (after the master)."""
        tmp = self.path.with_name(f".~{self.path.name}.{os.getpid()}")
        index = {}
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:  # payloads are compressed
            for n, (code, key, version, payload) in enumerate(rows):
                index[code] = (key, version, f"{n}.bin")
                zf.writestr(f"{n}.bin", payload)
            zf.writestr("index.json", json.dumps(index, ensure_ascii=False))
        return tmp

    def commit(self, tmp: Path) -> None:
        os.replace(tmp, self.path)


def dump(result: SchoolResult) -> bytes:
    """A judged school as bytes, without its table rows: those are kept for the whole period
    at once (`dump_tables`), so a re-sync reads three tables, not thousands."""
    report = result.report
    meta = {
        "format": FORMAT, "status": result.status.value, "reason": result.reason,
        "counts": result.counts, "municipality": result.municipality,
        "indicators": [v.to_dict() for v in result.indicators],
        "report": None if report is None else {
            "source": report.source, "school_code": report.school_code,
            "school_name": report.school_name, "version": report.version,
            "reference_date": report.reference_date.isoformat()
            if report.reference_date else None,
            "findings": [f.to_dict() for f in report.findings]},
        "fetched": {"origin": result.fetched.origin, "source": result.fetched.source,
                    "sha256": result.fetched.sha256,
                    "fetched_at": result.fetched.fetched_at.isoformat(),
                    "attempts": result.fetched.attempts},
    }
    return zlib.compress(json.dumps(meta, ensure_ascii=False).encode(), 1)


def load(payload: bytes, fetched: Fetched) -> SchoolResult:
    """A judged school back for this run's registry entry (its rows: `load_tables`)."""
    meta = json.loads(zlib.decompress(payload))
    stored = meta["fetched"]
    fetched.fetched_at = datetime.fromisoformat(stored["fetched_at"])
    fetched.sha256 = stored["sha256"]
    fetched.attempts = stored["attempts"]
    return SchoolResult(
        fetched.entry, SchoolStatus(meta["status"]), meta["reason"], fetched,
        _report(meta["report"]), [IndicatorValue(**v) for v in meta["indicators"]],
        meta["counts"], meta["municipality"])


def dump_tables(rows: dict[str, pd.DataFrame]) -> bytes:
    """The table rows of every school of the period (`Consolidation.rows`: participants,
    pairs, roadmap); each row carries its school's registry code (`school_code`)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:  # the streams are compressed
        for name in TABLES:
            if name in rows:
                zf.writestr(f"{name}.arrow", _arrow(rows[name]))
    return buf.getvalue()


def load_tables(payload: bytes, schools: set[str]) -> dict[str, pd.DataFrame]:
    """The rows of `schools` (registry codes) from `dump_tables`, each table whole."""
    out: dict[str, pd.DataFrame] = {}
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        for name in TABLES:
            if f"{name}.arrow" not in zf.namelist():
                raise KeyError(name)
            out[name] = _frame(zf.read(f"{name}.arrow"), schools)
    return out


TABLES = ("participants", "pairs", "roadmap")
CODE = "school_code"  # every municipal table row carries its school's registry code


def _report(data: dict[str, Any] | None) -> Report | None:
    if data is None:
        return None
    findings = [Finding(**{**f, "severity": Severity(f["severity"])}) for f in data["findings"]]
    ref = data["reference_date"]
    return Report(source=data["source"], reference_date=date.fromisoformat(ref) if ref else None,
                  findings=findings, school_code=data["school_code"],
                  school_name=data["school_name"], version=data["version"])


def _arrow(frame: pd.DataFrame) -> bytes:
    """A table as an Arrow IPC stream (lz4); a column of mixed Python objects (a number typed
    into a text column) is kept as text."""
    columns = {}
    for c in frame.columns:
        try:
            columns[c] = pa.array(frame[c], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            columns[c] = pa.array(frame[c].map(
                lambda v: None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)))
    table = pa.table(columns)
    buf = io.BytesIO()
    options = ipc.IpcWriteOptions(compression="lz4")  # zstd: a third smaller, twice slower
    with ipc.new_stream(buf, table.schema, options=options) as writer:
        writer.write_table(table)
    return buf.getvalue()


def _frame(data: bytes, schools: set[str]) -> pd.DataFrame:
    """The rows of `schools` back; text columns as Python objects with None, as the judge
    makes them."""
    with ipc.open_stream(data) as reader:
        table = reader.read_all()
    wanted = pa.array(sorted(schools), type=pa.string()).cast(table.schema.field(CODE).type)
    table = table.filter(pc.is_in(table[CODE], value_set=wanted))
    return pd.DataFrame({
        name: (pd.Series(col.to_numpy(), dtype=object)
               if pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
               else col.to_pandas())
        for name, col in zip(table.column_names, table.columns, strict=True)})
