"""Fingerprint-table hits restricted to a set of documents."""

from __future__ import annotations

import numpy as np

from . import jit


@jit
def hits_in_docs(lo, hi, max_hits, table_doc, docs):
    """(query index, table row) of the rows [lo[i], min(hi[i], lo[i] + max_hits))
    whose document is in ``docs`` (sorted, distinct), in row order.

    The table is sorted by hash, then document: the rows of one hash are in
    document order. A long range is bisected once per candidate document; a
    short one is merged with the candidates (the ranges of common k-grams hold
    up to max_hits rows per query on a large index, for a few to a few
    hundred candidate documents).
    """
    total = 0
    for i in range(lo.size):
        total += max(min(hi[i] - lo[i], max_hits), 0)
    q_index = np.empty(total, np.int64)
    rows = np.empty(total, np.int64)
    if docs.size == 0:
        return q_index[:0], rows[:0]
    n = 0
    for i in range(lo.size):
        start = lo[i]
        end = start + max(min(hi[i] - start, max_hits), 0)
        if 8 * docs.size < end - start:
            for doc in docs:
                row = _first_at_least(table_doc, doc, start, end)
                while row < end and table_doc[row] == doc:
                    q_index[n] = i
                    rows[n] = row
                    n += 1
                    row += 1
        else:  # both in document order: merge
            j = 0
            for row in range(start, end):
                doc = table_doc[row]
                while j < docs.size and docs[j] < doc:
                    j += 1
                if j == docs.size:
                    break
                if docs[j] == doc:
                    q_index[n] = i
                    rows[n] = row
                    n += 1
    return q_index[:n], rows[:n]


@jit
def candidate_hits(lo, hi, informative, ignored, distinctive_max, max_hits, table_doc, min_hits):
    """A query's hits in the documents it may copy from, from its k-grams' lookups.

    A k-gram is *usable* (evidence of copying) when it is informative, not
    ignored, and found in at most ``distinctive_max`` places. Documents hit by
    at least ``min_hits`` usable k-grams are the candidates; every hit of an
    informative k-gram (usable or not, up to ``max_hits`` rows each) in a
    candidate is returned. Returns (query index, table row) of those hits,
    and the usable mask.
    """
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
    docs = np.sort(hit_doc)
    candidates = np.empty(n, table_doc.dtype)
    n_candidates = 0
    start = 0
    while start < n:
        end = start + 1
        while end < n and docs[end] == docs[start]:
            end += 1
        if end - start >= min_hits:
            candidates[n_candidates] = docs[start]
            n_candidates += 1
        start = end
    candidates = candidates[:n_candidates]
    if n_candidates == 0:
        return hit_q[:0], hit_row[:0], usable
    kept = 0
    for j in range(n):
        at = _first_at_least(candidates, hit_doc[j], 0, n_candidates)
        if at < n_candidates and candidates[at] == hit_doc[j]:
            hit_q[kept] = hit_q[j]
            hit_row[kept] = hit_row[j]
            kept += 1
    common = np.flatnonzero(informative & ~usable)
    c_index, c_row = hits_in_docs(lo[common], hi[common], max_hits, table_doc, candidates)
    q = np.concatenate((hit_q[:kept], common[c_index]))
    rows = np.concatenate((hit_row[:kept], c_row))
    return q, rows, usable


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
