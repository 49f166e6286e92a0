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
        print("== Кнопка: запрос к серверу по петле (цель < 1.5 с)")
        bench_optional("кнопка", "tests.payloads", "bench_roundtrip", args.participants)
        print("== Страница проверки: загрузка → результат (цель < 2 с)")
        bench_optional("страница", "tests.web_bench", "bench_page_roundtrip", path)
        print(f"== Сбор муниципалитета: {args.schools} книг")
        bench_sync(tmp, args.schools, args.school_participants)
    print("(время — лучшее из нескольких запусков; пол — чтение тех же файлов python-calamine)")


if __name__ == "__main__":
    main()
