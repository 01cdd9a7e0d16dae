"""A copy cut into pieces: functions reordered, dead code inserted between them.

Each piece is a passage too short to flag on its own (a one-line function, the
half of a loop before an inserted statement), but together they are the copy.
Passages of one document's code are one copy when each lies within
``FilterPolicy.piece_gap`` tokens of another both in the query and in the
document: the query's passages are cut into runs where more than the gap
separates them, and each run's into clusters where more than the gap separates
them in the document. A cluster of two pieces or more weighs what it covers
once: the least of the query tokens and the document tokens its pieces cover
and of their evidence, k-grams seen in an earlier piece not counted again. So
code that repeats itself (``from .x import A`` lines, ``raise
NotImplementedError`` stubs), found as several passages on the same few lines
of a document or of the query, or as pieces of one repeated pattern, counts
once, and idioms from all over a long module are no one copy.

Adding a piece to a cluster adds what it covers anew; clusters only merge, so
copying more of a document does not undo a copy in pieces (as far as the pieces
added repeat none of its k-grams before it). Pieces add up within one reading of
the query (code), not across readings.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from .arrays import union_length
from .normalize import LANGUAGES, MARKDOWN


class Piece(NamedTuple):
    """A passage in token positions: query [query_start, query_end), document
    [doc_start, doc_end); ``tokens``: its evidence (``Span.tokens``); ``kgrams``: the
    hashes of the query's k-grams inside it."""

    query_start: int
    query_end: int
    doc_start: int
    doc_end: int
    tokens: int
    kgrams: frozenset = frozenset()


def query_piece(query_start: int, query_end: int, doc_start: int, doc_end: int, tokens: int,
                shingles: np.ndarray, counted: np.ndarray, k: int) -> Piece:
    """A Piece with the k-grams of query tokens [query_start, query_end) that may be
    evidence (``counted``: informative, not boilerplate), from the query's k-gram hashes
    ``shingles`` (k-gram i covers tokens i..i+k-1)."""
    inside = slice(query_start, max(query_start, query_end - k + 1))
    return Piece(query_start, query_end, doc_start, doc_end, tokens,
                 frozenset(shingles[inside][counted[inside]].tolist()))


def query_may_chain(query_lang: str) -> bool:
    """Whether pieces found in a query in ``query_lang`` may add up: code, or a Markdown
    answer's code blocks."""
    return query_lang in LANGUAGES or query_lang == MARKDOWN


def may_chain(query_lang: str, doc_lang: str) -> bool:
    """Whether pieces of a document in ``doc_lang`` found in a query in ``query_lang`` may
    add up: code in code, or in a Markdown answer's code blocks."""
    return doc_lang in LANGUAGES and query_may_chain(query_lang)


def chained_pieces(pieces: Sequence[Piece], limit: int, gap: int) -> tuple[list[int], int]:
    """(indices, weight) of the cluster of pieces (all of one document) with the
    largest weight, if that reaches ``limit``; else ([], 0) (also when ``gap`` is 0)."""
    if gap <= 0 or len(pieces) < 2:
        return [], 0
    best: list[int] = []
    best_weight = 0
    for run in _linked(pieces, range(len(pieces)), gap, query_side=True):
        for cluster in _linked(pieces, run, gap, query_side=False):
            weight = piece_weight([pieces[i] for i in cluster])
            if len(cluster) > 1 and weight > best_weight:
                best, best_weight = sorted(cluster, key=lambda i: pieces[i][:2]), weight
    return (best, best_weight) if best_weight >= limit else ([], 0)


def piece_weight(cluster: Sequence[Piece]) -> int:
    """What a cluster of pieces covers, once: the least of the query tokens and the
    document tokens they cover, and their evidence, each piece's in the share of its
    k-grams that no piece before it in the query has (as a passage's evidence counts
    each distinct k-gram once: lines that repeat one pattern are one short pattern)."""
    evidence, seen = 0, set()
    for p in sorted(cluster, key=lambda p: (p.query_start, p.query_end, p.doc_start)):
        new = len(p.kgrams - seen) if p.kgrams else 1
        evidence += p.tokens * new // max(len(p.kgrams), 1)
        seen |= p.kgrams
    return min(evidence, union_length([(p.query_start, p.query_end) for p in cluster]),
               union_length([(p.doc_start, p.doc_end) for p in cluster]))


def _linked(pieces: Sequence[Piece], members, gap: int, query_side: bool) -> list[list[int]]:
    """``members`` cut where more than ``gap`` tokens separate them on one side."""
    side = (lambda p: (p.query_start, p.query_end)) if query_side else (lambda p: (p.doc_start, p.doc_end))
    groups: list[list[int]] = []
    reach = None
    for i in sorted(members, key=lambda i: side(pieces[i])):
        start, end = side(pieces[i])
        if reach is None or start > reach + gap:
            groups.append([])
            reach = end
        groups[-1].append(i)
        reach = max(reach, end)
    return groups

