"""Verdict: what the filter decided and why, with attribution.

The JSON form (``Verdict.to_dict``) is the contract of DESIGN.md, printed by
the CLI and the service. Offsets are character offsets into the texts as
given; line ranges are 1-based and inclusive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .align import ReusedPassage, with_copies
from .config import FilterPolicy
from .normalize import TEXT
from .pieces import chained_pieces, may_chain, query_piece
from .sketch import Comparison, Sketch


@dataclass(frozen=True)
class Span:
    query_start: int
    query_end: int
    doc_start: int
    doc_end: int
    query_lines: tuple[int, int]
    doc_lines: tuple[int, int]
    tokens: int  # normalized tokens of the query the passage covers
    # "copy": shared token runs; "comment": shared runs of words in a code document's
    # comments or docstrings (the query read as prose); "reworded": aligned sentences (align.py);
    # "pieces": the copies, each too short to flag, of one copy cut into pieces (pieces.py),
    # from the first to the last, ``tokens`` what they cover together
    kind: str = "copy"
    # Found reading both texts as prose: ``tokens`` are words (FilterPolicy.min_match_words).
    prose: bool = False

    def to_dict(self) -> dict:
        return {"query_start": self.query_start, "query_end": self.query_end,
                "doc_start": self.doc_start, "doc_end": self.doc_end,
                "query_lines": list(self.query_lines), "doc_lines": list(self.doc_lines),
                "tokens": self.tokens, "kind": self.kind, "prose": self.prose}


@dataclass(frozen=True)
class Match:
    doc_id: str
    source: str
    jaccard: float
    containment: float  # the larger of the two containments below
    containment_query: float  # share of the query's k-grams found in the document
    containment_doc: float  # share of the document's k-grams found in the query
    spans: tuple[Span, ...]

    @property
    def longest_span(self) -> int:
        return max((s.tokens for s in self.spans), default=0)

    def flagged_span(self, policy: FilterPolicy) -> Span | None:
        """The longest span long enough to flag under ``policy`` (its limit for code
        tokens or for words), if any."""
        return max((s for s in self.spans if s.tokens >= policy.limit(s.prose)), key=lambda s: s.tokens,
                   default=None)

    def flags(self, policy: FilterPolicy) -> bool:
        """A copied passage long enough, or a near-duplicate whole."""
        return self.flagged_span(policy) is not None or self.jaccard >= policy.jaccard_threshold

    def to_dict(self) -> dict:
        return {"doc_id": self.doc_id, "source": self.source, "jaccard": round(self.jaccard, 6),
                "containment": round(self.containment, 6),
                "containment_query": round(self.containment_query, 6),
                "containment_doc": round(self.containment_doc, 6),
                "spans": [s.to_dict() for s in self.spans]}


@dataclass(frozen=True)
class Verdict:
    action: str  # "allow" | "block" | "redact" | "annotate"
    score: float
    reason: str
    matches: tuple[Match, ...] = field(default_factory=tuple)

    @property
    def allowed(self) -> bool:
        return self.action == "allow"

    def to_dict(self) -> dict:
        return {"action": self.action, "score": round(self.score, 6), "reason": self.reason,
                "matches": [m.to_dict() for m in self.matches]}

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)


def line_range(sk: Sketch, start: int, end: int) -> tuple[int, int]:
    """The 1-based first and last line of characters start..end of the sketched text."""
    return sk.line_of(start), sk.line_of(max(start, end - 1))


def match_from_comparison(query: Sketch, doc: Sketch, comparison: Comparison, doc_id: str,
                          source: str, min_span_tokens: int, policy: FilterPolicy | None = None) -> Match:
    """Attribute a comparison: passages of at least ``min_span_tokens`` become spans;
    with ``policy``, code passages too short to flag alone that add up as a copy cut
    into pieces (``pieces.chained_pieces``) become one more, of kind "pieces"."""
    spans, passages = [], [p for p in comparison.passages if p.n_tokens >= min_span_tokens]
    for p in passages:
        q_start = int(query.tokens.starts[p.a_start])
        q_end = int(query.tokens.ends[p.a_end - 1])
        d_start = int(doc.tokens.starts[p.b_start])
        d_end = int(doc.tokens.ends[p.b_end - 1])
        spans.append(Span(q_start, q_end, d_start, d_end, line_range(query, q_start, q_end),
                          line_range(doc, d_start, d_end), p.n_tokens, prose=query.tokens.lang == TEXT))
    if (policy is not None and may_chain(query.tokens.lang, doc.tokens.lang)
            and all(s.tokens < policy.min_match_tokens for s in spans)):
        k = query.config.shingle.k_for(query.tokens.lang)
        pieces = [query_piece(p.a_start, p.a_end, p.b_start, p.b_end, p.n_tokens, query.shingles, query.informative, k)
                  for p in passages]
        chain, tokens = chained_pieces(pieces, policy.min_match_tokens, policy.piece_gap)
        if chain:
            spans.append(pieces_span([spans[i] for i in chain], tokens))
    return Match(doc_id, source, comparison.jaccard,
                 max(comparison.containment_a, comparison.containment_b),
                 comparison.containment_a, comparison.containment_b, tuple(spans))


def pieces_span(pieces: list[Span], tokens: int) -> Span:
    """One span for the copied spans of a copy cut into pieces (``pieces.chained_pieces``),
    with the ``tokens`` they weigh together."""
    return Span(min(s.query_start for s in pieces), max(s.query_end for s in pieces),
                min(s.doc_start for s in pieces), max(s.doc_end for s in pieces),
                (min(s.query_lines[0] for s in pieces), max(s.query_lines[1] for s in pieces)),
                (min(s.doc_lines[0] for s in pieces), max(s.doc_lines[1] for s in pieces)),
                tokens, "pieces")


def with_reworded(match: Match, query: Sketch, doc_line_of: Callable[[int], int],
                  reworded: list[ReusedPassage], merge_chars: int, policy: FilterPolicy) -> Match:
    """``match`` with its copied spans and the reworded passages found against the
    same document combined (``align.with_copies``: copies of ``policy.min_match_tokens``
    or more stand for a reworded passage they mostly cover); ``query``: the text read as
    prose; ``doc_line_of`` gives the 1-based line of a character offset in the document."""
    if not reworded:
        return match
    # A copy in pieces stays as it is, beside what its pieces become.
    pieces = [s for s in match.spans if s.kind == "pieces"]
    found = [s for s in match.spans if s.kind != "pieces"]
    copies = [(s.query_start, s.query_end, s.doc_start, s.doc_end) for s in found]
    kept = dict(zip(copies, found))
    spans = []
    # The code limit, not prose's lower one: copies of 22-29 words inside a summary took the
    # place of its reworded passage, which reaches further into the source (PAN 2013 test,
    # summary obfuscation, pairs given: 0.562 -> 0.538).
    flagged = [s.tokens >= policy.min_match_tokens for s in found]
    for q_start, q_end, d_start, d_end, is_reworded in with_copies(copies, reworded, merge_chars, flagged):
        tokens = np.searchsorted(query.tokens.starts, [q_start, q_end])
        # A copy kept as it was keeps its evidence; merged passages count their words (``query`` is prose).
        copy = kept.get((q_start, q_end, d_start, d_end)) if not is_reworded else None
        spans.append(Span(q_start, q_end, d_start, d_end, line_range(query, q_start, q_end),
                          (doc_line_of(d_start), doc_line_of(max(d_start, d_end - 1))),
                          int(tokens[1] - tokens[0]) if copy is None else copy.tokens,
                          "reworded" if is_reworded else (copy.kind if copy else "copy"), copy is None or copy.prose))
    return Match(match.doc_id, match.source, match.jaccard, match.containment,
                 match.containment_query, match.containment_doc,
                 tuple(sorted(spans + pieces, key=lambda s: s.query_start)))


def decide(matches: list[Match], policy: FilterPolicy) -> Verdict:
    """Apply the policy: a long enough copied passage, or a near-duplicate whole.
    Matches that flag come first, then by longest passage."""
    ranked = sorted(((m, m.flagged_span(policy)) for m in matches),
                    key=lambda ms: (ms[1] is None and ms[0].jaccard < policy.jaccard_threshold,
                                    -ms[0].longest_span, -ms[0].jaccard, ms[0].doc_id))
    matches = [m for m, _ in ranked]
    score = max((max(m.jaccard, m.containment_query) for m in matches), default=0.0)
    reasons = []
    for m, span in ranked:
        if span is not None:
            what = {"reworded": "reworded passage", "comment": "copied comment or docstring passage",
                    "pieces": "copy in pieces"}.get(
                span.kind, "copied passage")
            unit = "words" if span.prose else "normalized tokens"
            reasons.append(f"{m.doc_id}: {what} of {span.tokens} {unit} (limit {policy.limit(span.prose)})")
        elif m.jaccard >= policy.jaccard_threshold:
            reasons.append(f"{m.doc_id}: near-duplicate, Jaccard {m.jaccard:.2f} "
                           f"(limit {policy.jaccard_threshold:.2f})")
    if not reasons:
        longest = max((m.longest_span for m in matches), default=0)
        return Verdict("allow", score, f"no copied passage of {policy.min_match_tokens} tokens "
                       f"({policy.min_match_words} words in prose; longest {longest}) and no near-duplicate",
                       tuple(matches))
    more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
    return Verdict(policy.action, score, reasons[0] + more, tuple(matches))
