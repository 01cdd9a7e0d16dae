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
from typing import Iterable, Sequence

import numpy as np

from ._kernels import minhash as _minhash
from ._kernels import shingle as _shingle
from ._kernels import verify as _verify
from ._kernels.winnow import winnow
from .config import DEFAULT_SKETCH_CONFIG, MinHashConfig, ShingleConfig, SketchConfig
from .normalize import TokenStream, normalize
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


def signature_dtype(config: MinHashConfig):
    return np.uint64 if config.scheme == "affine64" else np.uint32


def shingle_hashes(tokens: TokenStream, config: ShingleConfig = DEFAULT_SKETCH_CONFIG.shingle) -> np.ndarray:
    """k-gram hashes of a token stream (uint64; one per k-gram start)."""
    backrefs = tokens.backrefs if config.parameterized else np.zeros_like(tokens.backrefs)
    return _shingle.shingle_hashes(tokens.hashes, backrefs, config.k, np.uint64(config.seed))


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


def fingerprints(shingles: np.ndarray, config: ShingleConfig = DEFAULT_SKETCH_CONFIG.shingle
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Winnowed (hashes, token positions) of a shingle array."""
    positions = winnow(np.ascontiguousarray(shingles, dtype=np.uint64), config.window)
    return shingles[positions], positions


def newline_offsets(text: str) -> np.ndarray:
    return np.flatnonzero(codepoints(text) == 10).astype(np.int64)


@dataclass(frozen=True, eq=False)
class Sketch:
    """Everything needed to compare one text with others.

    tokens          the TokenStream (offsets into the original text)
    newlines        character offsets of "\\n" in the text, for line numbers
    shingles        uint64 hash of every k-gram (position = token index)
    fp_hashes       winnowed fingerprints (subset of shingles)
    fp_positions    their token positions
    signature       MinHash signature (uint64, or uint32 for affine32)
    config          the SketchConfig it was built with
    """

    tokens: TokenStream
    newlines: np.ndarray
    shingles: np.ndarray
    fp_hashes: np.ndarray
    fp_positions: np.ndarray
    signature: np.ndarray
    config: SketchConfig

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    def line_of(self, offset: int) -> int:
        """1-based line number of a character offset."""
        return int(np.searchsorted(self.newlines, offset, side="right")) + 1

    def to_datasketch(self):
        """This signature as a ``datasketch.LeanMinHash`` (same seed and scheme)."""
        from datasketch import LeanMinHash

        mh = self.config.minhash
        return LeanMinHash(seed=mh.seed, hashvalues=self.signature, scheme=mh.scheme)


def sketch(text: str | bytes, lang: str | None = None, config: SketchConfig = DEFAULT_SKETCH_CONFIG,
           *, path: str | None = None) -> Sketch:
    """Normalize and sketch one text (see ``dedupfilter.normalize`` for ``lang``/``path``)."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        from .normalize import decode

        text = decode(bytes(text))
    tokens = normalize(text, lang, path=path)
    return sketch_tokens(tokens, newline_offsets(text), config)


def sketch_tokens(tokens: TokenStream, newlines: np.ndarray,
                  config: SketchConfig = DEFAULT_SKETCH_CONFIG) -> Sketch:
    shingles = shingle_hashes(tokens, config.shingle)
    fp_hashes, fp_positions = fingerprints(shingles, config.shingle)
    return Sketch(tokens, newlines, shingles, fp_hashes, fp_positions,
                  signature(shingles, config.minhash), config)


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
    n_matches: int

    @property
    def n_tokens(self) -> int:
        return self.a_end - self.a_start


@dataclass(frozen=True)
class Comparison:
    """Exact comparison of two sketches over their k-gram sets."""

    jaccard: float
    containment_a: float  # share of A's distinct k-grams found in B
    containment_b: float  # share of B's distinct k-grams found in A
    passages: tuple[Passage, ...]

    @property
    def longest_passage(self) -> int:
        return max((p.n_tokens for p in self.passages), default=0)


def set_overlap(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """(Jaccard, containment of a in b, containment of b in a) of two hash sets."""
    ua, ub = np.unique(a), np.unique(b)
    if ua.size == 0 or ub.size == 0:
        return 0.0, 0.0, 0.0
    n_common = np.intersect1d(ua, ub, assume_unique=True).size
    return (n_common / (ua.size + ub.size - n_common), n_common / ua.size, n_common / ub.size)


def match_passages(a_hashes: np.ndarray, a_positions: np.ndarray, b_hashes: np.ndarray,
                   b_positions: np.ndarray, k: int, gap: int, n_a_tokens: int, n_b_tokens: int
                   ) -> tuple[Passage, ...]:
    """Pair equal k-gram hashes of two texts and merge them into passages."""
    pair_a, pair_b = _verify.pair_matches(
        np.ascontiguousarray(a_hashes, np.uint64), np.ascontiguousarray(a_positions, np.int64),
        np.ascontiguousarray(b_hashes, np.uint64), np.ascontiguousarray(b_positions, np.int64))
    rows = _verify.merge_passages(pair_a, pair_b, k, gap, n_a_tokens, n_b_tokens)
    return tuple(Passage(*map(int, row)) for row in rows)


def compare(a: Sketch, b: Sketch, gap: int = 8) -> Comparison:
    """Jaccard and containment both ways over all k-grams, and the matched passages."""
    if a.config.fingerprint != b.config.fingerprint:
        raise ValueError("sketches were built with different configs; rebuild one of them")
    jaccard, cont_a, cont_b = set_overlap(a.shingles, b.shingles)
    passages = ()
    if cont_a > 0:
        passages = match_passages(a.shingles, np.arange(a.shingles.size), b.shingles,
                                  np.arange(b.shingles.size), a.config.shingle.k, gap,
                                  a.n_tokens, b.n_tokens)
    return Comparison(jaccard, cont_a, cont_b, passages)


def sketch_many(texts: Iterable[str], lang: str | None = None,
                config: SketchConfig = DEFAULT_SKETCH_CONFIG) -> list[Sketch]:
    """Sketch several texts; signatures are computed in one multi-core batch."""
    streams = [(normalize(t, lang), newline_offsets(t)) for t in texts]
    shingle_sets = [shingle_hashes(tokens, config.shingle) for tokens, _ in streams]
    sigs = signatures(shingle_sets, config.minhash)
    out = []
    for (tokens, newlines), shingles, sig in zip(streams, shingle_sets, sigs):
        fp_hashes, fp_positions = fingerprints(shingles, config.shingle)
        out.append(Sketch(tokens, newlines, shingles, fp_hashes, fp_positions, sig, config))
    return out
