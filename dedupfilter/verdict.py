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
    # comments or docstrings (the query read as prose); "reworded": aligned sentences (align.py)
    kind: str = "copy"

    def to_dict(self) -> dict:
        return {"query_start": self.query_start, "query_end": self.query_end,
                "doc_start": self.doc_start, "doc_end": self.doc_end,
                "query_lines": list(self.query_lines), "doc_lines": list(self.doc_lines),
                "tokens": self.tokens, "kind": self.kind}


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

    @property
    def longest_kind(self) -> str:
        return max(self.spans, key=lambda s: s.tokens).kind if self.spans else "copy"

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
                          source: str, min_span_tokens: int) -> Match:
    """Attribute a comparison: passages of at least ``min_span_tokens`` become spans."""
    spans = []
    for p in comparison.passages:
        if p.n_tokens < min_span_tokens:
            continue
        q_start = int(query.tokens.starts[p.a_start])
        q_end = int(query.tokens.ends[p.a_end - 1])
        d_start = int(doc.tokens.starts[p.b_start])
        d_end = int(doc.tokens.ends[p.b_end - 1])
        spans.append(Span(q_start, q_end, d_start, d_end, line_range(query, q_start, q_end),
                          line_range(doc, d_start, d_end), p.n_tokens))
    return Match(doc_id, source, comparison.jaccard,
                 max(comparison.containment_a, comparison.containment_b),
                 comparison.containment_a, comparison.containment_b, tuple(spans))


def with_reworded(match: Match, query: Sketch, doc_line_of: Callable[[int], int],
                  reworded: list[ReusedPassage], merge_chars: int, min_tokens: int) -> Match:
    """``match`` with its copied spans and the reworded passages found against the
    same document combined (``align.with_copies``; copies of ``min_tokens`` or more
    flag on their own); ``doc_line_of`` gives the 1-based line of a character offset
    in the document."""
    if not reworded:
        return match
    copies = [(s.query_start, s.query_end, s.doc_start, s.doc_end) for s in match.spans]
    evidence = {copy: s.tokens for copy, s in zip(copies, match.spans)}
    kinds = {copy: s.kind for copy, s in zip(copies, match.spans)}
    spans = []
    flagged = [s.tokens >= min_tokens for s in match.spans]
    for q_start, q_end, d_start, d_end, is_reworded in with_copies(copies, reworded, merge_chars, flagged):
        tokens = np.searchsorted(query.tokens.starts, [q_start, q_end])
        # A copy kept as it was keeps its evidence; merged passages count their tokens.
        n_tokens = evidence.get((q_start, q_end, d_start, d_end)) if not is_reworded else None
        spans.append(Span(q_start, q_end, d_start, d_end, line_range(query, q_start, q_end),
                          (doc_line_of(d_start), doc_line_of(max(d_start, d_end - 1))),
                          int(tokens[1] - tokens[0]) if n_tokens is None else n_tokens,
                          "reworded" if is_reworded else kinds.get((q_start, q_end, d_start, d_end), "copy")))
    return Match(match.doc_id, match.source, match.jaccard, match.containment,
                 match.containment_query, match.containment_doc, tuple(spans))


def decide(matches: list[Match], policy: FilterPolicy) -> Verdict:
    """Apply the policy: a long enough copied passage, or a near-duplicate whole."""
    matches = sorted(matches, key=lambda m: (-m.longest_span, -m.jaccard, m.doc_id))
    score = max((max(m.jaccard, m.containment_query) for m in matches), default=0.0)
    reasons = []
    for m in matches:
        if m.longest_span >= policy.min_match_tokens:
            what = {"reworded": "reworded passage", "comment": "copied comment or docstring passage"}.get(
                m.longest_kind, "copied passage")
            reasons.append(f"{m.doc_id}: {what} of {m.longest_span} normalized tokens "
                           f"(limit {policy.min_match_tokens})")
        elif m.jaccard >= policy.jaccard_threshold:
            reasons.append(f"{m.doc_id}: near-duplicate, Jaccard {m.jaccard:.2f} "
                           f"(limit {policy.jaccard_threshold:.2f})")
    if not reasons:
        longest = max((m.longest_span for m in matches), default=0)
        return Verdict("allow", score, f"no copied passage of {policy.min_match_tokens} tokens "
                       f"(longest {longest}) and no near-duplicate", tuple(matches))
    more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
    return Verdict(policy.action, score, reasons[0] + more, tuple(matches))
