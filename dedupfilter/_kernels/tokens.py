"""Hashing byte ranges and linking repeated identifiers."""

from __future__ import annotations

import numpy as np

from . import jit
from .hashing import xxh64


@jit
def hash_ranges(data, starts, ends, seed):
    """xxh64 of each ``data[starts[i]:ends[i]]`` (data: uint8)."""
    out = np.empty(starts.shape[0], np.uint64)
    for i in range(starts.shape[0]):
        out[i] = xxh64(data, starts[i], ends[i], seed)
    return out


@jit
def backrefs_by_key(keys, is_identifier):
    """For each identifier, the distance back to the previous token with the same key (0: none)."""
    n = keys.shape[0]
    out = np.zeros(n, np.int32)
    idx = np.flatnonzero(is_identifier)
    if idx.shape[0] < 2:
        return out
    order = np.argsort(keys[idx], kind="mergesort")  # stable: positions ascend within a key
    for r in range(1, order.shape[0]):
        cur = idx[order[r]]
        prev = idx[order[r - 1]]
        if keys[cur] == keys[prev]:
            out[cur] = min(cur - prev, 2147483647)
    return out
