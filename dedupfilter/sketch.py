"""TokenStream -> Sketch: validated wrappers around the numba kernels.

A Sketch carries both summaries of one text (see DESIGN.md):
- a MinHash signature, for whole-document near-duplicates (Jaccard), and
- winnowed k-gram fingerprints with token positions, for local copies and
  their spans;
plus every k-gram hash, for exact comparison of two sketches.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ._kernels import lookup as _lookup
from ._kernels import minhash as _minhash
from ._kernels import shingle as _shingle
from .arrays import distinct, lex_order
from ._kernels import passages as _passages
from ._kernels.winnow import winnow
from .config import DEFAULT_SKETCH_CONFIG, MinHashConfig, ShingleConfig, SketchConfig
from .normalize import MARKDOWN, TEXT, TokenStream, normalize, normalize_text, resolve_language
from .normalize.text import codepoints


@functools.lru_cache(maxsize=16)
def permutations(config: MinHashConfig) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of the affine permutations, drawn exactly as datasketch 2.x draws them.

    Returned as uint64 for both schemes (32-bit values for affine32).
    """
    gen = np.random.RandomState(config.seed)
    if config.scheme == "affine64":
        a = gen.randint(0, 1 << 63, config.num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        b = gen.randint(0, 1 << 64, config.num_perm, dtype=np.uint64)
    else:
        a = gen.randint(0, 1 << 31, config.num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
        b = gen.randint(0, 1 << 32, config.num_perm, dtype=np.uint32)
    a.flags.writeable = False
    b.flags.writeable = False
    return a.astype(np.uint64), b.astype(np.uint64)


def shingle_hashes(tokens: TokenStream, config: ShingleConfig = DEFAULT_SKETCH_CONFIG.shingle) -> np.ndarray:
    """k-gram hashes of a token stream (uint64; one per k-gram start), with the k of its
    language (``ShingleConfig.k_for``)."""
    backrefs = tokens.backrefs if config.parameterized else np.zeros_like(tokens.backrefs)
    return _shingle.shingle_hashes(tokens.hashes, backrefs, config.k_for(tokens.lang), np.uint64(config.seed))


def kgrams(tokens: TokenStream, config: ShingleConfig = DEFAULT_SKETCH_CONFIG.shingle
           ) -> tuple[np.ndarray, np.ndarray]:
    """(``shingle_hashes``, ``informative_mask``) of a token stream."""
    return shingle_hashes(tokens, config), informative_mask(tokens, config.k_for(tokens.lang))


def signature(shingles: np.ndarray, config: MinHashConfig = DEFAULT_SKETCH_CONFIG.minhash) -> np.ndarray:
    """MinHash signature of a set of 64-bit shingle hashes, datasketch-identical.

    With scheme affine32 the shingle hashes are folded to their low 32 bits
    (datasketch: ``hashfunc=lambda h: h & 0xFFFFFFFF``).
    """
    shingles = np.ascontiguousarray(shingles, dtype=np.uint64)
    a, b = permutations(config)
    if config.scheme == "affine64":
        return _minhash.minhash64(shingles, a, b)
    return _minhash.minhash32(shingles, a, b).astype(np.uint32)


def signatures(shingle_sets: Sequence[np.ndarray],
               config: MinHashConfig = DEFAULT_SKETCH_CONFIG.minhash) -> np.ndarray:
    """Signatures of many shingle sets in one call: a (n_docs, num_perm) array.

    Runs on all cores (numba prange over documents); each row equals
    ``signature(shingle_sets[i])`` whatever the number of threads.
    """
    lengths = np.fromiter((len(s) for s in shingle_sets), dtype=np.int64, count=len(shingle_sets))
    offsets = np.zeros(len(shingle_sets) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = (np.concatenate([np.asarray(s, np.uint64) for s in shingle_sets])
            if len(shingle_sets) else np.empty(0, np.uint64))
    a, b = permutations(config)
    if config.scheme == "affine64":
        return _minhash.minhash64_batch(flat, offsets, a, b)
    return _minhash.minhash32_batch(flat, offsets, a, b).astype(np.uint32)


def informative_mask(tokens: TokenStream, k: int) -> np.ndarray:
    """Per k-gram: False when its tokens repeat with period 1 or 2.

    Such k-grams (``STR , STR , STR ,``, ``NUM , NUM ,``, ``} } } }``) are
    data tables and closing brackets: any two lists of literals share them
    once literals are abstracted, so they are no evidence of copying and are
    never used as fingerprints or looked up.
    """
    return _shingle.informative(tokens.hashes, k)


def fingerprints(shingles: np.ndarray, config: ShingleConfig = DEFAULT_SKETCH_CONFIG.shingle,
                 informative: np.ndarray | None = None, lang: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Winnowed (hashes, token positions) of a shingle array, from informative k-grams only,
    with the window of ``lang`` (``ShingleConfig.window_for``; None: the code window).

    Uninformative k-grams are winnowed as the largest hash, so they are chosen
    only where a whole window has nothing else, and then dropped: the
    winnowing guarantee holds for every shared run of informative k-grams.
    """
    shingles = np.ascontiguousarray(shingles, dtype=np.uint64)
    window = config.window if lang is None else config.window_for(lang)
    if informative is None or informative.all():
        positions = winnow(shingles, window)
    else:
        positions = winnow(np.where(informative, shingles, np.uint64(2**64 - 1)), window)
        positions = positions[informative[positions]]
    return shingles[positions], positions


def newline_offsets(text: str) -> np.ndarray:
    return np.flatnonzero(codepoints(text) == 10).astype(np.int64)


def line_number(newlines: np.ndarray, offset: int) -> int:
    """1-based line number of a character offset, given the text's ``newline_offsets``."""
    return int(np.searchsorted(newlines, offset, side="right")) + 1


@dataclass(frozen=True, eq=False)
class Sketch:
    """Everything needed to compare one text with others.

    tokens          the TokenStream (offsets into the original text)
    newlines        character offsets of "\\n" in the text, for line numbers
    shingles        uint64 hash of every k-gram (position = token index)
    informative     bool per k-gram: False for periodic ones (see informative_mask)
    fp_hashes       winnowed fingerprints (subset of shingles)
    fp_positions    their token positions
    signature       MinHash signature (uint64, or uint32 for affine32)
    config          the SketchConfig it was built with
    """

    tokens: TokenStream
    newlines: np.ndarray
    shingles: np.ndarray
    informative: np.ndarray
    fp_hashes: np.ndarray
    fp_positions: np.ndarray
    signature: np.ndarray
    config: SketchConfig

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    def line_of(self, offset: int) -> int:
        """1-based line number of a character offset."""
        return line_number(self.newlines, offset)

    def to_datasketch(self):
        """This signature as a ``datasketch.LeanMinHash`` (same seed and scheme)."""
        from datasketch import LeanMinHash

        mh = self.config.minhash
        return LeanMinHash(seed=mh.seed, hashvalues=self.signature, scheme=mh.scheme)


def sketch(text: str | bytes, lang: str | None = None, config: SketchConfig = DEFAULT_SKETCH_CONFIG,
           *, path: str | None = None, lexed: bool = False, prose: TokenStream | None = None) -> Sketch:
    """Normalize and sketch one text (see ``dedupfilter.normalize`` for ``lang``, ``path``
    and ``lexed``); ``prose``: the text normalized as prose, if the caller has it (a
    Markdown text's signature is its prose's: ``document_shingles``)."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        from .normalize import decode

        text = decode(bytes(text))
    tokens = normalize(text, lang, path=path, lexed=lexed)
    if tokens.lang == MARKDOWN and prose is None:
        prose = normalize_text(text)
    return sketch_tokens(tokens, newline_offsets(text), config, prose=prose)


def document_shingles(text: str, lang: str | None = None, config: ShingleConfig = DEFAULT_SKETCH_CONFIG.shingle,
                      *, path: str | None = None) -> np.ndarray:
    """The k-gram hashes a whole-document signature of ``text`` is computed from (``lang``,
    ``path``: as ``normalize``): those of its tokens, but for Markdown those of its reading
    as prose alone, so that a Markdown document and a prose copy of it are near-duplicates
    (prose has a k of its own)."""
    resolved = resolve_language(text, lang, path)
    return shingle_hashes(normalize_text(text) if resolved == MARKDOWN else normalize(text, resolved), config)


def sketch_tokens(tokens: TokenStream, newlines: np.ndarray, config: SketchConfig = DEFAULT_SKETCH_CONFIG,
                  prose: TokenStream | None = None) -> Sketch:
    """The Sketch of normalized tokens; ``prose``: for Markdown tokens, the text read as
    prose, whose k-grams its signature is made of (``document_shingles``)."""
    shingles, informative = kgrams(tokens, config.shingle)
    fp_hashes, fp_positions = fingerprints(shingles, config.shingle, informative, tokens.lang)
    whole = shingle_hashes(prose, config.shingle) if tokens.lang == MARKDOWN and prose is not None else shingles
    return Sketch(tokens, newlines, shingles, informative, fp_hashes, fp_positions,
                  signature(whole, config.minhash), config)


def passage_sketch(tokens: TokenStream, newlines: np.ndarray, shingles: np.ndarray, informative: np.ndarray,
                   config: SketchConfig = DEFAULT_SKETCH_CONFIG) -> Sketch:
    """A Sketch to be matched by its passages only (``ProtectedIndex.matches`` without
    near-duplicates): no fingerprints, a signature of zeros. A stream's window is one, and so
    is a second reading of a query (its code read as prose)."""
    signature = np.zeros(config.minhash.num_perm, np.uint64 if config.minhash.scheme == "affine64" else np.uint32)
    return Sketch(tokens, newlines, shingles, informative, np.empty(0, np.uint64), np.empty(0, np.int64),
                  signature, config)


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    if sig_a.shape != sig_b.shape:
        raise ValueError(f"signatures differ in shape: {sig_a.shape} vs {sig_b.shape}")
    return float(np.count_nonzero(sig_a == sig_b)) / sig_a.shape[0]


@dataclass(frozen=True)
class Passage:
    """A run of matching k-grams, in token indices (end exclusive) of both texts."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    n_tokens: int  # tokens of A covered by matching k-grams (bridged gaps not counted)


@dataclass(frozen=True)
class Comparison:
    """Exact comparison of two sketches over their k-gram sets."""

    jaccard: float
    containment_a: float  # share of A's distinct k-grams found in B
    containment_b: float  # share of B's distinct k-grams found in A
    passages: tuple[Passage, ...]


def set_overlap(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """(Jaccard, containment of a in b, containment of b in a) of two hash sets."""
    ua, ub = distinct(a), distinct(b)
    if ua.size == 0 or ub.size == 0:
        return 0.0, 0.0, 0.0
    n_common = np.intersect1d(ua, ub, assume_unique=True).size
    return (n_common / (ua.size + ub.size - n_common), n_common / ua.size, n_common / ub.size)


TABLE_SAMPLES = 8192


def table_sample(table_hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, hashes) of TABLE_SAMPLES rows spread over a sorted table, for ``table_ranges``."""
    return _lookup.table_sample(table_hashes, TABLE_SAMPLES)


def table_ranges(q_hashes: np.ndarray, table_hashes: np.ndarray,
                 sample: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For each query hash, the rows [lo, hi) of the sorted ``table_hashes`` equal to it.
    ``sample``: ``table_sample(table_hashes)``, kept by a caller that looks up often."""
    sample = table_sample(table_hashes) if sample is None else sample
    return _lookup.sorted_ranges(table_hashes, np.ascontiguousarray(q_hashes, table_hashes.dtype), *sample)


def table_directory(table_hashes: np.ndarray, rows_per_bucket: int = 16) -> np.ndarray:
    """A directory of a sorted hash table, for ``directory_ranges``: the first row of
    each bucket of hashes sharing their top bits, about ``rows_per_bucket`` rows each."""
    return _lookup.table_directory(table_hashes, directory_bits(table_hashes.size, rows_per_bucket))


def directory_bits(n_rows: int, rows_per_bucket: int) -> int:
    """Top bits a directory of a sorted table of ``n_rows`` hashes buckets them by, for
    about ``rows_per_bucket`` rows a bucket."""
    return int(np.clip(np.log2(max(n_rows, 1) / rows_per_bucket), 1, 24))


def directory_ranges(q_hashes: np.ndarray, table_hashes: np.ndarray, directory: np.ndarray,
                     members: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``table_ranges`` through a ``table_directory`` (about 3x faster on a large table:
    a bucket is a few cache lines), and whether each hash is in the sorted ``members``."""
    bits = int(directory.size - 1).bit_length() - 1
    return _lookup.directory_ranges(table_hashes, np.ascontiguousarray(q_hashes, np.uint64), directory, bits,
                                    members)


def hits_in_ranges(lo: np.ndarray, hi: np.ndarray, max_hits: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Every (query index, table row) of the ranges, at most ``max_hits`` rows per query
    hash: a k-gram that common is boilerplate."""
    counts = np.minimum(hi - lo, max_hits)
    n_hits = int(counts.sum())
    q_index = np.repeat(np.arange(lo.size, dtype=np.int64), counts)
    first_of_run = np.repeat(np.cumsum(counts) - counts, counts)
    rows = np.repeat(lo, counts) + (np.arange(n_hits, dtype=np.int64) - first_of_run)
    return q_index, rows.astype(np.int64)


def usable_hits(lo: np.ndarray, hi: np.ndarray, informative: np.ndarray, ignored: np.ndarray,
                distinctive_max: int, max_hits: int, table_doc: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(usable mask, query index, table row, document) of the hits of a query's usable
    k-grams (see ``_kernels.lookup.usable_hits``): what ``candidate_passages`` starts from."""
    return _lookup.usable_hits(np.ascontiguousarray(lo, np.int64), np.ascontiguousarray(hi, np.int64),
                               np.ascontiguousarray(informative, np.bool_), np.ascontiguousarray(ignored, np.bool_),
                               int(distinctive_max), int(max_hits), table_doc)


def lookup_hits(q_hashes: np.ndarray, table_hashes: np.ndarray, max_hits: int = 1024
                ) -> tuple[np.ndarray, np.ndarray]:
    """Every (query index, table row) with equal hashes; ``table_hashes`` sorted."""
    return hits_in_ranges(*table_ranges(q_hashes, table_hashes), max_hits)


def passage_reach(k: int, gap: int, spacing: int = 1) -> int:
    """How far (in query tokens) the next hit of a passage may start after its last one.

    ``gap`` changed tokens at t..t+gap-1 break every k-gram that overlaps
    them: the last hit before them starts at t - k at the latest, the first
    after at t + gap at the earliest, and with hits ``spacing`` apart on a
    verbatim run each can be ``spacing - 1`` farther out.
    """
    return k + gap + 2 * (spacing - 1)


def passages_from_hits(hit_doc: np.ndarray, hit_q: np.ndarray, hit_d: np.ndarray, q_shingles: np.ndarray,
                       k: int, gap: int, min_tokens: int = 0, evidence: np.ndarray | None = None,
                       spacing: int = 1, bridge_substitutions: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Passages from k-gram hits (any order) of a query with k-gram hashes ``q_shingles``.

    Returns rows (doc, q_start, q_end, first, last, tokens), ``first``/``last``
    indexing the hits in the returned order. ``tokens`` is the evidence of
    copying: the query tokens covered by matched k-grams that count as
    ``evidence`` (a bool per query k-gram; default: all), and for passages of
    at least ``min_tokens`` at most the number of *distinct* such k-grams in
    the passage + k - 1. Repetitive code (thirteen lines of ``self.x = None``)
    thus counts for what it is, one short pattern, and boilerplate k-grams
    extend a passage without being evidence of copying.

    Runs of matched k-grams merge across up to ``gap`` changed or inserted
    tokens (see ``passage_reach``); ``spacing`` is the largest distance
    between two hits of one verbatim run: 1 when every k-gram of the other
    side is looked up, the winnowing window when only its fingerprints are.
    ``bridge_substitutions`` (prose): the tokens between two runs on one
    diagonal (words substituted one for one) count as evidence too.
    """
    evidence = np.ones(q_shingles.size, bool) if evidence is None else evidence
    n_q_tokens = _n_query_tokens(q_shingles.size, k)
    order = lex_order(hit_doc, hit_q, hit_d)
    doc, q, d = (np.ascontiguousarray(a[order], np.int64) for a in (hit_doc, hit_q, hit_d))
    by_diagonal = lex_order(doc, d - q)
    rows, kept = _passages.passages_of_hits(doc, q, d, by_diagonal, np.ascontiguousarray(q_shingles),
                                            np.ascontiguousarray(evidence, np.bool_), k,
                                            passage_reach(k, gap, spacing), gap, max(n_q_tokens, 1), min_tokens,
                                            bridge_substitutions)
    return rows, order[kept]


def candidate_passages(hit_q: np.ndarray, hit_row: np.ndarray, hit_doc: np.ndarray, lo: np.ndarray,
                       hi: np.ndarray, informative: np.ndarray, usable: np.ndarray, max_hits: int,
                       table_doc: np.ndarray, table_pos: np.ndarray, min_hits: int, q_shingles: np.ndarray, k: int,
                       gap: int, min_tokens: int, spacing: int, bridge_substitutions: bool,
                       min_far_hits: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Passages of a query against a fingerprint table (``table_doc``, ``table_pos``
    sorted by hash, then document), from its ``usable_hits`` and lookups (``lo``,
    ``hi``): in the documents its usable k-grams hit ``min_hits`` times or more, every
    hit of an informative k-gram (up to ``max_hits`` rows each) joins passages, and
    the usable ones are the evidence (see ``passages_from_hits``). Returns the rows of
    ``passages_from_hits`` and the table row of each hit their first/last index.

    ``min_far_hits``: a document hit fewer times than this is a candidate only if two
    of its usable hits are within a passage's reach of each other; otherwise any of
    its passages has fewer than ``min_far_hits * k`` tokens of evidence, and is left out."""
    return _passages.candidate_passages(
        np.ascontiguousarray(hit_q, np.int64), np.ascontiguousarray(hit_row, np.int64),
        np.ascontiguousarray(hit_doc, np.int64), np.ascontiguousarray(lo, np.int64), np.ascontiguousarray(hi, np.int64),
        np.ascontiguousarray(informative, np.bool_), np.ascontiguousarray(usable, np.bool_), int(max_hits), table_doc,
        table_pos, int(min_hits), np.ascontiguousarray(q_shingles), int(k), passage_reach(k, gap, spacing), int(gap),
        max(_n_query_tokens(q_shingles.size, k), 1), int(min_tokens), bool(bridge_substitutions), int(min_far_hits))


def widened(q_shingles: np.ndarray, q_informative: np.ndarray, d_shingles: np.ndarray, d_informative: np.ndarray,
            q0: int, q1: int, d0: int, d1: int, k: int, max_left: int, max_right: int
            ) -> tuple[int, int, int, int]:
    """A passage's token ranges [q0, q1) and [d0, d1), whose first and last k-grams
    pair up, widened at each end over the equal, informative k-grams just outside
    them: by at most ``max_left`` and ``max_right`` k-grams.

    An index keeps only the winnowed k-grams of a document, so a passage found
    through it starts at the first fingerprint the copy holds and ends at the
    last: up to w - 1 k-grams inside the copy at each end (so w - 1 is the most a
    caller need allow). Given every k-gram of the document, the ends can be put
    where the copy's are. Periodic k-grams (``informative_mask``) stop the
    widening, as they stop a passage: a table of numbers after a copied function
    is no part of the copy because another table follows it in the query."""
    if 0 <= q0 < q_shingles.size and 0 <= d0 < d_shingles.size and q_shingles[q0] == d_shingles[d0]:
        n = _passages.equal_run(q_shingles, q_informative, q0 - 1, d_shingles, d_informative, d0 - 1, -1, max_left)
        q0, d0 = q0 - n, d0 - n
    q_last, d_last = q1 - k, d1 - k
    if 0 <= q_last < q_shingles.size and 0 <= d_last < d_shingles.size and \
            q_shingles[q_last] == d_shingles[d_last]:
        n = _passages.equal_run(q_shingles, q_informative, q_last + 1, d_shingles, d_informative, d_last + 1, 1,
                                max_right)
        q1, d1 = q1 + n, d1 + n
    return q0, q1, d0, d1


def _n_query_tokens(n_shingles: int, k: int) -> int:
    return n_shingles + k - 1 if n_shingles > 1 else n_shingles


def compare(a: Sketch, b: Sketch, gap: int = 8) -> Comparison:
    """Jaccard and containment both ways over all k-grams, and the matched passages."""
    if a.config.fingerprint != b.config.fingerprint:
        raise ValueError("sketches were built with different configs; rebuild one of them")
    jaccard, cont_a, cont_b = set_overlap(a.shingles, b.shingles)
    passages: tuple[Passage, ...] = ()
    if cont_a > 0:
        a_pos = np.flatnonzero(a.informative)
        b_pos = np.flatnonzero(b.informative)
        b_order = b_pos[np.argsort(b.shingles[b_pos], kind="stable")]
        q_index, rows = lookup_hits(a.shingles[a_pos], b.shingles[b_order])
        hit_d = b_order[rows].astype(np.int64)
        k = a.config.shingle.k_for(a.tokens.lang)
        found, order = passages_from_hits(np.zeros(q_index.size, np.int64), a_pos[q_index], hit_d,
                                          a.shingles, k, gap, a.config.shingle.guaranteed_match_tokens(a.tokens.lang),
                                          a.informative, bridge_substitutions=a.tokens.lang == TEXT)
        hit_d = hit_d[order]
        passages = tuple(Passage(q0, q1, int(hit_d[first]), min(int(hit_d[last]) + k, b.n_tokens), n)
                         for _, q0, q1, first, last, n in found.tolist())
    return Comparison(jaccard, cont_a, cont_b, passages)
