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
def query_band_keys(signature, n_bands, rows):
    """The band keys of one signature, without the thread pool's dispatch cost."""
    out = np.empty(n_bands, np.uint64)
    for band in range(n_bands):
        out[band] = _band_key(signature, band, rows)
    return out
