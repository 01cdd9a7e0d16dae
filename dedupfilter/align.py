"""Sentence-level alignment of reworded prose.

k-gram fingerprints find copies that keep runs of words: renamed, reformatted,
re-punctuated. A passage whose words were shuffled, swapped for synonyms or
edited every few words keeps few runs but most of its content words, sentence
by sentence. This module finds such passages between two texts in three steps
(the seeding, extension and filtering scheme of Sanchez-Perez, Sidorov and
Gelbukh, PAN 2014, which led the PAN 2013 text-alignment task on obfuscated
reuse):

1. seeding: every sentence pair whose content words agree (cosine of tf-isf
   vectors and Dice of word sets both above a threshold) is a seed;
2. extension: seeds closer than ``max_gap`` sentences on both sides form a
   cluster; a cluster is kept when its two fragments, taken whole, are similar
   (cosine of the summed vectors), otherwise its seeds are clustered again with
   a smaller gap;
   a second clustering allows wide gaps in the source and keeps the clusters
   shaped like a summary (a few query sentences over many source sentences);
3. filtering: of passages overlapping in the query the stronger is kept, and
   passages shorter than ``min_chars`` on either side are dropped.

Content words are letters-only words, case-folded, without English stop words,
reduced to their Porter stems (``porter.py``; PAN 2013 train over 300 pairs per
sub-corpus: random 0.862 -> 0.871, entire 0.887 -> 0.891 against stripping plural,
-ed, -ing and -ly only). Offsets are character offsets into the texts
as given. The protected text itself is needed, so an index only aligns against
documents it stores the text of.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import xxhash

from .porter import porter as stem

STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most
my myself no nor not now of off on once only or other our ours ourselves out over own same she
should so some such than that the their theirs them themselves then there these they this those
through to too under until up upon very was we were what when where which while who whom why will
with would you your yours yourself yourselves also may might must shall one two us
""".split())

# A sentence ends at . ! ? (with closing quotes or brackets) before white space, or at a blank line.
_SENTENCE_END = re.compile(r"""[.!?]+["')\]\u201d\u2019]*(?=\s)|\n[ \t]*\n""")
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")


@dataclass(frozen=True)
class AlignParams:
    seed_cosine: float = 0.33
    seed_dice: float = 0.33
    max_gap: int = 4  # sentences between two seeds of one cluster
    min_validation: float = 0.34  # cosine of a cluster's two fragments, taken whole
    min_chars: int = 150  # shortest passage kept, on both sides
    min_sentence_words: int = 3  # shorter sentences are joined to the next one
    merge_chars: int = 300  # passages this close on both sides are reported as one
    # A second clustering lets seeds lie this far apart in the source (0: off), and keeps
    # clusters whose source side spans 3x the sentences of their query side: a summary
    # condenses a whole section (PAN 2013 train summary plagdet 0.23 -> 0.45, entire
    # 0.879 -> 0.887, random 0.865 -> 0.862, over 300 pairs per sub-corpus; 24: 0.40).
    summary_source_gap: int = 48

    def __post_init__(self):
        for name in ("seed_cosine", "seed_dice", "min_validation"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]")
        if (min(self.max_gap, self.min_chars, self.merge_chars, self.summary_source_gap) < 0
                or self.min_sentence_words < 1):
            raise ValueError("max_gap, min_chars, merge_chars and summary_source_gap must be >= 0, "
                             "min_sentence_words >= 1")


DEFAULT_ALIGN_PARAMS = AlignParams()

# Languages whose texts are sentences, where reworded passages are looked for.
PROSE_LANGUAGES = frozenset({"text", "markdown"})


@dataclass(frozen=True)
class ReusedPassage:
    query_start: int
    query_end: int
    source_start: int
    source_end: int
    similarity: float  # cosine of the two fragments' content-word vectors
    query_words: int  # words (stop words included) of the query inside the passage


@dataclass
class Sentences:
    """A text cut into sentences: character spans, content words (stems) with their
    character spans, word counts (stop words included)."""
    starts: list[int]
    ends: list[int]
    terms: list[list[str]]
    term_spans: list[list[tuple[int, int]]]
    n_words: list[int]

    def append(self, start: int, end: int, terms: list[str], spans: list[tuple[int, int]], n_words: int) -> None:
        self.starts.append(start)
        self.ends.append(end)
        self.terms.append(terms)
        self.term_spans.append(spans)
        self.n_words.append(n_words)


def sentences(text: str, min_words: int = DEFAULT_ALIGN_PARAMS.min_sentence_words) -> Sentences:
    """Sentences of ``text`` with at least ``min_words`` content words (shorter ones
    join the next), each spanning its first word to its last."""
    out = Sentences([], [], [], [], [])
    pending_start, pending_terms, pending_spans, pending_words, last_end = -1, [], [], 0, 0
    cut = 0
    boundaries = [m.end() for m in _SENTENCE_END.finditer(text)] + [len(text)]
    for boundary in boundaries:
        for m in _WORD.finditer(text, cut, boundary):
            if pending_start < 0:
                pending_start = m.start()
            last_end = m.end()
            pending_words += 1
            word = m.group().casefold()
            if word not in STOP_WORDS:
                pending_terms.append(stem(word))
                pending_spans.append(m.span())
        cut = boundary
        if len(pending_terms) >= min_words:
            out.append(pending_start, last_end, pending_terms, pending_spans, pending_words)
            pending_start, pending_terms, pending_spans, pending_words = -1, [], [], 0
    if pending_terms and out.starts:  # a short last sentence joins the one before
        out.ends[-1] = last_end
        out.terms[-1] += pending_terms
        out.term_spans[-1] += pending_spans
        out.n_words[-1] += pending_words
    elif pending_terms:
        out.append(pending_start, last_end, pending_terms, pending_spans, pending_words)
    return out


# Sentence keys: for each of these seeds, the two content words of a sentence with the
# smallest hashes. A sentence reworded with a share of its words kept keeps a key when both
# words survive and no new word hashes lower; three seeds make that likely for one
# sentence in a few, while two unrelated sentences seldom share a word pair.
SENTENCE_KEY_SEEDS = (1, 2, 3)


def sentence_keys(text: str | Sentences, min_words: int = DEFAULT_ALIGN_PARAMS.min_sentence_words) -> np.ndarray:
    """The distinct sentence keys of a text (sorted uint64): how an index finds the
    documents a reworded query may come from, when few of its k-grams survive."""
    cut = text if isinstance(text, Sentences) else sentences(text, min_words)
    keys = set()
    for terms in cut.terms:
        distinct = set(terms)
        if len(distinct) < 2:
            continue
        for seed in SENTENCE_KEY_SEEDS:
            first, second = sorted(xxhash.xxh64_intdigest(t.encode(), seed) for t in distinct)[:2]
            keys.add(xxhash.xxh64_intdigest(first.to_bytes(8, "little") + second.to_bytes(8, "little"), seed))
    return np.array(sorted(keys), np.uint64)


# Word keys: for each of these seeds, the content word of a sentence with the smallest
# hash. One word survives rewording more often than two; a word is weaker evidence than
# a pair, so candidates are ranked by the pairs' score plus WORD_KEY_WEIGHT times the
# words'. (PAN 2013 train, the paired source among the 40 first candidates: random
# obfuscation 812 -> 896 of 1000 pairs, translation 863 -> 919, summary 299 -> 620 of
# 1185; weights 0.2-0.7 and 3 or 6 seeds tried.)
WORD_KEY_SEEDS = (101, 102, 103, 104, 105, 106)
WORD_KEY_WEIGHT = 0.7


def sentence_word_keys(text: str | Sentences, min_words: int = DEFAULT_ALIGN_PARAMS.min_sentence_words) -> np.ndarray:
    """The distinct word keys of a text (sorted uint64): with ``sentence_keys``, how an
    index finds the documents a reworded query may come from."""
    cut = text if isinstance(text, Sentences) else sentences(text, min_words)
    keys = set()
    for terms in cut.terms:
        distinct = set(terms)
        if not distinct:
            continue
        for seed in WORD_KEY_SEEDS:
            keys.add(min(xxhash.xxh64_intdigest(t.encode(), seed) for t in distinct))
    return np.array(sorted(keys), np.uint64)


def _shared_extent(side: Sentences, first: int, last: int, other_terms: set[str]) -> tuple[int, int]:
    """From the first content word of sentence ``first`` to the last one of sentence
    ``last`` that the other fragment also has: a reworded passage seldom starts or
    ends on a sentence boundary."""
    start = next((span[0] for t, span in zip(side.terms[first], side.term_spans[first]) if t in other_terms),
                 side.starts[first])
    end = next((span[1] for t, span in zip(reversed(side.terms[last]), reversed(side.term_spans[last]))
                if t in other_terms), side.ends[last])
    return start, max(end, start)


class _Vectors:
    """tf-isf sentence vectors of two texts; isf = log((sentences of both texts + 1) /
    sentences holding the term). Dense matrices hold only the terms both texts
    have (the others add nothing to a dot product); norms and term-set sizes are
    over every term."""

    def __init__(self, query: Sentences, source: Sentences):
        self.q_rows = [Counter(terms) for terms in query.terms]
        self.s_rows = [Counter(terms) for terms in source.terms]
        sentence_freq: Counter = Counter()
        for row in self.q_rows + self.s_rows:
            sentence_freq.update(row.keys())
        n_sentences = len(self.q_rows) + len(self.s_rows)
        # Smoothed (N + 1): with one sentence a side, every shared word would weigh 0.
        self.isf = {t: math.log((n_sentences + 1) / f) for t, f in sentence_freq.items()}
        shared = set().union(*self.q_rows) & set().union(*self.s_rows)
        column = {t: i for i, t in enumerate(sorted(shared))}
        self.q, self.q_norm, self.q_size = self._side(self.q_rows, column)
        self.s, self.s_norm, self.s_size = self._side(self.s_rows, column)

    def _side(self, rows: list[Counter], column: dict[str, int]):
        weights = np.zeros((len(rows), len(column)), np.float64)
        norms = np.empty(len(rows))
        for r, row in enumerate(rows):
            norms[r] = math.sqrt(sum((c * self.isf[t]) ** 2 for t, c in row.items()))
            for t, c in row.items():
                if t in column:
                    weights[r, column[t]] = c * self.isf[t]
        return weights, norms, np.array([len(row) for row in rows], np.float64)

    def cosine(self) -> np.ndarray:
        norms = self.q_norm[:, None] * self.s_norm[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(norms > 0, (self.q @ self.s.T) / norms, 0.0)

    def dice(self) -> np.ndarray:
        shared = (self.q > 0).astype(np.float32) @ (self.s > 0).astype(np.float32).T
        return 2 * shared / (self.q_size[:, None] + self.s_size[None, :])

    def fragment_similarity(self, cluster: np.ndarray) -> float:
        """Cosine of the two fragments a cluster spans, each taken as one text."""
        qi, sj = cluster[:, 0], cluster[:, 1]
        a = sum(self.q_rows[qi.min():qi.max() + 1], Counter())
        b = sum(self.s_rows[sj.min():sj.max() + 1], Counter())
        wa = {t: c * self.isf[t] for t, c in a.items()}
        wb = {t: c * self.isf[t] for t, c in b.items()}
        dot = sum(w * wb[t] for t, w in wa.items() if t in wb)
        norm = math.sqrt(sum(w * w for w in wa.values()) * sum(w * w for w in wb.values()))
        return dot / norm if norm > 0 else 0.0


def _split(seeds: np.ndarray, axis: int, max_gap: int) -> list[np.ndarray]:
    """Seeds (i, j rows) cut into runs along ``axis`` wherever consecutive sentence
    numbers differ by more than ``max_gap`` + 1."""
    seeds = seeds[np.argsort(seeds[:, axis], kind="stable")]
    cuts = np.flatnonzero(np.diff(seeds[:, axis]) > max_gap + 1) + 1
    return np.split(seeds, cuts)


def _clusters(seeds: np.ndarray, query_gap: int, source_gap: int) -> list[np.ndarray]:
    """Groups of seeds whose sentences lie within ``query_gap`` of each other in the
    query and ``source_gap`` in the source."""
    out = []
    for by_query in _split(seeds, 0, query_gap):
        by_source = _split(by_query, 1, source_gap)
        if len(by_source) == 1:
            out.append(by_query)
        else:
            for part in by_source:
                out.extend(_clusters(part, query_gap, source_gap))
    return out


def _validated(seeds: np.ndarray, vectors: _Vectors, query_gap: int, source_gap: int,
               min_validation: float) -> list[tuple[np.ndarray, float]]:
    """Clusters whose fragments are similar as wholes; the others clustered again with
    gaps one sentence smaller."""
    out = []
    for cluster in _clusters(seeds, query_gap, source_gap):
        similarity = vectors.fragment_similarity(cluster)
        if similarity >= min_validation:
            out.append((cluster, similarity))
        elif min(query_gap, source_gap) > 0 and len(cluster) > 1:
            out.extend(_validated(cluster, vectors, query_gap - 1, source_gap - 1, min_validation))
    return out


def _summary_shaped(cluster: np.ndarray, ratio: float = 3.0) -> bool:
    """A cluster whose source fragment spans ``ratio`` times the sentences of its query one."""
    return (np.ptp(cluster[:, 1]) + 1) >= ratio * (np.ptp(cluster[:, 0]) + 1)


def align(query: str | Sentences, source: str, params: AlignParams = DEFAULT_ALIGN_PARAMS
          ) -> list[ReusedPassage]:
    """Passages of ``query`` that reword passages of ``source``, in query order.
    ``query`` may be given as ``sentences(query, params.min_sentence_words)``, to
    align one query with several sources without cutting it again."""
    qs = query if isinstance(query, Sentences) else sentences(query, params.min_sentence_words)
    ss = sentences(source, params.min_sentence_words)
    if not qs.terms or not ss.terms:
        return []
    vectors = _Vectors(qs, ss)
    seeds = np.argwhere((vectors.cosine() > params.seed_cosine) & (vectors.dice() > params.seed_dice))
    if len(seeds) == 0:
        return []
    clusters = _validated(seeds, vectors, params.max_gap, params.max_gap, params.min_validation)
    if params.summary_source_gap:
        clusters += [(c, sim) for c, sim in _validated(seeds, vectors, params.max_gap, params.summary_source_gap,
                                                       params.min_validation) if _summary_shaped(c)]
    passages = []
    for cluster, similarity in clusters:
        i0, i1 = int(cluster[:, 0].min()), int(cluster[:, 0].max())
        j0, j1 = int(cluster[:, 1].min()), int(cluster[:, 1].max())
        q_terms = {t for terms in qs.terms[i0:i1 + 1] for t in terms}
        s_terms = {t for terms in ss.terms[j0:j1 + 1] for t in terms}
        q_start, q_end = _shared_extent(qs, i0, i1, s_terms)
        s_start, s_end = _shared_extent(ss, j0, j1, q_terms)
        passage = ReusedPassage(q_start, q_end, s_start, s_end, similarity, sum(qs.n_words[i0:i1 + 1]))
        if min(passage.query_end - passage.query_start, passage.source_end - passage.source_start) >= params.min_chars:
            passages.append(passage)
    return _without_overlaps(passages)


def _without_overlaps(passages: list[ReusedPassage]) -> list[ReusedPassage]:
    """Of passages overlapping in the query, the one covering more query words
    (then the more similar) is kept."""
    kept: list[ReusedPassage] = []
    for p in sorted(passages, key=lambda p: (-p.query_words, -p.similarity, p.query_start)):
        if all(p.query_end <= k.query_start or k.query_end <= p.query_start for k in kept):
            kept.append(p)
    return sorted(kept, key=lambda p: (p.query_start, p.source_start))


# (query start, query end, source start, source end, reworded?)
Extent = tuple[int, int, int, int, bool]


def with_copies(copies: list[tuple[int, int, int, int]], reworded: list[ReusedPassage],
                merge_chars: int = DEFAULT_ALIGN_PARAMS.merge_chars,
                flagged: list[bool] | None = None) -> list[Extent]:
    """Copied passages (exact k-gram evidence) and reworded ones as one list.

    A reworded passage mostly covered by copies in the query adds nothing (the
    copies are the more precise extent); otherwise it absorbs the copies it
    overlaps. Only copies long enough to flag on their own count (``flagged``; default:
    all): short copies inside a reworded passage (prose k-grams of 5 words keep many
    pieces of one) are pieces of it, which the edits between them cut apart.
    Passages within ``merge_chars`` of each other on both sides are then joined: one
    reuse case, not several pieces of it.
    """
    standing = set(c for c, ok in zip(copies, flagged) if ok) if flagged is not None else set(copies)
    extents: list[Extent] = [(*c, False) for c in copies]
    for r in reworded:
        overlapping = [e for e in extents if e[0] < r.query_end and r.query_start < e[1]]
        covered = sum(min(r.query_end, e[1]) - max(r.query_start, e[0]) for e in overlapping
                      if not e[4] and e[:4] in standing)
        if 2 * covered >= r.query_end - r.query_start:
            continue
        extents = [e for e in extents if e not in overlapping]
        extents.append((min([r.query_start] + [e[0] for e in overlapping]),
                        max([r.query_end] + [e[1] for e in overlapping]),
                        min([r.source_start] + [e[2] for e in overlapping]),
                        max([r.source_end] + [e[3] for e in overlapping]), True))
    merged: list[Extent] = []
    for e in sorted(extents):
        if merged:
            last = merged[-1]
            query_apart = e[0] - last[1]
            source_apart = max(e[2], last[2]) - min(e[3], last[3])
            if query_apart <= merge_chars and source_apart <= merge_chars:
                merged[-1] = (last[0], max(last[1], e[1]), min(last[2], e[2]), max(last[3], e[3]),
                              last[4] or e[4])
                continue
        merged.append(e)
    return merged
