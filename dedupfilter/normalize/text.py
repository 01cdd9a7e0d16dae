"""Prose normalization: Unicode folding and word tokens, in one numba pass.

Case, accents, punctuation, white space, zero-width and format characters,
full-width and other compatibility forms and common homoglyphs do not change
the tokens (see foldtable.py for the exact rules). Offsets index the
original string.
"""

from __future__ import annotations

import functools

import numpy as np

from .._kernels.tokenize import ascii_fold_table, tokenize_prose
from .foldtable import load_fold_table
from .tokens import TOKEN_SEED, TokenStream


@functools.lru_cache(maxsize=1)
def fold_table():
    return load_fold_table()


@functools.lru_cache(maxsize=1)
def _ascii_fold():
    return ascii_fold_table(*fold_table())


def codepoints(text: str) -> np.ndarray:
    """The code points of ``text`` as uint32 (lone surrogates included)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def normalize_text(text: str) -> TokenStream:
    char_class, fold_start, fold_len, fold_data = fold_table()
    hashes, starts, ends = tokenize_prose(codepoints(text), char_class, fold_start, fold_len,
                                          fold_data, _ascii_fold(), np.uint64(TOKEN_SEED))
    return TokenStream(hashes, starts, ends, np.zeros(hashes.shape[0], np.int32), "text")
