"""Small sort-based set operations on numpy arrays.

``np.unique`` on numpy 2.x is 30-60x slower than a sort and a neighbour
comparison for the uint64 hash arrays used here (measured in
bench/results/where_the_time_goes.md), so these replace it.
"""

from __future__ import annotations

import numpy as np


def _run_starts(*sorted_keys: np.ndarray) -> np.ndarray:
    """True where a run of equal keys (all arrays together) begins."""
    n = sorted_keys[0].size
    starts = np.ones(n, bool)
    if n:
        changed = np.zeros(n - 1, bool)
        for keys in sorted_keys:
            changed |= keys[1:] != keys[:-1]
        starts[1:] = changed
    return starts


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted."""
    ordered = np.sort(values)
    return ordered[_run_starts(ordered)]


def distinct_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values, sorted, and how often each occurs."""
    ordered = np.sort(values)
    starts = np.flatnonzero(_run_starts(ordered))
    return ordered[starts], np.diff(np.append(starts, ordered.size))


def distinct_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (a, b) pairs, sorted by a then b."""
    order = lex_order(a, b)
    a, b = a[order], b[order]
    starts = _run_starts(a, b)
    return a[starts], b[starts]


def packed_keys(*keys: np.ndarray) -> np.ndarray | None:
    """One uint64 per element that orders as the tuple (keys[0], keys[1], ...), or
    None when the keys' value ranges do not fit 64 bits together. One sort of one
    key is 4-10x faster than np.lexsort of several (numpy 2.4)."""
    n = keys[0].size
    packed = np.zeros(n, np.uint64)
    used = 0
    for key in reversed(keys):  # least significant first
        if key.dtype.kind not in "iu" or (key.dtype == np.uint64 and n and key.max() >= 1 << 63):
            return None
        key = key.astype(np.int64, copy=False)
        low = int(key.min()) if n else 0
        width = max((int(key.max()) - low).bit_length(), 1) if n else 1
        if used + width > 64:
            return None
        packed |= (key - low).astype(np.uint64) << np.uint64(used)
        used += width
    return packed


LEXSORT_BELOW = 1024  # np.lexsort is the faster below about this many elements (packing costs ~50 us)


def lex_order(*keys: np.ndarray) -> np.ndarray:
    """Indices sorting by keys[0], then keys[1], ...: ``np.lexsort(keys[::-1])``, faster."""
    if keys[0].size < LEXSORT_BELOW:
        return np.lexsort(keys[::-1])
    packed = packed_keys(*keys)
    return np.lexsort(keys[::-1]) if packed is None else np.argsort(packed, kind="stable")


def union_length(intervals) -> int:
    """Positions inside the union of [start, end) intervals."""
    total, reach = 0, None
    for start, end in sorted(intervals):
        if reach is None or start >= reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total
