"""xxHash64 and the k-gram mixing function, in numba.

``xxh64`` is bit-identical to the reference xxHash64 (``xxhash.xxh64_intdigest``);
tests/reference.py checks it. All arithmetic is uint64 and wraps, which is
the modulo-2**64 arithmetic the algorithm is defined with.
"""

from __future__ import annotations

import numpy as np

from . import jit

P1 = np.uint64(0x9E3779B185EBCA87)
P2 = np.uint64(0xC2B2AE3D27D4EB4F)
P3 = np.uint64(0x165667B19E3779F9)
P4 = np.uint64(0x85EBCA77C2B2AE63)
P5 = np.uint64(0x27D4EB2F165667C5)


@jit(inline="always")
def _rotl(x, r):
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


@jit(inline="always")
def _read64(data, i):
    v = np.uint64(0)
    for j in range(8):
        v |= np.uint64(data[i + j]) << np.uint64(8 * j)
    return v


@jit(inline="always")
def _read32(data, i):
    v = np.uint64(0)
    for j in range(4):
        v |= np.uint64(data[i + j]) << np.uint64(8 * j)
    return v


@jit(inline="always")
def _round(acc, value):
    acc = acc + value * P2
    acc = _rotl(acc, 31)
    return acc * P1


@jit(inline="always")
def _merge_round(acc, value):
    acc ^= _round(np.uint64(0), value)
    return acc * P1 + P4


@jit(inline="always")
def _converge(v1, v2, v3, v4):
    h = _rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)
    h = _merge_round(h, v1)
    h = _merge_round(h, v2)
    h = _merge_round(h, v3)
    return _merge_round(h, v4)


@jit(inline="always")
def _tail(h, data, i, end):
    """Hash the last ``end - i`` (< 32) bytes into ``h`` and avalanche."""
    while i + 8 <= end:
        h ^= _round(np.uint64(0), _read64(data, i))
        h = _rotl(h, 27) * P1 + P4
        i += 8
    if i + 4 <= end:
        h ^= _read32(data, i) * P1
        h = _rotl(h, 23) * P2 + P3
        i += 4
    while i < end:
        h ^= np.uint64(data[i]) * P5
        h = _rotl(h, 11) * P1
        i += 1
    return finalize64(h)


@jit
def xxh64(data, start, end, seed):
    """xxHash64 of ``data[start:end]`` (a uint8 array) with a uint64 seed."""
    n = end - start
    i = start
    if n >= 32:
        v1 = seed + P1 + P2
        v2 = seed + P2
        v3 = seed
        v4 = seed - P1
        while i + 32 <= end:
            v1 = _round(v1, _read64(data, i))
            v2 = _round(v2, _read64(data, i + 8))
            v3 = _round(v3, _read64(data, i + 16))
            v4 = _round(v4, _read64(data, i + 24))
            i += 32
        h = _converge(v1, v2, v3, v4)
    else:
        h = seed + P5
    return _tail(h + np.uint64(n), data, i, end)


@jit
def spill(acc, spilled, buf, n_buf, seed):
    """Incremental xxh64 for long inputs: consume the full 32-byte stripes of
    ``buf[:n_buf]`` into ``acc`` (4 uint64) and move the rest to the front.

    ``spilled`` is how many bytes were consumed before (0: ``acc`` is not yet
    initialized). Returns the number of bytes left in ``buf``.
    """
    if spilled == 0:
        acc[0] = seed + P1 + P2
        acc[1] = seed + P2
        acc[2] = seed
        acc[3] = seed - P1
    i = 0
    while i + 32 <= n_buf:
        acc[0] = _round(acc[0], _read64(buf, i))
        acc[1] = _round(acc[1], _read64(buf, i + 8))
        acc[2] = _round(acc[2], _read64(buf, i + 16))
        acc[3] = _round(acc[3], _read64(buf, i + 24))
        i += 32
    for j in range(n_buf - i):
        buf[j] = buf[i + j]
    return n_buf - i


@jit
def spilled_digest(acc, spilled, buf, n_buf, seed):
    """xxh64 of everything spilled so far plus ``buf[:n_buf]``."""
    if spilled == 0:
        return xxh64(buf, 0, n_buf, seed)
    rest = spill(acc, spilled, buf, n_buf, seed)
    h = _converge(acc[0], acc[1], acc[2], acc[3]) + np.uint64(spilled + n_buf)
    return _tail(h, buf, 0, rest)


@jit(inline="always")
def mix64(h, value):
    """Fold one 64-bit value into a running k-gram hash (an xxh64 round)."""
    h ^= _round(np.uint64(0), value)
    return _rotl(h, 27) * P1 + P4


@jit(inline="always")
def finalize64(h):
    """xxh64's avalanche step: every input bit affects every output bit."""
    h ^= h >> np.uint64(33)
    h *= P2
    h ^= h >> np.uint64(29)
    h *= P3
    h ^= h >> np.uint64(32)
    return h
