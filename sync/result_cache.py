"""A judged school kept in the store, so that a re-sync of the period re-reads only the files
that changed (incremental re-sync).

A result is kept under the file's SHA-256 and the *engine version*: everything besides the
file that decides the result (program and template versions, the rule codes, the targets,
the reference date and the period). The payload is a small zip of JSON and Parquet: plain
data, never pickled objects, since a regional database is shared by many municipal centres.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import date, datetime
from importlib import metadata
from typing import Any

import pandas as pd

from addin.indicators import IndicatorValue
from addin.report import Report
from addin.rules import RULES, Finding, Severity
from sync.consolidate import SchoolResult, SchoolStatus
from sync.sources import Fetched
from workbook_templates import contract as C

FORMAT = 1


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


def dump(result: SchoolResult) -> bytes:
    """A judged school as bytes for the store."""
    report = result.report
    meta = {
        "status": result.status.value, "reason": result.reason, "counts": result.counts,
        "municipality": result.municipality,
        "indicators": [v.to_dict() for v in result.indicators],
        "report": None if report is None else {
            "source": report.source, "school_code": report.school_code,
            "school_name": report.school_name, "version": report.version,
            "reference_date": report.reference_date.isoformat()
            if report.reference_date else None,
            "findings": [f.to_dict() for f in report.findings]},
        "fetched": {"origin": result.fetched.origin, "source": result.fetched.source,
                    "fetched_at": result.fetched.fetched_at.isoformat(),
                    "attempts": result.fetched.attempts},
        "tables": sorted(result.tables),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("meta.json", json.dumps(meta, ensure_ascii=False))
        for name, frame in result.tables.items():
            zf.writestr(f"{name}.parquet", _parquet(frame))
    return buf.getvalue()


def load(payload: bytes, fetched: Fetched) -> SchoolResult:
    """A judged school back from the store, for the registry entry of this run."""
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        meta = json.loads(zf.read("meta.json"))
        tables = {name: _objects(pd.read_parquet(io.BytesIO(zf.read(f"{name}.parquet"))))
                  for name in meta["tables"]}
    stored = meta["fetched"]
    fetched.fetched_at = datetime.fromisoformat(stored["fetched_at"])
    fetched.attempts = stored["attempts"]
    result = SchoolResult(
        fetched.entry, SchoolStatus(meta["status"]), meta["reason"], fetched,
        _report(meta["report"]), [IndicatorValue(**v) for v in meta["indicators"]],
        meta["counts"], meta["municipality"])
    result.tables = tables
    return result


def _report(data: dict[str, Any] | None) -> Report | None:
    if data is None:
        return None
    findings = [Finding(**{**f, "severity": Severity(f["severity"])}) for f in data["findings"]]
    ref = data["reference_date"]
    return Report(source=data["source"], reference_date=date.fromisoformat(ref) if ref else None,
                  findings=findings, school_code=data["school_code"],
                  school_name=data["school_name"], version=data["version"])


def _objects(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as Python objects with None, as the judge makes them."""
    for c in frame.columns:
        if frame[c].dtype != object and pd.api.types.is_string_dtype(frame[c]):
            frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    return frame


def _parquet(frame: pd.DataFrame) -> bytes:
    # mixed Python objects (a number typed into a text column) are kept as text
    safe = frame.copy()
    for c in safe.columns:
        if safe[c].dtype == object:
            safe[c] = safe[c].map(lambda v: v if v is None or isinstance(v, str | bool)
                                  else (None if pd.isna(v) else str(v)))
    buf = io.BytesIO()
    safe.to_parquet(buf, index=False)
    return buf.getvalue()

