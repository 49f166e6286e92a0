"""Benchmarks of nastavnik: one school check, the button and page round trips, the monthly sync.

Each figure is printed next to its target and next to a floor measured in the same run (reading
the same files with python-calamine only), so the ratios hold on any machine.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def best_of(n: int, fn: Callable[[], object]) -> float:
    """Best wall time of n runs, seconds."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def calamine_floor(paths: list[Path]) -> None:
    """Read every sheet of every file with python-calamine and do nothing else."""
    import python_calamine as pc

    for p in paths:
        book = pc.CalamineWorkbook.from_path(str(p))
        for name in book.sheet_names:
            book.get_sheet_by_name(name).to_python()


def big_school(tmp: Path, participants: int) -> Path:
    from workbook_templates.build import write_school_workbook
    from workbook_templates.demo import make_school

    data = make_school("ОО-900", random.Random(5), n_participants=participants)
    rows = sum(len(v) for v in data.values() if isinstance(v, list))
    path = write_school_workbook(tmp / "big.xlsx", data)
    print(f"  книга: {participants} участников, {rows} строк, {path.stat().st_size // 1024} КБ")
    return path


def bench_check(path: Path) -> None:
    from addin.model import SchoolWorkbook
    from addin.validate import validate_workbook

    floor = best_of(3, lambda: calamine_floor([path]))
    read = best_of(3, lambda: SchoolWorkbook.from_path(path))
    wb = SchoolWorkbook.from_path(path)
    check = best_of(3, lambda: validate_workbook(wb))
    total = read + check
    print(f"  чтение calamine (пол): {floor:.3f} с")
    print(f"  чтение SchoolWorkbook: {read:.3f} с ({read / floor:.2f}x пола)")
    print(f"  правила: {check:.3f} с")
    verdict = "OK" if total < 1 else "НЕ ДОСТИГНУТО"
    print(f"  проверка целиком: {total:.3f} с (цель < 1 с) {verdict}")


def bench_annotate(tmp: Path, participants: int) -> dict[str, dict]:
    """The annotated copy (`validate --annotate`, the page's download) of a big book with
    planted mistakes: a few hundred findings, and one on every person (the worst case)."""
    from addin.annotate import write_annotated
    from addin.validate import validate_path
    from workbook_templates.build import write_school_workbook
    from workbook_templates.demo import make_school

    entries = {}
    for key, every in (("annotated_copy", 10), ("annotated_copy_every_row", 1)):
        data = make_school("ОО-900", random.Random(5), n_participants=participants)
        for i, m in enumerate(data["mentees"]):
            if i % every == 0:
                m["consent_date"] = None  # CONSENT-001 on an empty cell
        for i, m in enumerate(data["mentors"]):
            if i % (every * 2) == 0:
                m["birth_date"] = "31.02.1985"  # CELL-002 on a filled cell
        src = write_school_workbook(tmp / f"{key}.xlsx", data)
        report = validate_path(src)
        took = best_of(3, lambda src=src, report=report, key=key: write_annotated(
            src, tmp / f"{key}-copy.xlsx", report))
        entries[key] = {"value": round(took, 3), "unit": "s", "target": 2.0, "met": took < 2.0,
                        "participants": participants, "findings": len(report.findings)}
        record(key, entries[key])
        verdict = "OK" if took < 2 else "НЕ ДОСТИГНУТО"
        print(f"  копия с замечаниями, {len(report.findings)} замечаний: {took:.3f} с "
              f"(цель < 2 с) {verdict}")
    return entries


def bench_optional(title: str, module: str, func: str, *args: object) -> None:
    """Round trips measured by the server's test helpers, when they are present."""
    try:
        mod = __import__(module, fromlist=[func])
    except ImportError as exc:
        print(f"  {title}: пропущено ({exc})")
        return
    result = getattr(mod, func)(*args)
    if isinstance(result, float):
        result = f"{result:.3f} с"
    elif isinstance(result, dict):
        result = ", ".join(f"{k}={v}" for k, v in result.items())
    print(f"  {title}: {result}")


def bench_sync(tmp: Path, n_schools: int, participants: int) -> None:
    from workbook_templates.build import write_school_workbook
    from workbook_templates.demo import REGISTRY_HEADER, make_school

    schools = tmp / "muni" / "schools"
    schools.mkdir(parents=True)
    rng = random.Random(7)
    t = time.perf_counter()
    paths, lines = [], [";".join(REGISTRY_HEADER)]
    for i in range(n_schools):
        code = f"ОО-{i + 1:04d}"
        data = make_school(code, rng, n_participants=participants)
        paths.append(write_school_workbook(schools / f"{code}.xlsx", data))
        lines.append(f"{code};Школа {i + 1};ОО;schools/{code}.xlsx")
    registry = tmp / "muni" / "registry.csv"
    registry.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    rows = n_schools * participants * 4
    print(f"  {n_schools} книг по ~{participants} участников (~{rows} строк) созданы за "
          f"{time.perf_counter() - t:.0f} с")
    floor = best_of(1, lambda: calamine_floor(paths))
    exe = Path(sys.executable).parent / "nastavnik"
    cmd = [str(exe), "sync", "--registry", str(registry), "--period", "2026-11",
           "--out", str(tmp / "master.xlsx")]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    took = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"  чтение calamine (пол): {floor:.1f} с")
    print(f"  nastavnik sync: {took:.1f} с ({took / floor:.2f}x пола; цель ≤ 1.5x), "
          f"память {rss:.0f} МБ, код выхода {proc.returncode}")
    if proc.returncode not in (0, 1):
        print(proc.stderr[-2000:])


REGION_TARGET_S = 15.0


def bench_region(tmp: Path, n_municipalities: int = 50, n_schools: int = 40,
                 periods: tuple[str, ...] = ("2026-09", "2026-10", "2026-11")) -> None:
    """The regional master of many municipalities already in PostgreSQL (SQLite where no
    server can be started here), from synthetic store rows inserted directly."""
    from contextlib import ExitStack

    from sqlalchemy.engine import URL

    from tests.pg import PostgresUnavailable, fresh_database, postgres_server

    with ExitStack() as stack:
        try:
            url = stack.enter_context(fresh_database(stack.enter_context(postgres_server())))
            where = "PostgreSQL"
        except PostgresUnavailable as exc:
            url = URL.create("sqlite", database=str(tmp / "region.sqlite"))
            where = f"SQLite (PostgreSQL недоступен: {exc})"
        t = time.perf_counter()
        _fill_region(url, n_municipalities, n_schools, periods)
        print(f"  {where}: {n_municipalities} МО × {n_schools} ОО × {len(periods)} периода "
              f"записаны за {time.perf_counter() - t:.1f} с")
        exe = Path(sys.executable).parent / "nastavnik"
        cmd = [str(exe), "region", "--db", url.render_as_string(hide_password=False),
               "--period", periods[-1], "--out", str(tmp / "region.xlsx")]
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        took = time.perf_counter() - t
    met = proc.returncode == 0 and took < REGION_TARGET_S
    print(f"  nastavnik region: {took:.1f} с (цель < {REGION_TARGET_S:.0f} с) "
          f"{'OK' if met else 'НЕ ДОСТИГНУТО'}")
    if proc.returncode != 0:
        print(proc.stderr[-2000:])
    record("region_master", {"value": round(took, 2), "unit": "s", "target": REGION_TARGET_S,
                             "met": met, "municipalities": n_municipalities,
                             "schools_per_municipality": n_schools, "periods": len(periods),
                             "database": where.split(" ")[0]})


def _fill_region(url: object, n_municipalities: int, n_schools: int,
                 periods: tuple[str, ...]) -> None:
    """Store rows as municipal syncs would leave them: runs, schools, indicators, figures."""
    from datetime import datetime

    from sqlalchemy import insert

    from addin.indicators import INDICATORS
    from sync import store as S
    from sync.federal_form import known_row_keys
    from sync.figures import ORG_TYPES

    rng = random.Random(11)
    now = datetime(2026, 11, 25, 9, 0)
    statuses = ("принят", "принят", "принят с предупреждениями", "отклонён", "не представлен")
    keys = known_row_keys()
    with S.Store(url) as store, store.transaction() as conn:
        conn.execute(insert(S.municipalities), [
            {"code": f"{71800000 + m * 1000}", "name": f"Муниципалитет {m + 1}", "updated_at": now}
            for m in range(n_municipalities)])
        for period in periods:
            for m in range(n_municipalities):
                code = f"{71800000 + m * 1000}"
                conn.execute(insert(S.runs).values(
                    municipality=code, period=period, started_at=now, finished_at=now,
                    registry="registry.csv", schools=n_schools, accepted=n_schools - 5,
                    rejected=5))
                schools, indicators = [], []
                sums = {d.key: [0.0, 0.0] for d in INDICATORS}
                for i in range(n_schools):
                    school = f"ОО-{i + 1:03d}"
                    schools.append({
                        "municipality": code, "period": period, "school_code": school,
                        "name": f"Школа {i + 1}", "org_type": rng.choice(ORG_TYPES),
                        "status": rng.choice(statuses), "reason": "", "errors": 0,
                        "warnings": 0, "mentors": 20, "mentees": 40, "pairs": 25,
                        "active_pairs": 20})
                    for pos, d in enumerate(INDICATORS):
                        den = float(rng.randint(20, 400))
                        num = float(rng.randint(0, int(den)))
                        sums[d.key][0] += num
                        sums[d.key][1] += den
                        indicators.append(_indicator_row(code, period, school, pos, d, num,
                                                         den))
                indicators += [_indicator_row(code, period, S.MUNICIPAL, pos, d, *sums[d.key])
                               for pos, d in enumerate(INDICATORS)]
                conn.execute(insert(S.school_periods), schools)
                conn.execute(insert(S.indicators), indicators)
                conn.execute(insert(S.figures_table), [
                    {"municipality": code, "period": period, "row_key": key, "position": pos,
                     "section": "Раздел", "label": key, "oo": 5, "spo": 3, "do_": 2,
                     "total": 10} for pos, key in enumerate(keys)])


def _indicator_row(code: str, period: str, school: str, pos: int, d: object, num: float,
                   den: float) -> dict:
    return {"municipality": code, "period": period, "school_code": school, "key": d.key,
            "position": pos, "title": d.title, "numerator": num, "denominator": den,
            "value": round(num / den * d.scale, 1) if den else None, "target": None,
            "target_is_default": True}


RESULTS = ROOT / "bench" / "results.json"


def record(name: str, entry: dict) -> None:
    """Put one figure into bench/results.json, keeping the others there."""
    import json

    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    results[name] = entry
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=5000)
    parser.add_argument("--schools", type=int, default=100)
    parser.add_argument("--school-participants", type=int, default=125)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        print("== Проверка одной книги")
        path = big_school(tmp, args.participants)
        bench_check(path)
        print("== Копия с замечаниями (та же книга с ошибками)")
        bench_annotate(tmp, args.participants)
        print("== Кнопка: запрос к серверу по петле (цель < 1.5 с)")
        bench_optional("кнопка", "tests.payloads", "bench_roundtrip", args.participants)
        print("== Страница проверки: загрузка → результат (цель < 2 с)")
        bench_optional("страница", "tests.web_bench", "bench_page_roundtrip", path)
        print(f"== Сбор муниципалитета: {args.schools} книг")
        bench_sync(tmp, args.schools, args.school_participants)
        print("== Свод региона: 50 муниципалитетов × 40 ОО в базе (цель < 15 с)")
        bench_region(tmp)
    print("(время — лучшее из нескольких запусков; пол — чтение тех же файлов python-calamine)")


if __name__ == "__main__":
    main()
