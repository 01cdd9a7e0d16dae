"""Fingerprint-table lookups: the rows of equal hashes, and the hits of usable k-grams."""

from __future__ import annotations

import numpy as np

from . import jit


@jit
def usable_hits(lo, hi, informative, ignored, distinctive_max, max_hits, table_doc):
    """Which k-grams are *usable* (evidence of copying: informative, not ignored,
    found in at most ``distinctive_max`` places), and their hits: (usable mask,
    query index, table row, document) of every row of a usable k-gram, in query
    order (``passages.candidate_passages`` takes them from there)."""
    m = lo.size
    usable = np.empty(m, np.bool_)
    n = 0
    for i in range(m):
        usable[i] = informative[i] and not ignored[i] and hi[i] - lo[i] <= distinctive_max
        if usable[i]:
            n += max(min(hi[i] - lo[i], max_hits), 0)
    hit_q = np.empty(n, np.int64)
    hit_row = np.empty(n, np.int64)
    hit_doc = np.empty(n, np.int64)
    n = 0
    for i in range(m):
        if usable[i]:
            for row in range(lo[i], lo[i] + max(min(hi[i] - lo[i], max_hits), 0)):
                hit_q[n] = i
                hit_row[n] = row
                hit_doc[n] = table_doc[row]
                n += 1
    return usable, hit_q, hit_row, hit_doc


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


@jit(inline="always")
def _lower_bound(table, value, lo, hi):
    """``_first_at_least`` without a data-dependent branch: the bisection's steps depend only
    on the length of [lo, hi), each a conditional move."""
    n = hi - lo
    while n > 1:
        half = n >> 1
        lo = lo + half if table[lo + half - 1] < value else lo
        n -= half
    if n == 1 and table[lo] < value:
        lo += 1
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


@jit
def table_directory(table, bits):
    """For a sorted uint64 ``table``: ``directory[b]`` is the first row whose top
    ``bits`` bits are >= b (b = 0 .. 2**bits), in one pass over the table."""
    shift = np.uint64(64 - bits)
    n_buckets = 1 << bits
    directory = np.empty(n_buckets + 1, np.int64)
    bucket = 0
    directory[0] = 0
    for row in range(table.size):
        b = np.int64(table[row] >> shift)
        while bucket < b:
            bucket += 1
            directory[bucket] = row
    while bucket < n_buckets:
        bucket += 1
        directory[bucket] = table.size
    return directory


@jit
def directory_ranges(table, values, directory, bits, ignored):
    """``sorted_ranges`` through a ``table_directory``: each value's rows lie in its
    bucket (rows that share its top bits), a few cache lines to bisect, where a
    search of the whole table misses the cache at every level; and whether each
    value is in the sorted ``ignored``."""
    shift = np.uint64(64 - bits)
    lo = np.empty(values.size, np.int64)
    hi = np.empty(values.size, np.int64)
    is_ignored = np.zeros(values.size, np.bool_)
    # In phases over all values, so that their cache misses are independent and overlap: every
    # bucket's bounds, then a branch-free bisection of each bucket (its loads do not wait on a
    # mispredicted branch), then the end of the rows found.
    for i in range(values.size):
        b = np.int64(values[i] >> shift)
        lo[i] = directory[b]
        hi[i] = directory[b + 1]
    for i in range(values.size):
        lo[i] = _lower_bound(table, values[i], lo[i], hi[i])
    for i in range(values.size):
        value = values[i]
        start, end_of_bucket = lo[i], hi[i]
        if start < end_of_bucket and table[start] == value:
            hi[i] = (_first_at_least(table, value + np.uint64(1), start + 1, end_of_bucket)
                     if value != np.uint64(0xFFFFFFFFFFFFFFFF) else end_of_bucket)
        else:
            hi[i] = start
        if ignored.size:
            at = _first_at_least(ignored, value, 0, ignored.size)
            is_ignored[i] = at < ignored.size and ignored[at] == value
    return lo, hi, is_ignored
