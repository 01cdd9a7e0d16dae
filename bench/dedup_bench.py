"""Training-corpus dedup (`dedupfilter dedup`): accuracy against exact Jaccard, and throughput
against datatrove, text-dedup and datasketch in the same run.

    # the peers live in their own venv, not in dedupfilter's dependencies (see bench/dedup_peers.py):
    python3 -m venv /tmp/dedup-bench/peers
    /tmp/dedup-bench/peers/bin/pip install datatrove text-dedup datasketch orjson tokenizers "xxhash<3.6"
    python bench/dedup_bench.py accuracy
    python bench/dedup_bench.py throughput [--docs 1046649] [--peer-docs 100000]

accuracy: >= 100k real documents: PAN 2013 text alignment (train and test, source and suspicious
    documents, cut at line ends into chunks of about 45 words; the suspicious documents hold copied
    and obfuscated passages, and the two corpora share source documents) and the standard library
    cut into 30-line chunks. Ground truth is exact Jaccard of the same normalized k-gram sets over
    ALL pairs at or above the threshold, found by prefix filtering (Chaudhuri et al. 2006; Bayardo
    et al. 2007): with k-grams ordered rarest first, two sets with Jaccard >= t share a k-gram among
    the first |x| - ceil(t |x|) + 1 of each, so every such pair is a candidate, and each candidate's
    Jaccard is computed exactly with numpy (np.intersect1d). Reported: recall of true pairs (both
    documents in one cluster), precision of same-cluster pairs, and the documents removed against
    those an exact dedup (components of the true-pair graph, keep the first) removes; for each
    verification mode.
throughput: the real-code pool at /tmp/idxbench/pool.jsonl (Linux, JDK, Go, Python source chunks),
    written as 8 JSONL shards; every system reads them and writes the kept rows. Same parameters for
    all: 128 permutations, 9 bands x 13 rows (datasketch's optimum for threshold 0.8), 8-token
    shingles, 2 worker processes. Peers tokenize words by white space; dedupfilter runs with
    ``--lang text`` (its prose tokenizer: NFKC, casefold, word tokens) for the like-for-like figure,
    and with each row's language (tree-sitter code normalization) for what it does by default.
    Peers run on the first --peer-docs documents when the full pool would take them too long (those
    named by --full-peers run on both); ours runs on both. Peak RSS is the largest sum of RSS over the process tree, sampled every 0.1 s.

Results: bench/results/dedup.md and dedup.json (each run's section replaced).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

import corpora
from dedupfilter.arrays import distinct, distinct_counts, distinct_pairs
from dedupfilter.index.lsh import optimal_bands
from dedupfilter.normalize import normalize
from dedupfilter.sketch import shingle_hashes

RESULTS = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parent.parent
PAN = Path("/work/shared/datasets/pan13-text-alignment")
POOL = Path("/tmp/idxbench/pool.jsonl")
WORK = Path("/tmp/dedup-bench/work")
PEERS_PYTHON = "/tmp/dedup-bench/peers/bin/python"
THRESHOLD = 0.8
NGRAM = 8
WORKERS = 2


# --- Running a system and measuring it -----------------------------------------------------------------


def _tree_rss(root: int) -> int:
    """Sum of RSS over ``root`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack += children.get(pid, [])
    return total


def measure(cmd: list[str], cwd: Path | None = None) -> dict:
    """Run ``cmd``; wall time, peak RSS of the process tree, its last JSON stdout line.

    ``cpu_s`` counts only descendants that were waited for (datatrove's pool workers are not), so
    it is kept in the JSON but not compared.
    """
    started = time.monotonic()
    before = os.times()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, text=True)
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    sampler.join()
    wall = time.monotonic() - started
    after = os.times()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-3000:]}")
    last = [line for line in out.splitlines() if line.startswith("{")]
    return {"wall_s": wall, "cpu_s": (after.children_user - before.children_user) +
            (after.children_system - before.children_system), "peak_rss_bytes": peak[0],
            "result": json.loads(last[-1]) if last else None, "command": " ".join(cmd)}


def ours_command(input_path: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "dedupfilter.cli", "dedup", str(input_path), "--out", str(out), "--overwrite",
            "--threshold", str(THRESHOLD), "--workers", str(WORKERS), "--json", *extra]


# --- Accuracy ----------------------------------------------------------------------------------------


def _chunks(text: str, min_words: int = 45):
    lines, words = [], 0
    for line in text.splitlines(keepends=True):
        lines.append(line)
        words += len(line.split())
        if words >= min_words:
            yield "".join(lines)
            lines, words = [], 0
    if words >= 20:
        yield "".join(lines)


def accuracy_corpus(path: Path) -> int:
    n = 0
    with path.open("w") as f:
        for split in ("train", "test"):
            for kind in ("src", "susp"):
                for doc in sorted((PAN / split / kind).glob("*.txt")):
                    text = doc.read_text(encoding="utf-8", errors="replace")
                    for i, chunk in enumerate(_chunks(text)):
                        f.write(json.dumps({"doc_id": f"pan:{split}/{kind}/{doc.stem}#{i}", "text": chunk,
                                            "lang": "text"}) + "\n")
                        n += 1
        for module in corpora.stdlib_python():
            lines = module.text.splitlines(keepends=True)
            for i in range(0, len(lines), 30):
                f.write(json.dumps({"doc_id": f"{module.doc_id}@{i + 1}", "text": "".join(lines[i:i + 30]),
                                    "lang": "python"}) + "\n")
                n += 1
    return n


def shingle_sets(path: Path) -> list[np.ndarray]:
    sets = []
    with path.open() as f:
        for line in f:
            row = json.loads(line)
            sets.append(distinct(shingle_hashes(normalize(row["text"], row["lang"]))))
    return sets


def exact_pairs(sets: list[np.ndarray], threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Every pair (i < j) with Jaccard >= threshold, by prefix filtering; and the candidates checked."""
    values, counts = distinct_counts(np.concatenate(sets))
    prefix_tokens, prefix_docs = [], []
    for doc, s in enumerate(sets):
        if s.size == 0:
            continue
        rarity = counts[np.searchsorted(values, s)]
        order = np.lexsort((s, rarity))
        prefix = s[order[:s.size - math.ceil(threshold * s.size) + 1]]
        prefix_tokens.append(prefix)
        prefix_docs.append(np.full(prefix.size, doc, np.int64))
    tokens, docs = np.concatenate(prefix_tokens), np.concatenate(prefix_docs)
    order = np.lexsort((docs, tokens))
    tokens, docs = tokens[order], docs[order]
    starts = np.flatnonzero(np.concatenate([[True], tokens[1:] != tokens[:-1]]))
    sizes = np.diff(np.append(starts, tokens.size))
    lefts, rights = [], []
    for start, size in zip(starts[sizes > 1], sizes[sizes > 1]):
        group = docs[start:start + size]
        i, j = np.triu_indices(size, 1)
        lefts.append(group[i])
        rights.append(group[j])
    left, right = distinct_pairs(np.concatenate(lefts), np.concatenate(rights))
    lengths = np.array([s.size for s in sets])
    # Size filter: Jaccard >= t needs the smaller set to hold at least t of the larger.
    fits = np.minimum(lengths[left], lengths[right]) >= threshold * np.maximum(lengths[left], lengths[right])
    left, right = left[fits], right[fits]
    jaccard = np.empty(left.size)
    for p, (a, b) in enumerate(zip(left.tolist(), right.tolist())):
        common = np.intersect1d(sets[a], sets[b], assume_unique=True).size
        jaccard[p] = common / (sets[a].size + sets[b].size - common)
    true = jaccard >= threshold
    return left[true], right[true], jaccard[true], int(left.size)


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(left.tolist(), right.tolist()):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(x) for x in range(n)])


def run_accuracy(args) -> dict:
    WORK.mkdir(parents=True, exist_ok=True)
    corpus = WORK / "accuracy.jsonl"
    n_docs = accuracy_corpus(corpus)
    t = time.monotonic()
    sets = shingle_sets(corpus)
    left, right, _, n_candidates = exact_pairs(sets, THRESHOLD)
    truth_seconds = time.monotonic() - t
    exact_labels = components(n_docs, left, right)
    exact_removed = exact_labels != np.arange(n_docs)  # keep the first of each component
    section = {"documents": n_docs, "bytes": corpus.stat().st_size, "threshold": THRESHOLD,
               "true_pairs": int(left.size), "prefix_filter_candidates": n_candidates,
               "ground_truth_seconds": truth_seconds, "empty_documents": int(sum(s.size == 0 for s in sets)),
               "modes": {}}
    print(f"accuracy corpus: {n_docs:,} documents, {left.size:,} pairs with Jaccard >= {THRESHOLD}", flush=True)
    for mode in ("exact", "signature", "none"):
        clusters = WORK / f"clusters-{mode}.parquet"
        run = measure(ours_command(corpus, WORK / "accuracy-out.jsonl", "--lang-column", "lang",
                                   "--verify", mode, "--clusters", str(clusters)))
        table = pq.read_table(clusters)
        labels = table["cluster"].to_numpy()
        sizes = np.bincount(labels, minlength=n_docs)
        same_cluster_pairs = int((sizes * (sizes - 1) // 2).sum())
        found = labels[left] == labels[right]
        removed = ~table["kept"].to_numpy()
        section["modes"][mode] = {
            "recall": float(found.mean()) if left.size else 1.0,
            "same_cluster_pair_precision": float(found.sum() / same_cluster_pairs) if same_cluster_pairs else 1.0,
            "removed": int(removed.sum()), "exact_removed": int(exact_removed.sum()),
            "removed_precision": float((removed & exact_removed).sum() / max(removed.sum(), 1)),
            "removed_recall": float((removed & exact_removed).sum() / max(exact_removed.sum(), 1)),
            **run}
        print(mode, {k: v for k, v in section["modes"][mode].items() if k != "result"}, flush=True)
    return section


# --- Throughput --------------------------------------------------------------------------------------


def shard_pool(n_docs: int, folder: Path, n_files: int = 8) -> int:
    """The first ``n_docs`` documents of the pool as ``n_files`` JSONL files; returns bytes written."""
    marker = folder.with_name(folder.name + ".done")  # outside: the folder must hold only JSONL
    if marker.exists():
        return int(marker.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    per_file = math.ceil(n_docs / n_files)
    n_bytes, outs = 0, [(folder / f"part-{i:02d}.jsonl").open("wb") for i in range(n_files)]
    with POOL.open("rb") as f:
        for i, line in enumerate(f):
            if i >= n_docs:
                break
            outs[i // per_file].write(line)
            n_bytes += len(line)
    for out in outs:
        out.close()
    marker.write_text(str(n_bytes))
    return n_bytes


def run_throughput(args) -> dict:
    bands, rows = optimal_bands(THRESHOLD, 128)
    section = {"bands": bands, "rows": rows, "ngram": NGRAM, "workers": WORKERS, "runs": []}
    sizes = sorted({args.peer_docs, args.docs})
    for n_docs in sizes:
        folder = WORK / f"pool-{n_docs}"
        n_bytes = shard_pool(n_docs, folder)
        # Prose shingles of NGRAM tokens, as the peers' (the library's prose default is 5 words).
        systems = [("dedupfilter --lang text", ours_command(folder, WORK / "out-ours-text", "--lang", "text",
                                                            "--prose-k", str(NGRAM))),
                   ("dedupfilter (code normalization)",
                    ours_command(folder, WORK / "out-ours-code", "--lang-column", "lang"))]
        for peer in ("datatrove", "text-dedup", "datasketch"):
            if n_docs <= args.peer_docs or peer in args.full_peers:
                out = WORK / f"out-{peer}"
                systems.append((peer, [args.peers_python, str(REPO / "bench" / "dedup_peers.py"), peer, str(folder),
                                       str(out), "--bands", str(bands), "--rows", str(rows), "--ngram",
                                       str(NGRAM), "--workers", str(WORKERS)]))
        if args.skip_code:
            systems = [s for s in systems if "code" not in s[0]]
        for name, cmd in systems:
            out_dir = Path(cmd[cmd.index(str(folder)) + 1]) if name in ("datatrove", "text-dedup", "datasketch") \
                else None
            if out_dir is not None:
                subprocess.run(["rm", "-rf", str(out_dir)], check=True)
            run = measure(cmd, cwd=WORK)
            result = run["result"] or {}
            run.update(system=name, documents=n_docs, bytes=n_bytes, docs_per_s=n_docs / run["wall_s"],
                       mb_per_s=n_bytes / 1e6 / run["wall_s"], documents_out=result.get("documents_out"))
            section["runs"].append(run)
            print(f"{n_docs:>9,} {name:<34} {run['wall_s']:8.1f} s {run['docs_per_s']:>9,.0f} docs/s "
                  f"{run['mb_per_s']:7.2f} MB/s  peak RSS {run['peak_rss_bytes'] / 2**30:.2f} GiB  "
                  f"out {run['documents_out']}", flush=True)
            _save(args.command, section, args)  # keep what is done if a later system fails
    return section


# --- Results -----------------------------------------------------------------------------------------


def _machine() -> dict:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    return {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": commit,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
                       f"{platform.release()}, Python {platform.python_version()}",
            "command": "python bench/dedup_bench.py " + " ".join(sys.argv[1:])}


def _save(name: str, section: dict, args) -> None:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "dedup.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = {**_machine(), **section}
    path.write_text(json.dumps(data, indent=1))
    (RESULTS / "dedup.md").write_text(render(data))


def render(data: dict) -> str:
    out = ["# Training-corpus dedup: accuracy and throughput", "",
           "Written by `bench/dedup_bench.py`; see its docstring for the method.", ""]
    if "accuracy" in data:
        a = data["accuracy"]
        out += [f"## Accuracy against exact Jaccard ({a['date']}, commit {a['commit']})", "",
                f"`{a['command']}` on {a['machine']}.", "",
                f"{a['documents']:,} documents ({a['bytes'] / 1e6:.0f} MB; PAN 2013 text alignment chunks and "
                f"standard-library chunks), threshold {a['threshold']}: {a['true_pairs']:,} pairs with exact "
                f"Jaccard >= {a['threshold']} (prefix filtering checked {a['prefix_filter_candidates']:,} "
                f"candidates in {a['ground_truth_seconds']:.0f} s).", "",
                "| verify | recall of true pairs | same-cluster pair precision | removed | removed by exact dedup | "
                "removed precision | removed recall | wall s | peak RSS MiB |", "|---|---|---|---|---|---|---|---|---|"]
        for mode, m in a["modes"].items():
            out.append(f"| {mode} | {m['recall']:.4f} | {m['same_cluster_pair_precision']:.4f} | {m['removed']:,} | "
                       f"{m['exact_removed']:,} | {m['removed_precision']:.4f} | {m['removed_recall']:.4f} | "
                       f"{m['wall_s']:.1f} | {m['peak_rss_bytes'] / 2**20:,.0f} |")
        out.append("")
    if "throughput" in data:
        t = data["throughput"]
        out += [f"## Throughput ({t['date']}, commit {t['commit']})", "",
                f"`{t['command']}` on {t['machine']}. {t['bands']} bands x {t['rows']} rows, {t['ngram']}-token "
                f"shingles, {t['workers']} workers for every system. Peak RSS is summed over the process "
                "tree, so pages a forked child shares with its parent (datasketch, text-dedup) count twice; "
                "dedupfilter's workers are spawned and share only libraries.", "",
                "| documents | system | wall s | docs/s | MB/s | peak RSS GiB | RSS per 1M docs GiB | "
                "documents out |", "|---|---|---|---|---|---|---|---|"]
        for r in t["runs"]:
            out.append(f"| {r['documents']:,} | {r['system']} | {r['wall_s']:.1f} | "
                       f"{r['docs_per_s']:,.0f} | {r['mb_per_s']:.2f} | {r['peak_rss_bytes'] / 2**30:.2f} | "
                       f"{r['peak_rss_bytes'] / 2**30 / r['documents'] * 1e6:.2f} | "
                       f"{r['documents_out'] if r['documents_out'] is not None else '?'} |")
        out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("accuracy", "throughput"))
    parser.add_argument("--docs", type=int, default=1_046_649, help="documents of the pool for our runs")
    parser.add_argument("--peer-docs", type=int, default=100_000, help="documents of the pool for the peers")
    parser.add_argument("--full-peers", nargs="*", default=[], metavar="PEER",
                        help="peers to run on --docs as well (e.g. datasketch, the fastest)")
    parser.add_argument("--peers-python", default=PEERS_PYTHON)
    parser.add_argument("--skip-code", action="store_true", help="skip dedupfilter's code-normalization runs")
    args = parser.parse_args()
    section = run_accuracy(args) if args.command == "accuracy" else run_throughput(args)
    _save(args.command, section, args)


if __name__ == "__main__":
    main()
