"""Slow, obvious reference versions of the kernels, in pure Python.

Each fast function in dedupfilter._kernels is tested against its twin here.
"""

from __future__ import annotations

import re
import unicodedata

import xxhash

from dedupfilter.normalize import foldtable
from dedupfilter.normalize.tokens import TOKEN_SEED

M64 = (1 << 64) - 1
P1 = 0x9E3779B185EBCA87
P2 = 0xC2B2AE3D27D4EB4F
P3 = 0x165667B19E3779F9
P4 = 0x85EBCA77C2B2AE63
P5 = 0x27D4EB2F165667C5


def rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & M64


def xxh_round(acc: int, value: int) -> int:
    acc = (acc + value * P2) & M64
    return (rotl(acc, 31) * P1) & M64


def avalanche(h: int) -> int:
    h ^= h >> 33
    h = (h * P2) & M64
    h ^= h >> 29
    h = (h * P3) & M64
    return h ^ (h >> 32)


def char_class(ch: str) -> int:
    """The class of one character, straight from unicodedata (see foldtable.py)."""
    cp = ord(ch)
    if 0xD800 <= cp <= 0xDFFF:
        return foldtable.SEP
    category = unicodedata.category(ch)
    if category == "Cn":
        return foldtable.SEP
    if cp in foldtable.ALWAYS_JOIN or category in ("Mn", "Me", "Cf") or 0xFE00 <= cp <= 0xFE0F:
        return foldtable.JOIN
    if not foldtable._fold(ch):
        return foldtable.SEP
    return foldtable.SINGLE if foldtable._is_single_script(cp) else foldtable.WORD


def prose_tokens(text: str) -> list[tuple[int, int, int]]:
    """(hash, start, end) of each word: runs of WORD characters (JOIN ignored), SINGLE alone."""
    out = []
    word, start, end = [], None, None

    def flush():
        nonlocal word, start
        if start is not None:
            out.append((xxhash.xxh64_intdigest("".join(word).encode(), TOKEN_SEED), start, end))
        word, start = [], None

    for i, ch in enumerate(text):
        cls = char_class(ch)
        if cls == foldtable.JOIN:
            continue
        if cls == foldtable.WORD:
            if start is None:
                start = i
            word.append(foldtable._fold(ch))
            end = i + 1
        elif cls == foldtable.SINGLE:
            flush()
            start, end = i, i + 1
            word = [foldtable._fold(ch)]
            flush()
        else:
            flush()
    flush()
    return out


def shingles(hashes: list[int], backrefs: list[int], k: int, seed: int) -> list[int]:
    """k-gram hashes: an xxh64-style fold of (token hash ^ in-gram backref * P3)."""
    n = len(hashes)
    if n == 0:
        return []
    kk = min(n, k)
    out = []
    for i in range(max(n - k + 1, 1)):
        h = (seed + P5 + kk) & M64
        for j in range(kk):
            b = backrefs[i + j] if backrefs[i + j] <= j else 0
            h ^= xxh_round(0, hashes[i + j] ^ ((b * P3) & M64))
            h = (rotl(h, 27) * P1 + P4) & M64
        out.append(avalanche(h))
    return out


def fmix(h: int, width: int) -> int:
    mask = (1 << width) - 1
    if width == 64:
        h ^= h >> 33
        h = (h * 0xFF51AFD7ED558CCD) & mask
        h ^= h >> 33
        h = (h * 0xC4CEB9FE1A85EC53) & mask
        return h ^ (h >> 33)
    h &= mask
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    return h ^ (h >> 16)


def minhash(shingle_hashes: list[int], a: list[int], b: list[int], width: int) -> list[int]:
    mask = (1 << width) - 1
    sig = [mask] * len(a)
    for s in shingle_hashes:
        hv = fmix(s & mask, width)
        for p in range(len(a)):
            sig[p] = min(sig[p], (a[p] * hv + b[p]) & mask)
    return sig


def winnow(hashes: list[int], w: int) -> list[int]:
    """Robust winnowing by brute force: the rightmost minimum of every window."""
    if not hashes:
        return []
    if len(hashes) <= w:
        windows = [range(len(hashes))]
    else:
        windows = [range(s, s + w) for s in range(len(hashes) - w + 1)]
    selected = set()
    for window in windows:
        low = min(hashes[i] for i in window)
        selected.add(max(i for i in window if hashes[i] == low))
    return sorted(selected)


def jaccard(a, b) -> float:
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


def candidate_hits(lo, hi, informative, ignored, distinctive_max: int, max_hits: int, table_doc, min_hits: int,
                   reach: int = 0, min_far_hits: int = 0) -> tuple[set[tuple[int, int]], list[bool]]:
    """Hits of informative k-grams in the documents at least min_hits usable k-grams hit
    and, if fewer than min_far_hits do, two of them at distinct query positions at most
    reach apart."""
    usable = [bool(informative[i] and not ignored[i] and hi[i] - lo[i] <= distinctive_max) for i in range(len(lo))]
    rows = {i: range(lo[i], min(hi[i], lo[i] + max_hits)) for i in range(len(lo))}
    per_doc: dict[int, list[int]] = {}
    for i in range(len(lo)):
        for row in rows[i] if usable[i] else ():
            per_doc.setdefault(int(table_doc[row]), []).append(i)

    def near(qs: list[int]) -> bool:
        return any(0 < b - a <= reach for a in qs for b in qs)

    candidates = {doc for doc, qs in per_doc.items()
                  if len(qs) >= min_hits and (len(qs) >= min_far_hits or near(qs))}
    hits = {(i, row) for i in range(len(lo)) if informative[i] for row in rows[i] if int(table_doc[row]) in candidates}
    return hits, usable


_OPERATORS = (rb"\.\.\.|>>>=|<<=|>>=|\*\*=|//=|->|=>|::|:=|==|!=|<=|>=|&&|\|\||\+\+|--|\+=|-=|\*=|/=|%="
              rb"|&=|\|=|\^=|<<|>>|\*\*|//")
_STRING = (rb"(?:[rRbBuUfFL]{1,2}|u8)?"
           rb"(?:\"\"\"[\s\S]*?(?:\"\"\"|\Z)|'''[\s\S]*?(?:'''|\Z)"
           rb"|\"(?:[^\"\\\n]|\\.)*\"?|'(?:[^'\\\n]|\\.)*'?|`(?:[^`\\]|\\.)*`?)")


def lexemes(data: bytes, hash_comments: bool, signed_exponents: bool = False) -> list[tuple[int, int, int]]:
    """(kind, start, end) of every lexeme, as one regular expression: kinds WS, COMMENT, STR, NUM, WORD, OP.
    (Without ``signed_exponents``, ``[eE][+-]`` never applies: a word character takes the e first.)"""
    comment = rb"\#[^\n]*" if hash_comments else rb"//[^\n]*|/\*[\s\S]*?(?:\*/|\Z)"
    number = rb"\.?\d(?:[eE][+-]\d|[\w.])*" if signed_exponents else rb"\.?\d(?:[\w.]|[eE][+-])*"
    pattern = re.compile(rb"(?P<ws>\s+)|(?P<comment>" + comment + rb")|(?P<str>" + _STRING + rb")"
                         rb"|(?P<num>" + number + rb")|(?P<word>[A-Za-z_$\x80-\xff][\w$\x80-\xff]*)"
                         rb"|(?P<op>" + _OPERATORS + rb"|.)", re.DOTALL)
    kinds = {"ws": 0, "comment": 1, "str": 2, "num": 3, "word": 4, "op": 5}
    return [(kinds[m.lastgroup], m.start(), m.end()) for m in pattern.finditer(data)]


def informative(hashes, k: int) -> list[bool]:
    """Per k-gram: not every token equal to the one two before it (a stream shorter than k is one k-gram)."""
    n = len(hashes)
    starts = range(max(n - k + 1, 1)) if n else range(0)
    width = min(k, n)
    return [not all(hashes[j + 2] == hashes[j] for j in range(s, s + width - 2)) or width < 3 for s in starts]


def widened(q, q_ok, d, d_ok, q0, q1, d0, d1, k, max_left, max_right):
    """sketch.widened: step the ends outwards while the k-grams outside them are equal and usable."""
    q, d = list(q), list(d)
    if q0 < len(q) and d0 < len(d) and q[q0] == d[d0]:
        for _ in range(max_left):
            if q0 > 0 and d0 > 0 and q_ok[q0 - 1] and d_ok[d0 - 1] and q[q0 - 1] == d[d0 - 1]:
                q0, d0 = q0 - 1, d0 - 1
            else:
                break
    if 0 <= q1 - k < len(q) and 0 <= d1 - k < len(d) and q[q1 - k] == d[d1 - k]:
        for _ in range(max_right):
            i, j = q1 - k + 1, d1 - k + 1
            if i < len(q) and j < len(d) and q_ok[i] and d_ok[j] and q[i] == d[j]:
                q1, d1 = q1 + 1, d1 + 1
            else:
                break
    return q0, q1, d0, d1
