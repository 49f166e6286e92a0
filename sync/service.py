"""One monthly run of the municipal consolidation: registry -> sources -> consolidation ->
history store and master workbook, under a lock, all-or-nothing.

The master is written in a process of its own while the history is saved (`sync.beside`),
and put in place before the store's transaction commits: if writing the master fails, the
period is not recorded either, and the previous master stays as it was; if saving fails, the
written master is removed.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from addin.errors import WorkbookError
from addin.indicators import load_targets
from sync import result_cache
from sync.beside import Beside
from sync.consolidate import (
    Consolidation,
    Judged,
    SchoolResult,
    combine,
    judge_batch,
    merge_rows,
    reference_date_of,
)
from sync.figures import federal_figures
from sync.master import master_lock, render_master
from sync.pseudonym import load_or_create_key
from sync.result_cache import engine_version
from sync.sources.base import (
    Fetched,
    SchoolEntry,
    SourceError,
    is_google_source,
    is_web_address,
    spreadsheet_id,
)
from sync.sources.fetch import fetch_all
from sync.sources.folder import FolderSource
from sync.sources.registry import read_registry, registry_municipality
from sync.store import Store, run_token
from sync.version_window import VersionWindow, apply_window

if TYPE_CHECKING:
    from sync.sources.google import GoogleSheetsSource
    from sync.sources.webdav import WebDavSettings, WebDavSource

log = logging.getLogger(__name__)


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
    #: Read school files only inside the source folder (the server's workspace).
    confined: bool = False
    #: Books on WebDAV servers: the folder, login and password (`sync.sources.webdav`).
    webdav: WebDavSettings | None = None
    #: The municipality's name in the history, instead of the one the books give.
    municipality_name: str | None = None
    #: Who ran it (the workspace's staff login), kept in the history's run log.
    actor: str = ""
    #: The template versions accepted this period (sync.version_window).
    versions: VersionWindow = field(default_factory=VersionWindow)


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
        results = result_cache.ResultFile(out, opts.period)
        cached = results.read()
        google = (_google_client(opts) if any(is_google_source(e.source) for e in entries)
                  else None)
        drive = google.modified_times() if google is not None else {}
        webdav = _webdav_source(opts, entries)  # each folder listed once: sizes, versions
        kept, kept_rows = _unchanged(entries, opts, cached, version, drive, webdav)
        # the kept schools' items are in the store when its latest run of the period is the
        # one that wrote the results (a rolled-back or another run: all are written again)
        stored = kept and cached[result_cache.PERIOD_TABLES][0] == store.last_run(opts.period)
        for result in kept.values():
            if progress is not None:
                progress(result.entry)
            if checked is not None:
                checked(result)
        fresh = [(i, e) for i, e in enumerate(entries) if i not in kept]
        fresh_judged = _judge_all([e for _, e in fresh], opts, ref, targets, progress,
                                  checked, google, webdav)
        judged = dict(zip((i for i, _ in fresh), fresh_judged.schools, strict=True))
        schools = [kept[i] if i in kept else judged[i] for i in range(len(entries))]
        schools = apply_window(schools, opts.versions, opts.period)
        rows = merge_rows([kept_rows, fresh_judged.rows], [e.code for e in entries])
        cons = combine(Judged(schools, rows), opts.period, ref, targets=targets,
                       previous=store.previous_snapshots(opts.period))
        if opts.municipality_name:
            cons = replace(cons, municipality=opts.municipality_name)
        figures = federal_figures(cons.participants, cons.pairs, cons.org_types,
                                  records=cons.counted)
        history = _history_with(store.history(), cons)
        secret = (load_or_create_key(out.with_suffix(".pseudonym.key")) if opts.pseudonymize
                  else None)
        # the master is written beside the history (another core), put in place only when
        # both are done: if either fails, neither changes
        master = Beside(lambda: render_master(cons, out, history=history, figures=figures,
                                              pseudonymize_key=secret))
        pending = None
        try:
            with store.transaction() as conn:
                run_id = store.save_period(
                    cons, figures, run_started=run_started, registry=str(opts.registry),
                    conn=conn, unchanged=[schools[i].code for i in kept] if stored else (),
                    actor=opts.actor)
                kept_rows = _to_keep(cons, judged.values(), version, drive, {
                    schools[i].code: cached[schools[i].code] for i in kept},
                    run_token(run_id, run_started))
                pending = results.write(kept_rows)
                rendered = master.result()
                try:
                    rendered.publish()
                except BaseException:
                    rendered.discard()
                    raise
                results.commit(pending)
        except BaseException:
            _discard(master)
            raise
        finally:
            if pending is not None:
                pending.unlink(missing_ok=True)
    return SyncResult(cons, out, _where(store), run_id, time.perf_counter() - started,
                      reused=len(kept))


def _discard(master: Beside) -> None:
    """After a failure: wait for the master being written and remove it (or its error)."""
    try:
        master.result().discard()
    except Exception:  # noqa: BLE001 (the failure being raised is the one to report)
        pass


def _unchanged(entries: list[SchoolEntry], opts: SyncOptions,
               cached: dict[str, tuple[str, str, bytes]], version: str,
               drive: dict[str, str], webdav: WebDavSource | None = None
               ) -> tuple[dict[int, SchoolResult], dict[str, pd.DataFrame]]:
    """Schools whose file is the one judged in an earlier run of this period, under the same
    engine version: their stored results by registry position, and their rows. A file is
    known by its SHA-256 (a read of its bytes, not a parse), a spreadsheet by Drive's
    modifiedTime, a WebDAV file by the version its folder's listing gives."""
    period = cached.get(result_cache.PERIOD_TABLES)
    if period is None or period[1] != version:
        return {}, {}
    source = FolderSource(opts.source_dir if opts.source_dir is not None
                          else opts.registry.parent, confined=opts.confined)
    kept = {}
    for i, entry in enumerate(entries):
        stored = cached.get(entry.code)
        if stored is None or stored[1] != version:
            continue
        if is_google_source(entry.source):
            fetched = Fetched(entry, None, None, origin=entry.source, sha256=None,
                              fetched_at=datetime.now(UTC), source=entry.source)
        elif webdav is not None and webdav.settings.handles(entry.source):
            fetched = webdav.unread(entry)
        else:
            fetched = source.unread(entry)
        if _cache_key(entry, fetched, drive) == stored[0]:
            try:
                kept[i] = result_cache.load(stored[2], fetched)
            except Exception as exc:  # noqa: BLE001 (a damaged record: judge the file again)
                log.warning("stored result of %s unusable (%s)", entry.code, type(exc).__name__)
    try:
        rows = result_cache.load_tables(period[2], {r.code for r in kept.values()
                                                    if r.readable})
    except Exception as exc:  # noqa: BLE001 (damaged: judge every file again)
        log.warning("stored tables unusable (%s)", type(exc).__name__)
        return {}, {}
    return kept, rows


def _to_keep(cons: Consolidation, judged: Iterable[SchoolResult], version: str,
             drive: dict[str, str], kept: dict[str, tuple[str, str, bytes]], run: str
             ) -> list[tuple[str, str, str, bytes]]:
    """(code, cache key, engine version, payload) of every school this run judged or reused,
    and the table rows of every school of the period under the run's `run_token`."""
    rows = [(result_cache.PERIOD_TABLES, run, version, result_cache.dump_tables(cons.rows))]
    rows += [(code, key, ver, payload) for code, (key, ver, payload) in kept.items()]
    for r in judged:
        cache_key = _cache_key(r.entry, r.fetched, drive)
        if cache_key is not None:
            rows.append((r.code, cache_key, version, r.stored or result_cache.dump(r)))
    return rows


def _cache_key(entry: SchoolEntry, fetched: Fetched, drive: dict[str, str]) -> str | None:
    """What identifies the judged content: the file's SHA-256, the spreadsheet's
    modifiedTime in Drive, or the version a WebDAV server gave (None when unknown: the
    result is not kept)."""
    if fetched.version is not None:
        return fetched.version
    if not is_google_source(entry.source):
        return fetched.sha256
    moment = drive.get(spreadsheet_id(entry.source))
    return f"drive:{moment}" if moment else None


def _where(store: Store) -> str:
    """Where the history is, as a user would write it (no password)."""
    if store.url.drivername.startswith("sqlite") and store.url.database:
        return store.url.database
    return store.url.render_as_string(hide_password=True)


#: Below this many folder schools, worker processes cost more than they save.
PARALLEL_MIN_SCHOOLS = 8
MAX_WORKERS = 8
#: Schools judged as one batch: large enough that pandas' cost per operation vanishes (a
#: batch costs ~0.18 s besides ~14 ms per school: 0.9 ms per school at 200, 1.8 at 100),
#: small enough to bound a worker's memory and to move the progress bar.
BATCH_SCHOOLS = 200


def _judge_all(entries: list[SchoolEntry], opts: SyncOptions, ref: date,
               targets: dict[str, Any], progress: Callable[[SchoolEntry], Any] | None,
               checked: Callable[[Any], Any] | None,
               client: GoogleSheetsSource | None = None,
               webdav: WebDavSource | None = None) -> Judged:
    """Fetch and judge every school, in registry order (rows: in batches' order).

    Folder schools are read and judged in batches, in worker processes (one per core):
    reading is CPU-bound and batches are independent. Google schools are read one by one
    in this process (with `client`, made here when None), which paces requests for the API
    quota, then judged as one batch. WebDAV schools are downloaded and judged in batches
    in the workers, as folder schools are (`webdav` carries the folders' listing).
    """
    source_dir = opts.source_dir if opts.source_dir is not None else opts.registry.parent
    results: dict[int, SchoolResult] = {}
    rows: list[dict[str, pd.DataFrame]] = []

    def done(indexed: list[tuple[int, SchoolEntry]], judged: Judged,
             moved: bool = False) -> None:
        rows.append(judged.rows)
        for (i, entry), result in zip(indexed, judged.schools, strict=True):
            if progress is not None and not moved:
                progress(entry)
            results[i] = result
            if checked is not None:
                checked(result)

    on_dav = [(i, e) for i, e in enumerate(entries)
              if webdav is not None and webdav.settings.handles(e.source)]
    dav_codes = {i for i, _ in on_dav}
    folder = [(i, e) for i, e in enumerate(entries)
              if not is_google_source(e.source) and i not in dav_codes]
    online = [(i, e) for i, e in enumerate(entries) if is_google_source(e.source)]
    # a date given to the run is for every school; otherwise each form's own date counts
    own = opts.reference_date is None
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    disk = FolderSource(source_dir, confined=opts.confined)
    chunks = [(chunk, disk) for chunk in _chunks(folder, workers)]
    chunks += [(chunk, webdav) for chunk in _chunks(on_dav, workers)]
    if workers > 1 and len(folder) + len(on_dav) >= PARALLEL_MIN_SCHOOLS:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(_fetch_and_judge, [e for _, e in chunk], source_dir, ref,
                                   targets, opts.period, own, opts.confined, source): chunk
                       for chunk, source in chunks}
            for future in as_completed(futures):
                done(futures[future], future.result())
    else:
        for chunk, source in chunks:
            done(chunk, _fetch_and_judge([e for _, e in chunk], source_dir, ref, targets,
                                         opts.period, own, opts.confined, source))
    if online:
        client = client if client is not None else _google_client(opts)
        # the bar moves as each spreadsheet arrives: fetching, not judging, takes the time
        fetched = list(fetch_all([e for _, e in online], source_dir, client, progress))
        done(online, _judge_safely(fetched, ref, targets, opts.period, own_dates=own),
             moved=True)
    return Judged([results[i] for i in range(len(entries))],
                  merge_rows(rows, [e.code for e in entries]))


def _chunks(items: list, workers: int) -> list[list]:
    """Batches of at most BATCH_SCHOOLS, at least two per worker so the cores stay busy."""
    if not items:
        return []
    size = max(1, min(BATCH_SCHOOLS, -(-len(items) // (2 * workers))))
    return [items[k:k + size] for k in range(0, len(items), size)]


def _fetch_and_judge(entries: list[SchoolEntry], source_dir: Path, ref: date,
                     targets: dict[str, Any], period: str, own_dates: bool,
                     confined: bool = False,
                     source: FolderSource | WebDavSource | None = None) -> Judged:
    """A batch of folder (or WebDAV) schools, start to finish (runs in a worker process),
    each result also as the re-sync keeps it (serializing is work the cores share too)."""
    if source is None:
        source = FolderSource(source_dir, confined=confined)
    try:
        fetched = [source.fetch(e) for e in entries]
    finally:
        if hasattr(source, "close"):
            source.close()  # a WebDAV source's connections
    judged = _judge_safely(fetched, ref, targets, period, own_dates=own_dates)
    for r in judged.schools:
        if r.fetched.sha256:
            r.stored = result_cache.dump(r)
    return judged


CHECK_FAILED_RU = ("Книгу не удалось проверить из-за внутренней ошибки программы ({name}). "
                   "Сообщите разработчикам; остальные ОО обработаны.")


def _judge_safely(fetched: list[Fetched], ref: date, targets: dict[str, Any], period: str,
                  own_dates: bool) -> Judged:
    """judge_batch(); if it fails on some school's odd content, the schools are judged one by
    one and the failing one gets a status: one bad school never stops the run."""
    try:
        return judge_batch(fetched, ref, targets, period, own_dates=own_dates)
    except Exception as exc:  # noqa: BLE001
        if len(fetched) > 1:
            alone = [_judge_safely([f], ref, targets, period, own_dates) for f in fetched]
            return Judged([j.schools[0] for j in alone],
                          merge_rows([j.rows for j in alone],
                                     [f.entry.code for f in fetched]))
        error = WorkbookError(CHECK_FAILED_RU.format(name=type(exc).__name__),
                              source=fetched[0].source)
        return judge_batch([replace(fetched[0], sheets=None, error=error)], ref, targets,
                           period, own_dates=own_dates)


def _webdav_source(opts: SyncOptions, entries: list[SchoolEntry]) -> WebDavSource | None:
    """The WebDAV source of this run with every folder listed, or None when no entry is on
    WebDAV (webdav4 and httpx are imported only then)."""
    settings = opts.webdav
    if settings is None and not any(is_web_address(e.source) and not is_google_source(e.source)
                                    for e in entries):
        return None
    from sync.sources.webdav import WebDavSettings, WebDavSource

    if settings is None:
        settings = WebDavSettings(confined=opts.confined)  # addresses, no account given
    named = [e for e in entries if settings.handles(e.source)]
    if not named:
        return None
    source = WebDavSource(settings)
    try:
        source.list_files(named)
    finally:
        source.close()
    return source


def _google_client(opts: SyncOptions) -> GoogleSheetsSource | None:
    from sync.sources.google import GoogleSheetsSource  # gspread: only when a sheet is named

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
