"""Throughput of dedupfilter against its peers: same run, same data, one core.

    python bench/throughput.py [--quick]

1. End to end, raw text -> 128-permutation MinHash signatures, MB/s, for prose
   (pydoc topics, repeated) and code (the standard library); and the signature
   step alone, shingles/s: dedupfilter, datasketch (MinHash.bulk, xxh32) and
   rensa (RMinHash, CMinHash); tree-sitter's parse time as the code reference.
2. Where dedupfilter's time goes, stage by stage.
3. Normalization MB/s per language on real source found on this machine,
   against tree-sitter's own parse time of the same bytes (Parser.parse alone).

Each figure is the median of several timed runs after one untimed warm-up
(numba compilation, caches and lazy imports are not counted). The cases
compared with each other run round robin, one run of each per round, so load
from other jobs on a shared machine hits them alike; both wall-clock and
process CPU time are recorded. Results: bench/results/throughput.md (tables)
and throughput.json (every run); --quick writes throughput_quick.*.
"""

from __future__ import annotations

import argparse
import functools
import gc
import hashlib
import importlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Callable, Sequence

import llvmlite.binding as llvm
import numba
import numpy as np
import rensa
import tree_sitter
import xxhash
from datasketch import MinHash

import corpora
import dedupfilter
from dedupfilter.config import DEFAULT_SKETCH_CONFIG
from dedupfilter.normalize import normalize
from dedupfilter.normalize.languages import LANGUAGES
from dedupfilter.normalize.text import codepoints, normalize_text
from dedupfilter.sketch import shingle_hashes, signature, signatures

RESULTS = Path(__file__).resolve().parent / "results"
NUM_PERM = DEFAULT_SKETCH_CONFIG.minhash.num_perm
K = DEFAULT_SKETCH_CONFIG.shingle.k  # of code
K_PROSE = DEFAULT_SKETCH_CONFIG.shingle.k_for("text")
PEER_SEED = 1
PEER_K = 5  # peers shingle word 5-grams, the usual choice with datasketch
MB = 1e6
MAX_FILE_BYTES = 2_000_000  # skips generated bundles

PEER_TOKENIZATION = (f"`text.split()` (str, for rensa) or `text.encode().split()` (bytes, for datasketch), "
                     f"then every run of {PEER_K} consecutive words joined with one space; no case folding")


@dataclass(frozen=True)
class Settings:
    repeats: int
    prose_mb: float            # end to end prose corpus: pydoc topics repeated to this size
    code_mb: float | None      # end to end code corpus: standard library capped here (None: all of it)
    sample_mb: float           # corpora for the signature step and the stage breakdown
    lang_mb: float             # per-language normalization corpus cap
    min_timed_mb: float        # a smaller language corpus is repeated to this size in each timed run


FULL = Settings(repeats=5, prose_mb=20, code_mb=None, sample_mb=4, lang_mb=4, min_timed_mb=1)
QUICK = Settings(repeats=3, prose_mb=0.6, code_mb=0.25, sample_mb=0.2, lang_mb=0.1, min_timed_mb=0.1)


# ---------------------------------------------------------------- timing

@dataclass
class Timing:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # process CPU time, all threads

    def seconds(self, clock: str) -> float:
        """Median over the timed runs, by "cpu" or "wall" clock."""
        return statistics.median(self.cpu if clock == "cpu" else self.wall)

    @property
    def spread(self) -> float:
        """Slowest over fastest wall-clock run: how noisy this measurement was."""
        return max(self.wall) / min(self.wall)


STEP, PART, VARIANT = "step", "part", "variant"  # stages: a pipeline step, part of the step above, an alternative


@dataclass(frozen=True)
class Spec:
    """One thing to time: ``run`` processes ``amount`` (MB of input, or shingles)."""

    system: str
    api: str
    amount: float
    run: Callable[[], object]
    threads: int = 1
    kind: str = STEP


@contextmanager
def numba_threads(n: int):
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def measure(corpus: str, specs: Sequence[Spec], repeats: int) -> list[Timing]:
    """Warm every spec up once, then time ``repeats`` rounds of one run per spec."""
    for spec in specs:
        progress(f"  {corpus}: {spec.system} {spec.api}")
        with numba_threads(spec.threads):
            spec.run()
    timings = [Timing() for _ in specs]
    for _ in range(repeats):
        for spec, timing in zip(specs, timings):
            gc.collect()
            with numba_threads(spec.threads):
                wall, cpu = time.perf_counter(), time.process_time()
                spec.run()
                timing.wall.append(time.perf_counter() - wall)
                timing.cpu.append(time.process_time() - cpu)
    return timings


def progress(message: str, _start: float = time.perf_counter()) -> None:
    print(f"[{time.perf_counter() - _start:6.1f} s] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- corpora

@dataclass(frozen=True)
class CodeSource:
    lang: str
    roots: tuple[str, ...]
    suffixes: tuple[str, ...]  # "" takes every file under the roots
    note: str


SYSTEM = ("/usr", "/opt", "/root")
CODE_SOURCES = (
    CodeSource("c", SYSTEM, (".c",), "`*.c` under /usr, /opt, /root"),
    CodeSource("cpp", ("/usr/include/c++",), ("",), "libstdc++ headers, /usr/include/c++"),
    CodeSource("javascript", ("/usr/lib/node_modules",), (".js",), "`*.js` under /usr/lib/node_modules"),
    CodeSource("typescript", SYSTEM, (".ts",), "`*.ts` under /usr, /opt, /root"),
    CodeSource("tsx", SYSTEM, (".tsx",), "`*.tsx` under /usr, /opt, /root"),
    CodeSource("java", ("/work/shared/datasets",), (".java",), "`*.java` of the data sets in /work/shared/datasets"),
    CodeSource("go", SYSTEM, (".go",), "`*.go` under /usr, /opt, /root"),
    CodeSource("rust", SYSTEM, (".rs",), "`*.rs` under /usr, /opt, /root"),
)


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def megabytes(texts: Sequence[str]) -> float:
    return sum(map(utf8_size, texts)) / MB


def take(texts: Sequence[str], max_mb: float | None) -> list[str]:
    """A seeded random sample of ``texts`` up to ``max_mb`` of UTF-8, without any text
    over a quarter of that (one big file would otherwise stand for the whole corpus)."""
    shuffled = list(texts)
    random.Random(0).shuffle(shuffled)
    if max_mb is None:
        return shuffled
    out, total = [], 0
    for text in shuffled:
        if total >= max_mb * MB:
            break
        if utf8_size(text) <= max_mb * MB / 4:
            out.append(text)
            total += utf8_size(text)
    return out


def repeat_to(texts: list[str], min_mb: float) -> list[str]:
    size = sum(map(utf8_size, texts))
    return texts * max(1, -(-int(min_mb * MB) // max(size, 1)))


@functools.lru_cache(maxsize=None)
def files_under(root: str) -> tuple[str, ...]:
    paths = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        paths.extend(os.path.join(directory, name) for name in sorted(filenames))
    return tuple(paths)


def source_files(source: CodeSource) -> list[tuple[str, str]]:
    """(path, text) of the distinct UTF-8 files matching ``source``, in path order."""
    files, seen = [], set()
    for root in source.roots:
        for path in files_under(root):
            if path.endswith(source.suffixes) and not path.endswith(".min.js"):
                text = read_source(Path(path), seen)
                if text:
                    files.append((path, text))
    return files


def read_source(path: Path, seen: set[bytes]) -> str | None:
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        data = path.read_bytes()
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    digest = hashlib.sha1(data).digest()
    if not text.strip() or digest in seen:
        return None
    seen.add(digest)
    return text


def main_directories(paths: Sequence[str], depth: int = 4, top: int = 3) -> str:
    counts = Counter(os.path.join(*Path(path).parts[:depth + 1]) for path in paths)
    return ", ".join(f"{directory} ({n})" for directory, n in counts.most_common(top))


# ---------------------------------------------------------------- the systems compared

def ts_parser(lang: str) -> tree_sitter.Parser:
    """A plain tree-sitter parser from the same grammar wheel dedupfilter uses."""
    spec = LANGUAGES[lang]
    grammar = getattr(importlib.import_module(spec.module), spec.function)()
    return tree_sitter.Parser(tree_sitter.Language(grammar))


def parse_all(texts: Sequence[str], lang: str) -> Callable[[], object]:
    parser = ts_parser(lang)
    data = [t.encode("utf-8", "surrogatepass") for t in texts]
    return lambda: [parser.parse(d) for d in data]


def word_shingles(text: str) -> list[str]:
    words = text.split()
    return [" ".join(words[i:i + PEER_K]) for i in range(max(1, len(words) - PEER_K + 1))]


def word_shingles_bytes(text: str) -> list[bytes]:
    words = text.encode("utf-8", "surrogatepass").split()
    return [b" ".join(words[i:i + PEER_K]) for i in range(max(1, len(words) - PEER_K + 1))]


def datasketch_bulk(shingle_sets) -> list[MinHash]:
    """datasketch's fastest CPU path: bulk, scheme affine32 (its default), xxh32."""
    return MinHash.bulk(shingle_sets, num_perm=NUM_PERM, seed=PEER_SEED, hashfunc=xxhash.xxh32_intdigest)


def rensa_r(shingle_sets) -> np.ndarray:
    return rensa.RMinHash.digest_matrix_from_token_sets(shingle_sets, NUM_PERM, PEER_SEED)


def rensa_c(shingle_sets) -> list:
    return rensa.CMinHash.digests_from_token_sets(shingle_sets, NUM_PERM, PEER_SEED)


# ---------------------------------------------------------------- results

DEDUPFILTER = "dedupfilter"


@dataclass
class Row:
    corpus: str
    system: str
    api: str
    amount: float              # MB of input, or shingles
    threads: int
    kind: str
    timing: Timing

    def rate(self, clock: str = "cpu") -> float:
        return self.amount / self.timing.seconds(clock)


def measure_rows(corpus: str, specs: Sequence[Spec], repeats: int) -> list[Row]:
    return [Row(corpus, spec.system, spec.api, spec.amount, spec.threads, spec.kind, timing)
            for spec, timing in zip(specs, measure(corpus, specs, repeats))]


@dataclass
class LanguageResult:
    lang: str
    source: str
    files: int
    megabytes: float
    normalize: Row | None = None
    parse: Row | None = None


@dataclass
class Results:
    settings: Settings
    meta: dict
    end_to_end: list[Row] = field(default_factory=list)
    signature_step: list[Row] = field(default_factory=list)
    stages: list[Row] = field(default_factory=list)
    distinct_kgrams: dict[str, float] = field(default_factory=dict)
    languages: list[LanguageResult] = field(default_factory=list)


# ---------------------------------------------------------------- 1. end to end and signature step

def bench_end_to_end(corpus: str, texts: list[str], lang: str, repeats: int) -> list[Row]:
    mb = megabytes(texts)

    def ours() -> list[np.ndarray]:
        return [signature(shingle_hashes(normalize(t, lang))) for t in texts]

    def ours_batch() -> np.ndarray:
        return signatures([shingle_hashes(normalize(t, lang)) for t in texts])

    specs = [
        Spec(DEDUPFILTER, "`signature(shingle_hashes(normalize(t)))` per text", mb, ours),
        Spec(DEDUPFILTER, "`signatures([...])` batch, **2 threads** (in the minhash step)", mb, ours_batch, threads=2),
        Spec("datasketch", "`MinHash.bulk`, affine32, `xxh32_intdigest`", mb,
             lambda: datasketch_bulk(word_shingles_bytes(t) for t in texts)),
        Spec("rensa", "`RMinHash.digest_matrix_from_token_sets`", mb,
             lambda: rensa_r([word_shingles(t) for t in texts])),
        Spec("rensa", "`CMinHash.digests_from_token_sets`", mb, lambda: rensa_c([word_shingles(t) for t in texts])),
    ]
    if lang in LANGUAGES:
        specs.append(Spec("tree-sitter", "`Parser.parse` alone (reference: no tokens, no signatures)", mb,
                          parse_all(texts, lang)))
    return measure_rows(corpus, specs, repeats)


def bench_signature_step(corpus: str, texts: list[str], lang: str, repeats: int) -> list[Row]:
    """Sketching pre-built shingles: dedupfilter's k-gram hashes and the peers' word 5-grams."""
    ours = [shingle_hashes(normalize(t, lang)) for t in texts]
    flat = np.concatenate(ours)
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in ours])]).astype(np.uint64)
    words = [word_shingles(t) for t in texts]
    words_bytes = [word_shingles_bytes(t) for t in texts]
    n_ours, n_words = sum(map(len, ours)), sum(map(len, words))
    hashes, grams = f"dedupfilter's uint64 {K_PROSE if lang == 'text' else K}-gram hashes", f"word {PEER_K}-grams"
    specs = [
        Spec(DEDUPFILTER, f"`signature` per text; {hashes}", n_ours, lambda: [signature(s) for s in ours]),
        Spec(DEDUPFILTER, f"`signatures` batch; {hashes}", n_ours, lambda: signatures(ours)),
        Spec(DEDUPFILTER, f"`signatures` batch, **2 threads**; {hashes}", n_ours, lambda: signatures(ours), threads=2),
        Spec("datasketch", f"`MinHash.bulk`, affine32, xxh32; {grams} (bytes)", n_words,
             lambda: datasketch_bulk(words_bytes)),
        Spec("rensa", f"`RMinHash.digest_matrix_from_token_sets`; {grams} (str)", n_words, lambda: rensa_r(words)),
        Spec("rensa", f"`RMinHash.digest_matrix_from_flat_token_hashes`; {hashes}", n_ours,
             lambda: rensa.RMinHash.digest_matrix_from_flat_token_hashes(flat, offsets, NUM_PERM, PEER_SEED)),
        Spec("rensa", f"`CMinHash.digests_from_token_sets`; {grams} (str)", n_words, lambda: rensa_c(words)),
        Spec("rensa", f"`CMinHash.digests64_from_token_hash_sets`; {hashes}", n_ours,
             lambda: rensa.CMinHash.digests64_from_token_hash_sets(ours, NUM_PERM, PEER_SEED)),
    ]
    return measure_rows(corpus, specs, repeats)


# ---------------------------------------------------------------- 2. where the time goes

def distinct(shingles: np.ndarray) -> np.ndarray:
    """The distinct values, sorted. (np.unique gives the same, many times slower: see the notes.)"""
    ordered = np.sort(shingles)
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def distinct_share(shingle_sets: list[np.ndarray]) -> float:
    """Share of k-grams that are distinct within their own text."""
    return sum(distinct(s).size for s in shingle_sets) / max(1, sum(map(len, shingle_sets)))


def prose_stages(texts: list[str], repeats: int) -> list[Row]:
    mb = megabytes(texts)
    tokens = [normalize_text(t) for t in texts]
    shingles = [shingle_hashes(t) for t in tokens]
    specs = [
        Spec("stage", "`normalize_text` (code points, then the fold/split/hash kernel)", mb,
             lambda: [normalize_text(t) for t in texts]),
        Spec("stage", "str -> code points (`codepoints`, a UTF-32 encode)", mb,
             lambda: [codepoints(t) for t in texts], kind=PART),
        Spec("stage", "`shingle_hashes`", mb, lambda: [shingle_hashes(t) for t in tokens]),
        Spec("stage", f"`signature` ({NUM_PERM} x affine64)", mb, lambda: [signature(s) for s in shingles]),
        Spec("stage", "distinct k-grams (sort), then `signature`: the same signature", mb,
             lambda: [signature(distinct(s)) for s in shingles], kind=VARIANT),
    ]
    return measure_rows("prose", specs, repeats)


def code_stages(texts: list[str], repeats: int) -> list[Row]:
    mb = megabytes(texts)
    tokens = [normalize(t, "python") for t in texts]
    shingles = [shingle_hashes(t) for t in tokens]
    specs = [
        Spec("stage", "`normalize(t, 'python')` (parse, Python tree walk, token hashing)", mb,
             lambda: [normalize(t, "python") for t in texts]),
        Spec("stage", "tree-sitter `Parser.parse` alone", mb, parse_all(texts, "python"), kind=PART),
        Spec("stage", "`shingle_hashes`", mb, lambda: [shingle_hashes(t) for t in tokens]),
        Spec("stage", f"`signature` ({NUM_PERM} x affine64)", mb, lambda: [signature(s) for s in shingles]),
        Spec("stage", "distinct k-grams (sort), then `signature`: the same signature", mb,
             lambda: [signature(distinct(s)) for s in shingles], kind=VARIANT),
    ]
    return measure_rows("code", specs, repeats)


# ---------------------------------------------------------------- 3. normalization per language

def bench_languages(settings: Settings, prose: list[str], stdlib: list[str]) -> list[LanguageResult]:
    results = [bench_language("text", "pydoc topics (`corpora.pydoc_topics()`)", prose, settings),
               bench_language("python", "standard library (`corpora.stdlib_python()`)", stdlib, settings)]
    for source in CODE_SOURCES:
        found = source_files(source)
        note = (f"{source.note}; found {len(found)}, most in {main_directories([path for path, _ in found])}"
                if found else source.note)
        results.append(bench_language(source.lang, note, [text for _, text in found], settings))
    return results


def bench_language(lang: str, source: str, texts: list[str], settings: Settings) -> LanguageResult:
    sample = take(texts, settings.lang_mb)
    result = LanguageResult(lang, source, len(sample), megabytes(sample))
    if not sample:
        progress(f"  {lang}: no source found")
        return result
    timed = repeat_to(sample, settings.min_timed_mb)
    mb = megabytes(timed)
    specs = [Spec(DEDUPFILTER, "normalize", mb, lambda: [normalize(t, lang) for t in timed])]
    if lang in LANGUAGES:
        specs.append(Spec("tree-sitter", "Parser.parse", mb, parse_all(timed, lang)))
    rows = measure_rows(lang, specs, settings.repeats)
    result.normalize = rows[0]
    result.parse = rows[1] if len(rows) > 1 else None
    return result


# ---------------------------------------------------------------- report

def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    numba_target = {name: os.environ[name] for name in ("NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES") if name in os.environ}
    return {"cpu": cpu, "llvm_cpu": llvm.get_host_cpu_name(), "cores": os.cpu_count(),
            "load_average_start": os.getloadavg(), "numba_target": numba_target}


def versions() -> dict:
    names = ("numpy", "numba", "datasketch", "rensa", "tree-sitter", "xxhash")
    return {"dedupfilter": dedupfilter_version(), "python": sys.version.split()[0],
            **{name: version(name) for name in names}}


def dedupfilter_version() -> str:
    """Package version, git commit and whether the working tree differs from it."""
    package = Path(dedupfilter.__file__).parent

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(package), *args], capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = " + uncommitted changes" if git("status", "--porcelain", "--", str(package)) else ""
    return f"{version('dedupfilter')} ({package}, git {commit}{dirty})"


def reference(rows: list[Row], row: Row) -> Row:
    """dedupfilter's single-thread row of the same corpus."""
    return next(r for r in rows if r.corpus == row.corpus and r.system == DEDUPFILTER and r.threads == 1)


def comparison_table(rows: list[Row], unit: str, scale: float) -> list[str]:
    lines = [f"| corpus | system | API | {unit} per core (CPU time) | {unit} (wall) | "
             "dedupfilter / this (CPU time) | noise |", "|---|---|---|---:|---:|---:|---:|"]
    for r in rows:
        ours = reference(rows, r)
        lines.append(f"| {r.corpus} | {r.system} | {r.api} | {r.rate('cpu') / scale:,.2f} | "
                     f"{r.rate('wall') / scale:,.2f} | {ours.rate('cpu') / r.rate('cpu'):.2f}x | "
                     f"{r.timing.spread:.2f} |")
    return lines


def stage_table(rows: list[Row]) -> list[str]:
    """Stages with their share of the sum of the pipeline steps of their corpus (CPU time)."""
    totals = Counter()
    for r in rows:
        if r.kind == STEP:
            totals[r.corpus] += r.timing.seconds("cpu")
    labels = {STEP: "{}", PART: "&nbsp;&nbsp;of which: {}", VARIANT: "instead: {}"}
    lines = ["| corpus | stage | ms per MB (CPU time) | MB/s per core | share of the steps | noise |",
             "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        cpu = r.timing.seconds("cpu")
        share = "" if r.kind == VARIANT else f"{cpu / totals[r.corpus]:.0%}"
        lines.append(f"| {r.corpus} | {labels[r.kind].format(r.api)} | {cpu * 1e3 / r.amount:.1f} | "
                     f"{r.rate('cpu'):.1f} | {share} | {r.timing.spread:.2f} |")
    return lines


def language_table(results: list[LanguageResult]) -> list[str]:
    lines = ["| language | real source used | files | MB | normalize MB/s per core | parse MB/s per core | "
             "normalize time / parse time (CPU; wall) | noise |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        if not r.files:
            lines.append(f"| {r.lang} | no real source on this machine ({r.source}) | 0 | — | — | — | — | — |")
            continue
        small = " (too little for a stable figure)" if r.megabytes < 0.1 else ""
        rows = [row for row in (r.normalize, r.parse) if row]
        parse = f"{r.parse.rate():.2f}" if r.parse else "—"
        time_ratio = "; ".join(f"{r.normalize.timing.seconds(clock) / r.parse.timing.seconds(clock):.2f}"
                               for clock in ("cpu", "wall")) if r.parse else "— (no parse step)"
        lines.append(f"| {r.lang} | {r.source}{small} | {r.files} | {r.megabytes:.2f} | {r.normalize.rate():.2f} | "
                     f"{parse} | {time_ratio} | {max(row.timing.spread for row in rows):.2f} |")
    return lines


def targets(results: Results) -> list[str]:
    def first(rows: list[Row], corpus: str, system: str, api_part: str = "") -> Row:
        return next(r for r in rows if r.corpus == corpus and r.system == system and api_part in r.api)

    prose = first(results.end_to_end, "prose", DEDUPFILTER)
    code = first(results.end_to_end, "code", DEDUPFILTER)
    parse = first(results.end_to_end, "code", "tree-sitter")
    sig = first(results.signature_step, "prose", DEDUPFILTER)
    lines = [f"- prose end to end >= 150 MB/s per core: **{prose.rate():.1f} MB/s** by CPU time "
             f"({prose.rate('wall'):.1f} by wall clock): {'met' if prose.rate() >= 150 else 'not met'}."]
    for r in (r for r in results.signature_step if r.corpus == "prose" and "RMinHash" in r.api):
        met = "met" if sig.rate() >= r.rate() else "not met"
        lines.append(f"- signature step at or above rensa RMinHash ({r.api}): dedupfilter **{sig.rate() / 1e6:.1f}** "
                     f"vs {r.rate() / 1e6:.1f} M shingles/s per core on prose: {met}.")
    for clock in ("cpu", "wall"):
        times = code.timing.seconds(clock) / parse.timing.seconds(clock)
        lines.append(f"- code end to end within 1.5x of tree-sitter parse time ({clock}): **{times:.2f}x** "
                     f"for the same stdlib bytes: {'met' if times <= 1.5 else 'not met'}.")
    return lines


def markdown(results: Results) -> str:
    meta = results.meta
    m = meta["machine"]
    lines = [
        "# Throughput: dedupfilter against datasketch, rensa and tree-sitter", "",
        f"- date: {meta['date']}",
        f"- machine: {m['cores']} cores, {m['cpu']} (LLVM: {m['llvm_cpu']}); shared with other jobs: load "
        f"average {m['load_average_start'][0]:.2f} at start, {meta['load_average_end'][0]:.2f} at end",
        "- versions: " + ", ".join(f"{k} {val}" for k, val in meta["versions"].items()),
        f"- command: `{meta['command']}`" + (f" with {m['numba_target']}" if m["numba_target"] else ""),
        f"- method: one core (numba 1 thread, `RAYON_NUM_THREADS=1`) unless a row says **2 threads**. "
        f"Median of {results.settings.repeats} timed runs after one untimed warm-up; the cases of a table "
        "section run round robin. *per core (CPU time)* divides by the process's CPU time, which leaves out "
        "the time other jobs held the core (for 2-thread rows it is per core-second); *wall* is the "
        "elapsed time. noise = slowest / fastest wall-clock run. MB = 10^6 bytes of UTF-8 input.",
        f"- peers' tokenization: {PEER_TOKENIZATION}. dedupfilter: its own normalization, "
        f"{K}-token k-grams of code and {K_PROSE}-word k-grams of prose, MinHash {NUM_PERM} x affine64 "
        "(bit-identical to datasketch's).", "",
        "## Targets (reported, not asserted)", "", *targets(results), "",
        "## End to end: raw text to 128-permutation signatures", "",
        "prose: `corpora.pydoc_topics()` repeated; code: `corpora.stdlib_python()`.", "",
        *comparison_table(results.end_to_end, "MB/s", 1), "",
        "## Signature step alone", "",
        *comparison_table(results.signature_step, "M shingles/s", 1e6), "",
        "rensa's RMinHash is not classic MinHash: a Fast Similarity Sketching variant (each token fills a "
        "few buckets, O(n + k log k) instead of O(n k)); CMinHash uses circulant permutations. dedupfilter "
        "and datasketch evaluate all 128 affine permutations for every shingle.", "",
        "## Where the time goes (dedupfilter, one core)", "",
        *stage_table(results.stages), "",
        "Share of k-grams distinct within their own text (all the distinct variant hashes): "
        + ", ".join(f"{corpus} {share:.1%}" for corpus, share in results.distinct_kgrams.items()) + ".", "",
        "Analysis and measured prototypes of faster kernels: [where_the_time_goes.md](where_the_time_goes.md).", "",
        "## Normalization per language", "",
        *language_table(results.languages), "",
    ]
    return "\n".join(lines)


def to_json(results: Results) -> dict:
    return {"settings": asdict(results.settings), "meta": results.meta,
            "end_to_end": [asdict(r) for r in results.end_to_end],
            "signature_step": [asdict(r) for r in results.signature_step],
            "stages": [asdict(r) for r in results.stages], "distinct_kgrams": results.distinct_kgrams,
            "languages": [asdict(r) for r in results.languages]}


# ---------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small corpora, fewer repeats (under a minute)")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    # One core for every library: rensa's batch APIs use Rayon's global pool, which reads
    # this when first used; numba's pool is set per case (numba_threads).
    os.environ["RAYON_NUM_THREADS"] = "1"
    numba.set_num_threads(1)
    command = "python bench/throughput.py" + (" --quick" if args.quick else "")
    results = Results(settings, {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                 "machine": machine(), "versions": versions(), "command": command})

    prose, stdlib = [d.text for d in corpora.pydoc_topics()], [d.text for d in corpora.stdlib_python()]
    prose_e2e, code_e2e = repeat_to(prose, settings.prose_mb), take(stdlib, settings.code_mb)
    prose_sample, code_sample = take(prose_e2e, settings.sample_mb), take(stdlib, settings.sample_mb)

    progress("end to end")
    results.end_to_end = (bench_end_to_end("prose", prose_e2e, "text", settings.repeats)
                          + bench_end_to_end("code", code_e2e, "python", settings.repeats))
    progress("signature step")
    results.signature_step = (bench_signature_step("prose", prose_sample, "text", settings.repeats)
                              + bench_signature_step("code", code_sample, "python", settings.repeats))
    progress("where the time goes")
    results.stages = prose_stages(prose_sample, settings.repeats) + code_stages(code_sample, settings.repeats)
    results.distinct_kgrams = {
        "prose": distinct_share([shingle_hashes(normalize_text(t)) for t in prose_sample]),
        "code": distinct_share([shingle_hashes(normalize(t, "python")) for t in code_sample])}
    progress("normalization per language")
    results.languages = bench_languages(settings, prose, stdlib)
    results.meta["load_average_end"] = os.getloadavg()

    report = markdown(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = "throughput_quick" if args.quick else "throughput"
    (RESULTS / f"{stem}.md").write_text(report)
    (RESULTS / f"{stem}.json").write_text(json.dumps(to_json(results), indent=1) + "\n")
    print(report)


if __name__ == "__main__":
    main()
