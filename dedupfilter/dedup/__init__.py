"""Training-corpus dedup: cap every cluster of near-duplicate documents at K copies.

    from dedupfilter import dedup
    summary = dedup("corpus.parquet", "deduped.parquet", max_copies=2, clusters="clusters.parquet")

Only the local engine (worker processes on one machine) exists so far.
"""

from __future__ import annotations

import os

from ..config import DEFAULT_SKETCH_CONFIG, SketchConfig

__all__ = ["dedup", "ENGINES"]

ENGINES = ("local",)


def dedup(input: str, out: str, *, max_copies: int = 1, threshold: float = 0.8, text_column: str = "text",
          id_column: str | None = None, lang_column: str | None = None, lang: str | None = None,
          keep: str = "first", clusters: str | None = None, against: str | None = None,
          flag_only: bool = False, verify: str = "exact", config: SketchConfig = DEFAULT_SKETCH_CONFIG,
          n_workers: int | None = None, shard_rows: int = 10_000, work_dir: str | None = None,
          overwrite: bool = False, progress: bool | None = None, engine: str = "local",
          on_shard=None):
    """Write ``input``'s rows to ``out``, at most ``max_copies`` of each near-duplicate cluster.

    input: a Parquet file or directory of Parquet files, a JSONL file or
        directory of them, a Hugging Face dataset saved with ``save_to_disk``,
        or a directory of text/code files; ``out`` gets the same form, every
        column of the kept rows, and is written atomically.
    threshold: Jaccard of the documents' normalized k-gram sets at which they
        are duplicates (found with MinHash LSH, confirmed by ``verify``).
    keep: "first", "longest", or "column:NAME" (largest value of NAME first).
    clusters: also write a Parquet file with row, id (if any), cluster,
        cluster_size and kept for every row.
    against: a protected index (``dedupfilter index build``): documents that
        match it are removed, or with ``flag_only`` kept and marked in a
        ``protected_match`` column.
    n_workers: processes for sketching (default: one per core). As with any
        spawning multiprocessing code, a script asking for more than one must
        guard its entry point with ``if __name__ == "__main__":``.
    work_dir: where finished shards are kept until the run completes (default
        next to ``out``); rerunning after a crash with the same arguments
        reuses them.
    on_shard: called with a count after each shard is sketched (tests use it
        to interrupt a run).

    Returns a ``DedupSummary`` (``dedupfilter.dedup.local``). The engine and
    pyarrow are imported here, so ``import dedupfilter`` stays light.
    """
    from .local import DedupSettings, run_local

    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r} is not available; this version has: {', '.join(ENGINES)}")
    settings = DedupSettings(max_copies=max_copies, threshold=threshold, text_column=text_column,
                             id_column=id_column, lang_column=lang_column, lang=lang, keep=keep,
                             verify=verify, against=against, flag_only=flag_only, shard_rows=shard_rows,
                             sketch=config)
    return run_local(input, out, settings, clusters=clusters,
                     n_workers=(os.cpu_count() or 1) if n_workers is None else n_workers, work_dir=work_dir,
                     overwrite=overwrite, show_progress=progress, on_shard=on_shard)
