"""The regional master: every municipality of one history database, built from the store alone.

``build_region`` reads what each municipal sync saved (municipal indicator sums, per-school
statuses, the federal figures, the run log) and never opens a school file; ``write_region``
renders it with the master's writer (atomically, xlsxwriter). Regional indicators are sums of
the municipalities' numerators over sums of their denominators, as a municipality's are sums
over its schools, and are compared with the region's targets (``--targets``), which may differ
from the municipalities' own; «До цели» says what is missing to them, with the master's writers
(``indicator_table``, ``gap_table``).

The store holds no names or birth dates (only school-local IDs, which this module does not
read either), so neither does the regional master.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from addin.indicators import BY_KEY, INDICATORS, IndicatorValue, from_sums
from sync.consolidate import SchoolStatus
from sync.figures import COLUMNS as FIGURE_COLUMNS
from sync.figures import ORG_TYPES, TOTAL
from sync.master import (
    CHART_HEIGHT,
    CHART_PERCENT,
    CHART_TARGET,
    CHART_WIDTH,
    FIGURE_HEADERS,
    GAP_HEADERS,
    GREEN,
    MAIN_INDICATORS,
    RED,
    SHEET_GAPS,
    STATUS_FILL,
    TIME_FORMAT,
    MasterBook,
    Table,
    gap_table,
    indicator_table,
    put_in_place,
    target_chart,
)
from sync.store import Store
from workbook_templates import contract as C

# ====================================================================== layout
SHEET_MUNICIPALITIES = "Муниципалитеты"
SHEET_INDICATORS = "Показатели региона"
SHEET_BY_MUNICIPALITY = "Показатели по МО"
SHEET_CHARTS = "Диаграммы"
SHEET_DYNAMICS = "Динамика"
SHEET_MISSING = "Не сдали"
SHEET_SCHOOLS = "ОО по МО"
SHEET_FIGURES = "Численность участников"
SHEETS = (SHEET_MUNICIPALITIES, SHEET_INDICATORS, SHEET_GAPS, SHEET_BY_MUNICIPALITY,
          SHEET_CHARTS, SHEET_DYNAMICS, SHEET_MISSING, SHEET_SCHOOLS, SHEET_FIGURES)

TITLE = "{region}: сводная книга региона, период {period}"
DEFAULT_REGION = "Регион"
NO_CODE_LABEL = "(без кода)"
STATUSES = [s.value for s in SchoolStatus]
MUNICIPALITY_HEADERS = {
    "code": "Код МО", "name": "Муниципалитет", "synced": "Сбор за период",
    "finished_at": "Сбор завершён (UTC)", "schools": "ОО в реестре", "accepted": "Принято ОО",
    "rejected": "Не принято ОО", **{f"status:{s}": f"ОО: {s}" for s in STATUSES},
}
VALUE_HEADER = "{title}, %"
MET_HEADER = "{title}: цель достигнута"
BY_MUNICIPALITY_HEADERS = {
    "code": "Код МО", "name": "Муниципалитет", "title": "Показатель",
    "numerator": "Числитель", "denominator": "Знаменатель", "value": "Значение, %",
    "target": "Цель, %", "met": "Цель достигнута",
}
#: «До цели»: the region first, then every municipality that synced the period.
GAP_REGION = "Регион"
REGION_GAP_HEADERS = GAP_HEADERS | {"code": "Код МО", "name": "Муниципалитет"}
MISSING_HEADERS = {"code": "Код МО", "name": "Муниципалитет",
                   "last_period": "Последний период сбора"}
SCHOOL_HEADERS = {
    "municipality": "Код МО", "school_code": "Код ОО", "name": "Наименование", "org_type": "Тип",
    "status": "Статус", "reason": "Причина", "errors": "Ошибок", "warnings": "Предупреждений",
    "mentors": "Наставников", "mentees": "Наставляемых", "active_pairs": "Пар (действующих)",
}
DYNAMICS_HEADERS = {"period": "Период", "municipalities": "Муниципалитетов сдали",
                    **{d.key: VALUE_HEADER.format(title=d.title) for d in INDICATORS}}
DYNAMICS_TITLE = "Показатели региона по периодам, % (суммы по сдавшим муниципалитетам)"
CHART_TABLE = "Показатели муниципалитетов и цели региона, %"
CHART_BY_MUNICIPALITY = "{title}: муниципалитеты и цель региона"
CHART_DYNAMICS = "Показатели региона по периодам"


class RegionError(Exception):
    """The regional master cannot be built; ``message_ru`` says why and what to do."""

    def __init__(self, message_ru: str) -> None:
        super().__init__(message_ru)
        self.message_ru = message_ru


@dataclass
class Region:
    """The region in one period: what ``write_region`` renders."""

    period: str
    name: str
    #: Every known municipality: code, name, synced, run figures, status counts.
    municipalities: pd.DataFrame
    #: code -> that municipality's indicators against the region's targets (synced ones).
    by_municipality: dict[str, list[IndicatorValue]]
    #: Sums over the municipalities that synced the period.
    indicators: list[IndicatorValue]
    #: Municipalities known to the store without a run of this period.
    missing: pd.DataFrame
    schools: pd.DataFrame
    #: Period x indicator values of the region, with the number of municipalities summed.
    dynamics: pd.DataFrame
    figures: pd.DataFrame

    @property
    def synced(self) -> list[str]:
        return [c for c in self.municipalities["code"] if c in self.by_municipality]


# ====================================================================== building
def build_region(store: Store, period: str, targets: dict[str, Any] | None = None,
                 name: str = DEFAULT_REGION) -> Region:
    """Everything of the regional master for ``period``, from the store only."""
    known = store.region_municipalities()
    run_rows = store.region_runs(period)
    if run_rows.empty:
        raise RegionError(f"В базе нет ни одного сбора за период {period}: муниципалитеты "
                          "выполняют nastavnik sync --db … с этим периодом.")
    history = store.region_history(until=period)
    year = int(period[:4])
    by_municipality = {
        code: from_sums(_sums(rows), year=year, targets=targets)
        for code, rows in history[history["period"] == period].groupby("municipality")}
    schools = store.region_schools(period)
    synced = set(run_rows["municipality"])
    missing = known[~known["code"].isin(synced)][["code", "name", "last_period"]]
    return Region(
        period=period, name=name,
        municipalities=_municipalities(known, run_rows, schools),
        by_municipality=by_municipality,
        indicators=from_sums(_sums(history[history["period"] == period]), year=year,
                             targets=targets),
        missing=missing.reset_index(drop=True), schools=schools,
        dynamics=_dynamics(history, targets),
        figures=sum_figures([store.municipality_figures(code, period)
                             for code in sorted(synced)]))


def _sums(rows: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """(sum of numerators, sum of denominators) per indicator key."""
    grouped = rows.groupby("key")[["numerator", "denominator"]].sum()
    return {k: (float(r.numerator), float(r.denominator)) for k, r in grouped.iterrows()}


def _municipalities(known: pd.DataFrame, run_rows: pd.DataFrame,
                    schools: pd.DataFrame) -> pd.DataFrame:
    runs = run_rows.set_index("municipality")
    counts = (schools.groupby(["municipality", "status"]).size().unstack(fill_value=0)
              .reindex(columns=STATUSES, fill_value=0))
    rows = []
    for code, name in zip(known["code"], known["name"], strict=True):
        row: dict[str, Any] = {"code": code, "name": name, "synced": code in runs.index}
        if row["synced"]:
            run = runs.loc[code]
            row |= {"finished_at": run["finished_at"], "schools": int(run["schools"]),
                    "accepted": int(run["accepted"]), "rejected": int(run["rejected"])}
            status = counts.loc[code] if code in counts.index else None
            for s in STATUSES:
                row[f"status:{s}"] = 0 if status is None else int(status[s])
        rows.append(row)
    return pd.DataFrame(rows, columns=[*MUNICIPALITY_HEADERS])


def _dynamics(history: pd.DataFrame, targets: dict[str, Any] | None) -> pd.DataFrame:
    rows = []
    for period, group in history.groupby("period", sort=True):
        values = from_sums(_sums(group), year=int(str(period)[:4]), targets=targets)
        rows.append({"period": period, "municipalities": group["municipality"].nunique(),
                     **{v.key: v.value for v in values}})
    return pd.DataFrame(rows, columns=list(DYNAMICS_HEADERS)).astype(
        {d.key: float for d in INDICATORS})


def sum_figures(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """The federal table of many municipalities: counts summed row by row, rows in order."""
    tables = [t for t in tables if not t.empty]
    if not tables:
        return pd.DataFrame(columns=FIGURE_COLUMNS)
    both = pd.concat(tables, ignore_index=True)
    counts = both.groupby("row_key", sort=False)[[*ORG_TYPES, TOTAL]].sum()
    labels = both.drop_duplicates("row_key").set_index("row_key")[["section", "label"]]
    out = labels.join(counts).reset_index()[FIGURE_COLUMNS]
    return out.astype({c: "int64" for c in (*ORG_TYPES, TOTAL)})


def region_figures_of_year(store: Store, year: int) -> tuple[pd.DataFrame, dict[str, str]]:
    """The region's federal table for a year: each municipality's last period of the year,
    summed; and which period each municipality gave."""
    latest = store.region_latest_of_year(year)
    if not latest:
        raise RegionError(f"В базе нет сборов за {year} год: муниципалитеты выполняют "
                          "nastavnik sync --db ….")
    figures = sum_figures([store.municipality_figures(code, period)
                           for code, period in sorted(latest.items())])
    return figures, latest


def periods_text(latest: dict[str, str]) -> str:
    """«2026-12» when every municipality gave one period, else the range and how many gave it."""
    periods = sorted(set(latest.values()))
    if len(periods) == 1:
        return periods[0]
    return f"{periods[0]} … {periods[-1]} (муниципалитетов: {len(latest)})"


# ====================================================================== writing
def write_region(region: Region, out: Path) -> Path:
    """Write the regional master to ``out`` atomically; return ``out``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".~{out.stem}.{os.getpid()}.{secrets.token_hex(4)}{out.suffix}")
    try:
        with tempfile.TemporaryDirectory(prefix="nastavnik-region-",
                                         ignore_cleanup_errors=True) as scratch:
            _render(region, tmp, scratch)
        put_in_place(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


def _render(region: Region, path: Path, scratch: str) -> None:
    book = MasterBook(path, scratch, TITLE.format(region=region.name, period=region.period))
    try:
        book.wb.set_properties({"title": book.title_text, "subject": region.period,
                                "comments": "nastavnik region"})
        book.table(SHEET_MUNICIPALITIES, _municipality_table(region), freeze_cols=2)
        book.table(SHEET_INDICATORS, indicator_table(region.indicators), freeze_cols=1)
        book.table(SHEET_GAPS, _gap_table(region), freeze_cols=3)
        book.table(SHEET_BY_MUNICIPALITY, _by_municipality_table(region), freeze_cols=2)
        _charts(book, region)
        book.table(SHEET_DYNAMICS, Table(region.dynamics, DYNAMICS_HEADERS,
                                         {d.key: "0.0" for d in INDICATORS}), freeze_cols=1)
        book.table(SHEET_MISSING, Table(_labelled(region.missing), MISSING_HEADERS))
        book.table(SHEET_SCHOOLS, _school_table(region.schools), freeze_cols=2)
        book.table(SHEET_FIGURES, Table(region.figures, FIGURE_HEADERS,
                                        widths={"section": 30.0, "label": 50.0}),
                   freeze_cols=2)
    except BaseException:
        book.abandon()
        raise
    book.close()


def _labelled(frame: pd.DataFrame, column: str = "code") -> pd.DataFrame:
    """The empty municipality code shown as words, not as a blank cell."""
    return frame.assign(**{column: frame[column].replace("", NO_CODE_LABEL)})


def _mark(met: bool | None) -> str | None:
    return None if met is None else (C.YES if met else C.NO)


def _met_fill(v: IndicatorValue | None) -> dict[str, Any] | None:
    if v is None or v.met is None:
        return None
    return {"bg_color": GREEN if v.met else RED}


def _municipality_table(region: Region) -> Table:
    frame = _labelled(region.municipalities).copy()
    frame["synced"] = frame["synced"].map(lambda s: C.YES if s else C.NO)
    frame["finished_at"] = [None if pd.isna(t) else pd.Timestamp(t).strftime(TIME_FORMAT)
                            for t in frame["finished_at"]]
    headers = dict(MUNICIPALITY_HEADERS)
    codes = list(region.municipalities["code"])
    styles: dict[str, list] = {"synced": [None if c in region.by_municipality
                                          else {"bg_color": RED} for c in codes]}
    for d in INDICATORS:
        values = [_value_of(region, c, d.key) for c in codes]
        frame[f"value:{d.key}"] = [None if v is None else v.value for v in values]
        frame[f"met:{d.key}"] = [None if v is None else _mark(v.met) for v in values]
        headers[f"value:{d.key}"] = VALUE_HEADER.format(title=d.title)
        headers[f"met:{d.key}"] = MET_HEADER.format(title=d.title)
        styles[f"value:{d.key}"] = styles[f"met:{d.key}"] = [_met_fill(v) for v in values]
    frame = frame.astype({f"value:{d.key}": float for d in INDICATORS})
    formats = {f"value:{d.key}": "0.0" for d in INDICATORS}
    widths = {k: 14.0 for k in headers if ":" in k} | {"name": 40.0}
    return Table(frame, headers, formats, styles, widths)


def _value_of(region: Region, code: str, key: str) -> IndicatorValue | None:
    return next((v for v in region.by_municipality.get(code, []) if v.key == key), None)


def _gap_table(region: Region) -> Table:
    """What is missing to the region's targets: the region, then each municipality."""
    names = dict(zip(region.municipalities["code"], region.municipalities["name"], strict=True))
    return gap_table([(GAP_REGION, region.name, region.indicators),
                      *((code or NO_CODE_LABEL, names.get(code, ""), region.by_municipality[code])
                        for code in region.synced)], REGION_GAP_HEADERS)


def _by_municipality_table(region: Region) -> Table:
    names = dict(zip(region.municipalities["code"], region.municipalities["name"], strict=True))
    rows, marks = [], []
    for code in region.synced:
        for v in region.by_municipality[code]:
            rows.append({"code": code or NO_CODE_LABEL, "name": names.get(code, ""),
                         "title": v.title, "numerator": v.numerator,
                         "denominator": v.denominator, "value": v.value, "target": v.target,
                         "met": _mark(v.met)})
            marks.append(_met_fill(v))
    frame = pd.DataFrame(rows, columns=list(BY_MUNICIPALITY_HEADERS)).astype(
        {"numerator": float, "denominator": float, "value": float, "target": float})
    return Table(frame, BY_MUNICIPALITY_HEADERS, {"value": "0.0", "target": "0.0"},
                 {"value": marks, "met": marks}, {"title": 60.0, "name": 40.0})


def _school_table(schools: pd.DataFrame) -> Table:
    frame = _labelled(schools, "municipality")
    styles = {"status": [{"bg_color": STATUS_FILL[SchoolStatus(s)]}
                         if s in STATUSES else None for s in frame["status"]]}
    return Table(frame, SCHOOL_HEADERS, styles=styles, widths={"name": 40.0, "reason": 40.0})


# ====================================================================== charts
def _charts(book: MasterBook, region: Region) -> None:
    """Municipalities × main indicators against the region's targets, and the dynamics."""
    dynamics = book.table(SHEET_CHARTS, Table(
        region.dynamics[["period", *MAIN_INDICATORS]],
        {"period": DYNAMICS_HEADERS["period"]} | {k: BY_KEY[k].title for k in MAIN_INDICATORS},
        {k: "0.0" for k in MAIN_INDICATORS}, widths=dict.fromkeys(MAIN_INDICATORS, 16.0),
        title=DYNAMICS_TITLE), filter_=False, freeze=False)
    table = book.table(SHEET_CHARTS, _chart_table(region), top=dynamics.last + 2,
                       filter_=False, freeze=False)
    anchor = len(table.columns) + 1
    line = book.add_chart({"type": "line"})
    for key in MAIN_INDICATORS:
        col = dynamics.col(key)
        line.add_series({"name": BY_KEY[key].title,
                         "categories": [SHEET_CHARTS, dynamics.first, 0, dynamics.last, 0],
                         "values": [SHEET_CHARTS, dynamics.first, col, dynamics.last, col],
                         "marker": {"type": "circle", "size": 6}})
    line.set_title({"name": CHART_DYNAMICS})
    line.set_y_axis({"name": CHART_PERCENT, "min": 0})
    line.set_legend({"position": "bottom"})
    book.chart(SHEET_CHARTS, anchor, 0, line, height=CHART_HEIGHT + 80)
    n = max(table.last - table.first + 1, 1)
    for i, key in enumerate(MAIN_INDICATORS):
        book.chart(SHEET_CHARTS, anchor, CHART_HEIGHT + 100 + (CHART_HEIGHT + 20) * i,
                   target_chart(book, table, key, CHART_BY_MUNICIPALITY),
                   width=min(max(CHART_WIDTH, 36 * n), 4000))


def _chart_table(region: Region) -> Table:
    codes = region.synced
    names = dict(zip(region.municipalities["code"], region.municipalities["name"], strict=True))
    targets = {v.key: v.target for v in region.indicators}
    headers = {"code": MUNICIPALITY_HEADERS["code"], "name": MUNICIPALITY_HEADERS["name"]}
    data: dict[str, list] = {"code": [c or NO_CODE_LABEL for c in codes],
                             "name": [names.get(c, "") for c in codes]}
    for key in MAIN_INDICATORS:
        headers[f"value:{key}"] = BY_KEY[key].title
        headers[f"target:{key}"] = f"{CHART_TARGET}: {BY_KEY[key].title}"
        values = [_value_of(region, c, key) for c in codes]
        data[f"value:{key}"] = [None if v is None else v.value for v in values]
        data[f"target:{key}"] = [targets.get(key)] * len(codes)
    numeric = [k for k in headers if ":" in k]
    frame = pd.DataFrame(data).astype(dict.fromkeys(numeric, float))
    return Table(frame, headers, dict.fromkeys(numeric, "0.0"),
                 widths=dict.fromkeys(numeric, 16.0) | {"name": 30.0}, title=CHART_TABLE)
