"""Many small sets at once: the distinct values of each segment of a flat array."""

from __future__ import annotations

import numba
import numpy as np

from . import pjit


@pjit
def distinct_segments(values, offsets):
    """(flat, new_offsets): each segment ``values[offsets[i]:offsets[i + 1]]`` sorted, without repeats."""
    n_segments = offsets.shape[0] - 1
    work = values.copy()
    sizes = np.zeros(n_segments + 1, np.int64)
    for s in numba.prange(n_segments):
        lo, hi = offsets[s], offsets[s + 1]
        if hi > lo:
            work[lo:hi] = np.sort(work[lo:hi])
            kept = 1
            for i in range(lo + 1, hi):
                if work[i] != work[lo + kept - 1]:
                    work[lo + kept] = work[i]
                    kept += 1
            sizes[s + 1] = kept
    new_offsets = np.cumsum(sizes)
    out = np.empty(new_offsets[-1], values.dtype)
    for s in numba.prange(n_segments):
        out[new_offsets[s]:new_offsets[s + 1]] = work[offsets[s]:offsets[s] + sizes[s + 1]]
    return out, new_offsets
