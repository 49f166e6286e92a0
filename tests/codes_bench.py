"""The figure scripts/bench reports for `serve add-school-codes`: codes and the printable A4
list for a whole registry (each code costs one scrypt hash, about 50 ms of CPU)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path


def bench_registry_codes(n_schools: int = 200) -> float:
    """Seconds to give `n_schools` organisations their codes and write the printable list."""
    from addin.web.code_lists import issue_registry_codes

    schools = [(f"ОО-{i:03d}", f"Организация № {i}") for i in range(1, n_schools + 1)]
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        started = time.perf_counter()
        issued = issue_registry_codes(folder / "коды.txt", folder / "печать.xlsx", schools,
                                      "https://nastavnik.example.ru/")
        took = time.perf_counter() - started
    assert issued.written == n_schools
    return took
