"""k-gram shingle hashes over token hashes.

Identifiers in code carry a *backref*: how many tokens back the same name
last occurred (0: not an identifier, or no earlier occurrence). Inside a
k-gram a backref that points outside the k-gram is treated as 0, so each
k-gram hash depends only on its own k tokens: a consistent renaming leaves
every k-gram unchanged (Baker's parameterized matching), and a window cut
from the middle of a file gives the same k-grams it has inside the file.
"""

from __future__ import annotations

import numpy as np

from . import jit
from .hashing import P3, P5, finalize64, mix64


@jit(inline="always")
def _kgram(hashes, backrefs, i, k, seed):
    h = seed + P5 + np.uint64(k)
    for j in range(k):
        b = backrefs[i + j]
        if b > j:
            b = 0
        h = mix64(h, hashes[i + j] ^ (np.uint64(b) * P3))
    return finalize64(h)


@jit
def n_shingles(n_tokens, k):
    if n_tokens == 0:
        return 0
    if n_tokens < k:
        return 1
    return n_tokens - k + 1


@jit
def shingle_hashes(hashes, backrefs, k, seed):
    """One uint64 per k-gram start; a non-empty stream shorter than k is one shingle."""
    n = hashes.shape[0]
    m = n_shingles(n, k)
    kk = min(n, k)
    out = np.empty(m, np.uint64)
    for i in range(m):
        out[i] = _kgram(hashes, backrefs, i, kk, seed)
    return out


@jit
def informative(hashes, k):
    """Per k-gram start: False when the k-gram's tokens repeat with period 1 or 2
    (each token equals the one two before it); a stream shorter than k is one k-gram."""
    n = hashes.shape[0]
    m = n_shingles(n, k)
    comparisons = min(k, n) - 2
    out = np.ones(m, np.bool_)
    if comparisons < 1:
        return out
    for s in range(m):
        periodic = True
        for j in range(s, s + comparisons):
            if hashes[j + 2] != hashes[j]:
                periodic = False
                break
        out[s] = not periodic
    return out
