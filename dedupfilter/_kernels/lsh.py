"""LSH band keys over MinHash signatures."""

from __future__ import annotations

import numba
import numpy as np

from . import jit, pjit
from .hashing import finalize64, mix64
from .lookup import _first_at_least, table_directory


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
def band_directory(sorted_band_keys, bits):
    """(n_bands, 2**bits + 1): per band, ``lookup.table_directory`` of its sorted keys."""
    n_bands = sorted_band_keys.shape[0]
    directory = np.empty((n_bands, (1 << bits) + 1), np.int64)
    for band in range(n_bands):
        directory[band] = table_directory(sorted_band_keys[band], bits)
    return directory


@jit
def lsh_candidates(signature, rows, sorted_band_keys, band_docs, directory, out):
    """How many (document, band) pairs share a band key with ``signature``; their
    documents are written to ``out`` (a document once per band it shares; those
    beyond ``out.size`` are counted, not written: call again with a larger ``out``).

    ``sorted_band_keys`` (n_bands, n_docs): each band's keys sorted, with
    ``band_docs`` the document of each key and ``directory`` their
    ``band_directory``. Per band one key, found by bisecting its bucket of the
    directory (about four keys: two cache misses where a search of the whole
    band takes one per level). The count is returned, not an array of documents,
    because building and returning an array costs more than the search when, as
    for nearly every query, nothing is found.
    """
    bits = 0
    while (1 << bits) < directory.shape[1] - 1:
        bits += 1
    shift = np.uint64(64 - bits)
    n_bands = sorted_band_keys.shape[0]
    # In phases over all bands, so that the bands' memory reads (a directory bucket, then a
    # few keys: cache misses on a large index) are independent and overlap.
    keys = np.empty(n_bands, np.uint64)
    lo = np.empty(n_bands, np.int64)
    hi = np.empty(n_bands, np.int64)
    for band in range(n_bands):
        keys[band] = _band_key(signature, band, rows)
    for band in range(n_bands):
        bucket = np.int64(keys[band] >> shift)
        lo[band] = directory[band, bucket]
        hi[band] = directory[band, bucket + 1]
    n = 0
    for band in range(n_bands):
        band_keys_ = sorted_band_keys[band]
        at = _first_at_least(band_keys_, keys[band], lo[band], hi[band])
        while at < hi[band] and band_keys_[at] == keys[band]:
            if n < out.size:
                out[n] = band_docs[band, at]
            n += 1
            at += 1
    return n
