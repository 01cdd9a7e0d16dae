"""Matching two sets of positioned k-gram hashes and merging matches into passages.

Inputs are (hash, token position) arrays for a query and a document: every
k-gram for an exact comparison, or the winnowed fingerprints for an index
lookup. A query k-gram found in the document is paired with the document
occurrence that best continues the previous pair's diagonal (so repeated
code pairs with the right copy), and pairs that advance on both sides by at
most ``gap`` tokens are merged into one passage.
"""

from __future__ import annotations

import numpy as np

from . import jit

MAX_CANDIDATES = 64


@jit
def pair_matches(q_hashes, q_positions, d_hashes, d_positions):
    """Return (q_pos, d_pos) int64 arrays: one pair per matched query entry, in query order."""
    order = np.argsort(d_hashes, kind="mergesort")
    sorted_d = d_hashes[order]
    n = q_hashes.shape[0]
    out_q = np.empty(n, np.int64)
    out_d = np.empty(n, np.int64)
    n_pairs = 0
    prev_diag = np.int64(0)
    have_prev = False
    for i in range(n):
        h = q_hashes[i]
        lo = np.searchsorted(sorted_d, h, side="left")
        if lo >= sorted_d.shape[0] or sorted_d[lo] != h:
            continue
        hi = np.searchsorted(sorted_d, h, side="right")
        if hi - lo > MAX_CANDIDATES:
            hi = lo + MAX_CANDIDATES
        qp = q_positions[i]
        best = d_positions[order[lo]]
        if have_prev:
            best_dist = abs((best - qp) - prev_diag)
            for c in range(lo + 1, hi):
                dp = d_positions[order[c]]
                dist = abs((dp - qp) - prev_diag)
                if dist < best_dist or (dist == best_dist and dp < best):
                    best = dp
                    best_dist = dist
        else:
            for c in range(lo + 1, hi):
                dp = d_positions[order[c]]
                if dp < best:
                    best = dp
        out_q[n_pairs] = qp
        out_d[n_pairs] = best
        n_pairs += 1
        prev_diag = best - qp
        have_prev = True
    return out_q[:n_pairs].copy(), out_d[:n_pairs].copy()


@jit
def merge_passages(pair_q, pair_d, k, gap, n_q_tokens, n_d_tokens):
    """Merge pairs (sorted by query position) into passages.

    Returns an int64 array of shape (n, 5): q_start, q_end, d_start, d_end
    (token indices, end exclusive) and the number of pairs merged.
    """
    n = pair_q.shape[0]
    out = np.empty((n, 5), np.int64)
    n_out = 0
    last_q = np.int64(0)
    last_d = np.int64(0)
    for i in range(n):
        q = pair_q[i]
        d = pair_d[i]
        q_end = min(q + k, n_q_tokens)
        d_end = min(d + k, n_d_tokens)
        if n_out > 0 and 0 < q - last_q <= gap and 0 < d - last_d <= gap:
            row = out[n_out - 1]
            row[1] = max(row[1], q_end)
            row[3] = max(row[3], d_end)
            row[4] += 1
        else:
            out[n_out, 0] = q
            out[n_out, 1] = q_end
            out[n_out, 2] = d
            out[n_out, 3] = d_end
            out[n_out, 4] = 1
            n_out += 1
        last_q = q
        last_d = d
    return out[:n_out].copy()
