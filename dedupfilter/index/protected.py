"""ProtectedIndex: the protected corpus, indexed once, queried at serving time.

Two structures answer a query (DESIGN.md):
- LSH over MinHash signatures finds documents that are near-duplicates of
  the query as a whole;
- a fingerprint table (winnowed k-gram hash -> document, token position,
  character and line offsets) finds local copies: every k-gram of the query
  is looked up, hits are merged into passages per document, and passages
  map back to exact characters and lines on both sides.
Fingerprints in too many documents (boilerplate: license headers, common
imports, main guards) and those of registered templates are ignored.
"""

from __future__ import annotations

import datetime
import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from .._kernels.lsh import band_directory, band_keys, lsh_candidates
from ..arrays import distinct, distinct_counts, distinct_pairs
from ..config import DEFAULT_POLICY, DEFAULT_SKETCH_CONFIG, FilterPolicy, ShingleConfig, SketchConfig
from ..normalize import LANGUAGES, MARKDOWN, TEXT, TokenStream, decode, normalize, normalize_text, resolve_language
from ..sketch import (Sketch, candidate_passages, directory_bits, directory_ranges, kgrams, line_number,
                      newline_offsets, passage_sketch, shingle_hashes, sketch, table_directory, usable_hits, widened)
from ..align import (DEFAULT_ALIGN_PARAMS, PROSE_LANGUAGES, WORD_KEY_WEIGHT, AlignParams, align, sentence_keys,
                     sentence_word_keys, sentences)
from ..pieces import Piece, chained_pieces, may_chain, query_may_chain, query_piece
from ..verdict import Match, Span, Verdict, decide, pieces_span, with_reworded
from . import storage
from .lsh import optimal_bands
from .sketching import BatchSketch, document_tokens, prose_lane_start, sketch_batch, sketch_corpus
from .storage import IndexError_, column

MAX_HITS_PER_HASH = 1024  # rows looked at per query k-gram
# A k-gram found in more places than this (in this index) is too common to find
# documents by or to count as evidence; it can still join a passage.
DISTINCTIVE_MAX_HITS = 64
# How much a document's hits of distinctive k-grams (log 1 + hits) add to its sentence- and
# word-key score as a reworded query's candidate (``_reworded_candidates``). On PAN 2013 train,
# the paired source among the first 80 candidates: random obfuscation 0.945 -> 0.982 (weight 1),
# 0.988 (2), 0.989 (4); translation 0.951 -> 0.966, 0.964, 0.960; summary 0.617 -> 0.646, 0.650,
# 0.650 (python bench/reworded_candidates.py).
KGRAM_HITS_WEIGHT = 2.0
# A bucket of an LSH band's directory holds about this many keys (a cache line or two).
LSH_KEYS_PER_BUCKET = 4
# Documents aligned with a query sentence by sentence when asked for reworded passages: on PAN
# 2013's test corpus, through the index, 20 gave entire plagdet 0.837 at 0.09 s a suspicious
# document, 40 gave 0.872 at 0.16 s (python bench/accuracy_text.py at 8ec5f21), 80 gave 0.883
# (random 0.828 -> 0.846) at 0.43 s against 0.31 s for 40 in the same, busier run (at 51855a2).
DEFAULT_REWORDED_CANDIDATES = 80
# Stored documents whose k-grams are kept after widening spans (a query's matches, then the next's).
STORED_KGRAMS_CACHED = 32
# What FilterPolicy.gap counts, recorded in the manifest (indexes without it are older).
POLICY_GAP_UNIT = "changed tokens"


@dataclass(frozen=True)
class Lookup:
    """Per query k-gram: its rows [lo, hi) in the fingerprint table; ignored (boilerplate or template).
    A caller that kept them (a stream's tape) may add the usable mask and the usable k-grams' hits
    (query index, table row, document: ``sketch.usable_hits``)."""

    lo: np.ndarray
    hi: np.ndarray
    ignored: np.ndarray
    usable: np.ndarray | None = None
    hits: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


class PassageRows(NamedTuple):
    """A query's passages as ``ProtectedIndex.passage_rows`` finds them: int64 rows (doc,
    first query token, end query token, first hit, last hit, evidence tokens), the hits
    being ``hit_row``'s table rows."""

    rows: np.ndarray
    hit_row: np.ndarray


@dataclass(frozen=True)
class IndexSettings:
    """How an index is built. Stored in the manifest.

    lsh_threshold: Jaccard at which LSH should find whole-document near-duplicates;
    max_df_share / max_df_floor: a fingerprint found in more than
        max(max_df_floor, max_df_share * n_docs) documents is boilerplate and ignored;
    store_text: keep the documents' text in the index (off: only offsets are kept,
        so a service can run without holding the protected content).
    """

    sketch: SketchConfig = DEFAULT_SKETCH_CONFIG
    lsh_threshold: float = 0.8
    max_df_share: float = 0.01
    max_df_floor: int = 10
    store_text: bool = False

    def __post_init__(self):
        if not 0.0 < self.lsh_threshold < 1.0:
            raise ValueError("lsh_threshold must be in (0, 1)")
        if not 0.0 < self.max_df_share <= 1.0:
            raise ValueError("max_df_share must be in (0, 1]")
        if self.max_df_floor < 1:
            raise ValueError("max_df_floor must be at least 1")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["sketch"] = self.sketch.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "IndexSettings":
        return cls(**{**d, "sketch": SketchConfig.from_dict(d["sketch"])})

    @property
    def bands(self) -> tuple[int, int]:
        return optimal_bands(self.lsh_threshold, self.sketch.minhash.num_perm)

    def df_cutoff(self, n_docs: int) -> int:
        return max(self.max_df_floor, math.ceil(self.max_df_share * n_docs))


class _StringColumn(Sequence):
    """A string column of an opened index, read as a list of str only when it is
    used as a whole: an index of 10^6 documents opens without making 3 x 10^6
    Python strings, and a match reads the one id it reports."""

    def __init__(self, column: pa.ChunkedArray):
        self._column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        self._list: list[str] | None = None
        # One string is read from the column's buffers (a fifth of the time of a pyarrow scalar).
        self._offsets = self._data = None
        if self._column.null_count == 0 and self._column.type in (pa.string(), pa.large_string()):
            _, offsets, data = self._column.buffers()
            width = np.int64 if self._column.type == pa.large_string() else np.int32
            start = self._column.offset
            self._offsets = np.frombuffer(offsets, width)[start:start + len(self._column) + 1]
            self._data = memoryview(data) if data is not None else memoryview(b"")

    def _as_list(self) -> list[str]:
        if self._list is None:
            self._list = self._column.to_pylist()
        return self._list

    def __len__(self) -> int:
        return len(self._column)

    def __getitem__(self, i):
        if self._list is None and isinstance(i, (int, np.integer)):
            if self._offsets is None:
                return self._column[int(i)].as_py()
            i = int(i) + len(self) if i < 0 else int(i)
            if not 0 <= i < len(self):
                raise IndexError(f"index {i} out of range")
            return str(self._data[self._offsets[i]:self._offsets[i + 1]], "utf-8")
        return self._as_list()[i]

    def __iter__(self):
        return iter(self._as_list())

    def __contains__(self, value) -> bool:
        return value in self._as_list()

    def index(self, value, *args) -> int:
        return self._as_list().index(value, *args)

    def __add__(self, other: list[str]) -> list[str]:
        return self._as_list() + list(other)


def hit_spacing(shingle: ShingleConfig) -> int:
    """The spacing of a passage's hits its reach allows for (``sketch.passage_reach``), in
    every reading: the code window. Prose is winnowed more densely (``prose_window``), but its
    passages reach as far as code's: across substituted words and a run between them too
    short to be sure of a fingerprint (bench/evasion.py, 10% word substitution: caught 0.919
    with the prose window's reach, 0.958 with this one, at the same false blocks)."""
    return shingle.window


def merged_per_document(matches: list[Match]) -> list[Match]:
    """One match per document, in matches() order: a query read two ways (as code or
    Markdown, and as prose) may match one document in both readings (its code, its
    docstrings; the same prose twice). The spans of both are kept, except one that another
    holds in the query with at least as many tokens (``_outermost``); the scores are the
    higher of the two."""
    merged: dict[str, Match] = {}
    for m in matches:
        kept = merged.get(m.doc_id)
        merged[m.doc_id] = m if kept is None else replace(
            kept, jaccard=max(kept.jaccard, m.jaccard), containment=max(kept.containment, m.containment),
            containment_query=max(kept.containment_query, m.containment_query),
            containment_doc=max(kept.containment_doc, m.containment_doc), spans=_outermost(kept.spans + m.spans))
    return sorted(merged.values(), key=lambda m: (-m.longest_span, -m.jaccard, m.doc_id))


def _outermost(spans: tuple[Span, ...]) -> tuple[Span, ...]:
    """The spans, by start, without those a span with at least as many tokens holds in the
    query, or overlaps for most of their length on both sides (``_mostly_overlaps``): the same
    passage found by two readings (with their own k, so ends apart by a few tokens) is
    reported once, and a docstring's passage inside a code passage with fewer tokens is kept.
    A span of kind "pieces" holds none: its pieces are where the copy is."""
    kept: list[Span] = []
    for s in sorted(set(spans), key=lambda s: (-s.tokens, s.query_start, -s.query_end, s.doc_start, s.doc_end)):
        if not any(k.kind != "pieces" and (k.query_start <= s.query_start and s.query_end <= k.query_end
                                           or _mostly_overlaps(k, s))
                   for k in kept):
            kept.append(s)
    return tuple(sorted(kept, key=lambda s: (s.query_start, -s.query_end, -s.tokens, s.doc_start, s.doc_end)))


def _mostly_overlaps(a: Span, b: Span, share: float = 0.8) -> bool:
    """Whether ``a`` overlaps ``share`` of ``b`` or more, in the query and in the document."""
    def overlap(a0, a1, b0, b1):
        return min(a1, b1) - max(a0, b0)
    return (overlap(a.query_start, a.query_end, b.query_start, b.query_end) >= share * (b.query_end - b.query_start)
            and overlap(a.doc_start, a.doc_end, b.doc_start, b.doc_end) >= share * (b.doc_end - b.doc_start))


def _template_readings(text: str, lang: str | None) -> list[TokenStream]:
    """A template's tokens as its language reads them, its prose lane (code's comments), and
    its whole text as prose, with the prose k and with the code k (the prose of a Markdown
    document's own stream): a template's text is boilerplate wherever it occurs."""
    _, tokens, lane = document_tokens(text, lang)
    prose = normalize_text(text)
    as_markdown = TokenStream(prose.hashes, prose.starts, prose.ends, prose.backrefs, MARKDOWN)
    return [t for t in (tokens, lane, prose, as_markdown) if t is not None]


def _take(values: Sequence[str], rows: np.ndarray) -> list[str]:
    values = list(values)
    return [values[i] for i in rows]


class _LocalSpan(NamedTuple):
    span: Span
    span_tokens: tuple[int, int]  # query tokens [start, end) the span covers
    evidence: tuple[int, int, int]  # query tokens [start, end) and document tokens of the fingerprints' passage
    doc_tokens: tuple[int, int]  # the fingerprints' passage in the document's token positions

    def piece(self, query: Sketch, counted: np.ndarray, k: int) -> Piece:
        return query_piece(self.evidence[0], self.evidence[1], *self.doc_tokens, self.span.tokens, query.shingles,
                           counted, k)


class _StoredKgrams(NamedTuple):
    """Every k-gram of a stored document: what ``widened`` compares a query's with."""
    shingles: np.ndarray
    informative: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    newlines: np.ndarray

    def line_of(self, offset: int) -> int:
        return line_number(self.newlines, offset)


@dataclass
class _Docs:
    ids: Sequence[str]
    sources: Sequence[str]
    langs: Sequence[str]
    n_tokens: np.ndarray
    n_chars: np.ndarray
    texts: Sequence[str] | None


@dataclass
class _Fingerprints:
    hash: np.ndarray
    doc: np.ndarray
    pos: np.ndarray
    char_start: np.ndarray
    char_end: np.ndarray
    line_start: np.ndarray
    line_end: np.ndarray

    FIELDS = ("hash", "doc", "pos", "char_start", "char_end", "line_start", "line_end")

    def take(self, idx: np.ndarray) -> "_Fingerprints":
        return _Fingerprints(*(getattr(self, f)[idx] for f in self.FIELDS))

    @classmethod
    def concat(cls, parts: list["_Fingerprints"]) -> "_Fingerprints":
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.FIELDS))

    @classmethod
    def from_batch(cls, batch: BatchSketch, doc_offset: int) -> "_Fingerprints":
        return cls(batch.fp_hash, batch.fp_doc + np.uint32(doc_offset), batch.fp_pos, batch.fp_char_start,
                   batch.fp_char_end, batch.fp_line_start, batch.fp_line_end)


@dataclass
class _SentenceKeys:
    """Sentence keys (``align.sentence_keys``) or word keys (``align.sentence_word_keys``)
    of the prose documents, sorted by key: kept with the text, to find the documents a
    reworded query may come from."""
    key: np.ndarray
    doc: np.ndarray

    @classmethod
    def empty(cls) -> "_SentenceKeys":
        return cls(np.empty(0, np.uint64), np.empty(0, np.uint32))

    @classmethod
    def of_texts(cls, texts: Sequence[str], langs: Sequence[str], doc_offset: int
                 ) -> tuple["_SentenceKeys", "_SentenceKeys"]:
        """The sentence keys and the word keys of ``texts`` (prose only), cut once."""
        cuts = [sentences(text) if lang in PROSE_LANGUAGES else None for text, lang in zip(texts, langs)]
        return tuple(cls._of_keys([keys_of(cut) if cut is not None else np.empty(0, np.uint64) for cut in cuts],
                                  doc_offset) for keys_of in (sentence_keys, sentence_word_keys))

    @classmethod
    def _of_keys(cls, per_doc: list[np.ndarray], doc_offset: int) -> "_SentenceKeys":
        if not per_doc:
            return cls.empty()
        return cls(np.concatenate(per_doc),
                   np.repeat(np.arange(doc_offset, doc_offset + len(per_doc), dtype=np.uint32),
                             [k.size for k in per_doc]))

    def scores(self, keys: np.ndarray, max_docs: int, n_docs: int, keys_per_doc: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """(documents, score) for the documents holding any of ``keys`` found in at most
        ``max_docs`` documents: the sum of the shared keys' idf, log(n_docs / documents
        with the key), over the square root of the document's number of keys (a long
        document on the query's subject shares many keys by chance)."""
        lo = np.searchsorted(self.key, keys)
        hi = np.searchsorted(self.key, keys, side="right")
        kept = hi - lo <= max_docs  # not the keys of boilerplate sentences
        lo, hi = lo[kept], hi[kept]
        lengths = hi - lo
        rows = np.repeat(lo - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        key_of, doc_of = distinct_pairs(np.repeat(np.arange(lo.size), lengths), self.doc[rows].astype(np.int64))
        docs_with_key = np.bincount(key_of, minlength=lo.size)
        docs, at = np.unique(doc_of, return_inverse=True)
        idf = np.log(n_docs / docs_with_key[key_of])
        return docs, np.bincount(at, weights=idf, minlength=docs.size) / np.sqrt(keys_per_doc[docs])

    def keys_per_doc(self, n_docs: int) -> np.ndarray:
        return np.maximum(np.bincount(self.doc, minlength=n_docs), 1)

    def take(self, idx: np.ndarray) -> "_SentenceKeys":
        return _SentenceKeys(self.key[idx], self.doc[idx])

    def sorted_with(self, other: "_SentenceKeys") -> "_SentenceKeys":
        both = _SentenceKeys(np.concatenate([self.key, other.key]), np.concatenate([self.doc, other.doc]))
        return both.take(np.argsort(both.key, kind="stable"))


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    return distinct(np.asarray(values, np.uint64))


def _fits(directory: np.ndarray, table: np.ndarray) -> bool:
    """Whether a stored directory can be one of ``table`` (else it is made again)."""
    n = directory.size - 1
    return n >= 1 and n & (n - 1) == 0 and int(directory[0]) == 0 and int(directory[-1]) == table.size


class ProtectedIndex:
    """Open with ``ProtectedIndex.open(path)``; create with ``ProtectedIndex.build(...)``."""

    def __init__(self, path: Path | None, settings: IndexSettings, policy: FilterPolicy, docs: _Docs,
                 signatures: np.ndarray, fingerprints: _Fingerprints, templates: np.ndarray,
                 ignored: np.ndarray | None = None, band_table: tuple[np.ndarray, np.ndarray] | None = None,
                 manifest: dict | None = None, sentences: _SentenceKeys | None = None,
                 directory: np.ndarray | None = None, words: _SentenceKeys | None = None):
        self.path = path
        self.settings = settings
        self.policy = policy
        self.docs = docs
        self.signatures = signatures
        self.fp = fingerprints
        self.templates = templates
        self.ignored = ignored if ignored is not None else self._compute_ignored()
        self.band_keys, self.band_docs = band_table if band_table is not None else self._compute_bands()
        self._bands = settings.bands  # (an lru_cache call per LSH lookup otherwise: a fifth of it)
        self._band_directory = None  # made by ``prepare`` or the first LSH lookup (not stored: ~0.1 s at 1M)
        self._no_room = np.empty(0, self.band_docs.dtype)  # read-only in effect: nothing is written to it
        self._keys_per_doc: tuple[np.ndarray, np.ndarray] | None = None  # (sentence, word) keys a document
        self.manifest = manifest or {}
        self.sentences = sentences if sentences is not None else _SentenceKeys.empty()
        self.words = words if words is not None else _SentenceKeys.empty()
        self._stored_cache: dict[tuple[int, bool], _StoredKgrams] = {}
        self._stored_lock = threading.Lock()
        self._directory = directory if directory is not None and _fits(directory, self.fp.hash) else None

    # --- building ---------------------------------------------------------------------------

    @classmethod
    def empty(cls, settings: IndexSettings = IndexSettings(), policy: FilterPolicy = DEFAULT_POLICY
              ) -> "ProtectedIndex":
        num_perm = settings.sketch.minhash.num_perm
        dtype = np.uint64 if settings.sketch.minhash.scheme == "affine64" else np.uint32
        fp = _Fingerprints(np.empty(0, np.uint64), *(np.empty(0, np.uint32) for _ in range(2)),
                           np.empty(0, np.uint64), np.empty(0, np.uint64), np.empty(0, np.uint32),
                           np.empty(0, np.uint32))
        docs = _Docs([], [], [], np.empty(0, np.int64), np.empty(0, np.int64),
                     [] if settings.store_text else None)
        return cls(None, settings, policy, docs, np.empty((0, num_perm), dtype), fp, np.empty(0, np.uint64))

    def with_documents(self, documents: Iterable, batch_size: int = 256, n_workers: int = 1,
                       on_batch=None) -> tuple["ProtectedIndex", dict]:
        """A new index with ``documents`` added (a document with an existing id replaces it).

        ``documents`` yields objects with doc_id, source, text and lang (lang may be None).
        ``n_workers`` > 1 sketches in worker processes (see ``sketch_corpus``).
        Returns the new index and counts {"added", "replaced", "duplicate_ids_in_input"}.
        """
        ids, sources, texts_kept = [], [], []

        def item_batches():
            batch = []
            for doc in documents:
                ids.append(doc.doc_id)
                sources.append(doc.source)
                if self.settings.store_text:
                    texts_kept.append(doc.text)
                batch.append((doc.text, doc.lang, doc.source))
                if len(batch) >= batch_size:
                    yield batch
                    batch = []
            if batch:
                yield batch

        parts = list(sketch_corpus(item_batches(), self.settings.sketch, n_workers, on_batch))
        new = BatchSketch.concat(parts) if parts else sketch_batch([], self.settings.sketch)
        # Last occurrence of an id wins, within the new documents and over the old ones.
        last = {doc_id: i for i, doc_id in enumerate(ids)}
        keep_new = np.array([last[doc_id] == i for i, doc_id in enumerate(ids)], bool)
        replaced = set(ids) & set(self.docs.ids)
        base = self.without_ids(replaced) if replaced else self
        n_old = len(base.docs.ids)
        remap = np.cumsum(keep_new) - 1
        fp_new = _Fingerprints.from_batch(new, 0)
        fp_new = fp_new.take(np.flatnonzero(keep_new[fp_new.doc]))
        fp_new.doc = (remap[fp_new.doc] + n_old).astype(np.uint32)
        sel = np.flatnonzero(keep_new)
        docs = _Docs(base.docs.ids + [ids[i] for i in sel], base.docs.sources + [sources[i] for i in sel],
                     base.docs.langs + [new.langs[i] for i in sel],
                     np.concatenate([base.docs.n_tokens, new.n_tokens[sel]]),
                     np.concatenate([base.docs.n_chars, new.n_chars[sel]]),
                     (base.docs.texts + [texts_kept[i] for i in sel]) if self.settings.store_text else None)
        signatures = np.concatenate([base.signatures, new.signatures[sel].astype(base.signatures.dtype)])
        fp = _Fingerprints.concat([base.fp, fp_new])
        fp = fp.take(np.argsort(fp.hash, kind="stable"))
        sentences, words = base.sentences, base.words
        if self.settings.store_text:
            new_sentences, new_words = _SentenceKeys.of_texts([texts_kept[i] for i in sel],
                                                              [new.langs[i] for i in sel], n_old)
            sentences = sentences.sorted_with(new_sentences)
            # An index written before word keys existed gets none until it is rebuilt: new
            # documents with them would outrank the old ones.
            if words.key.size or not base.sentences.key.size:
                words = words.sorted_with(new_words)
        index = ProtectedIndex(self.path, self.settings, self.policy, docs, signatures, fp, self.templates,
                               sentences=sentences, words=words)
        return index, {"added": int(keep_new.sum()) - len(replaced), "replaced": len(replaced),
                       "duplicate_ids_in_input": int((~keep_new).sum())}

    def without_ids(self, doc_ids: Iterable[str]) -> "ProtectedIndex":
        """A new index without the given documents (no re-sketching)."""
        drop = set(doc_ids)
        keep = np.array([doc_id not in drop for doc_id in self.docs.ids], bool)
        remap = (np.cumsum(keep) - 1).astype(np.uint32)
        fp = self.fp.take(np.flatnonzero(keep[self.fp.doc]) if self.fp.doc.size else np.empty(0, np.int64))
        fp.doc = remap[fp.doc] if fp.doc.size else fp.doc
        sentences, words = (keys.take(np.flatnonzero(keep[keys.doc])) for keys in (self.sentences, self.words))
        sentences.doc, words.doc = remap[sentences.doc], remap[words.doc]
        sel = np.flatnonzero(keep)
        d = self.docs
        docs = _Docs(_take(d.ids, sel), _take(d.sources, sel), _take(d.langs, sel),
                     d.n_tokens[sel], d.n_chars[sel], _take(d.texts, sel) if d.texts is not None else None)
        return ProtectedIndex(self.path, self.settings, self.policy, docs, self.signatures[sel], fp,
                              self.templates, sentences=sentences, words=words)

    def with_templates(self, texts: Iterable[tuple[str, str | None]]) -> "ProtectedIndex":
        """A new index that ignores every k-gram of the given (text, lang) templates, in every
        reading the template's text may be matched in (``_template_readings``)."""
        hashes = [shingle_hashes(tokens, self.settings.sketch.shingle)
                  for text, lang in texts for tokens in _template_readings(text, lang)]
        templates = _sorted_unique(np.concatenate([self.templates, *hashes]))
        return ProtectedIndex(self.path, self.settings, self.policy, self.docs, self.signatures, self.fp,
                              templates, sentences=self.sentences, words=self.words)

    def _compute_ignored(self) -> np.ndarray:
        """Boilerplate: hashes in more documents than the cutoff, plus templates."""
        n_docs = len(self.docs.ids)
        common = np.empty(0, np.uint64)
        if self.fp.hash.size:
            pair_hashes, _ = distinct_pairs(self.fp.hash, self.fp.doc)
            hashes, df = distinct_counts(pair_hashes)
            common = hashes[df > self.settings.df_cutoff(n_docs)]
        return _sorted_unique(np.concatenate([common, self.templates]))

    def _compute_bands(self) -> tuple[np.ndarray, np.ndarray]:
        n_bands, rows = self.settings.bands
        n_docs = self.signatures.shape[0]
        keys = band_keys(np.ascontiguousarray(self.signatures), n_bands, rows).T  # (n_bands, n_docs)
        order = np.argsort(keys, axis=1, kind="stable")
        return (np.take_along_axis(keys, order, axis=1).copy(),
                order.astype(np.uint32).reshape(n_bands, n_docs))

    # --- persistence ------------------------------------------------------------------------

    def save(self, path: str | Path) -> "ProtectedIndex":
        """Write this index as the new current version of ``path`` (atomic)."""
        path = Path(path)
        d = self.docs
        num_perm = self.signatures.shape[1]
        sig_values = pa.array(self.signatures.reshape(-1))
        tables = {
            "docs": pa.table({"doc_id": pa.array(list(d.ids), pa.string()),
                              "source": pa.array(list(d.sources), pa.string()),
                              "lang": pa.array(list(d.langs), pa.string()), "n_tokens": d.n_tokens,
                              "n_chars": d.n_chars}),
            "signatures": pa.table({"signature": pa.FixedSizeListArray.from_arrays(sig_values, num_perm)}),
            "bands": pa.table({"key": self.band_keys.reshape(-1), "doc": self.band_docs.reshape(-1)}),
            "fingerprints": pa.table({f: getattr(self.fp, f) for f in _Fingerprints.FIELDS}),
            "directory": pa.table({"row": self._directory if self._directory is not None
                                   else table_directory(self.fp.hash)}),
            "ignored": pa.table({"hash": self.ignored}),
            "templates": pa.table({"hash": self.templates}),
        }
        if d.texts is not None:
            tables["text"] = pa.table({"text": pa.array(list(d.texts), pa.large_string())})
            tables["sentences"] = pa.table({"key": self.sentences.key, "doc": self.sentences.doc})
            tables["words"] = pa.table({"key": self.words.key, "doc": self.words.doc})
        n_bands, rows = self.settings.bands
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        manifest = {
            "created": self.manifest.get("created", now), "updated": now,
            "settings": self.settings.to_dict(), "config_fingerprint": self.settings.sketch.fingerprint,
            "policy": self.policy.to_dict(), "policy_gap": POLICY_GAP_UNIT,
            "lsh": {"bands": n_bands, "rows": rows},
            "counts": {"documents": len(d.ids), "fingerprints": int(self.fp.hash.size),
                       "ignored_hashes": int(self.ignored.size), "template_hashes": int(self.templates.size),
                       "tokens": int(d.n_tokens.sum()), "chars": int(d.n_chars.sum())},
        }
        storage.commit_version(path, tables, manifest)
        return ProtectedIndex.open(path, verify=False)

    @classmethod
    def open(cls, path: str | Path, verify: bool = True) -> "ProtectedIndex":
        """Open an index memory-mapped. ``verify`` checks every file's checksum (fast: xxh3)."""
        path = Path(path)
        version = storage.current_version_dir(path)
        manifest = storage.read_manifest(version)
        try:
            settings = IndexSettings.from_dict(manifest["settings"])
            policy = FilterPolicy(**_policy_fields(manifest, settings))
        except (KeyError, TypeError, ValueError) as err:
            raise IndexError_(f"{path}: manifest has invalid settings ({err}); rebuild the index") from None
        if settings.sketch.fingerprint != manifest.get("config_fingerprint"):
            raise IndexError_(f"{path}: built by an incompatible dedupfilter (config fingerprint "
                              f"{manifest.get('config_fingerprint')} != {settings.sketch.fingerprint}); "
                              "rebuild the index")
        tables = storage.open_tables(version, manifest, verify)
        try:
            t = tables["docs"]
            n_docs = t.num_rows
            counts = manifest["counts"]
            if n_docs != counts["documents"] or tables["fingerprints"].num_rows != counts["fingerprints"]:
                raise IndexError_(f"{path}: table sizes disagree with the manifest; the index is corrupt")
            docs = _Docs(_StringColumn(t.column("doc_id")), _StringColumn(t.column("source")),
                         _StringColumn(t.column("lang")), column(t, "n_tokens"), column(t, "n_chars"),
                         _StringColumn(tables["text"].column("text")) if "text" in tables else None)
            sig_chunks = tables["signatures"].column("signature")
            # A single chunk (as written by save) is read zero-copy from the memory map.
            sig_col = sig_chunks.chunk(0) if sig_chunks.num_chunks == 1 else sig_chunks.combine_chunks()
            num_perm = settings.sketch.minhash.num_perm
            signatures = sig_col.values.to_numpy(zero_copy_only=False).reshape(n_docs, num_perm)
            f = tables["fingerprints"]
            fp = _Fingerprints(*(column(f, name) for name in _Fingerprints.FIELDS))
            n_bands, _ = settings.bands
            bands = (column(tables["bands"], "key").reshape(n_bands, n_docs),
                     column(tables["bands"], "doc").reshape(n_bands, n_docs))
            ignored = column(tables["ignored"], "hash")
            templates = column(tables["templates"], "hash")
            # Indexes with text written before sentence (or word) keys existed have none:
            # reworded queries then find candidates by the other keys and k-grams.
            sentences, words = (_SentenceKeys(column(tables[name], "key"), column(tables[name], "doc"))
                                if name in tables else None for name in ("sentences", "words"))
            # Indexes written before the directory existed make it on first lookup.
            directory = column(tables["directory"], "row") if "directory" in tables else None
        except (KeyError, ValueError, pa.ArrowException) as err:
            raise IndexError_(f"{path}: unexpected table layout ({err}); the index is corrupt") from None
        return cls(path, settings, policy, docs, signatures, fp, templates, ignored, bands, manifest, sentences,
                   directory, words)

    # --- querying ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.docs.ids)

    def sketch(self, text: str, lang: str | None = None, path: str | None = None, *,
               parse_code: bool = False, prose: TokenStream | None = None) -> Sketch:
        """A query's sketch: code is lexed unless ``parse_code`` (see ``query``); ``prose``:
        the text normalized as prose, if the caller has it."""
        return sketch(text, lang, self.settings.sketch, path=path, lexed=not parse_code, prose=prose)

    def query(self, text: str, lang: str | None = None, *, top: int | None = 10,
              policy: FilterPolicy | None = None, path: str | None = None, config: SketchConfig | None = None,
              reworded: bool = False, reworded_candidates: int = DEFAULT_REWORDED_CANDIDATES,
              align_params: AlignParams = DEFAULT_ALIGN_PARAMS, parse_code: bool = False) -> Verdict:
        """The Verdict for ``text``: matched documents with scores, spans and line ranges;
        the ``top`` documents with the longest passages (None: every matched document).
        The action does not depend on ``top``: it is decided by the best matches.

        With ``reworded`` (prose queries; the index must store the protected text),
        the ``reworded_candidates`` documents whose sentence keys, then distinctive
        k-grams, best match the query's (``_reworded_candidates``) are also aligned
        with it sentence by sentence (``align.align``), to find passages reworded
        throughout (spans of kind "reworded"). Each aligned document costs
        milliseconds (a few per 10 KB).

        Code in the query (a code query, an answer's fenced blocks) is lexed
        (``lex_code``), as a stream filter reads it, not parsed as the index's
        documents are: a parse and walk of 4 KB take ten times as long as the
        lexer, which gives the parse's tokens wherever the parse does not decide
        (99.0-100% of the k-grams of held-out code, by language: bench/results/stream.md).
        ``parse_code`` parses it instead.
        """
        if top is not None and top < 1:
            raise ValueError(f"top must be at least 1 (or None: every matched document), got {top}")
        if config is not None and config.fingerprint != self.settings.sketch.fingerprint:
            raise ValueError(f"query config {config.fingerprint} differs from the index's "
                             f"{self.settings.sketch.fingerprint}; query with the index's config")
        policy = policy or self.policy
        if isinstance(text, (bytes, bytearray, memoryview)):
            text = decode(bytes(text))
        resolved = resolve_language(text, lang, path)
        if reworded and self.docs.texts is None:
            raise ValueError("reworded passages are found by aligning the query with the protected "
                             "text, which this index does not store: build it with --store-text")
        # Code and Markdown are matched as prose too (prose has a k of its own): code
        # documents' comments and docstrings, and Markdown documents, are indexed as prose
        # as well (``sketch_batch``), and prose documents quote code (grammar rules,
        # interpreter sessions). By passages only, as a stream does.
        as_prose = normalize_text(text) if resolved in LANGUAGES or resolved == MARKDOWN else None
        query = self.sketch(text, resolved, parse_code=parse_code, prose=as_prose)
        second = (passage_sketch(as_prose, query.newlines, *kgrams(as_prose, self.settings.sketch.shingle),
                                 self.settings.sketch) if as_prose is not None and len(as_prose) else None)
        # The prose reading is aligned too with ``reworded``; its lookup is made once for both uses.
        prose_query = query if resolved == TEXT else second
        aligned = (reworded and resolved in PROSE_LANGUAGES and len(self) > 0 and prose_query is not None
                   and prose_query.n_tokens > 0)
        lookup = self.lookup(prose_query.shingles) if aligned else None
        found = self.matches(query, policy, lookup=lookup if prose_query is query else None)
        if second is not None:
            found = merged_per_document(found + self.matches(second, policy, near_duplicates=False,
                                                             lookup=lookup if prose_query is second else None))
        if aligned:
            found = self._with_reworded(text, prose_query, query.signature, lookup, found, reworded_candidates,
                                        align_params, policy)
        verdict = decide(found, policy)
        return verdict if top is None else replace(verdict, matches=verdict.matches[:top])

    def _reworded_candidates(self, query: Sketch, lookup: Lookup, query_sentences, n: int) -> list[int]:
        """The ``n`` documents whose sentence keys, word keys and distinctive k-grams best
        match the query's: where a reworded passage may come from.

        A document's score is its sentence keys' score, plus WORD_KEY_WEIGHT times its
        word keys' (``_SentenceKeys.scores``: idf-weighted, over the square root of the
        document's number of keys), plus KGRAM_HITS_WEIGHT times log(1 + its hits of
        distinctive k-grams): the few runs of five words a reworded passage keeps.
        (On 80-pair samples of PAN 2013 train, the paired source of random obfuscation
        alignment finds was among the first 20 for 43 of 75 pairs by count of shared
        sentence keys, 49 by their score; align.WORD_KEY_SEEDS says what the word keys
        add, KGRAM_HITS_WEIGHT what the k-grams add.)"""
        if self._keys_per_doc is None:
            self._keys_per_doc = (self.sentences.keys_per_doc(len(self)), self.words.keys_per_doc(len(self)))
        cutoff = self.settings.df_cutoff(len(self))
        by_sentence = self.sentences.scores(sentence_keys(query_sentences), cutoff, len(self), self._keys_per_doc[0])
        by_word = self.words.scores(sentence_word_keys(query_sentences), cutoff, len(self), self._keys_per_doc[1])
        *_, hit_doc = usable_hits(lookup.lo, lookup.hi, query.informative, lookup.ignored, DISTINCTIVE_MAX_HITS,
                                  MAX_HITS_PER_HASH, self.fp.doc)
        hit_docs, n_hits = distinct_counts(hit_doc)
        docs = np.union1d(np.union1d(by_sentence[0], by_word[0]), hit_docs)
        score = np.zeros(docs.size)
        score[np.searchsorted(docs, by_sentence[0])] += by_sentence[1]
        score[np.searchsorted(docs, by_word[0])] += WORD_KEY_WEIGHT * by_word[1]
        score[np.searchsorted(docs, hit_docs)] += KGRAM_HITS_WEIGHT * np.log1p(n_hits)
        return docs[np.lexsort((docs, -score))][:n].tolist()

    def _with_reworded(self, text: str, query: Sketch, signature: np.ndarray, lookup: Lookup, found: list[Match],
                       n_candidates: int, params: AlignParams, policy: FilterPolicy) -> list[Match]:
        """``found`` with the reworded passages of ``n_candidates`` candidate documents
        (``_reworded_candidates``); ``query``: the text's prose reading, ``signature``: its
        whole-document signature."""
        query_sentences = sentences(text, params.min_sentence_words)
        by_id = {m.doc_id: m for m in found}
        for doc in self._reworded_candidates(query, lookup, query_sentences, n_candidates):
            doc_text = self.docs.texts[doc]
            passages = align(query_sentences, doc_text, params)
            if not passages:
                continue
            doc_id = self.docs.ids[doc]
            match = by_id.get(doc_id) or Match(
                doc_id, self.docs.sources[doc],
                float(np.count_nonzero(self.signatures[doc] == signature)) / signature.size,
                0.0, 0.0, 0.0, ())
            by_id[doc_id] = with_reworded(match, query, lambda offset: doc_text.count("\n", 0, offset) + 1,
                                          passages, params.merge_chars, policy)
        return sorted(by_id.values(), key=lambda m: (-m.longest_span, -m.jaccard, m.doc_id))

    def lookup(self, shingles: np.ndarray) -> Lookup:
        """Where each k-gram hash is in the fingerprint table, and whether it is ignored."""
        if self._directory is None:  # an index saved without one, or not saved: made on first use
            self._directory = table_directory(self.fp.hash)
        return Lookup(*directory_ranges(shingles, self.fp.hash, self._directory, self.ignored))

    def matches(self, query: Sketch, policy: FilterPolicy | None = None, *,
                near_duplicates: bool = True, lookup: Lookup | None = None,
                rows: PassageRows | None = None, widen: bool = True) -> list[Match]:
        """Every protected document the query copies from (passages) or, with
        ``near_duplicates``, nearly duplicates as a whole (LSH). ``lookup``:
        ``self.lookup(query.shingles)``, and ``rows``: ``self.passage_rows(query,
        lookup, policy)``, if the caller has them already. ``widen``: spans reach the
        copy's ends where the index stores the text (``_local_matches``)."""
        policy = policy or self.policy
        if len(self) == 0 or query.n_tokens == 0:
            return []
        lookup = lookup or self.lookup(query.shingles)
        usable = query.informative & ~lookup.ignored
        by_doc = self._local_matches(query, rows or self.passage_rows(query, lookup, policy), widen)
        # A query made of boilerplate and templates is no near-duplicate of anything.
        whole = near_duplicates and usable.sum() >= policy.min_match_tokens
        candidates = self._lsh_candidates(query) if whole else set()
        jaccard = {}
        for doc in set(by_doc) | candidates:
            jaccard[doc] = float(np.count_nonzero(self.signatures[doc] == query.signature)) / query.signature.size
        matches = []
        for doc, j in jaccard.items():
            spans = by_doc.get(doc, [])
            if not spans and j < 0.5 * policy.jaccard_threshold:
                continue
            matches.append(self._match(doc, j, spans, query, policy, usable))
        return sorted(matches, key=lambda m: (-m.longest_span, -m.jaccard, m.doc_id))

    def prepare(self) -> "ProtectedIndex":
        """Make now what the first query would otherwise make: the LSH bands' directory
        (about 0.1 s at 1M documents) and, for an index saved without one, the fingerprint
        table's. A service calls this before its first request."""
        if self._directory is None:
            self._directory = table_directory(self.fp.hash)
        if self._band_directory is None:
            bits = directory_bits(self.band_keys.shape[1], LSH_KEYS_PER_BUCKET)
            self._band_directory = band_directory(self.band_keys, bits)
        return self

    def _lsh_candidates(self, query: Sketch) -> set[int]:
        if self._band_directory is None:
            self.prepare()
        args = (query.signature, self._bands[1], self.band_keys, self.band_docs, self._band_directory)
        # Counted first, into no room (nearly every query shares no band), then written.
        n = lsh_candidates(*args, self._no_room)
        if n == 0:
            return set()
        found = np.empty(n, self.band_docs.dtype)
        lsh_candidates(*args, found)
        return set(found.tolist())

    def passages(self, query: Sketch, lookup: Lookup, policy: FilterPolicy | None = None,
                 rows: PassageRows | None = None) -> np.ndarray:
        """The query's copied passages of ``guaranteed_match_tokens`` or more, as int64
        rows (doc, query start, query end, evidence tokens), start and end in characters:
        what ``matches`` reports as spans, without building them (a stream's window is
        judged by these, and Matches are made only when one is long enough to flag, from
        the same ``passage_rows``)."""
        found = (rows or self.passage_rows(query, lookup, policy)).rows
        starts, ends = query.tokens.starts, query.tokens.ends
        out = np.empty((found.shape[0], 4), np.int64)
        out[:, 0] = found[:, 0]
        out[:, 1] = starts[found[:, 1]]
        out[:, 2] = ends[found[:, 2] - 1]
        out[:, 3] = found[:, 5]
        return out

    def passage_rows(self, query: Sketch, lookup: Lookup, policy: FilterPolicy | None = None, *,
                     all_candidates: bool = False) -> PassageRows:
        """Rows of ``candidate_passages`` with guaranteed_match_tokens of evidence or
        more, and the table row of each hit they index: what ``passages`` and
        ``matches`` are made from.

        Documents are found through the usable query k-grams (informative,
        not boilerplate, and found in at most DISTINCTIVE_MAX_HITS places); in
        those documents, the other informative k-grams also join passages, so
        a common line inside a copied function does not cut it in two, but
        only usable k-grams count as evidence. A passage is reported from
        guaranteed_match_tokens of evidence on, and each usable k-gram is
        evidence for k tokens at most: documents hit by fewer are not looked
        at (most of those hit at all, on a large index), nor are those hit fewer times
        than a flagged passage needs when no two of the hits are within a passage's reach
        of each other (``candidate_passages``' ``min_far_hits``): their passages, joined
        across common k-grams alone, could be reported but never flagged. With
        ``all_candidates`` those are looked at too: a stream holds text back at a passage
        too short to flag yet, which may grow.
        """
        policy = policy or self.policy
        shingle, lang = self.settings.sketch.shingle, query.tokens.lang
        k, min_span = shingle.k_for(lang), shingle.guaranteed_match_tokens(lang)
        min_hits = -(-min_span // k)
        if lookup.hits is None:
            usable, *hits = usable_hits(lookup.lo, lookup.hi, query.informative, lookup.ignored, DISTINCTIVE_MAX_HITS,
                                        MAX_HITS_PER_HASH, self.fp.doc)
        else:
            usable, hits = lookup.usable, lookup.hits
        if hits[0].size < min_hits:  # no document is hit often enough (most windows of a stream)
            return PassageRows(np.empty((0, 6), np.int64), np.empty(0, np.int64))
        rows, hit_row = candidate_passages(*hits, lookup.lo, lookup.hi, query.informative, usable, MAX_HITS_PER_HASH,
                                           self.fp.doc, self.fp.pos, min_hits, query.shingles, k, policy.gap,
                                           min_span, hit_spacing(shingle), lang == TEXT,
                                           0 if all_candidates else -(-policy.limit(lang == TEXT) // k))
        return PassageRows(rows[rows[:, 5] >= min_span], hit_row)

    def _local_matches(self, query: Sketch, passage_rows: PassageRows, widen: bool = True
                       ) -> dict[int, list[_LocalSpan]]:
        """Spans per document (``passage_rows``).

        With ``widen``, when the index stores the protected text, each span is
        ``widened`` to the copy's ends (by up to w - 1 k-grams, not into the
        document's next span); otherwise it runs from the first to the last
        fingerprint the copy holds, up to w - 1 tokens short at each end. Either way
        the evidence the decision weighs (``Span.tokens``, containment) is that of
        the fingerprints: the stored text changes where a span is, never what is
        decided."""
        rows, hit_row = passage_rows
        shingle = self.settings.sketch.shingle
        k, w = shingle.k_for(query.tokens.lang), shingle.window_for(query.tokens.lang)
        out: dict[int, list[_LocalSpan]] = {}
        starts, ends = query.tokens.starts, query.tokens.ends
        rows = sorted(rows.tolist())
        for i, (doc, q0, q1, first, last, covered) in enumerate(rows):
            r0, r1 = hit_row[first], hit_row[last]
            d0, d1 = int(self.fp.pos[r0]), int(self.fp.pos[r1]) + k
            evidence, doc_tokens = (q0, q1, d1 - d0), (d0, d1)
            in_lane = d0 >= self.docs.n_tokens[doc]  # the document's prose lane (``sketch_batch``)
            if in_lane:
                lane_start = prose_lane_start(int(self.docs.n_tokens[doc]))
                d0, d1 = d0 - lane_start, d1 - lane_start
            stored = self._stored_kgrams(doc, in_lane) if widen else None
            if stored is not None and not (0 <= d0 and d1 - k < stored.shingles.size
                                           and stored.shingles[d0] == self.fp.hash[r0]
                                           and stored.shingles[d1 - k] == self.fp.hash[r1]):
                stored = None  # the text no longer sketches as it was indexed
            if stored is None:
                doc_chars = int(self.fp.char_start[r0]), int(self.fp.char_end[r1])
                doc_lines = int(self.fp.line_start[r0]), int(self.fp.line_end[r1])
            else:
                # Not into the document's spans before and after this one in the query.
                before = out.get(doc)
                max_left = min(w - 1, q0 - before[-1].span_tokens[1]) if before else w - 1
                after = rows[i + 1] if i + 1 < len(rows) and rows[i + 1][0] == doc else None
                max_right = min(w - 1, after[1] - q1) if after else w - 1
                q0, q1, d0, d1 = widened(query.shingles, query.informative, stored.shingles, stored.informative,
                                         q0, q1, d0, d1, k, max(max_left, 0), max(max_right, 0))
                doc_chars = int(stored.starts[d0]), int(stored.ends[d1 - 1])
                doc_lines = stored.line_of(doc_chars[0]), stored.line_of(max(doc_chars[0], doc_chars[1] - 1))
            qs, qe = int(starts[q0]), int(ends[q1 - 1])
            # A code document's prose lane is its comments and docstrings.
            kind = "comment" if in_lane and self.docs.langs[doc] in LANGUAGES else "copy"
            span = Span(qs, qe, *doc_chars, (query.line_of(qs), query.line_of(max(qs, qe - 1))), doc_lines, covered,
                        kind, query.tokens.lang == TEXT)
            out.setdefault(doc, []).append(_LocalSpan(span, (q0, q1), evidence, doc_tokens))
        return out

    def _stored_kgrams(self, doc: int, prose_lane: bool = False) -> "_StoredKgrams | None":
        """Every k-gram of a document's stored text, as it was indexed, or of its prose lane
        (positions from the lane's start); None without stored text. The last few asked for
        are kept."""
        if self.docs.texts is None:
            return None
        with self._stored_lock:
            found = self._stored_cache.pop((doc, prose_lane), None)
        if found is None:
            text, lang = self.docs.texts[doc], self.docs.langs[doc]
            tokens = document_tokens(text, lang)[2] if prose_lane else normalize(text, lang)
            if tokens is None:
                return None
            found = _StoredKgrams(*kgrams(tokens, self.settings.sketch.shingle), tokens.starts, tokens.ends,
                                  newline_offsets(text))
        with self._stored_lock:  # queries may come from several threads
            while len(self._stored_cache) >= STORED_KGRAMS_CACHED:
                self._stored_cache.pop(next(iter(self._stored_cache)))
            self._stored_cache[(doc, prose_lane)] = found  # most recent last
        return found

    def _match(self, doc: int, jaccard: float, spans: list["_LocalSpan"], query: Sketch,
               policy: FilterPolicy, counted: np.ndarray) -> Match:
        covered, end = 0, 0  # query tokens inside the union of the spans' evidence
        for q0, q1 in sorted((local.evidence[0], local.evidence[1]) for local in spans):
            covered += max(0, q1 - max(q0, end))
            end = max(end, q1)
        n_doc_tokens = max(int(self.docs.n_tokens[doc]), 1)
        cont_q = covered / query.n_tokens if query.n_tokens else 0.0
        cont_d = min(1.0, sum(local.evidence[2] for local in spans) / n_doc_tokens)
        found = [local.span for local in spans]
        if (policy.piece_gap and may_chain(query.tokens.lang, self.docs.langs[doc])
                and all(s.tokens < policy.limit(s.prose) for s in found)):
            code = [local for local in spans if local.span.kind == "copy"]
            k = self.settings.sketch.shingle.k_for(query.tokens.lang)
            chain, tokens = chained_pieces([local.piece(query, counted, k) for local in code],
                                           policy.min_match_tokens, policy.piece_gap)
            if chain:
                found.append(pieces_span([code[i].span for i in chain], tokens))
        return Match(self.docs.ids[doc], self.docs.sources[doc], jaccard, max(cont_q, cont_d), cont_q, cont_d,
                     tuple(sorted(found, key=lambda s: s.query_start)))

    def chained_documents(self, query: Sketch, lookup: Lookup, passage_rows: PassageRows,
                          policy: FilterPolicy) -> set[int]:
        """The documents whose code passages among ``passage_rows`` add up as a copy cut
        into pieces (``pieces.chained_pieces``), as ``matches`` finds them."""
        rows, hit_row = passage_rows
        if policy.piece_gap == 0 or rows.shape[0] < 2 or not query_may_chain(query.tokens.lang):
            return set()
        k = self.settings.sketch.shingle.k_for(query.tokens.lang)
        by_doc: dict[int, list[int]] = {}
        for i, doc in enumerate(rows[:, 0].tolist()):
            by_doc.setdefault(doc, []).append(i)
        tokens = rows[:, 5].tolist()
        chained, counted = set(), None
        for doc, found in by_doc.items():  # most documents have one passage, and are done here
            if (len(found) < 2 or sum(tokens[i] for i in found) < policy.min_match_tokens
                    or not may_chain(query.tokens.lang, self.docs.langs[doc])):
                continue
            pieces = []
            if counted is None:
                counted = query.informative & ~lookup.ignored
            for _, q0, q1, first, last, covered in rows[found].tolist():
                d0 = int(self.fp.pos[hit_row[first]])
                if d0 < self.docs.n_tokens[doc]:  # not the document's prose lane
                    pieces.append(query_piece(q0, q1, d0, int(self.fp.pos[hit_row[last]]) + k, covered,
                                              query.shingles, counted, k))
            if chained_pieces(pieces, policy.min_match_tokens, policy.piece_gap)[0]:
                chained.add(doc)
        return chained

    def stats(self) -> dict:
        langs: dict[str, int] = {}
        for lang in self.docs.langs:
            langs[lang] = langs.get(lang, 0) + 1
        n_bands, rows = self.settings.bands
        on_disk = 0
        if self.path is not None:
            version = storage.current_version_dir(self.path)
            on_disk = sum(p.stat().st_size for p in version.iterdir())
        return {
            "path": str(self.path) if self.path else None,
            "documents": len(self), "fingerprints": int(self.fp.hash.size),
            "ignored_hashes": int(self.ignored.size), "template_hashes": int(self.templates.size),
            "tokens": int(self.docs.n_tokens.sum()), "chars": int(self.docs.n_chars.sum()),
            "bytes_on_disk": on_disk, "languages": dict(sorted(langs.items())),
            "stores_text": self.docs.texts is not None, "sentence_keys": int(self.sentences.key.size),
            "word_keys": int(self.words.key.size),
            "comment_fingerprints": int(np.count_nonzero((self.fp.pos >= self.docs.n_tokens[self.fp.doc])
                                                         & self._is_code_doc()[self.fp.doc])),
            "code_documents": sum(n for lang, n in langs.items() if lang in LANGUAGES),
            "config": self.settings.sketch.to_dict(), "config_fingerprint": self.settings.sketch.fingerprint,
            "lsh": {"threshold": self.settings.lsh_threshold, "bands": n_bands, "rows": rows},
            "df_cutoff_documents": self.settings.df_cutoff(len(self)),
            "policy": self.policy.to_dict(),
            "created": self.manifest.get("created"), "updated": self.manifest.get("updated"),
        }

    def _is_code_doc(self) -> np.ndarray:
        return np.fromiter((lang in LANGUAGES for lang in self.docs.langs), bool, len(self))

    def text_of(self, doc_id: str) -> str | None:
        if self.docs.texts is None:
            return None
        return self.docs.texts[self.docs.ids.index(doc_id)]


def _policy_fields(manifest: dict, settings: IndexSettings) -> dict:
    """The manifest's policy. Indexes written before ``gap`` counted changed tokens stored
    the query-token distance between hits instead, about k + changed tokens."""
    fields = dict(manifest["policy"])
    # Indexes written before prose had a limit of its own flagged its passages at the code one.
    fields.setdefault("min_match_words", fields.get("min_match_tokens", DEFAULT_POLICY.min_match_words))
    # Indexes written before a copy's pieces added up keep their answers.
    fields.setdefault("piece_gap", 0)
    if manifest.get("policy_gap") != POLICY_GAP_UNIT and "gap" in fields:
        fields["gap"] = max(1, fields["gap"] - settings.sketch.shingle.k)
    return fields

def build_index(path: str | Path, documents: Iterable, settings: IndexSettings = IndexSettings(),
                policy: FilterPolicy = DEFAULT_POLICY, templates: Sequence[tuple[str, str | None]] = (),
                n_workers: int = 1, on_batch=None) -> tuple[ProtectedIndex, dict]:
    """Build a new index at ``path`` from documents (replacing any index there, atomically)."""
    index = ProtectedIndex.empty(settings, policy)
    if templates:
        index = index.with_templates(templates)
    index, counts = index.with_documents(documents, n_workers=n_workers, on_batch=on_batch)
    return index.save(path), counts
