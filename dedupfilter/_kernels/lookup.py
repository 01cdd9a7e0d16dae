"""Fingerprint-table hits restricted to a set of documents."""

from __future__ import annotations

import numpy as np

from . import jit


MEMBERSHIP_FROM = 16  # candidate documents from which a membership array beats bisecting


@jit
def hits_in_docs(lo, hi, max_hits, table_doc, docs):
    """(query index, table row) of the rows [lo[i], min(hi[i], lo[i] + max_hits))
    whose document is in ``docs`` (sorted, distinct), in row order.

    For many candidates (a long query on a large index: a few hundred), a
    membership array over document numbers makes each row one lookup. For a
    few (a stream's window), the rows of one hash being in document order (the
    table is sorted by hash, then document), each candidate is bisected in a
    long range and a short one is merged with the candidates. The ranges of
    common k-grams hold up to max_hits rows each.
    """
    total = 0
    for i in range(lo.size):
        total += max(min(hi[i] - lo[i], max_hits), 0)
    q_index = np.empty(total, np.int64)
    rows = np.empty(total, np.int64)
    if docs.size == 0:
        return q_index[:0], rows[:0]
    n = 0
    if docs.size >= MEMBERSHIP_FROM:
        n_member = np.int64(docs[docs.size - 1]) + 1
        member = np.zeros(n_member, np.bool_)
        for doc in docs:
            member[doc] = True
        for i in range(lo.size):
            start = lo[i]
            for row in range(start, start + max(min(hi[i] - start, max_hits), 0)):
                doc = np.int64(table_doc[row])
                if doc < n_member and member[doc]:
                    q_index[n] = i
                    rows[n] = row
                    n += 1
        return q_index[:n], rows[:n]
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
def usable_hits(lo, hi, informative, ignored, distinctive_max, max_hits, table_doc):
    """Which k-grams are *usable* (evidence of copying: informative, not ignored,
    found in at most ``distinctive_max`` places), and their hits: (usable mask,
    query index, table row, document) of every row of a usable k-gram."""
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
def hits_of_candidates(hit_q, hit_row, hit_doc, lo, hi, informative, usable, max_hits, table_doc, min_hits):
    """From the usable k-grams' hits (``usable_hits``): the documents hit by at
    least ``min_hits`` of them are the candidates, and every hit of an
    informative k-gram (usable or not, up to ``max_hits`` rows each) in a
    candidate is returned, as (query index, table row)."""
    n = hit_doc.size
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
    q = np.empty(n, np.int64)
    rows = np.empty(n, np.int64)
    if n_candidates == 0:
        return q[:0], rows[:0]
    kept = 0
    for j in range(n):
        at = _first_at_least(candidates, hit_doc[j], 0, n_candidates)
        if at < n_candidates and candidates[at] == hit_doc[j]:
            q[kept] = hit_q[j]
            rows[kept] = hit_row[j]
            kept += 1
    common = np.flatnonzero(informative & ~usable)
    c_index, c_row = hits_in_docs(lo[common], hi[common], max_hits, table_doc, candidates)
    return np.concatenate((q[:kept], common[c_index])), np.concatenate((rows[:kept], c_row))


@jit
def candidate_hits(lo, hi, informative, ignored, distinctive_max, max_hits, table_doc, min_hits):
    """A query's hits in the documents it may copy from, from its k-grams' lookups
    (``usable_hits``, then ``hits_of_candidates``). Returns (query index, table row)
    of those hits, and the usable mask."""
    usable, hit_q, hit_row, hit_doc = usable_hits(lo, hi, informative, ignored, distinctive_max, max_hits, table_doc)
    q, rows = hits_of_candidates(hit_q, hit_row, hit_doc, lo, hi, informative, usable, max_hits, table_doc, min_hits)
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
    for i in range(values.size):
        value = values[i]
        b = np.int64(value >> shift)
        end_of_bucket = directory[b + 1]
        start = _first_at_least(table, value, directory[b], end_of_bucket)
        end = end_of_bucket
        if start < end and value != np.uint64(0xFFFFFFFFFFFFFFFF):
            end = _first_at_least(table, value + np.uint64(1), start, end_of_bucket)
        lo[i] = start
        hi[i] = end
        if ignored.size:
            at = _first_at_least(ignored, value, 0, ignored.size)
            is_ignored[i] = at < ignored.size and ignored[at] == value
    return lo, hi, is_ignored
