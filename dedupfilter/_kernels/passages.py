"""Grouping k-gram hits into copied passages, per document."""

from __future__ import annotations

import numpy as np

from . import jit


OPEN_PASSAGES = 8


@jit
def passages_by_doc(hit_doc, hit_q, hit_d, hit_weight, hit_evidence, k, reach, max_shift, n_q_tokens):
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
    not count either).
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
