"""Robust winnowing (Schleimer, Wilkerson, Aiken 2003).

In every window of ``w`` consecutive shingle hashes the minimum is selected
(the rightmost one on ties); each selected position is reported once.
Guarantee: two streams sharing a run of at least w + k - 1 tokens share at
least one selected fingerprint, because they share a whole window.
"""

from __future__ import annotations

import numpy as np

from . import jit


@jit
def winnow(shingles, w):
    """Return the selected shingle positions (int64, increasing)."""
    m = shingles.shape[0]
    if m == 0:
        return np.empty(0, np.int64)
    if m <= w:
        best = 0
        for i in range(1, m):
            if shingles[i] <= shingles[best]:
                best = i
        out = np.empty(1, np.int64)
        out[0] = best
        return out
    out = np.empty(m - w + 1, np.int64)
    n_out = 0
    best = -1
    for start in range(m - w + 1):
        end = start + w - 1
        if best < start:
            best = start
            for i in range(start + 1, end + 1):
                if shingles[i] <= shingles[best]:
                    best = i
            out[n_out] = best
            n_out += 1
        elif shingles[end] <= shingles[best]:
            best = end
            out[n_out] = best
            n_out += 1
    return out[:n_out].copy()
