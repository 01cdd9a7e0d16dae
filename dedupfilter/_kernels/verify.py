"""Similarity of candidate pairs: exact Jaccard of shingle sets, or MinHash agreement."""

from __future__ import annotations

import numba
import numpy as np

from . import pjit


@pjit
def pair_jaccard(shingles, offsets, left, right):
    """Exact Jaccard of the sets ``shingles[offsets[i]:offsets[i + 1]]`` (each sorted, distinct)
    for every pair (left[p], right[p]). Two empty sets are identical (1.0)."""
    out = np.empty(left.shape[0], np.float64)
    for p in numba.prange(left.shape[0]):
        i, i1 = offsets[left[p]], offsets[left[p] + 1]
        j, j1 = offsets[right[p]], offsets[right[p] + 1]
        n_a, n_b = i1 - i, j1 - j
        common = 0
        while i < i1 and j < j1:
            x, y = shingles[i], shingles[j]
            if x == y:
                common += 1
                i += 1
                j += 1
            elif x < y:
                i += 1
            else:
                j += 1
        union = n_a + n_b - common
        out[p] = common / union if union else 1.0
    return out


@pjit
def signature_agreement(signatures, left, right):
    """Share of equal MinHash values for every pair of rows (left[p], right[p])."""
    n_perm = signatures.shape[1]
    out = np.empty(left.shape[0], np.float64)
    for p in numba.prange(left.shape[0]):
        a, b = signatures[left[p]], signatures[right[p]]
        same = 0
        for k in range(n_perm):
            if a[k] == b[k]:
                same += 1
        out[p] = same / n_perm
    return out
