"""MinHash signatures, bit-identical to datasketch 2.x (schemes affine32/affine64).

datasketch premixes each input hash once with the MurmurHash3 finalizer
(fmix32/fmix64) and then applies h -> a*h + b modulo 2**width with odd a.
Here width-64 arithmetic is native uint64 wraparound; width-32 arithmetic
runs in uint64 and is masked to 32 bits after every multiply, which is the
same residue modulo 2**32. (No (a*h+b) % (2**61-1) in uint64: it overflows.)
"""

from __future__ import annotations

import numba
import numpy as np

from . import jit, pjit

MASK32 = np.uint64(0xFFFFFFFF)


@jit(inline="always")
def fmix64(h):
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


@jit(inline="always")
def fmix32(h):
    h &= MASK32
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & MASK32
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & MASK32
    h ^= h >> np.uint64(16)
    return h


@jit(inline="always")
def _update64(sig, shingles, s0, s1, a, b):
    for i in range(s0, s1):
        hv = fmix64(shingles[i])
        for p in range(sig.shape[0]):
            v = a[p] * hv + b[p]
            if v < sig[p]:
                sig[p] = v


@jit(inline="always")
def _update32(sig, shingles, s0, s1, a, b):
    for i in range(s0, s1):
        hv = fmix32(shingles[i])
        for p in range(sig.shape[0]):
            v = (a[p] * hv + b[p]) & MASK32
            if v < sig[p]:
                sig[p] = v


@jit
def minhash64(shingles, a, b):
    sig = np.full(a.shape[0], np.uint64(0xFFFFFFFFFFFFFFFF), np.uint64)
    _update64(sig, shingles, 0, shingles.shape[0], a, b)
    return sig


@jit
def minhash32(shingles, a, b):
    """Signature as uint64 holding 32-bit values; the wrapper casts to uint32."""
    sig = np.full(a.shape[0], MASK32, np.uint64)
    _update32(sig, shingles, 0, shingles.shape[0], a, b)
    return sig


@pjit
def minhash64_batch(shingles, offsets, a, b):
    n_docs = offsets.shape[0] - 1
    out = np.full((n_docs, a.shape[0]), np.uint64(0xFFFFFFFFFFFFFFFF), np.uint64)
    for d in numba.prange(n_docs):
        _update64(out[d], shingles, offsets[d], offsets[d + 1], a, b)
    return out


@pjit
def minhash32_batch(shingles, offsets, a, b):
    n_docs = offsets.shape[0] - 1
    out = np.full((n_docs, a.shape[0]), MASK32, np.uint64)
    for d in numba.prange(n_docs):
        _update32(out[d], shingles, offsets[d], offsets[d + 1], a, b)
    return out
