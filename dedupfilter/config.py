"""Frozen configuration. Each part has a stable fingerprint stored in every
index and sketch, so results built with different settings never mix.

Defaults and why (numbers in bench/results/ and the README):
- k = 8 tokens per shingle, winnow window w = 8: any shared run of
  w + k - 1 = 15 normalized tokens is guaranteed to be found.
- Prose (prose documents, the comments and docstrings of code, a Markdown
  document read as prose; not a Markdown document's own stream, which mixes
  prose and code and keeps the code's k and window) has k-grams of 5 words,
  winnowed with a window of 4, so words substituted here and there leave
  more of a copy to find. bench/evasion.py, 10% word substitution in
  help-topic paragraphs: k 8 window 8 caught 0.62, window 4 0.79, k 5 and
  window 4 0.96, at the same false blocks on held-out paragraphs (0.24).
  Code keeps k 8: at k 5 its k-grams become common (verbatim code caught
  0.85). The window decides only what an index stores: queries look up
  every k-gram.
- MinHash: 128 permutations, seed 1, datasketch's "affine64" scheme with an
  identity hash over our 64-bit shingle hashes.
- Policy: block when a matched passage covers at least 30 normalized tokens
  (about 150 characters of code, the scale of GitHub Copilot's public-code
  filter) or when document Jaccard reaches 0.8.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import asdict, dataclass, field, fields

from .normalize.foldtable import FOLD_TABLE_VERSION
from .normalize.tokens import TOKEN_SEED

# Bump when token hashing, shingling or sketch layout changes meaning.
FORMAT_VERSION = 1

SCHEMES = ("affine64", "affine32")


def _fingerprint(obj) -> str:
    settings = asdict(obj)
    for name in ("prose_window", "prose_k"):
        if settings.get("shingle", {}).get(name, 0) is None:
            del settings["shingle"][name]  # configs from before it existed keep their fingerprint
    payload = json.dumps({"format": FORMAT_VERSION, "fold_table": FOLD_TABLE_VERSION,
                          "token_seed": TOKEN_SEED, **settings}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ShingleConfig:
    """k: tokens per k-gram; window: winnowing window in k-grams; prose_k and
    prose_window: those of prose (None: ``k``, ``window``; indexes built before
    them have None); parameterized: k-grams see identifier back-references
    (True), or treat every identifier alike (False, as JPlag and Dolos do)."""

    k: int = 8
    window: int = 8
    seed: int = 0
    parameterized: bool = True
    prose_window: int | None = 4
    prose_k: int | None = 5

    def __post_init__(self):
        for name in ("k", "prose_k"):
            value = getattr(self, name)
            if value is not None and not 1 <= value <= 256:
                raise ValueError(f"{name} must be in 1..256, got {value}")
        for name in ("window", "prose_window"):
            value = getattr(self, name)
            if value is not None and not 1 <= value <= 4096:
                raise ValueError(f"{name} must be in 1..4096, got {value}")
        if not 0 <= self.seed < 2**64:
            raise ValueError("seed must fit in 64 bits")

    def window_for(self, lang: str) -> int:
        """The winnowing window of a token stream in ``lang`` ("text": prose)."""
        return self.prose_window if lang == "text" and self.prose_window is not None else self.window

    def k_for(self, lang: str) -> int:
        """Tokens per k-gram of a token stream in ``lang`` ("text": prose)."""
        return self.prose_k if lang == "text" and self.prose_k is not None else self.k

    def guaranteed_match_tokens(self, lang: str) -> int:
        """Any shared run this long (in tokens of ``lang``) yields a shared fingerprint, with
        the code window or the window of ``lang``: the shortest passage reported. (With the
        prose window alone, 8 tokens for prose, the short passages reported at the edges of
        copies cost precision: PAN 2013 test corpus 2, verbatim copies, 0.969 -> 0.953.)"""
        return max(self.window, self.window_for(lang)) + self.k_for(lang) - 1


@dataclass(frozen=True)
class MinHashConfig:
    num_perm: int = 128
    seed: int = 1
    scheme: str = "affine64"

    def __post_init__(self):
        if not 1 <= self.num_perm <= 8192:
            raise ValueError(f"num_perm must be in 1..8192, got {self.num_perm}")
        if self.scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {self.scheme!r}")


@dataclass(frozen=True)
class SketchConfig:
    shingle: ShingleConfig = field(default_factory=ShingleConfig)
    minhash: MinHashConfig = field(default_factory=MinHashConfig)

    @functools.cached_property
    def fingerprint(self) -> str:
        return _fingerprint(self)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SketchConfig":
        return cls(ShingleConfig(**{"prose_window": None, "prose_k": None, **data["shingle"]}), MinHashConfig(**data["minhash"]))


@dataclass(frozen=True)
class FilterPolicy:
    """When an output counts as a copy.

    min_match_tokens: block when one matched passage covers at least this
        many normalized tokens of the query;
    min_match_words: the same for a passage found reading both texts as prose
        (``Span.prose``: prose, comments and docstrings, reworded passages),
        whose tokens are words. With 30, a paragraph with one word in ten replaced
        was caught 0.958 of the time, with 22 0.990, for 3 more false blocks
        in 860 held-out standard-library chunks, docstrings the standard
        library repeats (``python bench/evasion.py --min-match-words``);
    jaccard_threshold: block when whole-document Jaccard reaches this;
    gap: matched runs merge into one passage across up to this many changed or
        inserted tokens between them (a renamed call, an inserted statement);
        the query-side distance this allows between two hits follows from k and
        the winnowing window (``sketch.passage_reach``). Bridged tokens are no
        evidence, except in prose between two runs on one diagonal.
    piece_gap: passages of one document's code too short to flag alone add up
        against min_match_tokens when each lies within this many tokens of
        another both in the query and in the document, each k-gram and token
        counted once (``pieces``): the functions of a copy reordered, dead code
        inserted between statements. 0 turns this off.
    """

    min_match_tokens: int = 30
    min_match_words: int = 22
    jaccard_threshold: float = 0.8
    gap: int = 8
    piece_gap: int = 40
    action: str = "block"

    def __post_init__(self):
        if self.min_match_tokens < 1 or self.min_match_words < 1:
            raise ValueError("min_match_tokens and min_match_words must be at least 1")
        if not 0.0 < self.jaccard_threshold <= 1.0:
            raise ValueError("jaccard_threshold must be in (0, 1]")
        if self.gap < 1:
            raise ValueError("gap must be at least 1")
        if self.piece_gap < 0:
            raise ValueError("piece_gap must be at least 0 (0: pieces never add up)")
        if self.action not in ("block", "redact", "annotate"):
            raise ValueError(f"action must be block, redact or annotate, got {self.action!r}")

    def limit(self, prose: bool) -> int:
        """The tokens a passage must cover to flag: words if found as prose."""
        return self.min_match_words if prose else self.min_match_tokens

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


DEFAULT_SKETCH_CONFIG = SketchConfig()
DEFAULT_POLICY = FilterPolicy()
