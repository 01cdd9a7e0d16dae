"""Sketching many documents for the index: fingerprints with their offsets, and signatures.

``sketch_batch`` is pure (texts in, arrays out) so it runs the same in this
process or in a worker process; ``sketch_corpus`` spreads batches over
processes for large corpora (tree-sitter walks hold the GIL).
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from dataclasses import dataclass

import numpy as np

from ..config import SketchConfig
from ..normalize import LANGUAGES, MARKDOWN, TokenStream, normalize, normalize_text, resolve_language
from ..normalize.code import code_and_prose
from ..sketch import fingerprints, informative_mask, newline_offsets, shingle_hashes, signature, signatures


@dataclass
class BatchSketch:
    """Arrays for a batch of documents; ``fp_doc`` indexes the batch."""

    langs: list[str]
    n_tokens: np.ndarray
    n_chars: np.ndarray
    signatures: np.ndarray
    fp_hash: np.ndarray
    fp_doc: np.ndarray
    fp_pos: np.ndarray
    fp_char_start: np.ndarray
    fp_char_end: np.ndarray
    fp_line_start: np.ndarray
    fp_line_end: np.ndarray

    @staticmethod
    def concat(parts: list["BatchSketch"]) -> "BatchSketch":
        offsets = np.cumsum([0] + [len(p.langs) for p in parts])
        return BatchSketch(
            [lang for p in parts for lang in p.langs],
            *(np.concatenate([getattr(p, f) for p in parts])
              for f in ("n_tokens", "n_chars", "signatures", "fp_hash")),
            np.concatenate([p.fp_doc + off for p, off in zip(parts, offsets)]),
            *(np.concatenate([getattr(p, f) for p in parts])
              for f in ("fp_pos", "fp_char_start", "fp_char_end", "fp_line_start", "fp_line_end")),
        )


# A code document's prose (comments, docstrings) is fingerprinted at token positions this far
# past its code tokens: its passages never chain with the code's (an edit shifts a passage's
# diagonal by far less), and a position still names one token.
PROSE_LANE_GAP = 1 << 16


def sketch_batch(items: list[tuple[str, str | None, str | None]], config: SketchConfig,
                 batch_signatures: bool = True) -> BatchSketch:
    """Sketch (text, lang, path) items; lang None: path extension, else content guess.

    A code document's fingerprints are those of its code tokens, then those of the
    prose it carries (``code_and_prose``: comments, docstrings) read as prose, at
    positions from ``prose_lane_start`` on: a copied docstring is found by a query
    read as prose. A Markdown document's prose lane is the whole document read as
    prose (prose has a k of its own: ``ShingleConfig.k_for``). Its token count is its
    first reading's, and so is its signature, but a Markdown document's, which is its
    prose lane's (``sketch.document_shingles``)."""
    langs, n_tokens, n_chars, shingle_sets = [], [], [], []
    fp_parts: list[tuple] = []
    for doc, (text, lang, path) in enumerate(items):
        resolved, tokens, prose = document_tokens(text, lang, path)
        newlines = newline_offsets(text)
        shingles = shingle_hashes(tokens, config.shingle)
        fp_parts.append(_fingerprint_rows(tokens, shingles, doc, 0, newlines, config))
        prose_shingles = shingle_hashes(prose, config.shingle) if prose is not None else None
        if prose is not None and len(prose):
            fp_parts.append(_fingerprint_rows(prose, prose_shingles, doc, prose_lane_start(len(tokens)), newlines,
                                              config))
        langs.append(resolved)
        n_tokens.append(len(tokens))
        n_chars.append(len(text))
        # As ``sketch.document_shingles``: Markdown is compared as a whole by its prose.
        shingle_sets.append(prose_shingles if resolved == MARKDOWN else shingles)
    if batch_signatures:
        sigs = signatures(shingle_sets, config.minhash)
    else:
        sigs = np.stack([signature(s, config.minhash) for s in shingle_sets]) if shingle_sets else \
            signatures([], config.minhash)
    columns = list(zip(*fp_parts)) if fp_parts else [[]] * 7
    dtypes = (np.uint64, np.uint32, np.uint32, np.uint64, np.uint64, np.uint32, np.uint32)
    arrays = [np.concatenate(c).astype(t, copy=False) if len(c) else np.empty(0, t)
              for c, t in zip(columns, dtypes)]
    return BatchSketch(langs, np.array(n_tokens, np.int64), np.array(n_chars, np.int64), sigs, *arrays)


def document_tokens(text: str, lang: str | None, path: str | None = None
                    ) -> tuple[str, TokenStream, TokenStream | None]:
    """(resolved language, tokens, the prose lane: the prose of code (``code_and_prose``),
    Markdown read as prose; None for prose)."""
    resolved = resolve_language(text, lang, path)
    if resolved in LANGUAGES:
        return resolved, *code_and_prose(text, resolved)
    if resolved == MARKDOWN:
        return resolved, normalize(text, resolved), normalize_text(text)
    return resolved, normalize(text, resolved), None


def prose_lane_start(n_code_tokens: int) -> int:
    """The token position a code document's prose fingerprints start at."""
    return n_code_tokens + PROSE_LANE_GAP


def _fingerprint_rows(tokens: TokenStream, shingles: np.ndarray, doc: int, first_position: int,
                      newlines: np.ndarray, config: SketchConfig) -> tuple:
    """(hash, doc, position, char start, char end, line start, line end) of each fingerprint."""
    k = config.shingle.k_for(tokens.lang)
    fp_hash, fp_pos = fingerprints(shingles, config.shingle, informative_mask(tokens, k), tokens.lang)
    last_token = np.minimum(fp_pos + k - 1, len(tokens) - 1)
    char_start = tokens.starts[fp_pos]
    char_end = tokens.ends[last_token]
    return (fp_hash, np.full(fp_pos.size, doc, np.uint32), (fp_pos + first_position).astype(np.uint32),
            char_start, char_end,
            np.searchsorted(newlines, char_start, side="right") + 1,
            np.searchsorted(newlines, np.maximum(char_end - 1, char_start), side="right") + 1)


def _worker_init() -> None:
    import numba

    numba.set_num_threads(1)


def _worker_sketch(items, config):
    return sketch_batch(items, config, batch_signatures=False)


def default_workers() -> int:
    return os.cpu_count() or 1


def sketch_corpus(batches, config: SketchConfig, n_workers: int = 1, on_batch=None):
    """Sketch an iterable of item batches, in order; ``on_batch(n_docs)`` reports progress.

    ``n_workers`` > 1 runs batches in spawned worker processes (not forked:
    numba's thread pool is not fork-safe). As with any spawning
    multiprocessing code, a script that asks for workers must guard its entry
    point with ``if __name__ == "__main__":``.
    """
    if n_workers <= 1:
        for items in batches:
            result = sketch_batch(items, config)
            if on_batch:
                on_batch(len(items))
            yield result
        return
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_worker_init) as pool:
        pending = []
        for items in batches:
            pending.append((len(items), pool.submit(_worker_sketch, items, config)))
            while len(pending) > 2 * n_workers:
                n, future = pending.pop(0)
                yield future.result()
                if on_batch:
                    on_batch(n)
        for n, future in pending:
            yield future.result()
            if on_batch:
                on_batch(n)
