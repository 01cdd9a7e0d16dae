"""Grouping k-gram hits into copied passages, per document."""

from __future__ import annotations

import numpy as np

from . import jit
from .lookup import _first_at_least


OPEN_PASSAGES = 8
# A common k-gram's rows (up to max_hits each, in document order) are matched against the
# candidates: from this many candidates on, through a membership array (one read per row; a merge
# with the candidates costs four times as much on a long query's ~700 candidates); below it, a
# long range by bisecting each candidate (~log2(rows) reads of scattered rows), a short one by a
# merge. Zeroing the array (up to a byte per indexed document) would cost a stream's window more
# than its few candidates save.
MEMBERSHIP_FROM = 16
BISECT_FROM = 64
_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio: spreads consecutive numbers


@jit
def passages_by_doc(hit_doc, hit_q, hit_d, hit_weight, hit_evidence, k, reach, max_shift, n_q_tokens,
                    bridge_substitutions):
    """Merge k-gram hits into passages, document by document.

    Hits are sorted by (doc, query position, doc position); ``hit_d`` holds
    token positions in the document and ``hit_weight`` how many hits of that
    document share the hit's diagonal (d - q). Where a query position hits
    several places in one document (a repeated k-gram), the place on the most
    supported diagonal is kept, so a copy pairs with its original rather than
    with an earlier repetition. A pair extends, among the last OPEN_PASSAGES
    passages, one whose last pair it follows by at most ``reach`` query
    tokens and whose diagonal it shifts by at most ``max_shift`` (insertions
    and deletions), the one whose diagonal it continues most closely. A pair
    that would extend a passage but does not move forward in the document
    is dropped: a query repeating one line of the document is no longer a
    copy of it, and a stray pair in between (a k-gram repeated elsewhere)
    neither cuts nor moves a passage. Returns
    int64 rows: doc, q_start, q_end (exclusive), indices of the hits with
    the lowest and the highest document position, and the number of query
    tokens covered by the matched k-grams whose ``hit_evidence`` is set
    (boilerplate k-grams join passages without counting; bridged gaps do
    not count either, except, with ``bridge_substitutions``, a gap between
    two evidence hits on one diagonal: the tokens there are aligned one for
    one, as where words were substituted).
    """
    n = hit_doc.shape[0]
    out = np.empty((n, 9), np.int64)
    no_evidence_yet = np.int64(-(1 << 40))
    n_out = 0
    i = 0
    while i < n:
        doc = hit_doc[i]
        doc_first_row = n_out
        while i < n and hit_doc[i] == doc:
            q = hit_q[i]
            best = i
            j = i + 1
            while j < n and hit_doc[j] == doc and hit_q[j] == q:
                if hit_weight[j] > hit_weight[best]:
                    best = j
                j += 1
            d = hit_d[best]
            target = -1
            target_shift = np.int64(0)
            absorbed = False
            for r in range(n_out - 1, max(doc_first_row, n_out - OPEN_PASSAGES) - 1, -1):
                row = out[r]
                shift = abs((d - q) - (row[7] - row[6]))
                if 0 < q - row[6] <= reach and shift <= max_shift:
                    if d <= row[7]:
                        absorbed = True
                    elif target < 0 or shift < target_shift or (
                            shift == target_shift and row[5] > out[target, 5]):
                        target = r
                        target_shift = shift
            if target < 0 and absorbed:
                i = j
                continue
            extended = target >= 0
            if extended:
                row = out[target]
                if hit_evidence[best]:
                    if bridge_substitutions and target_shift == 0 and row[8] == row[6]:
                        added = min(q + k, n_q_tokens) - (row[8] + k)
                    else:
                        added = min(q + k, n_q_tokens) - max(row[8] + k, q)
                    if added > 0:
                        row[5] += added
                    row[8] = q
                row[2] = min(q + k, n_q_tokens)
                if d < hit_d[row[3]]:
                    row[3] = best
                if d >= hit_d[row[4]]:
                    row[4] = best
                row[6] = q
                row[7] = d
            if not extended:
                row = out[n_out]
                row[0] = doc
                row[1] = q
                row[2] = min(q + k, n_q_tokens)
                row[3] = best
                row[4] = best
                row[5] = min(q + k, n_q_tokens) - q if hit_evidence[best] else 0
                row[6] = q
                row[7] = d
                row[8] = q if hit_evidence[best] else no_evidence_yet
                n_out += 1
            i = j
    return out[:n_out, :6].copy()


@jit
def passages_of_hits(doc, q, d, by_diagonal, q_shingles, evidence, k, reach, max_shift, n_q_tokens, min_tokens,
                     bridge_substitutions):
    """Passages of k-gram hits already ordered by (doc, query position, doc
    position), ``by_diagonal`` ordering them by (doc, d - q): weigh each hit by
    the hits of its document on its diagonal, drop lone ones, group the rest
    (``passages_by_doc``), and cap each passage's evidence by its document side
    and, from ``min_tokens`` on, by its distinct evidence k-grams + k - 1.
    Returns (rows, indices of the hits kept). (The sorts are numpy's: faster
    than numba's on this machine.)"""
    n = doc.size
    weight = np.empty(n, np.int64)
    start = 0
    while start < n:
        first = by_diagonal[start]
        end = start + 1
        while end < n and doc[by_diagonal[end]] == doc[first] and \
                d[by_diagonal[end]] - q[by_diagonal[end]] == d[first] - q[first]:
            end += 1
        for j in range(start, end):
            weight[by_diagonal[j]] = end - start
        start = end
    # A hit alone on its diagonal is a k-gram that happens to recur, not part of a copy:
    # any copied run of w + k - 1 tokens or more puts at least two hits on one diagonal.
    kept = np.flatnonzero(weight >= 2)
    doc, q, d, weight = doc[kept], q[kept], d[kept], weight[kept]
    hit_evidence = np.empty(kept.size, np.bool_)
    for j in range(kept.size):
        hit_evidence[j] = evidence[q[j]]
    rows = passages_by_doc(doc, q, d, weight, hit_evidence, k, reach, max_shift, n_q_tokens, bridge_substitutions)
    for r in range(rows.shape[0]):
        # No more copied tokens than the document side matched (a query repeating one line).
        rows[r, 5] = min(rows[r, 5], d[rows[r, 4]] - d[rows[r, 3]] + k)
        if rows[r, 5] >= min_tokens:
            lo = rows[r, 1]
            hi = max(rows[r, 2] - k + 1, lo + 1)
            window = np.empty(hi - lo, q_shingles.dtype)
            m = 0
            for p in range(lo, hi):
                if evidence[p]:
                    window[m] = q_shingles[p]
                    m += 1
            window = np.sort(window[:m])
            n_distinct = 0
            for p in range(m):
                if p == 0 or window[p] != window[p - 1]:
                    n_distinct += 1
            rows[r, 5] = min(rows[r, 5], n_distinct + k - 1 if n_distinct else 0)
    return rows, kept


@jit
def candidate_passages(hit_q, hit_row, hit_doc, lo, hi, informative, usable, max_hits, table_doc, table_pos,
                       min_hits, q_shingles, k, reach, max_shift, n_q_tokens, min_tokens, bridge_substitutions,
                       min_far_hits=0):
    """A query's passages in the documents it may copy from, in one call.

    From the usable k-grams' hits (query index, table row, document; in query
    order), the documents hit by at least ``min_hits`` are the candidates, and
    of those hit fewer than ``min_far_hits`` times only the ones two of whose
    hits are within ``reach`` of each other in the query (``_drop_scattered``); every
    hit of an informative k-gram in a candidate is taken (up to ``max_hits``
    rows per k-gram), and the hits become passages. The hits are grouped by
    candidate as they are found, in query order, so (doc, query position,
    document position) order costs a counting pass, not a sort. Returns the
    passage rows (as ``passages_of_hits``) and the table row of each hit they
    index."""
    n = hit_doc.size
    slot_doc, slot_value, bits = _doc_table(hit_doc)
    if min_far_hits > min_hits:
        _drop_scattered(slot_doc, slot_value, bits, hit_q, hit_doc, reach, min_far_hits)
    candidates = _candidates_in_table(slot_doc, slot_value, bits, min_hits)
    n_cand = candidates.size
    if n_cand == 0:
        return np.empty((0, 6), np.int64), np.empty(0, np.int64)

    # Every hit in a candidate, in query order: (candidate number, query index, table row).
    # Many candidates (a long query): a membership array rejects most rows at one read.
    by_membership = n_cand >= MEMBERSHIP_FROM
    member = np.zeros(candidates[n_cand - 1] + 1 if by_membership else 0, np.bool_)
    if by_membership:
        for doc in candidates:
            member[doc] = True
    # Sized for the usable hits and grown before a common k-gram's rows are searched: sizing
    # for every row of every common k-gram (up to max_hits each) would allocate megabytes, at a
    # cost larger than the search.
    found = np.empty((n + 4 * lo.size, 3), np.int64)  # rows: (candidate number, query index, table row)
    n_found = 0
    j = 0
    for i in range(lo.size):
        if usable[i]:
            while j < n and hit_q[j] < i:
                j += 1
            while j < n and hit_q[j] == i:
                c = slot_value[_slot_of(slot_doc, bits, np.int64(hit_doc[j]))]  # -1: no candidate
                if c >= 0:
                    n_found = _put(found, n_found, c, i, hit_row[j])
                j += 1
        elif informative[i]:
            first = lo[i]
            last = first + max(min(hi[i] - first, max_hits), 0)
            need = n_found + (last - first) + (n - j)  # room for this range and the usable hits to come
            if need > found.shape[0]:
                found = _grown(found, max(2 * found.shape[0], need))
            c = 0
            if by_membership:  # the rows of one hash are in document order: so are their candidates
                for row in range(first, last):
                    doc = np.int64(table_doc[row])
                    if doc < member.size and member[doc]:
                        c = _gallop(candidates, doc, c, n_cand)
                        if c == n_cand or candidates[c] != doc:  # the table out of document order
                            c = _first_at_least(candidates, doc, 0, n_cand)
                        n_found = _put(found, n_found, c, i, row)
            elif BISECT_FROM * n_cand < last - first:  # a long range: bisect each candidate
                for c in range(n_cand):
                    row = _first_at_least(table_doc, candidates[c], first, last)
                    while row < last and table_doc[row] == candidates[c]:
                        n_found = _put(found, n_found, c, i, row)
                        row += 1
            else:  # merge the rows with the candidates
                for row in range(first, last):
                    doc = np.int64(table_doc[row])
                    while c < n_cand and candidates[c] < doc:
                        c += 1
                    if c == n_cand:
                        break
                    if candidates[c] == doc:
                        n_found = _put(found, n_found, c, i, row)

    # Grouped by candidate (a stable counting sort), then by document position at one query index.
    group_start = np.zeros(n_cand + 1, np.int64)
    for h in range(n_found):
        group_start[found[h, 0] + 1] += 1
    for c in range(n_cand):
        group_start[c + 1] += group_start[c]
    fill = group_start[:n_cand].copy()
    doc = np.empty(n_found, np.int64)
    q = np.empty(n_found, np.int64)
    d = np.empty(n_found, np.int64)
    rows = np.empty(n_found, np.int64)
    for h in range(n_found):
        c, q_h, row_h = found[h, 0], found[h, 1], found[h, 2]
        at = fill[c]
        fill[c] += 1
        doc[at] = candidates[c]
        q[at] = q_h
        d[at] = table_pos[row_h]
        rows[at] = row_h
        while at > group_start[c] and q[at - 1] == q[at] and d[at - 1] > d[at]:
            q[at - 1], q[at] = q[at], q[at - 1]
            d[at - 1], d[at] = d[at], d[at - 1]
            rows[at - 1], rows[at] = rows[at], rows[at - 1]
            at -= 1

    # (doc, d - q) order, stable, group by group; most groups are a few hits.
    by_diagonal = np.empty(n_found, np.int64)
    for c in range(n_cand):
        a, b = group_start[c], group_start[c + 1]
        if b - a > 32:
            order = np.argsort(d[a:b] - q[a:b], kind="mergesort")
            for t in range(b - a):
                by_diagonal[a + t] = a + order[t]
            continue
        for t in range(a, b):  # insertion sort
            at = t
            while at > a and d[by_diagonal[at - 1]] - q[by_diagonal[at - 1]] > d[t] - q[t]:
                by_diagonal[at] = by_diagonal[at - 1]
                at -= 1
            by_diagonal[at] = t
    passages, kept = passages_of_hits(doc, q, d, by_diagonal, q_shingles, usable, k, reach, max_shift, n_q_tokens,
                                      min_tokens, bridge_substitutions)
    return passages, rows[kept]


@jit
def _doc_table(docs):
    """An open-addressing hash table counting the ``docs`` (document numbers >= 0): (slot
    documents, -1 where empty; slot counts; bits), 2**bits slots, at least twice the
    distinct documents. Counting this way costs a third of sorting them (numba's sort)."""
    bits = 4
    while (1 << bits) < 2 * docs.size:
        bits += 1
    slot_doc = np.full(1 << bits, -1, np.int64)
    slot_value = np.zeros(1 << bits, np.int64)
    for doc in docs:
        slot = _slot_of(slot_doc, bits, np.int64(doc))
        slot_doc[slot] = doc
        slot_value[slot] += 1
    return slot_doc, slot_value, bits


@jit
def _drop_scattered(slot_doc, slot_value, bits, hit_q, hit_doc, reach, min_far_hits):
    """Zero the count of each document of a ``_doc_table`` hit fewer than ``min_far_hits``
    times, no two of them within ``reach`` query positions (hits in query order).

    Such a document's hits can join one passage only across other (common) k-grams, and
    each adds at most k tokens of evidence: fewer than ``min_far_hits * k`` in all. On a
    large index most documents a query hits twice are hit by chance, far apart; leaving
    them out spares searching the common k-grams' rows for them."""
    last_q = np.full(slot_doc.size, -1, np.int64)
    near = np.zeros(slot_doc.size, np.bool_)
    for j in range(hit_doc.size):
        slot = _slot_of(slot_doc, bits, np.int64(hit_doc[j]))
        if slot_value[slot] < min_far_hits:
            q = hit_q[j]
            if last_q[slot] >= 0 and 0 < q - last_q[slot] <= reach:
                near[slot] = True
            last_q[slot] = q
    for slot in range(slot_doc.size):
        if slot_doc[slot] >= 0 and slot_value[slot] < min_far_hits and not near[slot]:
            slot_value[slot] = 0


@jit(inline="always")
def _slot_of(slot_doc, bits, doc):
    """The slot of ``doc`` in a ``_doc_table``, or the empty slot where it would go."""
    mask = (1 << bits) - 1
    slot = np.int64((np.uint64(doc) * _FIBONACCI) >> np.uint64(64 - bits))
    while slot_doc[slot] >= 0 and slot_doc[slot] != doc:
        slot = (slot + 1) & mask
    return slot


@jit
def _candidates_in_table(slot_doc, slot_value, bits, min_hits):
    """The documents of a ``_doc_table`` counted ``min_hits`` times or more, sorted; their
    slots' values become their candidate numbers (their place in that order), the other
    slots' -1."""
    n_cand = 0
    for slot in range(slot_doc.size):
        if slot_doc[slot] >= 0 and slot_value[slot] >= min_hits:
            n_cand += 1
    candidates = np.empty(n_cand, np.int64)
    n_cand = 0
    for slot in range(slot_doc.size):
        if slot_doc[slot] >= 0 and slot_value[slot] >= min_hits:
            candidates[n_cand] = slot_doc[slot]
            n_cand += 1
    candidates.sort()
    slot_value[:] = -1
    for c in range(n_cand):
        slot_value[_slot_of(slot_doc, bits, candidates[c])] = c
    return candidates


@jit
def _gallop(table, value, lo, hi):
    """``_first_at_least`` for a value expected near ``lo``: steps of 1, 2, 4, ... then a
    bisection of the last step (a merge of two sorted lists that skips ahead cheaply)."""
    step = 1
    while lo < hi and table[lo] < value:
        lo_next = lo + step
        if lo_next >= hi or table[lo_next] >= value:
            return _first_at_least(table, value, lo + 1, min(lo_next, hi))
        lo = lo_next
        step *= 2
    return lo


@jit
def _put(found, n_found, c, i, row):
    """Write the hit (candidate number, query index, table row) at ``n_found``; the new count."""
    found[n_found, 0] = c
    found[n_found, 1] = i
    found[n_found, 2] = row
    return n_found + 1


@jit
def _grown(found, n_rows):
    """``found`` at the start of a new array of ``n_rows`` rows (the rest uninitialized)."""
    out = np.empty((n_rows, found.shape[1]), found.dtype)
    out[:found.shape[0]] = found
    return out


@jit
def equal_run(a, a_usable, i, b, b_usable, j, step, max_n):
    """How many k-grams in a row, up to ``max_n``, are equal and usable on both sides
    from ``a[i]``, ``b[j]`` on, moving both by ``step`` (1 or -1), within both arrays."""
    n = 0
    while n < max_n and 0 <= i < a.size and 0 <= j < b.size and a_usable[i] and b_usable[j] and a[i] == b[j]:
        n += 1
        i += step
        j += step
    return n
