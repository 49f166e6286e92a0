"""The regional store as the regional board of `nastavnik serve --region` uses it
(``addin.web.region_view.RegionService``): which municipalities consolidated a period, when,
by whom and with what result, each one's organisations, and «Собрать свод региона» (the same
functions as `nastavnik region`).

The regional registry lists the region's municipalities: a CSV (separator «;») or xlsx with the
columns «код муниципалитета», «наименование» and, if wanted, «контакт». Without one, the board
shows the municipalities the store knows.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from addin.web.region_view import MunicipalityRow, OrganisationRow, RegionOutcome, RegionProblem

REGISTRY_COLUMNS = {"код муниципалитета": "code", "код": "code", "октмо": "code",
                    "наименование": "name", "муниципалитет": "name", "контакт": "contact"}
#: Statuses of `school_periods` that count as accepted (sync.consolidate.Status).
ACCEPTED = ("принят", "принят с предупреждениями")


class StoreRegionService:
    """`RegionService` over one regional database (see module docstring)."""

    def __init__(self, db_url: str, registry: Path | None = None,
                 targets: Path | None = None) -> None:
        self.db_url = db_url
        self.registry_path = registry
        self.targets = targets
        self._store: Any = None
        self._lock = threading.Lock()

    def _open(self) -> Any:
        from sqlalchemy.exc import SQLAlchemyError

        from sync.cli_errors import db_reason
        from sync.store import Store, normalize_url

        with self._lock:
            if self._store is None:
                try:
                    self._store = Store(self.db_url)
                except (SQLAlchemyError, ImportError) as exc:
                    shown = normalize_url(self.db_url).render_as_string(hide_password=True)
                    raise RegionProblem("База истории региона недоступна: "
                                        + db_reason(exc, shown)) from None
            return self._store

    def _read(self, what: Callable[[Any], Any]) -> Any:
        from sqlalchemy.exc import SQLAlchemyError

        from sync.cli_errors import db_reason

        store = self._open()
        try:
            return what(store)
        except SQLAlchemyError as exc:
            shown = store.url.render_as_string(hide_password=True)
            raise RegionProblem("База истории региона недоступна: "
                                + db_reason(exc, shown)) from None

    def periods(self) -> list[str]:
        from sqlalchemy import select

        from sync.store import runs

        def read(store: Any) -> list[str]:
            with store.engine.connect() as conn:
                return list(conn.scalars(select(runs.c.period).distinct()
                                         .order_by(runs.c.period.desc())))
        return self._read(read)

    def board(self, period: str) -> list[MunicipalityRow]:
        listed = read_region_registry(self.registry_path) if self.registry_path else []
        known, run_rows = self._read(lambda s: (s.region_municipalities(),
                                                s.region_runs(period)))
        names = dict(zip(known["code"], known["name"], strict=True))
        runs_of = {r["municipality"]: r for r in run_rows.to_dict("records")}
        rows = [self._row(code, name or names.get(code, ""), contact, runs_of.get(code))
                for code, name, contact in listed]
        seen = {code for code, _, _ in listed}
        rows += [self._row(code, names.get(code, ""), "", runs_of.get(code), unlisted=bool(
            listed)) for code in sorted(set(names) - seen)]
        return rows

    @staticmethod
    def _row(code: str, name: str, contact: str, run: dict[str, Any] | None,
             unlisted: bool = False) -> MunicipalityRow:
        if run is None:
            return MunicipalityRow(code, name, contact, unlisted=unlisted)
        return MunicipalityRow(code, name, contact, synced_at=_local(run["finished_at"]),
                               actor=str(run.get("actor") or ""), accepted=int(run["accepted"]),
                               total=int(run["schools"]), unlisted=unlisted)

    def organisations(self, municipality: str, period: str) -> list[OrganisationRow]:
        from sqlalchemy import select

        from sync.store import school_periods

        c = school_periods.c
        query = (select(c.school_code, c.name, c.org_type, c.status, c.errors, c.warnings)
                 .where(c.municipality == municipality, c.period == period)
                 .order_by(c.school_code))

        def read(store: Any) -> list[OrganisationRow]:
            with store.engine.connect() as conn:
                return [OrganisationRow(code, name or "", org_type or "", status,
                                        status in ACCEPTED, errors, warnings)
                        for code, name, org_type, status, errors, warnings in
                        conn.execute(query)]
        return self._read(read)

    def build(self, period: str, folder: Path,
              progress: Callable[[int, int, str], None]) -> RegionOutcome:
        """`nastavnik region --period` and `--year` of the period's year, into `folder`."""
        from sqlalchemy.exc import SQLAlchemyError

        from sync.cli_errors import Refused, load_targets_ru
        from sync.federal_form import FederalFormError, write_default_form
        from sync.region import (
            DEFAULT_REGION,
            RegionError,
            build_region,
            periods_text,
            region_figures_of_year,
            write_region,
        )

        started = time.perf_counter()
        store = self._open()
        year = int(period[:4])
        try:
            progress(0, 3, "чтение базы")
            goals = load_targets_ru(self.targets)
            region = build_region(store, period, goals, DEFAULT_REGION)
            progress(1, 3, "сводная книга региона")
            master = write_region(region, folder / f"регион-{period}.xlsx")
            progress(2, 3, "форма региона")
            figures, latest = region_figures_of_year(store, year)
            form = folder / f"форма-региона-{year}.xlsx"
            write_default_form(figures, form, year=year, municipality=DEFAULT_REGION,
                               period=periods_text(latest))
            progress(3, 3, "готово")
        except (RegionError, FederalFormError) as exc:
            raise RegionProblem(exc.message_ru) from None
        except Refused as exc:
            raise RegionProblem(str(exc)) from None
        except SQLAlchemyError as exc:
            from sync.cli_errors import db_reason

            raise RegionProblem("База истории региона недоступна: " + db_reason(
                exc, store.url.render_as_string(hide_password=True))) from None
        return RegionOutcome(master, form, len(region.synced), len(region.municipalities),
                             time.perf_counter() - started)


def read_region_registry(path: Path) -> list[tuple[str, str, str]]:
    """(code, name, contact) of every municipality of the regional registry."""
    try:
        if path.suffix.lower() == ".xlsx":
            rows = _xlsx_rows(path)
        else:
            text = path.read_text(encoding="utf-8-sig")
            sep = ";" if ";" in text.splitlines()[0] else ","
            rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    except (OSError, UnicodeDecodeError, IndexError, ValueError) as exc:
        raise RegionProblem(f"Реестр муниципалитетов {path.name} не читается "
                            f"({type(exc).__name__}): нужен CSV (UTF-8, «;») или xlsx.") from None
    if not rows:
        raise RegionProblem(f"Реестр муниципалитетов {path.name} пуст.")
    header = [REGISTRY_COLUMNS.get(" ".join(str(h).lower().split()), "") for h in rows[0]]
    if "code" not in header:
        raise RegionProblem(f"В реестре муниципалитетов {path.name} нет столбца «код "
                            "муниципалитета» (и «наименование», «контакт»).")
    out = []
    for row in rows[1:]:
        cells = {key: " ".join(str(v or "").split()) for key, v in zip(header, row,
                                                                       strict=False) if key}
        if cells.get("code"):
            out.append((cells["code"], cells.get("name", ""), cells.get("contact", "")))
    return out


def _xlsx_rows(path: Path) -> list[list[Any]]:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    return book.get_sheet_by_index(0).to_python()


def _local(moment: datetime | None) -> str:
    """A stored naive-UTC time in the server's zone, ISO."""
    if moment is None or moment != moment:  # None or NaT
        return ""
    if hasattr(moment, "to_pydatetime"):  # a pandas Timestamp from a frame
        moment = moment.to_pydatetime()
    return moment.replace(tzinfo=UTC).astimezone().isoformat(timespec="seconds")
