"""One monthly run of the municipal consolidation: registry -> sources -> consolidation ->
history store and master workbook, under a lock, all-or-nothing.

The store's transaction stays open while the master is written: if writing the master fails,
the period is not recorded either, and the previous master stays as it was.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from addin.indicators import load_targets
from sync import result_cache
from sync.consolidate import (
    Consolidation,
    SchoolResult,
    combine,
    judge_batch,
    reference_date_of,
)
from sync.figures import federal_figures
from sync.master import master_lock, write_master
from sync.pseudonym import load_or_create_key
from sync.result_cache import engine_version
from sync.sources import (
    FolderSource,
    GoogleSheetsSource,
    SchoolEntry,
    SourceError,
    fetch_all,
    is_google_source,
    read_registry,
    registry_municipality,
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
    #: The municipality's code in the history (e.g. ОКТМО); else the registry's column.
    municipality_code: str | None = None


@dataclass
class SyncResult:
    consolidation: Consolidation
    master: Path
    store_url: str
    run_id: int
    seconds: float
    #: Schools whose results were taken from the store: their files had not changed.
    reused: int = 0


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
    ref = reference_date_of(opts.period, opts.reference_date)
    with master_lock(out):
        muni = opts.municipality_code or registry_municipality(entries)
        store = Store.for_master(out, opts.db_url, muni)
        version = engine_version(ref, opts.period, targets)
        kept = _unchanged(entries, opts, store.cached_results(muni, opts.period), version)
        for result in kept.values():
            if progress is not None:
                progress(result.entry)
            if checked is not None:
                checked(result)
        fresh = [(i, e) for i, e in enumerate(entries) if i not in kept]
        judged = dict(zip((i for i, _ in fresh),
                          _judge_all([e for _, e in fresh], opts, ref, targets, progress,
                                     checked), strict=True))
        schools = [kept[i] if i in kept else judged[i] for i in range(len(entries))]
        cons = combine(schools, opts.period, ref, targets=targets,
                       previous=store.previous_snapshots(opts.period))
        figures = federal_figures(cons.participants, cons.pairs,
                                  {e.code: e.org_type for e in entries})
        history = _history_with(store.history(), cons)
        key = load_or_create_key(out.with_suffix(".pseudonym.key")) if opts.pseudonymize else None
        with store.transaction() as conn:
            run_id = store.save_period(cons, figures, run_started=run_started,
                                       registry=str(opts.registry), conn=conn)
            store.save_results(muni, opts.period, [
                (r.code, r.fetched.sha256, version, result_cache.dump(r))
                for r in judged.values() if r.fetched.sha256], conn=conn)
            write_master(cons, out, history=history, figures=figures, pseudonymize_key=key)
    return SyncResult(cons, out, _where(store), run_id, time.perf_counter() - started,
                      reused=len(kept))


def _unchanged(entries: list[SchoolEntry], opts: SyncOptions,
               cached: dict[str, tuple[str, str, bytes]], version: str) -> dict[int, SchoolResult]:
    """Schools whose file is the one judged in an earlier run of this period, under the same
    engine version: their stored results, by registry position. Only folder files: a file's
    SHA-256 costs a read of its bytes, not a parse."""
    source = FolderSource(opts.source_dir if opts.source_dir is not None
                          else opts.registry.parent)
    kept = {}
    for i, entry in enumerate(entries):
        stored = cached.get(entry.code)
        if stored is None or stored[1] != version or is_google_source(entry.source):
            continue
        fetched = source.unread(entry)
        if fetched.sha256 == stored[0]:
            kept[i] = result_cache.load(stored[2], fetched)
    return kept


def _where(store: Store) -> str:
    """Where the history is, as a user would write it (no password)."""
    if store.url.drivername.startswith("sqlite") and store.url.database:
        return store.url.database
    return store.url.render_as_string(hide_password=True)


#: Below this many folder schools, worker processes cost more than they save.
PARALLEL_MIN_SCHOOLS = 8
MAX_WORKERS = 8
#: Schools judged as one batch: large enough that pandas' cost per operation vanishes,
#: small enough to bound a worker's memory and to move the progress bar.
BATCH_SCHOOLS = 100


def _judge_all(entries: list[SchoolEntry], opts: SyncOptions, ref: date,
               targets: dict[str, Any], progress: Callable[[SchoolEntry], Any] | None,
               checked: Callable[[Any], Any] | None) -> list[SchoolResult]:
    """Fetch and judge every school, in registry order.

    Folder schools are read and judged in batches, in worker processes (one per core):
    reading is CPU-bound and batches are independent. Google schools are read one by one
    in this process, which paces requests for the API quota, then judged as one batch.
    """
    source_dir = opts.source_dir if opts.source_dir is not None else opts.registry.parent
    results: dict[int, SchoolResult] = {}

    def done(indexed: list[tuple[int, SchoolEntry]], judged: list[SchoolResult],
             moved: bool = False) -> None:
        for (i, entry), result in zip(indexed, judged, strict=True):
            if progress is not None and not moved:
                progress(entry)
            results[i] = result
            if checked is not None:
                checked(result)

    folder = [(i, e) for i, e in enumerate(entries) if not is_google_source(e.source)]
    google = [(i, e) for i, e in enumerate(entries) if is_google_source(e.source)]
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    chunks = _chunks(folder, workers)
    if workers > 1 and len(folder) >= PARALLEL_MIN_SCHOOLS:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(_fetch_and_judge, [e for _, e in chunk], source_dir, ref,
                                   targets, opts.period): chunk for chunk in chunks}
            for future in as_completed(futures):
                done(futures[future], future.result())
    else:
        for chunk in chunks:
            done(chunk, _fetch_and_judge([e for _, e in chunk], source_dir, ref, targets,
                                         opts.period))
    if google:
        client = _google_client(opts)
        # the bar moves as each spreadsheet arrives: fetching, not judging, takes the time
        fetched = list(fetch_all([e for _, e in google], source_dir, client, progress))
        done(google, judge_batch(fetched, ref, targets, opts.period), moved=True)
    return [results[i] for i in range(len(entries))]


def _chunks(items: list, workers: int) -> list[list]:
    """Batches of at most BATCH_SCHOOLS, at least two per worker so the cores stay busy."""
    if not items:
        return []
    size = max(1, min(BATCH_SCHOOLS, -(-len(items) // (2 * workers))))
    return [items[k:k + size] for k in range(0, len(items), size)]


def _fetch_and_judge(entries: list[SchoolEntry], source_dir: Path, ref: date,
                     targets: dict[str, Any], period: str) -> list[SchoolResult]:
    """A batch of folder schools, start to finish (runs in a worker process)."""
    source = FolderSource(source_dir)
    return judge_batch([source.fetch(e) for e in entries], ref, targets, period)


def _google_client(opts: SyncOptions) -> GoogleSheetsSource | None:
    try:
        return GoogleSheetsSource.from_service_account(opts.google_key,
                                                       endpoint=opts.google_endpoint)
    except SourceError:
        return None  # every Google school then gets the Russian reason from fetch_all


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
