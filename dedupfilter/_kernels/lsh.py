"""LSH band keys over MinHash signatures."""

from __future__ import annotations

import numba
import numpy as np

from . import pjit
from .hashing import finalize64, mix64


@pjit
def band_keys(signatures, n_bands, rows):
    """(n_docs, n_bands) uint64: one hash of each band's ``rows`` signature values."""
    n_docs = signatures.shape[0]
    out = np.empty((n_docs, n_bands), np.uint64)
    for d in numba.prange(n_docs):
        for band in range(n_bands):
            h = np.uint64(band)
            for j in range(band * rows, (band + 1) * rows):
                h = mix64(h, np.uint64(signatures[d, j]))
            out[d, band] = finalize64(h)
    return out
