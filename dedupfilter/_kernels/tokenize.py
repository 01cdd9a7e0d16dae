"""Prose tokenizer over a code-point array, with hashing inside the kernel.

Character classes come from the fold table (dedupfilter/normalize/foldtable.py):
  SEP    separates words (punctuation, white space, symbols)
  WORD   part of a word; contributes its folded code points
  JOIN   ignorable inside a word (combining marks, zero-width and format
         characters): contributes nothing and does not split the word
  SINGLE a word by itself (CJK ideographs, kana, Thai: scripts without spaces)
A token's hash is xxh64 of the UTF-8 bytes of its folded code points, so it
equals ``xxhash.xxh64_intdigest(folded_word.encode(), seed)``. A word longer
than the 256-byte buffer is hashed incrementally (``spill``).

Most prose is ASCII: ``ascii_fold`` gives, for code points below 128, the
folded byte of a WORD character that folds to one ASCII byte, ASCII_SEP for a
separator, and ASCII_GENERAL for anything the general path must handle. It is
derived from the fold table (``ascii_fold_table``), so both paths agree.
"""

from __future__ import annotations

import numpy as np

from . import jit
from .hashing import P5, _tail, spill, spilled_digest

SEP = 0
WORD = 1
JOIN = 2
SINGLE = 3
ASCII_SEP = 0
ASCII_GENERAL = 255


def ascii_fold_table(char_class, fold_start, fold_len, fold_data) -> np.ndarray:
    """The 128-entry fast-path table for ``tokenize_prose`` (see the module docstring)."""
    table = np.full(128, ASCII_GENERAL, np.uint8)
    for cp in range(min(128, char_class.size)):
        if char_class[cp] == SEP:
            table[cp] = ASCII_SEP
        elif char_class[cp] == WORD and fold_len[cp] == 1 and 0 < fold_data[fold_start[cp]] < 128:
            table[cp] = fold_data[fold_start[cp]]
    return table


@jit(inline="always")
def _emit(hashes, starts, ends, n_tokens, h, start, end):
    hashes[n_tokens] = h
    starts[n_tokens] = start
    ends[n_tokens] = end
    return n_tokens + 1


@jit(inline="always")
def _digest(acc, spilled, buf, n_buf, seed):
    """``spilled_digest``, with xxh64's short-input path inlined for the usual short word."""
    if spilled == 0 and n_buf < 32:
        return _tail(seed + P5 + np.uint64(n_buf), buf, 0, n_buf)
    return spilled_digest(acc, spilled, buf, n_buf, seed)


@jit(inline="always")
def _put_utf8(buf, n, cp):
    if cp < 0x80:
        buf[n] = cp
        return n + 1
    if cp < 0x800:
        buf[n] = 0xC0 | (cp >> 6)
        buf[n + 1] = 0x80 | (cp & 0x3F)
        return n + 2
    if cp < 0x10000:
        buf[n] = 0xE0 | (cp >> 12)
        buf[n + 1] = 0x80 | ((cp >> 6) & 0x3F)
        buf[n + 2] = 0x80 | (cp & 0x3F)
        return n + 3
    buf[n] = 0xF0 | (cp >> 18)
    buf[n + 1] = 0x80 | ((cp >> 12) & 0x3F)
    buf[n + 2] = 0x80 | ((cp >> 6) & 0x3F)
    buf[n + 3] = 0x80 | (cp & 0x3F)
    return n + 4


@jit
def tokenize_prose(codepoints, char_class, fold_start, fold_len, fold_data, ascii_fold, seed):
    """Split code points into folded word tokens.

    ``char_class`` must cover every value in ``codepoints``. Returns (hashes
    uint64, starts int64, ends int64); starts/ends index ``codepoints`` (=
    character offsets of the original str), end exclusive, from the word's
    first to its last WORD character.
    """
    n = codepoints.shape[0]
    hashes = np.empty(n, np.uint64)
    starts = np.empty(n, np.int64)
    ends = np.empty(n, np.int64)
    acc = np.empty(4, np.uint64)
    buf = np.empty(256, np.uint8)
    n_tokens = 0
    n_buf = 0
    spilled = 0
    in_word = False
    word_start = 0
    word_end = 0
    for i in range(n):
        cp = codepoints[i]
        ascii_byte = ascii_fold[cp] if cp < 128 else ASCII_GENERAL
        if ascii_byte == ASCII_GENERAL:
            cls = char_class[cp]
        else:
            cls = SEP if ascii_byte == ASCII_SEP else WORD
        if cls == JOIN:
            continue
        if in_word and cls != WORD:
            n_tokens = _emit(hashes, starts, ends, n_tokens, _digest(acc, spilled, buf, n_buf, seed),
                             word_start, word_end)
            in_word = False
        if cls == WORD or cls == SINGLE:
            if not in_word:
                in_word = True
                word_start = i
                n_buf = 0
                spilled = 0
            word_end = i + 1
            if n_buf > 192:  # keep room for the longest fold (15 code points, 60 bytes)
                rest = spill(acc, spilled, buf, n_buf, seed)
                spilled += n_buf - rest
                n_buf = rest
            if ascii_byte != ASCII_GENERAL:
                buf[n_buf] = ascii_byte
                n_buf += 1
            else:
                s = fold_start[cp]
                for j in range(fold_len[cp]):
                    n_buf = _put_utf8(buf, n_buf, fold_data[s + j])
            if cls == SINGLE:
                n_tokens = _emit(hashes, starts, ends, n_tokens, _digest(acc, spilled, buf, n_buf, seed),
                                 word_start, word_end)
                in_word = False
    if in_word:
        n_tokens = _emit(hashes, starts, ends, n_tokens, _digest(acc, spilled, buf, n_buf, seed),
                         word_start, word_end)
    return hashes[:n_tokens].copy(), starts[:n_tokens].copy(), ends[:n_tokens].copy()
