"""The protected index at scale: build, open, RAM, disk and query latency, next to
datasketch ``MinHashLSH`` and rensa ``RMinHashLSH`` on the same documents.

    apt-get install -y golang-1.19-src linux-source-6.1 openjdk-17-source   # the corpus (once)
    python bench/index_bench.py run --docs 100000                   # or 1000000 [--repeats 1]

Documents are real code and prose cut into functions and paragraphs:
- Linux 6.1 (``linux-source-6.1``, extracted to /tmp): C functions and other
  top-level brace blocks of every .c/.h file, and paragraphs of Documentation/*.rst|txt;
- Go 1.19's standard library (``golang-1.19-src``): top-level brace blocks of .go files;
- JDK 17 (``openjdk-17-source``, src.zip read in place): methods of top-level classes;
- Python: functions and methods of the standard library and of this venv's packages
  (``corpora.python_functions``), and paragraphs of the pydoc topics.
Every source file is either indexed or held out (1 in 100 files, by hash of its
path); held-out chunks make the queries that are not in the index. The pool of
indexed chunks is shuffled once (seed 0) so any ``--docs N`` is a uniform sample
with the same language mix. Chunks are not deduplicated (exact duplicates are counted).

Phases run as separate processes so each one's memory is its own:
  prepare  chunk the corpus into /tmp/idxbench/pool.jsonl and holdout.jsonl (once)
  build    build_index(..., n_workers=2) on the first N pool chunks; time, peak RSS, disk
  queries  the 200 query texts, and a 500-document index to warm every kernel up
  query    one core: open, RSS, 200 queries of ~4 KB (sketch / LSH / local / whole query)
  peers    datasketch MinHashLSH or rensa RMinHashLSH: insert all, query the same 200 texts
  report   bench/results/index.md and index.json
``run`` does all of them in order. Index files and intermediate results stay in /tmp.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import sys
import tarfile
import textwrap
import threading
import time
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Iterable, Iterator

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import corpora  # noqa: E402
from corpora import Document  # noqa: E402

RESULTS = REPO / "bench" / "results"
WORK = Path("/tmp/idxbench")
LINUX_TARBALL = Path("/usr/src/linux-source-6.1.tar.xz")
LINUX_DIR = WORK / "src" / "linux-source-6.1"
GO_DIR = Path("/usr/share/go-1.19/src")
JAVA_SRC_ZIP = Path("/usr/lib/jvm/openjdk-17/lib/src.zip")

HOLDOUT_ONE_IN = 100
MIN_CHUNK_LINES = 5
MAX_CHUNK_CHARS = 32_000
PROSE_MIN_WORDS = 40
QUERY_CHARS = 4096
N_COPY_QUERIES = 100
CLEAN_QUERY_MIX = {"python": 40, "c": 25, "go": 20, "text": 15}
COPY_TARGET_CHARS = (800, 2500)
QUERY_REPEATS = 5
SINGLE_CORE_ENV = {"NUMBA_NUM_THREADS": "1", "RAYON_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                   "OPENBLAS_NUM_THREADS": "1"}


# --- chunking -------------------------------------------------------------------------------

_STRING_OR_CHAR = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')


def _code_part(line: str, in_comment: bool) -> tuple[str, bool]:
    """The line without comments and string literals; whether a /* comment is still open."""
    line = _STRING_OR_CHAR.sub('""', line)
    out, i = [], 0
    while True:
        if in_comment:
            end = line.find("*/", i)
            if end < 0:
                return "".join(out), True
            i, in_comment = end + 2, False
        block, comment = line.find("/*", i), line.find("//", i)
        if comment >= 0 and (block < 0 or comment < block):
            out.append(line[i:comment])
            return "".join(out), False
        if block < 0:
            out.append(line[i:])
            return "".join(out), False
        out.append(line[i:block])
        i, in_comment = block + 2, True


def brace_blocks(doc: Document, indent: str = "") -> Iterator[Document]:
    """Brace blocks at one nesting level with the comment and signature lines right
    above them. C and Go (indent ""): functions, structs and tables, which kernel
    style and gofmt close with "}" in column 0. Java (indent 4 spaces): the methods
    and nested classes of top-level classes."""
    lines = doc.text.splitlines(keepends=True)
    start, inside, in_comment = None, False, False
    for i, line in enumerate(lines):
        if inside:  # only a line at the block's level needs comments and strings stripped
            if line.startswith(indent + "}"):
                if i + 1 - start >= MIN_CHUNK_LINES:
                    text = "".join(lines[start:i + 1])
                    if len(text) <= MAX_CHUNK_CHARS:
                        yield Document(f"{doc.doc_id}@{start + 1}", doc.source, text, doc.lang)
                start, inside, in_comment = None, False, False
            continue
        code, in_comment = _code_part(line, in_comment)
        if not line.strip() or not line.startswith(indent):
            start = None
            continue
        if start is None:
            if line[len(indent)] in " \t":  # deeper than the level, outside any block
                continue
            start = i
        if code.count("{") > code.count("}"):
            inside = True


def java_members(doc: Document) -> Iterator[Document]:
    return brace_blocks(doc, indent="    ")


def prose_paragraphs(doc: Document) -> Iterator[Document]:
    return corpora.paragraphs(doc, min_words=PROSE_MIN_WORDS)


def python_chunks(doc: Document) -> Iterator[Document]:
    for chunk in corpora.python_functions(doc, min_lines=MIN_CHUNK_LINES):
        if len(chunk.text) <= MAX_CHUNK_CHARS:
            yield chunk


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None


def _files(root: Path, suffixes: tuple[str, ...], skip: Callable[[Path], bool] = lambda p: False
           ) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.suffix in suffixes and path.is_file() and not skip(path.relative_to(root)):
            yield path


def ensure_linux_source() -> Path:
    if not LINUX_DIR.is_dir():
        if not LINUX_TARBALL.is_file():
            sys.exit(f"{LINUX_TARBALL} missing: apt-get install -y linux-source-6.1")
        with tarfile.open(LINUX_TARBALL) as tar:
            tar.extractall(LINUX_DIR.parent, filter="data")
    return LINUX_DIR


def source_files() -> Iterator[tuple[Document, Callable[[Document], Iterator[Document]]]]:
    """(whole-file document, chunker) for every corpus file, in a stable order."""
    linux = ensure_linux_source()
    for path in _files(linux, (".c", ".h"), lambda rel: rel.parts[0] == "Documentation"):
        if (text := _read(path)) is not None:
            yield Document(f"linux:{path.relative_to(linux)}", str(path), text, "c"), brace_blocks
    for path in _files(linux / "Documentation", (".rst", ".txt")):
        if (text := _read(path)) is not None:
            yield Document(f"linux:{path.relative_to(linux)}", str(path), text, "text"), prose_paragraphs
    if not GO_DIR.is_dir():
        sys.exit(f"{GO_DIR} missing: apt-get install -y golang-1.19-src")
    for path in _files(GO_DIR, (".go",), lambda rel: "testdata" in rel.parts):
        if (text := _read(path)) is not None:
            yield Document(f"go:{path.relative_to(GO_DIR)}", str(path), text, "go"), brace_blocks
    yield from java_sources()
    for doc in corpora.stdlib_python():
        yield doc, python_chunks
    for doc in corpora.site_packages_python():
        yield doc, python_chunks
    for doc in corpora.pydoc_topics():
        yield doc, prose_paragraphs


def java_sources() -> Iterator[tuple[Document, Callable[[Document], Iterator[Document]]]]:
    if not JAVA_SRC_ZIP.is_file():
        sys.exit(f"{JAVA_SRC_ZIP} missing: apt-get install -y openjdk-17-source")
    with zipfile.ZipFile(JAVA_SRC_ZIP) as archive:
        for name in sorted(archive.namelist()):
            if name.endswith(".java"):
                try:
                    text = archive.read(name).decode("utf-8")
                except UnicodeDecodeError:
                    continue
                yield Document(f"jdk:{name}", f"{JAVA_SRC_ZIP}!{name}", text, "java"), java_members


def held_out(doc: Document) -> bool:
    digest = hashlib.blake2b(doc.doc_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % HOLDOUT_ONE_IN == 0


def _write_jsonl(path: Path, docs: Iterable[Document]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as f:
        for d in docs:
            f.write(json.dumps(asdict(d), ensure_ascii=False) + "\n")
    tmp.replace(path)


def read_jsonl(path: Path, limit: int | None = None) -> Iterator[Document]:
    with path.open() as f:
        for n, line in enumerate(f):
            if limit is not None and n >= limit:
                return
            yield Document(**json.loads(line))


def prepare(args) -> dict:
    """Chunk every corpus file once; shuffle the indexed pool (seed 0)."""
    t0 = time.perf_counter()
    pool, holdout = [], []
    files = {"indexed": 0, "held_out": 0}
    for doc, chunker in source_files():
        out = holdout if held_out(doc) else pool
        files["held_out" if out is holdout else "indexed"] += 1
        out.extend(chunker(doc))
    random.Random(0).shuffle(pool)
    WORK.mkdir(parents=True, exist_ok=True)
    _write_jsonl(WORK / "pool.jsonl", pool)
    _write_jsonl(WORK / "holdout.jsonl", holdout)
    stats = {"seconds": time.perf_counter() - t0, "files": files, "pool": corpus_stats(pool),
             "holdout": corpus_stats(holdout)}
    (WORK / "prepare.json").write_text(json.dumps(stats, indent=2))
    return stats


def corpus_stats(docs: list[Document]) -> dict:
    by_lang: dict[str, dict] = {}
    for d in docs:
        s = by_lang.setdefault(d.lang, {"chunks": 0, "chars": 0})
        s["chunks"] += 1
        s["chars"] += len(d.text)
    distinct = len({hashlib.blake2b(d.text.encode(), digest_size=16).digest() for d in docs})
    return {"chunks": len(docs), "chars": sum(s["chars"] for s in by_lang.values()),
            "exact_duplicate_chunks": len(docs) - distinct, "by_lang": by_lang}


# --- measuring ------------------------------------------------------------------------------

def memory(pid: int | str = "self") -> dict:
    """Resident memory in bytes: total, anonymous (heap) and file-backed (mapped files)."""
    fields = {"VmRSS": "rss", "RssAnon": "anon", "RssFile": "file", "VmHWM": "peak"}
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in fields:
                out[fields[key]] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return out


def child_pids() -> list[int]:
    pids = []
    for task in Path("/proc/self/task").iterdir():
        try:
            pids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return pids


class MemorySampler:
    """Samples this process's and its children's RSS; the peak of each labelled phase."""

    def __init__(self, interval: float = 0.2):
        self.interval = interval
        self.phase = "start"
        self.peaks: dict[str, dict] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def sample(self) -> None:
        own = memory()
        children = sum(memory(pid).get("rss", 0) for pid in child_pids())
        peak = self.peaks.setdefault(self.phase, {"main_rss": 0, "main_anon": 0, "workers_rss": 0})
        peak["main_rss"] = max(peak["main_rss"], own.get("rss", 0))
        peak["main_anon"] = max(peak["main_anon"], own.get("anon", 0))
        peak["workers_rss"] = max(peak["workers_rss"], children)

    def set_phase(self, phase: str) -> None:
        self.sample()
        self.phase = phase
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


class Stopwatch:
    """Wall-clock intervals of named calls (wrapping functions for a run, nothing else)."""

    def __init__(self):
        self.intervals: list[tuple[str, float, float]] = []
        self._patched = []

    def wrap(self, owner, name: str, label: str, on_start: Callable[[], None] | None = None) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            if on_start:
                on_start()
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.intervals.append((label, t0, time.perf_counter()))

        self._patched.append((owner, name, original))
        setattr(owner, name, timed)

    def restore(self) -> None:
        for owner, name, original in reversed(self._patched):
            setattr(owner, name, original)
        self._patched.clear()

    def total(self, label: str) -> float:
        return sum(t1 - t0 for lab, t0, t1 in self.intervals if lab == label)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def latency_summary(seconds: list[float]) -> dict:
    us = [s * 1e6 for s in seconds]
    return {"n": len(us), "p50_us": percentile(us, 50), "p90_us": percentile(us, 90),
            "p99_us": percentile(us, 99), "max_us": max(us), "mean_us": statistics.fmean(us)}


def per_query_medians(seconds: list[float], n_queries: int) -> list[float]:
    """The median of each query's passes (samples are pass-major): robust to a preempted pass."""
    return [statistics.median(seconds[i::n_queries]) for i in range(n_queries)]


def run_dir(n_docs: int) -> Path:
    path = WORK / f"n{n_docs}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def index_path(n_docs: int) -> Path:
    return run_dir(n_docs) / "index"


PHASE_START: dict = {}


def library_revision() -> str:
    """The dedupfilter code a phase ran (others commit while benchmarks run)."""
    dirty = _cmd("git", "status", "--porcelain", "--", "dedupfilter").splitlines()
    return _cmd("git", "rev-parse", "--short", "HEAD") + (f" + {len(dirty)} uncommitted files" if dirty else "")


def write_phase(n_docs: int, phase: str, result: dict) -> dict:
    result = {**result, "ran": {**PHASE_START, "finished": now(), "loadavg_at_end": os.getloadavg()}}
    (run_dir(n_docs) / f"{phase}.json").write_text(json.dumps(result, indent=2))
    return result


def directory_bytes(path: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted(path.iterdir()) if p.is_file()}


# --- build ----------------------------------------------------------------------------------

def build(args) -> dict:
    """build_index on the first N pool chunks with 2 worker processes."""
    from dedupfilter.index import ProtectedIndex, build_index, storage
    from dedupfilter.index.sketching import BatchSketch

    n_docs, path = args.docs, index_path(args.docs)
    watch = Stopwatch()
    progress = {"docs": 0, "last_batch": None, "next_report": 0.0}
    with MemorySampler() as sampler:
        sampler.set_phase("sketch")

        def on_batch(n: int) -> None:
            progress["docs"] += n
            progress["last_batch"] = time.perf_counter()
            if progress["last_batch"] >= progress["next_report"]:
                progress["next_report"] = progress["last_batch"] + 15
                rate = progress["docs"] / (progress["last_batch"] - t0)
                print(f"  built {progress['docs']:,} docs, {rate:,.0f} docs/s, "
                      f"main RSS {memory().get('rss', 0) / 2**30:.2f} GiB", file=sys.stderr, flush=True)

        for owner, name, label in ((BatchSketch, "concat", "assemble"),
                                   (ProtectedIndex, "_compute_ignored", "assemble"),
                                   (ProtectedIndex, "_compute_bands", "assemble"),
                                   (storage, "commit_version", "write"),
                                   (ProtectedIndex, "open", "reopen")):
            # The empty index built first also runs these; only label phases once documents are in.
            watch.wrap(owner, name, f"{label}:{name}",
                       on_start=lambda label=label: progress["docs"] and sampler.set_phase(label))
        t0 = time.perf_counter()
        try:
            index, counts = build_index(path, read_jsonl(WORK / "pool.jsonl", n_docs), n_workers=2,
                                        on_batch=on_batch)
        finally:
            watch.restore()
        seconds = time.perf_counter() - t0
        sampler.set_phase("done")
    usage_self = resource.getrusage(resource.RUSAGE_SELF)
    usage_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    version = storage.current_version_dir(path)
    files = directory_bytes(version)
    stats = index.stats()
    first_assemble = min((t0_ for lab, t0_, _ in watch.intervals if lab.startswith("assemble")), default=None)
    return write_phase(n_docs, "build", {
        "docs": len(index), "counts": counts, "seconds": seconds, "docs_per_s": len(index) / seconds,
        "stages_s": {
            "sketch (2 workers, until the last batch)": (progress["last_batch"] or t0) - t0,
            "assemble: concat, sort, boilerplate cut, bands": (
                max(t1 for lab, _, t1 in watch.intervals if lab.startswith("assemble"))
                - (progress["last_batch"] or first_assemble)) if first_assemble else None,
            **{lab: watch.total(lab) for lab in dict.fromkeys(lab for lab, _, _ in watch.intervals)},
        },
        "peak_rss": {"main_process_max_rss": usage_self.ru_maxrss * 1024,
                     "largest_worker_max_rss": usage_children.ru_maxrss * 1024,
                     "by_phase": sampler.peaks},
        "cpu_s": {"main": usage_self.ru_utime + usage_self.ru_stime,
                  "workers": usage_children.ru_utime + usage_children.ru_stime},
        "disk": {"files": files, "total": sum(files.values()),
                 "bytes_per_doc": sum(files.values()) / max(len(index), 1)},
        "index": {k: stats[k] for k in ("fingerprints", "ignored_hashes", "tokens", "chars", "languages",
                                        "df_cutoff_documents", "lsh")},
    })


# --- queries --------------------------------------------------------------------------------

def _cycle(docs: list[Document]) -> Iterator[str]:
    while True:
        for d in docs:
            yield textwrap.dedent(d.text).strip("\n")


def fill(pieces: Iterator[str], limit: int) -> str:
    """Whole pieces joined by blank lines, the last one cut at a line end, to at most ``limit`` chars."""
    out, size = [], 0
    while size < limit - 80:
        piece = next(pieces)
        room = limit - size - (2 if out else 0)
        if len(piece) > room:
            cut = piece.rfind("\n", 0, room)
            if cut <= 0:
                break
            piece = piece[:cut]
        out.append(piece)
        size += len(piece) + (2 if len(out) > 1 else 0)
    return "\n\n".join(out)


def copy_queries(n_docs: int, filler: Iterator[str], rng: random.Random) -> list[dict]:
    """~4 KB of held-out Python around a disguised copy of an indexed function."""
    from corpora.transforms import disguise

    lo, hi = COPY_TARGET_CHARS
    candidates = [d for d in read_jsonl(WORK / "pool.jsonl", n_docs)
                  if d.lang == "python" and lo <= len(d.text) <= hi]
    rng.shuffle(candidates)
    out = []
    for doc in candidates:
        original = textwrap.dedent(doc.text).strip("\n")
        try:
            copy = disguise(original)
        except Exception:  # noqa: BLE001 - source the disguise cannot tokenize or parse
            continue
        if copy == original:
            continue
        room = QUERY_CHARS - len(copy) - 4
        before = fill(filler, rng.randint(0, room))
        after = fill(filler, room - len(before))
        text = "\n\n".join(part for part in (before, copy, after) if part)
        out.append({"kind": "copy", "lang": "python", "target": doc.doc_id, "text": text})
        if len(out) == N_COPY_QUERIES:
            break
    return out


def clean_queries(holdout: list[Document], rng: random.Random) -> list[dict]:
    """~4 KB of held-out chunks (files never indexed) per query."""
    out = []
    for lang, count in CLEAN_QUERY_MIX.items():
        docs = [d for d in holdout if d.lang == lang]
        rng.shuffle(docs)
        pieces = _cycle(docs)
        out += [{"kind": "clean", "lang": lang, "target": None, "text": fill(pieces, QUERY_CHARS)}
                for _ in range(count)]
    return out


def make_queries(args) -> dict:
    """The 200 query texts, and a small index to warm every kernel up before measuring."""
    from dedupfilter.index import build_index

    rng = random.Random(1)
    holdout = list(read_jsonl(WORK / "holdout.jsonl"))
    python_filler = [d for d in holdout if d.lang == "python"]
    rng.shuffle(python_filler)
    queries = clean_queries(holdout, rng) + copy_queries(args.docs, _cycle(python_filler), rng)
    (run_dir(args.docs) / "query_texts.json").write_text(json.dumps(queries))
    build_index(run_dir(args.docs) / "warmup_index", read_jsonl(WORK / "pool.jsonl", 500))
    sizes = [len(q["text"]) for q in queries]
    return write_phase(args.docs, "queries", {
        "n": len(queries), "by_kind": {k: sum(q["kind"] == k for q in queries) for k in ("clean", "copy")},
        "chars": {"min": min(sizes), "mean": statistics.fmean(sizes), "max": max(sizes)}})


def load_queries(n_docs: int) -> list[dict]:
    return json.loads((run_dir(n_docs) / "query_texts.json").read_text())


# --- query ----------------------------------------------------------------------------------

def _timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def query_stages(index, q: dict) -> dict[str, float]:
    """One query, stage by stage, as ProtectedIndex.matches runs them."""
    policy = index.policy
    sk, t_sketch = _timed(index.sketch, q["text"], q["lang"])
    t0 = time.perf_counter()
    lookup = index.lookup(sk.shingles)
    t_usable = time.perf_counter() - t0
    _, t_lsh = _timed(index._lsh_candidates, sk)
    t0 = time.perf_counter()
    index._local_matches(sk, index.passage_rows(sk, lookup, policy))
    t_local = time.perf_counter() - t0
    return {"sketch": t_sketch, "lookup and boilerplate filter": t_usable, "lsh": t_lsh, "local": t_local}


def hit_counts(index, q: dict) -> dict[str, int]:
    """How much work the fingerprint lookup finds for one query."""
    import numpy as np
    from dedupfilter.index.protected import MAX_HITS_PER_HASH
    from dedupfilter.sketch import lookup_hits

    sk = index.sketch(q["text"], q["lang"])
    usable = sk.informative & ~index.lookup(sk.shingles).ignored
    _, rows = lookup_hits(sk.shingles[usable], index.fp.hash, MAX_HITS_PER_HASH)
    return {"query_kgrams": int(sk.shingles.size), "usable_kgrams": int(usable.sum()),
            "fingerprint_rows_hit": int(rows.size), "documents_hit": int(np.unique(index.fp.doc[rows]).size)}


def mapped_file_ranges() -> list[tuple[int, int]]:
    """Address ranges of this process's memory-mapped index files (.arrow)."""
    ranges = []
    for line in Path("/proc/self/maps").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[5].endswith(".arrow"):
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            ranges.append((lo, hi))
    return ranges


def index_ram_parts(index) -> dict[str, dict]:
    """Bytes of each part of an open index, and whether it lives in a mapped index file or on the heap."""
    ranges = mapped_file_ranges()

    def array(a) -> dict:
        address = a.ctypes.data
        mapped = a.nbytes == 0 or any(lo <= address < hi for lo, hi in ranges)
        return {"bytes": int(a.nbytes), "heap": not mapped}

    def strings(values: list) -> dict:
        distinct = {id(v): sys.getsizeof(v) for v in values}
        return {"bytes": sys.getsizeof(values) + sum(distinct.values()), "heap": True}

    parts = {f"docs.{name}": strings(getattr(index.docs, name)) for name in ("ids", "sources", "langs")}
    parts.update({f"docs.{name}": array(getattr(index.docs, name)) for name in ("n_tokens", "n_chars")})
    parts["signatures"] = array(index.signatures)
    parts["bands.keys"] = array(index.band_keys)
    parts["bands.docs"] = array(index.band_docs)
    parts.update({f"fingerprints.{f}": array(getattr(index.fp, f)) for f in index.fp.FIELDS})
    parts["ignored"] = array(index.ignored)
    return parts


def query(args) -> dict:
    """Single core: open the index, RSS, warm-up, then latency of every stage."""
    import gc

    import numpy as np
    from dedupfilter.index import ProtectedIndex

    queries = load_queries(args.docs)
    warm = ProtectedIndex.open(run_dir(args.docs) / "warmup_index")
    for q in queries:
        warm.query(q["text"], q["lang"])
        query_stages(warm, q)
    del warm
    gc.collect()
    baseline = memory()
    index, open_s = _timed(ProtectedIndex.open, index_path(args.docs), False)
    after_open = memory()
    verdicts = [index.query(q["text"], q["lang"]) for q in queries]
    after_warmup = memory()
    hits = [hit_counts(index, q) for q in queries]
    stages: dict[str, list[float]] = {}
    totals, totals_parsed = [], []
    for _ in range(args.repeats):
        for q in queries:
            for name, seconds in query_stages(index, q).items():
                stages.setdefault(name, []).append(seconds)
            totals.append(_timed(index.query, q["text"], q["lang"])[1])
            # What lexing the query's code (the default) saves: the same query with it parsed.
            totals_parsed.append(_timed(lambda: index.query(q["text"], q["lang"], parse_code=True))[1])
    after_queries = memory()
    sketches = [index.sketch(q["text"], q["lang"]) for q in queries]
    # As the peers' lookups are timed: back to back over the queries, QUERY_REPEATS passes.
    lsh_alone = [_timed(index._lsh_candidates, sk)[1] for _ in range(QUERY_REPEATS) for sk in sketches]
    candidates = [sorted(index._lsh_candidates(sk)) for sk in sketches]
    query_signatures = [index.sketch(q["text"], q["lang"]).signature.tolist() for q in queries]
    bands_s = [_timed(index._compute_bands)[1] for _ in range(3)]
    reopen_s = [_timed(ProtectedIndex.open, index_path(args.docs), False)[1] for _ in range(3)]
    verify_s = [_timed(ProtectedIndex.open, index_path(args.docs), True)[1] for _ in range(2)]
    n = len(index)
    ram = {name: m.get("rss", 0) for name, m in
           (("after_open", after_open), ("after_warmup", after_warmup), ("after_queries", after_queries))}
    (run_dir(args.docs) / "query_signatures.json").write_text(json.dumps(
        {"signatures": query_signatures, "candidates": candidates}))
    return write_phase(args.docs, "query", {
        "docs": n,
        "open_s": {"first (verify=False)": open_s, "again, median of 3 (verify=False)": statistics.median(reopen_s),
                   "verify=True (checksums), median of 2": statistics.median(verify_s)},
        "memory": {"baseline": baseline, "after_open": after_open, "after_warmup": after_warmup,
                   "after_queries": after_queries,
                   "bytes_per_doc": {k: (v - baseline["rss"]) / n for k, v in ram.items()},
                   "anon_bytes_per_doc_after_warmup": (after_warmup["anon"] - baseline["anon"]) / n,
                   "file_bytes_per_doc_after_warmup": (after_warmup["file"] - baseline["file"]) / n,
                   "parts": index_ram_parts(index)},
        "latency": {"total query()": latency_summary(totals),
                    "total query(), code parsed (parse_code=True)": latency_summary(totals_parsed),
                    **{name: latency_summary(v) for name, v in stages.items()}},
        "latency_per_query_median": {
            "total query()": latency_summary(per_query_medians(totals, len(queries))),
            "total query(), code parsed (parse_code=True)": latency_summary(
                per_query_medians(totals_parsed, len(queries))),
            **{name: latency_summary(per_query_medians(v, len(queries))) for name, v in stages.items()}},
        "latency_by_query_kind": latency_by_kind(queries, totals),
        "lsh_alone_latency": latency_summary(lsh_alone),
        "lsh_alone_latency_per_query_median": latency_summary(per_query_medians(lsh_alone, len(queries))),
        "lsh_build_s": statistics.median(bands_s),
        "lsh_bytes_per_doc": (index.band_keys.nbytes + index.band_docs.nbytes) / n,
        "lsh_candidates": {"mean": statistics.fmean(map(len, candidates)),
                           "max": max(map(len, candidates))},
        "outcomes": outcomes(queries, verdicts),
        "hits_per_query": {key: {"mean": statistics.fmean(h[key] for h in hits), "max": max(h[key] for h in hits)}
                           for key in hits[0]},
        "numba_threads": int(os.environ.get("NUMBA_NUM_THREADS", "0")),
        "numpy": np.__version__,
    })


def latency_by_kind(queries: list[dict], totals: list[float]) -> dict:
    out = {}
    for i, q in enumerate(queries):
        key = f"{q['kind']} {q['lang']}"
        out.setdefault(key, []).extend(totals[i::len(queries)])
    return {k: latency_summary(v) for k, v in out.items()}


def outcomes(queries: list[dict], verdicts: list) -> dict:
    """Block rate per half; for copies, whether the copied document is among the matches."""
    out: dict[str, dict] = {}
    for q, v in zip(queries, verdicts):
        o = out.setdefault(q["kind"], {"n": 0, "blocked": 0, "target_matched": 0, "by_lang": {},
                                       "blocked_examples": []})
        o["n"] += 1
        blocked = v.action == "block"
        o["blocked"] += blocked
        lang = o["by_lang"].setdefault(q["lang"], {"n": 0, "blocked": 0})
        lang["n"] += 1
        lang["blocked"] += blocked
        if q["target"] is not None:
            o["target_matched"] += any(m.doc_id == q["target"] for m in v.matches)
        if blocked and q["kind"] == "clean":
            o["blocked_examples"].append({"lang": q["lang"], "reason": v.reason,
                                          "doc": v.matches[0].doc_id if v.matches else None,
                                          "longest_span": v.matches[0].longest_span if v.matches else 0})
    for o in out.values():
        o["block_rate"] = o["blocked"] / o["n"]
    return out


# --- peers ----------------------------------------------------------------------------------

PEER_SHINGLE_WORDS = 5  # rensa's own pipeline: word 5-grams, as in bench/throughput.py
RENSA_BANDS = 8  # rensa needs num_perm % bands == 0; 8 x 16 is the closest to our 9 x 13 at 0.8


def _settle() -> dict:
    import gc

    gc.collect()
    return memory()


def word_shingles(text: str) -> list[str]:
    words = text.split()
    n = PEER_SHINGLE_WORDS
    return [" ".join(words[i:i + n]) for i in range(max(len(words) - n + 1, 1))]


def peer_datasketch(n_docs: int, queries: list[dict], query_sigs: list) -> dict:
    """MinHashLSH over our signatures (bit-identical to datasketch's MinHash, affine64)."""
    import numpy as np
    import pyarrow as pa
    from datasketch import LeanMinHash, MinHashLSH
    from dedupfilter.index import storage

    from dedupfilter.config import DEFAULT_SKETCH_CONFIG

    mh = DEFAULT_SKETCH_CONFIG.minhash
    version = storage.current_version_dir(index_path(n_docs))
    with pa.memory_map(str(version / "signatures.arrow")) as source:
        column = pa.ipc.open_file(source).read_all().column("signature").combine_chunks()
    sigs = column.values.to_numpy(zero_copy_only=False).reshape(-1, mh.num_perm)
    q_min = [LeanMinHash(seed=mh.seed, hashvalues=np.array(s, np.uint64), scheme=mh.scheme) for s in query_sigs]
    before = _settle()
    t0 = time.perf_counter()
    lsh = MinHashLSH(threshold=0.8, num_perm=mh.num_perm)
    with lsh.insertion_session() as session:
        for i in range(sigs.shape[0]):
            session.insert(i, LeanMinHash(seed=mh.seed, hashvalues=sigs[i], scheme=mh.scheme),
                           check_duplication=False)
    insert_s = time.perf_counter() - t0
    after = _settle()
    latencies = [_timed(lsh.query, m)[1] for _ in range(QUERY_REPEATS) for m in q_min]
    candidates = [sorted(lsh.query(m)) for m in q_min]
    params = {"bands": lsh.b, "rows": lsh.r}
    del lsh
    return {"system": "datasketch MinHashLSH", "params": params,
            "signatures": "dedupfilter's (identical to datasketch MinHash affine64), wrapped in LeanMinHash",
            "build_s": insert_s, "signature_s": 0.0, "docs": int(sigs.shape[0]),
            "memory": {"before": before, "after_insert": after, "after_del": _settle()},
            "lsh_latency": latency_summary(latencies),
            "lsh_latency_per_query_median": latency_summary(per_query_medians(latencies, len(q_min))),
            "candidates": candidates}


def peer_rensa(n_docs: int, queries: list[dict], query_sigs: list) -> dict:
    """RMinHashLSH over rensa's own signatures of word 5-grams of the same documents."""
    import rensa
    from dedupfilter.config import DEFAULT_SKETCH_CONFIG

    mh = DEFAULT_SKETCH_CONFIG.minhash
    matrices, batch = [], []
    signature_s = 0.0
    for doc in read_jsonl(WORK / "pool.jsonl", n_docs):
        batch.append(word_shingles(doc.text))
        if len(batch) == 10_000:
            matrix, dt = _timed(rensa.RMinHash.digest_matrix_from_token_sets, batch, mh.num_perm, mh.seed)
            matrices.append(matrix)
            signature_s += dt
            batch = []
    if batch:
        matrix, dt = _timed(rensa.RMinHash.digest_matrix_from_token_sets, batch, mh.num_perm, mh.seed)
        matrices.append(matrix)
        signature_s += dt
    del batch
    before = _settle()  # the digests exist already: the difference is the LSH alone
    t0 = time.perf_counter()
    lsh = rensa.RMinHashLSH(0.8, mh.num_perm, RENSA_BANDS)
    inserted = 0
    for matrix in matrices:
        lsh.insert_matrix(matrix, inserted)
        inserted += matrix.len()
    insert_s = time.perf_counter() - t0
    after = _settle()
    q_min = []
    for q in queries:
        m = rensa.RMinHash(mh.num_perm, mh.seed)
        m.update(word_shingles(q["text"]))
        q_min.append(m)
    latencies = [_timed(lsh.query, m)[1] for _ in range(QUERY_REPEATS) for m in q_min]
    candidates = [sorted(lsh.query(m)) for m in q_min]
    del lsh
    return {"system": "rensa RMinHashLSH", "params": {"bands": RENSA_BANDS, "rows": mh.num_perm // RENSA_BANDS},
            "signatures": "rensa RMinHash of word 5-grams (its own pipeline; rensa takes no external digests)",
            "build_s": insert_s, "signature_s": signature_s, "docs": inserted,
            "memory": {"before": before, "after_insert": after, "after_del": _settle()},
            "lsh_latency": latency_summary(latencies),
            "lsh_latency_per_query_median": latency_summary(per_query_medians(latencies, len(q_min))),
            "candidates": candidates}


PEERS = {"datasketch": peer_datasketch, "rensa": peer_rensa}


def peers(args) -> dict:
    queries = load_queries(args.docs)
    saved = json.loads((run_dir(args.docs) / "query_signatures.json").read_text())
    result = PEERS[args.engine](args.docs, queries, saved["signatures"])
    mem = result["memory"]
    # A peer's index is heap memory (anonymous pages); its inputs (our memory-mapped
    # signatures, rensa's digest matrices) were in memory before the "before" reading.
    result["ram_bytes_per_doc"] = (mem["after_insert"]["anon"] - mem["before"]["anon"]) / result["docs"]
    return write_phase(args.docs, f"peer_{args.engine}", result)


# --- report ---------------------------------------------------------------------------------

FINDINGS_MARKER = "<!-- findings: written by hand, kept when the report is regenerated -->"
PHASES = ("build", "queries", "query", "peer_datasketch", "peer_rensa")


def _cmd(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO).stdout.strip()
    except OSError:
        return ""


def environment() -> dict:
    from importlib.metadata import version

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next(int(line.split()[1]) * 1024 for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    packages = ("numpy", "numba", "pyarrow", "tree-sitter", "datasketch", "rensa", "xxhash")
    debs = _cmd("dpkg-query", "-W", "golang-1.19-src", "linux-source-6.1", "openjdk-17-source").splitlines()
    dirty = _cmd("git", "status", "--porcelain", "--", "dedupfilter").splitlines()
    return {"cores": os.cpu_count(), "cpu": cpu, "ram_bytes": mem, "python": platform.python_version(),
            "packages": {p: version(p) for p in packages},
            "dedupfilter": f"git {_cmd('git', 'rev-parse', '--short', 'HEAD')}"
                           + (f" + uncommitted changes in {len(dirty)} files of dedupfilter/" if dirty else ""),
            "debian_packages": dict(line.split("\t") for line in debs if "\t" in line)}


def load_run(n_docs: int) -> dict | None:
    folder = WORK / f"n{n_docs}"
    if not all((folder / f"{p}.json").is_file() for p in PHASES):
        return None
    data = {p: json.loads((folder / f"{p}.json").read_text()) for p in PHASES + ("run",)
            if (folder / f"{p}.json").is_file()}
    ours = json.loads((folder / "query_signatures.json").read_text())["candidates"]
    for peer in ("peer_datasketch", "peer_rensa"):
        theirs = data[peer].pop("candidates")
        data[peer]["candidates_equal_to_ours"] = sum(a == b for a, b in zip(ours, theirs))
        data[peer]["queries"] = len(theirs)
        data[peer]["candidates_mean"] = statistics.fmean(map(len, theirs))
    return data


def report(args) -> None:
    sizes = args.docs or sorted(int(p.name[1:]) for p in WORK.glob("n*") if p.name[1:].isdigit())
    runs = {n: r for n in sizes if (r := load_run(n)) is not None}
    if not runs:
        sys.exit("no complete run in " + str(WORK))
    env = environment()
    prep = json.loads((WORK / "prepare.json").read_text())
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "index.json").write_text(json.dumps(
        {"generated": now(), "environment": env, "corpus": prep, "runs": runs}, indent=1))
    md = RESULTS / "index.md"
    findings = md.read_text().split(FINDINGS_MARKER, 1)[1] if md.is_file() and FINDINGS_MARKER in md.read_text() \
        else "\n\n## Findings\n\n(to be written)\n"
    md.write_text(render(env, prep, runs) + "\n" + FINDINGS_MARKER + findings)
    print(f"wrote {md} and {RESULTS / 'index.json'}", file=sys.stderr)


def _ms(us: float) -> str:
    return f"{us / 1000:.3f}" if us < 10_000 else f"{us / 1000:.1f}"


def _b(x: float) -> str:
    return f"{x:,.0f}"


def _gib(x: float) -> str:
    return f"{x / 2**30:.2f}"


def render(env: dict, prep: dict, runs: dict) -> str:
    big = max(runs)
    r = runs[big]
    q, rn = r["query"], r["peer_rensa"]
    total, lsh = q["latency"]["total query()"], _lsh_lookup(q)[0]
    ram_doc = q["memory"]["bytes_per_doc"]["after_warmup"]
    loads = [f"{n:,} docs: load average {x['run']['started']['loadavg'][0]:.2f} at start, "
             f"{x['run']['finished']['loadavg'][0]:.2f} at end ({x['run']['started']['time']} to "
             f"{x['run']['finished']['time']})" for n, x in runs.items() if "run" in x]
    pool = prep["pool"]
    langs = ", ".join(f"{lang} {v['chunks']:,} ({v['chars'] / 1e6:.0f} MB)" for lang, v in pool["by_lang"].items())
    met = lambda ok: "met" if ok else "**not met**"  # noqa: E731
    out = [
        "# Protected index at scale: dedupfilter, datasketch MinHashLSH, rensa RMinHashLSH", "",
        f"- date: {now()}",
        f"- machine: {env['cores']} cores, {env['cpu']}, {env['ram_bytes'] / 2**30:.0f} GiB RAM; shared with "
        "other jobs: " + "; ".join(loads),
        "- dedupfilter code per phase (the library changed while this ran): " + "; ".join(
            f"{n:,} docs: " + ", ".join(f"{p} {x[p]['ran']['dedupfilter']}" for p in PHASES
                                        if "ran" in x[p]) for n, x in runs.items()),
        f"- versions: dedupfilter {env['dedupfilter']} at report time, python {env['python']}, "
        + ", ".join(f"{k} {v}" for k, v in env["packages"].items()),
        "- commands: `apt-get install -y golang-1.19-src linux-source-6.1 openjdk-17-source`, then "
        + ", ".join(f"`{x['run']['command']}`" for x in runs.values() if "run" in x)
        + " (phases run as separate processes: prepare, build, queries, query, peers; see the script's docstring)",
        f"- data (Debian packages {', '.join(f'{k} {v}' for k, v in env['debian_packages'].items())}; "
        "Python 3.11 stdlib, this venv's site-packages, pydoc topics): Linux 6.1 C functions and other top-level "
        "brace blocks of .c/.h and paragraphs of Documentation/*.rst|txt; Go 1.19 std top-level brace blocks; "
        "JDK 17 src.zip methods of top-level classes; Python functions and methods; blank-line paragraphs of "
        f"prose (>= {PROSE_MIN_WORDS} words). Code chunks of >= {MIN_CHUNK_LINES} lines and <= "
        f"{MAX_CHUNK_CHARS:,} chars. Pool {pool['chunks']:,} chunks, {pool['chars'] / 1e6:.0f} MB: {langs}; "
        f"{pool['exact_duplicate_chunks']:,} exact duplicate chunks kept (no dedup). 1 file in {HOLDOUT_ONE_IN} "
        f"held out ({prep['holdout']['chunks']:,} chunks) for queries. The pool is shuffled (seed 0); a run "
        "indexes its first N chunks.",
        f"- queries: {N_COPY_QUERIES} copies (held-out Python around a `corpora.transforms.disguise`d indexed "
        f"Python function of {COPY_TARGET_CHARS[0]}-{COPY_TARGET_CHARS[1]} chars) and 100 clean texts of held-out "
        f"chunks ({', '.join(f'{v} {k}' for k, v in CLEAN_QUERY_MIX.items())}), "
        f"{r['queries']['chars']['mean']:,.0f} chars on average; single core (NUMBA_NUM_THREADS=1, "
        "RAYON_NUM_THREADS=1); each stage timed separately, `query()` timed as a whole; p50/p99 over all "
        "(query, pass) samples. Page cache warm (the index was just written); no cold-cache figures.",
        "- RAM: RSS of the query process minus its RSS before `open` (after imports and every kernel warmed up "
        "on a 500-document index); our index is memory-mapped, so this counts the index pages the process "
        "touched (file-backed) plus heap. Peers: growth of anonymous memory while inserting (their inputs were "
        "already in memory).", "",
        f"## Targets at {big:,} documents (reported, not asserted)", "",
        f"- whole query p99 <= 1 ms for 4 KB, one core: **{_ms(total['p99_us'])} ms** (p50 {_ms(total['p50_us'])} "
        f"ms): {met(total['p99_us'] <= 1000)}.",
        f"- our LSH lookup at or below rensa's: p50 {lsh['p50_us']:.1f} us vs {rn['lsh_latency']['p50_us']:.1f} us, "
        f"p99 {lsh['p99_us']:.1f} vs {rn['lsh_latency']['p99_us']:.1f} us: {met(lsh['p50_us'] <= rn['lsh_latency']['p50_us'])}.",
        f"- RAM per document at or below rensa's: whole index {_b(ram_doc)} B/doc after warm-up (heap "
        f"{_b(q['memory']['anon_bytes_per_doc_after_warmup'])}, mapped index pages "
        f"{_b(q['memory']['file_bytes_per_doc_after_warmup'])}; LSH band table alone {_b(q['lsh_bytes_per_doc'])} "
        f"B/doc) vs rensa {_b(rn['ram_bytes_per_doc'])} B/doc: {met(ram_doc <= rn['ram_bytes_per_doc'])} in this "
        "run. The mapped part is page cache the kernel maps around each page a query touches; on the same index "
        "it has measured from about 0.9 to 2.4 KB per document from run to run, so one run does not settle the "
        "target.",
        f"- open under 1 s: {q['open_s']['first (verify=False)']:.3f} s (`verify=False`), "
        f"{q['open_s']['verify=True (checksums), median of 2']:.2f} s with the default `verify=True`: "
        f"{met(q['open_s']['verify=True (checksums), median of 2'] < 1)} for the default.", "",
    ]
    out += headline(runs) + stage_table(runs) + kind_table(runs) + peer_table(runs) + outcome_table(runs)
    out += build_table(runs) + disk_ram_table(runs)
    return "\n".join(out)


def headline(runs: dict) -> list[str]:
    rows = ["## Headline", "",
            "| docs | build s | docs/s | peak RSS main / one worker GiB | disk B/doc | RAM B/doc after open | "
            "RAM B/doc after warm-up | open s | query p50 ms | query p99 ms |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n, r in runs.items():
        b, q = r["build"], r["query"]
        t = q["latency"]["total query()"]
        rows.append(f"| {n:,} | {b['seconds']:.0f} | {b['docs_per_s']:,.0f} | "
                    f"{_gib(b['peak_rss']['main_process_max_rss'])} / {_gib(b['peak_rss']['largest_worker_max_rss'])} | "
                    f"{_b(b['disk']['bytes_per_doc'])} | {_b(q['memory']['bytes_per_doc']['after_open'])} | "
                    f"{_b(q['memory']['bytes_per_doc']['after_warmup'])} | {q['open_s']['first (verify=False)']:.3f} | "
                    f"{_ms(t['p50_us'])} | {_ms(t['p99_us'])} |")
    return rows + [""]


def stage_table(runs: dict) -> list[str]:
    rows = ["## Query latency by stage (one core, ms)", "",
            "`sketch` = normalize + shingle + MinHash + winnow (`index.sketch`); `lookup and boilerplate filter` = "
            "`index.lookup` (each k-gram's rows in the fingerprint table, and the ignored-hash test); `lsh` = `_lsh_candidates`; `local` = `passage_rows` + `_local_matches` "
            "(fingerprint lookup, passages, spans); `total` = `query()` (all of these plus Jaccard per "
            "candidate, matches and verdict).", "",
            "Last column: p99 over the queries of each query's median pass, which drops passes preempted "
            "by other jobs (4 ms scheduler ticks on this shared machine).", "",
            "| docs | stage | p50 | p90 | p99 | mean | p99 of per-query medians |",
            "|---:|---|---:|---:|---:|---:|---:|"]
    for n, r in runs.items():
        robust = r["query"]["latency_per_query_median"]
        for stage, s in r["query"]["latency"].items():
            rows.append(f"| {n:,} | {stage} | {_ms(s['p50_us'])} | {_ms(s['p90_us'])} | {_ms(s['p99_us'])} | "
                        f"{_ms(s['mean_us'])} | {_ms(robust[stage]['p99_us'])} |")
    return rows + [""]


def kind_table(runs: dict) -> list[str]:
    rows = ["## Whole query by kind of query (ms) and the work it finds", "",
            "| docs | queries | p50 | p99 |", "|---:|---|---:|---:|"]
    for n, r in runs.items():
        for kind, s in r["query"]["latency_by_query_kind"].items():
            rows.append(f"| {n:,} | {kind} | {_ms(s['p50_us'])} | {_ms(s['p99_us'])} |")
    rows += ["", "| docs | per query: k-grams | usable k-grams | fingerprint rows hit | documents hit |",
             "|---:|---:|---:|---:|---:|"]
    for n, r in runs.items():
        h = r["query"]["hits_per_query"]
        rows.append(f"| {n:,} | " + " | ".join(f"{h[k]['mean']:,.0f} (max {h[k]['max']:,})" for k in
                                                ("query_kgrams", "usable_kgrams", "fingerprint_rows_hit",
                                                 "documents_hit")) + " |")
    return rows + [""]


def peer_table(runs: dict) -> list[str]:
    rows = ["## LSH against peers (same documents, same 200 queries, one core)", "",
            "Build = LSH construction from signatures already computed (ours: `_compute_bands` on the open "
            "index; datasketch: `insertion_session` inserts of `LeanMinHash` wrappers of our signatures, "
            "bit-identical to datasketch's MinHash; rensa: `insert_matrix` of its own digests of word 5-grams, "
            "computed beforehand in the `signatures` column, 1 thread). RAM = the LSH structure alone. "
            "Lookup = one LSH query (ours: `_lsh_candidates`, band keys included), timed back to back over "
            f"the 200 queries, {QUERY_REPEATS} passes, for every system. Inside a whole query (the `lsh` stage above) ours "
            "finds its pages evicted by the other stages: that figure is the one a query pays.", "",
            "| docs | system | bands x rows | build s | signatures s | LSH RAM B/doc | lookup p50 us | "
            "lookup p99 us | p99 of per-query medians us | our p50 / theirs | candidates/query | "
            "same candidates as ours |",
            "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n, r in runs.items():
        q = r["query"]
        (lsh, lsh_robust), bands = _lsh_lookup(q), r["build"]["index"]["lsh"]
        rows.append(f"| {n:,} | dedupfilter | {bands['bands']} x {bands['rows']} | {q['lsh_build_s']:.2f} | "
                    f"(in build) | {_b(q['lsh_bytes_per_doc'])} | {lsh['p50_us']:.1f} | {lsh['p99_us']:.1f} | "
                    f"{lsh_robust['p99_us']:.1f} | 1.00 | {q['lsh_candidates']['mean']:.2f} | - |")
        for key in ("peer_datasketch", "peer_rensa"):
            p = r[key]
            rows.append(f"| {n:,} | {p['system']} | {p['params']['bands']} x {p['params']['rows']} | "
                        f"{p['build_s']:.2f} | {p['signature_s']:.1f} | {_b(p['ram_bytes_per_doc'])} | "
                        f"{p['lsh_latency']['p50_us']:.2f} | {p['lsh_latency']['p99_us']:.2f} | "
                        f"{p['lsh_latency_per_query_median']['p99_us']:.2f} | "
                        f"{lsh['p50_us'] / p['lsh_latency']['p50_us']:.1f} | {p['candidates_mean']:.2f} | "
                        f"{p['candidates_equal_to_ours']}/{p['queries']} |")
    return rows + [""]


def _lsh_lookup(q: dict) -> tuple[dict, dict]:
    """Our LSH lookup timed as the peers' are (back to back); runs from before that was
    measured have only the stage inside whole queries."""
    if "lsh_alone_latency" in q:
        return q["lsh_alone_latency"], q["lsh_alone_latency_per_query_median"]
    return q["latency"]["lsh"], q["latency_per_query_median"]["lsh"]


def outcome_table(runs: dict) -> list[str]:
    rows = ["## Outcomes (recall and false blocks)", "",
            "| docs | half | queries | blocked | block rate | blocked by language | copied document among matches |",
            "|---:|---|---:|---:|---:|---|---:|"]
    for n, r in runs.items():
        for kind, o in r["query"]["outcomes"].items():
            by_lang = ", ".join(f"{lang} {x['blocked']}/{x['n']}" for lang, x in o.get("by_lang", {}).items())
            rows.append(f"| {n:,} | {kind} | {o['n']} | {o['blocked']} | {o['block_rate']:.2f} | {by_lang} | "
                        + (f"{o['target_matched']}/{o['n']} |" if kind == "copy" else "- |"))
    examples = runs[max(runs)]["query"]["outcomes"].get("clean", {}).get("blocked_examples", [])
    if examples:
        spans = [e.get("longest_span", 0) for e in examples]
        rows += ["", f"Clean queries blocked at {max(runs):,} documents: longest matched passage "
                 f"{min(spans)}-{max(spans)} tokens, {sum(x <= 35 for x in spans)} of {len(spans)} at most 35 "
                 "(the limit is 30). The first ten:", ""]
        rows += [f"- {e['lang']}: {e['reason']}" for e in examples[:10]]
    return rows + [""]


def build_table(runs: dict) -> list[str]:
    rows = ["## Build: where time and memory go", "",
            "Stages: `sketch` until the last batch comes back from the 2 workers; `assemble` from then until "
            "the bands are computed (concatenation, sort by hash, boilerplate cut, bands; the wrapped calls "
            "are listed too); `write` = `storage.commit_version`; `reopen` = the `open` in `save`.", "",
            "| docs | stage | seconds |", "|---:|---|---:|"]
    for n, r in runs.items():
        b = r["build"]
        rows += [f"| {n:,} | {stage} | {sec:.1f} |" for stage, sec in b["stages_s"].items()]
        rows.append(f"| {n:,} | **total** (cpu: main {b['cpu_s']['main']:.0f} s, workers "
                    f"{b['cpu_s']['workers']:.0f} s) | {b['seconds']:.1f} |")
    rows += ["", "Peak memory by phase (sampled every 0.2 s; workers = sum of the worker processes' RSS, "
             "shared pages counted in each):", "",
             "| docs | phase | main RSS GiB | main heap GiB | workers RSS GiB |", "|---:|---|---:|---:|---:|"]
    for n, r in runs.items():
        for phase, p in r["build"]["peak_rss"]["by_phase"].items():
            rows.append(f"| {n:,} | {phase} | {_gib(p['main_rss'])} | {_gib(p['main_anon'])} | "
                        f"{_gib(p['workers_rss'])} |")
    return rows + [""]


def disk_ram_table(runs: dict) -> list[str]:
    n = max(runs)
    b, q = runs[n]["build"], runs[n]["query"]
    rows = [f"## Bytes per document at {n:,} documents", "",
            f"{b['index']['fingerprints']:,} fingerprints ({b['index']['fingerprints'] / n:.1f} per document), "
            f"{b['index']['ignored_hashes']:,} boilerplate hashes ignored (df cutoff "
            f"{b['index']['df_cutoff_documents']:,} documents).", "",
            "| file | bytes/doc on disk |", "|---|---:|"]
    rows += [f"| {name} | {size / n:,.1f} |" for name, size in b["disk"]["files"].items()]
    rows += ["", "| part of the open index | bytes/doc | where |", "|---|---:|---|"]
    rows += [f"| {name} | {p['bytes'] / n:,.1f} | {'heap' if p['heap'] else 'mapped file'} |"
             for name, p in q["memory"]["parts"].items()]
    m = q["memory"]
    rows += ["", f"RSS growth per document: after open {_b(m['bytes_per_doc']['after_open'])}, after warm-up "
             f"{_b(m['bytes_per_doc']['after_warmup'])} (heap {_b(m['anon_bytes_per_doc_after_warmup'])}, mapped "
             f"file {_b(m['file_bytes_per_doc_after_warmup'])}), after all timed queries "
             f"{_b(m['bytes_per_doc']['after_queries'])}.", ""]
    return rows


# --- running --------------------------------------------------------------------------------

def run_phase(phase: str, n_docs: int, *extra: str, single_core: bool = True) -> None:
    env = {**os.environ, **(SINGLE_CORE_ENV if single_core else {})}
    cmd = [sys.executable, str(Path(__file__).resolve()), phase, "--docs", str(n_docs), *extra]
    print(f"== {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True)
    print(f"   {phase} took {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)


def run(args) -> None:
    """Every phase in order, each in its own process; then the report."""
    started = {"time": now(), "loadavg": os.getloadavg()}
    if not (WORK / "pool.jsonl").is_file():
        run_phase("prepare", args.docs, single_core=False)
    run_phase("build", args.docs, single_core=False)
    run_phase("queries", args.docs)
    run_phase("query", args.docs, "--repeats", str(args.repeats))
    for engine in PEERS:
        run_phase("peers", args.docs, "--engine", engine)
    write_phase(args.docs, "run", {"started": started, "finished": {"time": now(), "loadavg": os.getloadavg()},
                                   "command": " ".join(["python", "bench/index_bench.py", *sys.argv[1:]])})
    report(argparse.Namespace(docs=None))


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="phase", required=True)
    for name in ("run", "prepare", "build", "queries", "query", "peers", "report"):
        p = sub.add_parser(name)
        p.add_argument("--docs", type=int, nargs="*" if name == "report" else None,
                       default=None if name == "report" else 100_000)
        if name == "peers":
            p.add_argument("--engine", choices=sorted(PEERS), required=True)
        if name in ("run", "query"):
            p.add_argument("--repeats", type=int, default=QUERY_REPEATS,
                           help="timed passes of our index over the 200 queries (default %(default)s; "
                                "peers' LSH lookups always get QUERY_REPEATS)")
    args = parser.parse_args(argv)
    PHASE_START.update(started=now(), dedupfilter=library_revision(), loadavg_at_start=os.getloadavg())
    phases = {"run": run, "prepare": prepare, "build": build, "queries": make_queries, "query": query,
              "peers": peers, "report": report}
    result = phases[args.phase](args)
    if isinstance(result, dict) and args.phase != "report":
        print(json.dumps({k: v for k, v in result.items() if k not in ("candidates",)}, indent=1,
                         default=str)[:3000], file=sys.stderr)


if __name__ == "__main__":
    main()
