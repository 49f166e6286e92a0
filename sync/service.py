"""One monthly run of the municipal consolidation: registry -> sources -> consolidation ->
history store and master workbook, under a lock, all-or-nothing.

The store's transaction stays open while the master is written: if writing the master fails,
the period is not recorded either, and the previous master stays as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from addin.indicators import load_targets
from sync.consolidate import Consolidation, consolidate
from sync.figures import federal_figures
from sync.master import master_lock, write_master
from sync.pseudonym import load_or_create_key
from sync.sources import (
    Fetched,
    GoogleSheetsSource,
    SchoolEntry,
    SourceError,
    fetch_all,
    is_google_source,
    read_registry,
)
from sync.store import Store


@dataclass
class SyncOptions:
    """What `nastavnik sync` was asked to do."""

    registry: Path
    period: str
    out: Path
    source_dir: Path | None = None
    db_url: str | None = None
    pseudonymize: bool = False
    targets: Path | None = None
    google_key: Path | None = None
    google_endpoint: str | None = None
    reference_date: date | None = None


@dataclass
class SyncResult:
    consolidation: Consolidation
    master: Path
    store_url: str
    run_id: int
    seconds: float


def run_sync(opts: SyncOptions, progress: Callable[[SchoolEntry], Any] | None = None,
             checked: Callable[[Any], Any] | None = None) -> SyncResult:
    """Consolidate every school of the registry for one period (see module docstring).

    progress(entry) is called before each school is read, checked(result) after each check.
    """
    started = time.perf_counter()
    run_started = datetime.now(UTC)
    entries = read_registry(opts.registry)
    targets = load_targets(opts.targets)
    out = opts.out.resolve()
    with master_lock(out):
        fetched = _fetch(entries, opts, progress)
        store = Store.for_master(out, opts.db_url)
        cons = consolidate(fetched, opts.period, reference_date=opts.reference_date,
                           targets=targets, previous=store.previous_snapshots(opts.period),
                           progress=checked)
        figures = federal_figures(cons.participants, cons.pairs,
                                  {e.code: e.org_type for e in entries})
        history = _history_with(store.history(), cons)
        key = load_or_create_key(out.with_suffix(".pseudonym.key")) if opts.pseudonymize else None
        with store.transaction() as conn:
            run_id = store.save_period(cons, figures, run_started=run_started,
                                       registry=str(opts.registry), conn=conn)
            write_master(cons, out, history=history, figures=figures, pseudonymize_key=key)
    return SyncResult(cons, out, store.url.render_as_string(hide_password=True), run_id,
                      time.perf_counter() - started)


def _fetch(entries: list[SchoolEntry], opts: SyncOptions,
           progress: Callable[[SchoolEntry], Any] | None) -> list[Fetched]:
    google = None
    if any(is_google_source(e.source) for e in entries):
        try:
            google = GoogleSheetsSource.from_service_account(opts.google_key,
                                                             endpoint=opts.google_endpoint)
        except SourceError:
            google = None  # every Google school then gets the Russian reason from fetch_all
    source_dir = opts.source_dir if opts.source_dir is not None else opts.registry.parent
    return list(fetch_all(entries, source_dir, google, progress))


def _history_with(stored: pd.DataFrame, cons: Consolidation) -> pd.DataFrame:
    """Stored municipal history with this period's values in place of any stored ones."""
    current = pd.DataFrame([{
        "period": cons.period, "key": v.key, "title": v.title, "numerator": v.numerator,
        "denominator": v.denominator, "value": v.value, "target": v.target}
        for v in cons.municipal])
    if stored is None or stored.empty:
        return current
    earlier = stored[stored["period"] < cons.period]
    return pd.concat([earlier, current], ignore_index=True).sort_values(["period", "key"])
