"""The copy with «Предложения пар» of a big book, for scripts/bench (not a test).

``bench_suggestions_copy(workbook)``: best of `repeat`, seconds to write the copy (the sheet
only; reading the book and suggesting the pairs are measured by the check and the page).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path


def bench_suggestions_copy(workbook: Path, repeat: int = 3) -> float:
    """Seconds (best of `repeat`) for `write_suggestions` on `workbook`."""
    from addin.indicators import compute_indicators
    from addin.model import SchoolWorkbook
    from addin.plan.gaps import gaps
    from addin.plan.pairs import suggest_pairs
    from addin.xlsx.suggestions import write_suggestions

    wb = SchoolWorkbook.from_path(workbook)
    values = compute_indicators(wb)
    result, plan = suggest_pairs(wb, indicators=values), gaps(values)
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"copy{Path(workbook).suffix}"
        for _ in range(repeat):
            started = time.perf_counter()
            write_suggestions(workbook, out, result, plan)
            times.append(time.perf_counter() - started)
    return min(times)


if __name__ == "__main__":  # python -m tests.copy_bench BOOK.xlsx
    print(f"копия с предложениями пар: {bench_suggestions_copy(Path(sys.argv[1])):.3f} с")
