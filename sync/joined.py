"""Runs of equal keys joined into one text each, in Arrow: a city's tables have hundreds of
thousands of rows in tens of thousands of runs, too many for a Python loop or a pandas
groupby with ``str.join``."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def join_runs(values: np.ndarray, *keys: np.ndarray, sep: str) -> tuple[np.ndarray, pa.Array]:
    """(position of the first row of each run, the run's values joined by `sep`).

    A run is consecutive rows with equal `keys`: sort the rows by them first. `values` are
    text (a NumPy array of str).
    """
    n = len(values)
    if n == 0:
        return np.array([], dtype=np.int64), pa.array([], pa.string())
    change = np.zeros(n - 1, dtype=bool)
    for key in keys:
        change |= key[1:] != key[:-1]
    starts = np.flatnonzero(np.r_[True, change])
    offsets = pa.array(np.r_[starts, n], pa.int32())
    lists = pa.ListArray.from_arrays(offsets, pa.array(values, pa.string()))
    return starts, pc.binary_join(lists, sep)
