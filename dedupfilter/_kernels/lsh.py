"""LSH band keys over MinHash signatures."""

from __future__ import annotations

import numba
import numpy as np

from . import jit, pjit
from .hashing import finalize64, mix64


@jit(inline="always")
def _band_key(signature, band, rows):
    h = np.uint64(band)
    for j in range(band * rows, (band + 1) * rows):
        h = mix64(h, np.uint64(signature[j]))
    return finalize64(h)


@pjit
def band_keys(signatures, n_bands, rows):
    """(n_docs, n_bands) uint64: one hash of each band's ``rows`` signature values."""
    n_docs = signatures.shape[0]
    out = np.empty((n_docs, n_bands), np.uint64)
    for d in numba.prange(n_docs):
        for band in range(n_bands):
            out[d, band] = _band_key(signatures[d], band, rows)
    return out


@jit
def _first_at_least_uniform(keys, key):
    """The first index of the sorted ``keys`` whose value is >= ``key``.

    Band keys are hashes, spread evenly over 64 bits, so interpolation finds
    the place in a few probes (each a cache miss on a large index) where
    bisection takes one per level; bisection steps take over when
    interpolation stops halving the range (many equal keys).
    """
    lo, hi = 0, keys.size
    interpolate = True
    while hi - lo > 8:
        first, last = keys[lo], keys[hi - 1]
        if key <= first:
            return lo
        if key > last:
            return hi
        size = hi - lo
        spread = float(last) - float(first)  # float: it may exceed 2**63; 0 when close to it
        if interpolate and spread > 0.0:
            probe = lo + int((float(key) - float(first)) / spread * (size - 1))
            probe = min(max(probe, lo), hi - 1)
        else:
            probe = lo + size // 2
        if keys[probe] < key:
            lo = probe + 1
        else:
            hi = probe
        interpolate = hi - lo <= size // 2
    while lo < hi and keys[lo] < key:
        lo += 1
    return lo


@jit
def lsh_candidates(signature, n_bands, rows, sorted_band_keys, band_docs):
    """The documents (sorted, distinct) that share a band key with ``signature``.

    ``sorted_band_keys`` (n_bands, n_docs): each band's keys sorted, with
    ``band_docs`` the document of each key. One call for the whole lookup:
    per band one key and one search of that band's keys.
    """
    n_docs = sorted_band_keys.shape[1]
    found = np.empty(0, band_docs.dtype)
    for band in range(n_bands):
        key = _band_key(signature, band, rows)
        keys = sorted_band_keys[band]
        lo = _first_at_least_uniform(keys, key)
        end = lo
        while end < n_docs and keys[end] == key:
            end += 1
        if end > lo:
            found = np.concatenate((found, band_docs[band, lo:end]))
    return np.unique(found)
