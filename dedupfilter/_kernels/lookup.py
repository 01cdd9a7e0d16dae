"""Fingerprint-table hits restricted to a set of documents."""

from __future__ import annotations

import numpy as np

from . import jit


@jit
def hits_in_docs(lo, hi, max_hits, table_doc, docs):
    """(query index, table row) of the rows [lo[i], min(hi[i], lo[i] + max_hits))
    whose document is in ``docs`` (sorted, distinct), in row order.

    A membership array over document numbers (up to the largest in ``docs``)
    makes each row one lookup: the ranges of common k-grams hold ~100,000
    rows per query on a large index, for a few hundred candidate documents.
    """
    total = 0
    for i in range(lo.size):
        total += max(min(hi[i] - lo[i], max_hits), 0)
    q_index = np.empty(total, np.int64)
    rows = np.empty(total, np.int64)
    if docs.size == 0:
        return q_index[:0], rows[:0]
    n_member = np.int64(docs[docs.size - 1]) + 1
    member = np.zeros(n_member, np.bool_)
    for doc in docs:
        member[doc] = True
    n = 0
    for i in range(lo.size):
        start = lo[i]
        end = start + min(hi[i] - start, max_hits)
        for row in range(start, end):
            doc = np.int64(table_doc[row])
            if doc < n_member and member[doc]:
                q_index[n] = i
                rows[n] = row
                n += 1
    return q_index[:n], rows[:n]


@jit
def _first_at_least(table, value, lo, hi):
    """The first row in [lo, hi) of the sorted ``table`` whose value is >= ``value`` (hi if none)."""
    while lo < hi:
        mid = lo + (hi - lo) // 2
        if table[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


@jit
def table_sample(table, n_samples):
    """Rows spread evenly over the sorted ``table`` (its first and last included) and their values."""
    n = table.size
    m = min(n, n_samples)
    rows = np.empty(m, np.int64)
    for j in range(m):
        rows[j] = (j * (n - 1)) // max(m - 1, 1)
    values = np.empty(m, table.dtype)
    for j in range(m):
        values[j] = table[rows[j]]
    return rows, values


@jit
def sorted_ranges(table, values, sample_rows, sample_values):
    """For each value, the rows [lo, hi) of the sorted ``table`` equal to it
    (np.searchsorted left and right).

    ``table_sample(table)`` narrows each search to the rows between two
    samples: the sample stays in cache, and the bisection of the few rows
    left costs a few cache misses where that of a large memory-mapped table
    costs one per level (3x faster on a table of 24M fingerprints; an
    interpolation search was slower still, since an index keeps winnowed
    fingerprints, local minima whose hashes crowd towards 0, in runs of
    equal values).
    """
    lo = np.empty(values.size, np.int64)
    hi = np.empty(values.size, np.int64)
    n = table.size
    for i in range(values.size):
        value = values[i]
        j = np.searchsorted(sample_values, value)
        start = _first_at_least(table, value, sample_rows[j - 1] + 1 if j > 0 else 0,
                                sample_rows[j] if j < sample_rows.size else n)
        end = start
        # Most values occur a few times: step, then gallop, then bisect.
        step = 1
        while end < n and table[end] == value:
            end = min(end + step, n)
            step *= 2
        if end > start and not (end == n and table[n - 1] == value):
            end = _first_at_least(table, value + np.uint64(1), start, end)
        lo[i] = start
        hi[i] = end
    return lo, hi
