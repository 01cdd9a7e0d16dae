"""The local engine: worker processes on one machine, resumable shard by shard.

Stages:
1. sketch: each shard is read and sketched by a worker (normalize, k-gram
   shingles, MinHash on the batch kernels); results go to the work directory,
   one directory per shard, renamed into place when complete, so a rerun with
   the same arguments reuses every finished shard;
2. candidates: LSH band keys of all signatures; documents with an equal key
   in a band are linked (each to the first and to the previous document of
   its bucket, 2 links per document and band instead of all pairs);
3. verify: a link stays only if the pair's similarity reaches the threshold:
   exact Jaccard of the shingle sets, MinHash agreement, or nothing;
4. clusters: connected components of the verified links (union-find);
5. keep: at most K documents per cluster, by the chosen rule; written in the
   input's own form, atomically (temporary name, then rename).

Memory: apart from band keys and a few arrays of one number per document,
only the signatures and shingle sets of documents in candidate pairs are
held, and only one shard's rows at a time.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import multiprocessing
import os
import resource
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

from .._kernels.lsh import band_keys
from .._kernels.sets import distinct_segments
from .._kernels.unionfind import connected_components
from .._kernels.verify import pair_jaccard, signature_agreement
from ..arrays import distinct, distinct_pairs
from ..config import DEFAULT_SKETCH_CONFIG, SketchConfig
from ..index.lsh import optimal_bands
from ..io import InputError, TableColumns
from ..progress import Progress
from ..shards import Layout, Shard, ShardWriter, plan_shards, read_shard, replace_path
from ..sketch import document_shingles, signatures

VERIFY_MODES = ("exact", "signature", "none")
WORK_FORMAT = 1
PROTECTED_COLUMN = "protected_match"


@dataclass(frozen=True)
class DedupSettings:
    """Everything that decides the result; its fingerprint names a resumable run.

    max_copies: K, the most documents kept per cluster;
    threshold: Jaccard of shingle sets at which two documents are duplicates;
    keep: which K stay: "first" (input order), "longest" (most characters),
        or "column:NAME" (largest value of a numeric column; missing values last);
    verify: how a candidate pair from LSH is confirmed (see VERIFY_MODES);
    lang: language of every document (else the lang column, the file
        extension, or a content guess); "text" treats everything as prose.
    """

    max_copies: int = 1
    threshold: float = 0.8
    text_column: str = "text"
    id_column: str | None = None
    lang_column: str | None = None
    lang: str | None = None
    keep: str = "first"
    verify: str = "exact"
    against: str | None = None
    flag_only: bool = False
    shard_rows: int = 10_000
    sketch: SketchConfig = DEFAULT_SKETCH_CONFIG

    def __post_init__(self):
        if self.max_copies < 1:
            raise ValueError(f"max_copies must be at least 1, got {self.max_copies}")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")
        if self.verify not in VERIFY_MODES:
            raise ValueError(f"verify must be one of {', '.join(VERIFY_MODES)}, got {self.verify!r}")
        if self.keep not in ("first", "longest") and not (self.keep.startswith("column:") and self.keep[7:]):
            raise ValueError(f"keep must be first, longest or column:NAME, got {self.keep!r}")
        if self.shard_rows < 1:
            raise ValueError("shard_rows must be at least 1")
        if self.flag_only and not self.against:
            raise ValueError("flag_only needs a protected index to check against")

    @property
    def rank_column(self) -> str | None:
        return self.keep[7:] if self.keep.startswith("column:") else None

    @property
    def columns(self) -> TableColumns:
        return TableColumns(self.text_column, self.id_column, self.lang_column)

    @property
    def bands(self) -> tuple[int, int]:
        return optimal_bands(self.threshold, self.sketch.minhash.num_perm)

    def fingerprint(self, layout: Layout) -> str:
        inputs = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in layout.input_files]
        settings = {**asdict(self), "sketch": self.sketch.fingerprint}
        # Only what changes the per-shard sketches: clustering settings can change between runs.
        for name in ("max_copies", "threshold", "keep", "verify", "flag_only"):
            settings.pop(name)
        payload = json.dumps({"format": WORK_FORMAT, "settings": settings, "inputs": inputs,
                              "rank_column": self.rank_column, "store_shingles": self.verify == "exact"},
                             sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass
class DedupSummary:
    documents_in: int
    documents_out: int
    clusters: int  # clusters of two or more documents
    duplicates_removed: int
    protected_matches: int  # documents matching the protected index (removed unless flag_only)
    without_text: int  # rows with no comparable text, passed through
    cluster_sizes: dict[str, int]  # "size" or "lo-hi" -> number of clusters
    candidate_pairs: int
    verified_pairs: int
    shards: int
    shards_reused: int
    seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_bytes: int = 0  # this process
    peak_rss_worker_bytes: int = 0  # the largest worker process
    input_bytes: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        total = sum(self.seconds.values())
        out = [f"documents: {self.documents_in:,} in, {self.documents_out:,} out; "
               f"{self.clusters:,} duplicate clusters, {self.duplicates_removed:,} duplicates removed",
               "cluster sizes: " + (", ".join(f"{k}: {v:,}" for k, v in self.cluster_sizes.items()) or "none"),
               f"pairs: {self.candidate_pairs:,} candidates from LSH, {self.verified_pairs:,} verified",
               f"shards: {self.shards} ({self.shards_reused} reused from an interrupted run)",
               f"time: {total:.1f} s (" + ", ".join(f"{k} {v:.1f}" for k, v in self.seconds.items()) + "); "
               f"peak RSS {self.peak_rss_bytes / 2**20:,.0f} MiB, workers {self.peak_rss_worker_bytes / 2**20:,.0f} MiB"]
        if self.protected_matches:
            out.insert(1, f"protected: {self.protected_matches:,} documents match the protected index")
        if self.without_text:
            out.insert(1, f"without text: {self.without_text:,} rows (no text, binary or not UTF-8) kept as they are")
        return out


# --- Stage 1: sketching shards in workers ------------------------------------------------------------

_PROTECTED_INDEXES: dict = {}


def _protected_index(path: str):
    if path not in _PROTECTED_INDEXES:
        from ..index import ProtectedIndex

        _PROTECTED_INDEXES[path] = ProtectedIndex.open(path, verify=False)
    return _PROTECTED_INDEXES[path]


def sketch_shard(shard: Shard, settings: DedupSettings, target: str) -> int:
    """Read and sketch one shard into the directory ``target`` (created complete, or not at all)."""
    rows = read_shard(shard, settings.columns, settings.rank_column)
    n_rows = len(rows.texts)
    all_shingles, n_chars = [], np.zeros(n_rows, np.int64)
    protected = np.zeros(n_rows, bool)
    index = _protected_index(settings.against) if settings.against else None
    for i, (text, lang, path) in enumerate(zip(rows.texts, rows.langs, rows.paths)):
        if text is None:
            continue
        lang = settings.lang or lang
        all_shingles.append(document_shingles(text, lang, settings.sketch.shingle, path=path))
        n_chars[i] = len(text)
        if index is not None:
            protected[i] = not index.query(text, lang, path=path, top=1).allowed
    has_text = np.array([t is not None for t in rows.texts], bool)
    lengths = np.zeros(n_rows + 1, np.int64)
    lengths[1:][has_text] = [s.size for s in all_shingles]
    shingles, offsets = distinct_segments(np.concatenate(all_shingles) if all_shingles else
                                          np.empty(0, np.uint64), np.cumsum(lengths))
    tmp = Path(f"{target}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    np.save(tmp / "signatures.npy", signatures(np.split(shingles, offsets[1:-1]), settings.sketch.minhash))
    if settings.verify == "exact":
        np.save(tmp / "shingle_offsets.npy", offsets)
        np.save(tmp / "shingles.npy", shingles)
    table = pa.table({"id": pa.array(rows.ids, pa.string()), "n_chars": n_chars, "has_text": has_text,
                      "rank": rows.ranks, "protected": protected})
    feather.write_feather(table, tmp / "rows.arrow", compression="uncompressed")
    os.replace(tmp, target)
    return len(rows.texts)


def _worker_init() -> None:
    import numba

    numba.set_num_threads(1)


def _worker_peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def _sketch_shards(todo: list[tuple[Shard, str]], settings: DedupSettings, n_workers: int,
                   progress: Progress, on_shard) -> None:
    """Sketch the shards not done yet; ``on_shard(i)`` after each, in completion order."""
    if n_workers <= 1 or len(todo) <= 1:
        for i, (shard, target) in enumerate(todo):
            progress.update(sketch_shard(shard, settings, target))
            if on_shard:
                on_shard(i)
        return
    ctx = multiprocessing.get_context("spawn")  # numba's thread pool is not fork-safe
    with concurrent.futures.ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_worker_init) as pool:
        futures = [pool.submit(sketch_shard, shard, settings, target) for shard, target in todo]
        try:
            for i, future in enumerate(concurrent.futures.as_completed(futures)):
                progress.update(future.result())
                if on_shard:
                    on_shard(i)
        except BaseException:
            for future in futures:
                future.cancel()
            raise


# --- Stages 2-4: candidates, verification, clusters ---------------------------------------------------


def bucket_links(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Links (smaller, larger document) among documents with equal ``keys``: each document to
    the first and to the previous one of its bucket. Same components as all pairs, 2n links."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    run_start = np.ones(keys.size, bool)
    run_start[1:] = ordered[1:] != ordered[:-1]
    first = order[np.flatnonzero(run_start)][np.cumsum(run_start) - 1]
    member = np.flatnonzero(~run_start)
    left = np.concatenate([first[member], order[member - 1]])
    right = np.concatenate([order[member], order[member]])
    return np.minimum(left, right), np.maximum(left, right)


def candidate_pairs(keys_by_band: np.ndarray, usable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct candidate pairs (i < j) from an (n_docs, n_bands) array of band keys."""
    lefts, rights = [], []
    docs = np.flatnonzero(usable)
    for band in range(keys_by_band.shape[1]):
        left, right = bucket_links(keys_by_band[docs, band])
        lefts.append(docs[left])
        rights.append(docs[right])
    if not lefts:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    left, right = distinct_pairs(np.concatenate(lefts), np.concatenate(rights))
    keep = left != right
    return left[keep].astype(np.int64), right[keep].astype(np.int64)


def _gather(shard_dirs: list[Path], offsets: np.ndarray, docs: np.ndarray, exact: bool):
    """Signatures (or shingle sets) of ``docs`` (sorted global rows), read shard by shard."""
    shard_of = np.searchsorted(offsets, docs, side="right") - 1
    sig_parts, flat_parts, lengths = [], [], []
    for s in np.unique(shard_of):
        local = docs[shard_of == s] - offsets[s]
        if exact:
            starts = np.load(shard_dirs[s] / "shingle_offsets.npy")
            shingles = np.load(shard_dirs[s] / "shingles.npy", mmap_mode="r")
            for d in local:
                flat_parts.append(np.asarray(shingles[starts[d]:starts[d + 1]]))
                lengths.append(starts[d + 1] - starts[d])
        else:
            sig_parts.append(np.load(shard_dirs[s] / "signatures.npy", mmap_mode="r")[local])
    if exact:
        set_offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        flat = np.concatenate(flat_parts) if flat_parts else np.empty(0, np.uint64)
        return flat, set_offsets
    return np.ascontiguousarray(np.concatenate(sig_parts)), None


def verify_pairs(left, right, shard_dirs, offsets, settings: DedupSettings) -> np.ndarray:
    """Similarity of each candidate pair, by ``settings.verify`` (1.0 for all with "none")."""
    if settings.verify == "none" or left.size == 0:
        return np.ones(left.size)
    docs = distinct(np.concatenate([left, right]))
    a, b = np.searchsorted(docs, left), np.searchsorted(docs, right)
    data, set_offsets = _gather(shard_dirs, offsets, docs, settings.verify == "exact")
    if settings.verify == "exact":
        return pair_jaccard(data, set_offsets, a, b)
    return signature_agreement(data, a, b)


def keep_mask(labels: np.ndarray, max_copies: int, n_chars: np.ndarray, ranks: np.ndarray,
              rule: str) -> np.ndarray:
    """True for the documents kept: the first ``max_copies`` of each cluster by ``rule``."""
    n = labels.size
    rows = np.arange(n)
    if rule == "first":
        order = np.lexsort((rows, labels))
    elif rule == "longest":
        order = np.lexsort((rows, -n_chars, labels))
    else:  # column: largest value first, missing values after every present one
        order = np.lexsort((rows, np.where(np.isnan(ranks), np.inf, -ranks), labels))
    ordered = labels[order]
    group_start = np.concatenate([[True], ordered[1:] != ordered[:-1]]) if n else np.zeros(0, bool)
    start_index = np.maximum.accumulate(np.where(group_start, np.arange(n), 0)) if n else rows
    kept = np.zeros(n, bool)
    kept[order] = (np.arange(n) - start_index) < max_copies
    return kept


def size_histogram(sizes: np.ndarray) -> dict[str, int]:
    """Number of clusters by size, in powers of two: "1", "2", "3-4", "5-8", ..."""
    out = {}
    hi = 1
    while sizes.size and hi < 2 * sizes.max():
        lo = hi // 2 + 1 if hi > 2 else hi
        n = int(np.count_nonzero((sizes >= lo) & (sizes <= hi)))
        if n:
            out[str(hi) if lo == hi else f"{lo}-{hi}"] = n
        hi *= 2
    return out


# --- The run ------------------------------------------------------------------------------------------


def _prepare_work_dir(work: Path, fingerprint: str) -> None:
    """Keep a previous run's shards only if it had the same inputs and sketch settings."""
    manifest = work / "manifest.json"
    if work.exists():
        try:
            same = json.loads(manifest.read_text()).get("fingerprint") == fingerprint
        except (OSError, ValueError):
            same = False
        if not same:
            shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps({"fingerprint": fingerprint}))


def _check_output(out: Path, layout: Layout, overwrite: bool, input_path: Path) -> None:
    if out.resolve() == input_path.resolve():
        raise InputError(f"{out}: the output cannot be the input")
    if out.exists() and not overwrite:
        raise InputError(f"{out}: already exists; remove it or pass --overwrite")
    if layout.single_file and out.is_dir():
        raise InputError(f"{out}: is a directory, but the input is one file; give a file name")


def run_local(input_path: str, out: str, settings: DedupSettings, clusters: str | None = None,
              n_workers: int = 1, work_dir: str | None = None, overwrite: bool = False,
              show_progress: bool | None = None, on_shard=None) -> DedupSummary:
    seconds = {}
    started = time.monotonic()
    source, target = Path(input_path), Path(out)
    layout = plan_shards(input_path, settings.columns, settings.shard_rows, settings.rank_column)
    _check_output(target, layout, overwrite, source)
    work = Path(work_dir) if work_dir else target.with_name(f".{target.name}.dedup-work")
    _prepare_work_dir(work, settings.fingerprint(layout))
    shard_dirs = [work / f"shard-{i:06d}" for i in range(len(layout.shards))]
    todo = [(shard, str(d)) for shard, d in zip(layout.shards, shard_dirs) if not d.exists()]
    n_reused = len(layout.shards) - len(todo)
    with Progress("sketching", unit="docs", enabled=show_progress) as progress:
        _sketch_shards(todo, settings, n_workers, progress, on_shard)
    seconds["sketch"] = time.monotonic() - started

    t = time.monotonic()
    tables = [feather.read_table(d / "rows.arrow", memory_map=True) for d in shard_dirs]
    counts = np.array([t_.num_rows for t_ in tables], np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    n_docs = int(offsets[-1])
    if n_docs == 0:
        raise InputError(f"{input_path}: no documents")
    rows = pa.concat_tables(tables)
    has_text = rows["has_text"].to_numpy()
    if settings.rank_column and np.isnan(rows["rank"].to_numpy()).all():
        raise InputError(f"{input_path}: column {settings.rank_column!r} has no numeric values to rank by")
    n_bands, band_rows = settings.bands
    keys = np.empty((n_docs, n_bands), np.uint64)
    with Progress("banding", unit="docs", total=n_docs, enabled=show_progress) as progress:
        for d, lo, hi in zip(shard_dirs, offsets[:-1], offsets[1:]):
            keys[lo:hi] = band_keys(np.load(d / "signatures.npy", mmap_mode="r"), n_bands, band_rows)
            progress.update(int(hi - lo))
    left, right = candidate_pairs(keys, has_text)
    del keys
    seconds["candidates"] = time.monotonic() - t

    t = time.monotonic()
    similarity = verify_pairs(left, right, shard_dirs, offsets, settings)
    verified = similarity >= settings.threshold
    labels = connected_components(n_docs, left[verified], right[verified])
    sizes = np.bincount(labels, minlength=n_docs)[labels]
    kept = keep_mask(labels, settings.max_copies, rows["n_chars"].to_numpy(), rows["rank"].to_numpy(),
                     "column" if settings.rank_column else settings.keep)
    protected = rows["protected"].to_numpy()
    output_kept = kept & ~protected if not settings.flag_only else kept
    seconds["clusters"] = time.monotonic() - t

    t = time.monotonic()
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    if not layout.single_file:
        partial.mkdir(parents=True)
    writer = ShardWriter(layout, partial)
    try:
        with Progress("writing", unit="docs", total=n_docs, enabled=show_progress) as progress:
            for shard, lo, hi in zip(layout.shards, offsets[:-1], offsets[1:]):
                flags = {PROTECTED_COLUMN: protected[lo:hi]} if settings.flag_only else None
                writer.write(shard, output_kept[lo:hi], flags)
                progress.update(int(hi - lo))
        writer.finish()
        if clusters:
            _write_clusters(Path(clusters), rows, labels, sizes, output_kept, settings, overwrite)
        replace_path(partial, target)
    except BaseException:
        writer.close()
        if partial.is_dir():
            shutil.rmtree(partial, ignore_errors=True)
        else:
            partial.unlink(missing_ok=True)
        raise
    seconds["write"] = time.monotonic() - t
    shutil.rmtree(work)

    roots = labels == np.arange(n_docs)
    cluster_sizes = np.bincount(labels, minlength=n_docs)[roots & has_text]
    return DedupSummary(
        documents_in=n_docs, documents_out=int(output_kept.sum()),
        clusters=int(np.count_nonzero(cluster_sizes > 1)), duplicates_removed=int(np.count_nonzero(~kept)),
        protected_matches=int(protected.sum()), without_text=int(np.count_nonzero(~has_text)),
        cluster_sizes=size_histogram(cluster_sizes), candidate_pairs=int(left.size),
        verified_pairs=int(verified.sum()), shards=len(layout.shards), shards_reused=n_reused,
        seconds=seconds, peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        peak_rss_worker_bytes=_worker_peak_rss(),
        input_bytes=sum(p.stat().st_size for p in layout.input_files))


def _write_clusters(path: Path, rows: pa.Table, labels, sizes, kept, settings: DedupSettings,
                    overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise InputError(f"{path}: already exists; remove it or pass --overwrite")
    columns = {"row": np.arange(labels.size), "cluster": labels, "cluster_size": sizes, "kept": kept}
    if rows["id"].null_count < rows.num_rows:
        columns = {"row": columns.pop("row"), "id": rows["id"], **columns}
    if settings.against:
        columns[PROTECTED_COLUMN] = rows["protected"]
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    pq.write_table(pa.table(columns), tmp)
    os.replace(tmp, path)
