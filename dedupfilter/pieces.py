"""A copy cut into pieces: functions reordered, dead code inserted between them.

Each piece is a passage too short to flag on its own (a one-line function, the
half of a loop before an inserted statement), but together they are the copy.
Pieces of one document's code add up against ``FilterPolicy.min_match_tokens``
when they follow each other in the query within ``FilterPolicy.piece_gap``
tokens, overlap neither each other nor each other's place in the document, and
come from one region of it.

Why the last two conditions: code that repeats itself (``from .x import A``
lines, ``raise NotImplementedError`` stubs, ``except (SystemExit,
KeyboardInterrupt): raise``) is found as several passages on the same few lines
of a document, and chained, such passages blocked unrelated code; a copy's
pieces are each a different part of the document, and near each other.
Pieces add up within one reading of the query (code), not across readings.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

from .normalize import LANGUAGES, MARKDOWN

# A chain's pieces lie within this many times their own length in the document:
# reordered functions of one excerpt, not idioms from all over a long module.
PIECE_SPREAD = 5
# Two pieces overlapping by more than this share of the shorter are one copy found twice.
PIECE_OVERLAP = 0.5


class Piece(NamedTuple):
    """A passage in token positions: query [query_start, query_end), document
    [doc_start, doc_end); ``tokens``: its evidence (``Span.tokens``)."""

    query_start: int
    query_end: int
    doc_start: int
    doc_end: int
    tokens: int


def may_chain(query_lang: str, doc_lang: str) -> bool:
    """Whether pieces of a document in ``doc_lang`` found in a query in ``query_lang`` may
    add up: code in code, or in a Markdown answer's code blocks."""
    return doc_lang in LANGUAGES and (query_lang in LANGUAGES or query_lang == MARKDOWN)


def chained_pieces(pieces: Sequence[Piece], limit: int, gap: int) -> list[int]:
    """Indices of the pieces (all of one document) that together cover ``limit``
    tokens or more as a copy cut into pieces, or [] (also when ``gap`` is 0). Of
    several such chains, the one with the most tokens."""
    if gap <= 0 or len(pieces) < 2:
        return []
    best: list[int] = []
    chain: list[int] = []
    for i in sorted(range(len(pieces)), key=lambda i: (pieces[i].query_start, pieces[i].query_end)):
        p = pieces[i]
        if chain:
            last = pieces[chain[-1]]
            if (_overlaps(p.query_start, p.query_end, last.query_start, last.query_end)
                    or any(_overlaps(p.doc_start, p.doc_end, pieces[j].doc_start, pieces[j].doc_end)
                           for j in chain)):
                continue
            if p.query_start - last.query_end > gap:
                best = _better(best, chain, pieces, limit)
                chain = []
        chain.append(i)
    return _better(best, chain, pieces, limit)


def _overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    shared = min(a_end, b_end) - max(a_start, b_start)
    return shared > PIECE_OVERLAP * min(a_end - a_start, b_end - b_start)


def _better(best: list[int], chain: list[int], pieces: Sequence[Piece], limit: int) -> list[int]:
    """``chain`` if it flags and has more tokens than ``best``, else ``best``."""
    if len(chain) < 2:
        return best
    tokens = sum(pieces[i].tokens for i in chain)
    if tokens < limit or tokens <= sum(pieces[i].tokens for i in best):
        return best
    extent = max(pieces[i].doc_end for i in chain) - min(pieces[i].doc_start for i in chain)
    if extent > PIECE_SPREAD * sum(pieces[i].doc_end - pieces[i].doc_start for i in chain):
        return best
    return list(chain)
