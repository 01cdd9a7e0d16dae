"""Accuracy of dedupfilter's code scores on labelled plagiarism sets, next to Dolos.

Datasets (third-party, read in place and never copied into the repo; see their
READMEs): ConPlag raw (v1) and template-free (v2), IR-Plag, SOCO14-train Java
and C. Protocol, pair lists, splits and metric definitions are those of the
Dolos run on this machine (shared/peers/dolos: prepare.py, metrics.py):

- ConPlag: threshold maximising F1.5 on the authors' TRAIN split, reported on
  TEST (F1.5, precision, recall), plus TEST ROC AUC.
- IR-Plag: 460 original-vs-candidate pairs; ROC AUC, AP, best F1 on all pairs,
  recall of each level at that threshold and AUC of each level vs the
  independent solutions.
- SOCO14: every pair of files of one language; ROC AUC, AP, best F1, R-precision.

A pair is positive iff score >= t; candidate thresholds are the distinct
scores; for ties in F the highest threshold wins. ROC AUC is Mann-Whitney
(ties count 1/2); AP is step-wise over distinct scores.

Each file is normalized once; each configuration shingles it once
(``sketch_tokens``) and compares pairs with ``dedupfilter.sketch.compare``.

Usage (from the repo root): python bench/accuracy_code.py [--datasets DIR] [--jobs N]
"""

from __future__ import annotations

import argparse
import csv
import datetime
import functools
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from dedupfilter.config import DEFAULT_POLICY, DEFAULT_SKETCH_CONFIG, ShingleConfig, SketchConfig
from dedupfilter.normalize import decode, normalize
from dedupfilter.arrays import distinct, distinct_counts
from dedupfilter.index import IndexSettings
from dedupfilter.sketch import Comparison, Sketch, compare, newline_offsets, set_overlap, sketch_tokens
from dedupfilter.verdict import match_from_comparison

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATASETS = REPO_ROOT.parent / "shared" / "datasets"
RESULTS_DIR = REPO_ROOT / "bench" / "results"

K_VALUES = (5, 8, 12, 16, 23)
WINDOW = 8
# Tried for the recommended (k, parameterized) only; the window changes fp_coverage
# and no other score. 17 is Dolos's default window.
EXTRA_WINDOWS = (4, 17)
WINDOW_SCORE = "fp_coverage"
# Differences in mean headline metric below this count as ties: the recommendation keeps
# parameterized k-grams (the library's p-match) and the sweep's window unless an
# alternative wins by more.
TIE_TOLERANCE = 0.01

SCORES = {
    "jaccard": "Jaccard of the two k-gram sets",
    "containment": "max(containment_a, containment_b)",
    "coverage": "tokens of A and B inside matched passages / all tokens of A and B",
    "fp_coverage": "Dolos's similarity on the winnowed fingerprints: "
                   "(fingerprints of A found in B + of B found in A) / all fingerprints",
    "longest": "longest matched passage in tokens (what FilterPolicy.min_match_tokens tests)",
    "jaccard_rare": "Jaccard over the k-grams found in at most max(10, 1%) of the set's files (the index's "
                    "boilerplate rule, IndexSettings.df_cutoff; no labels used)",
    "containment_rare": "max containment over those k-grams",
    "longest_or_pieces": "the longest passage, or the tokens of a copy in pieces (FilterPolicy.piece_gap) "
                         "where more: what the default policy blocks on",
}

# shared/peers/dolos/results.md: Dolos 3.5.1 defaults (k 23, w 17), same machine, same protocol.
DOLOS = {
    "conplag_v1": {"train_f": 0.696, "threshold": 0.340, "test_f": 0.656, "test_p": 0.656,
                   "test_r": 0.656, "test_auc": 0.833},
    "conplag_v2": {"train_f": 0.804, "threshold": 0.363, "test_f": 0.763, "test_p": 0.690,
                   "test_r": 0.801, "test_auc": 0.908},
    "irplag": {"auc": 0.670, "ap": 0.878, "f1": 0.877, "threshold": 0.192,
               "level_recall": [1.0, 1.0, 1.0, 1.0, 1.0, 0.921],
               "level_auc": [0.971, 0.937, 0.760, 0.550, 0.443, 0.391]},
    "soco_java": {"auc": 0.991, "ap": 0.894, "f1": 0.865, "threshold": 0.539, "r_precision": 0.821},
    "soco_c": {"auc": 0.980, "ap": 0.529, "f1": 0.571, "threshold": 0.700, "r_precision": 0.500},
}


# ---------------------------------------------------------------- datasets

@dataclass
class PairSet:
    """Labelled pairs of files of one language; ``tags`` holds per-pair strings
    (ConPlag split, IR-Plag level and case)."""

    name: str
    lang: str
    files: list[str]
    left: np.ndarray
    right: np.ndarray
    labels: np.ndarray
    tags: dict[str, np.ndarray] = field(default_factory=dict)


def read_conplag(root: Path, version: int) -> PairSet:
    verdicts = {}
    with open(root / "labels.csv") as f:
        for row in csv.DictReader(f):
            verdicts[frozenset((row["sub1"], row["sub2"]))] = int(row["verdict"])
    split = {}
    for name in ("train", "test"):
        with open(root / f"{name}_pairs.csv") as f:
            split.update({frozenset(line.strip().split("_")): name for line in f if line.strip()})
    files, labels, splits = [], [], []
    for pair_dir in sorted((root / f"version_{version}").iterdir()):
        a, b = pair_dir.name.split("_")
        files += [str(pair_dir / f"{a}.java"), str(pair_dir / f"{b}.java")]
        labels.append(verdicts[frozenset((a, b))])
        splits.append(split[frozenset((a, b))])
    n = len(labels)
    return PairSet(f"conplag_v{version}", "java", files, np.arange(0, 2 * n, 2),
                   np.arange(1, 2 * n, 2), np.array(labels), {"split": np.array(splits)})


def read_irplag(root: Path) -> PairSet:
    with open(root / "pairs.tsv") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    files = sorted({str(root / r[column]) for r in rows for column in ("original", "candidate")})
    index = {path: i for i, path in enumerate(files)}
    return PairSet("irplag", "java", files,
                   np.array([index[str(root / r["original"])] for r in rows]),
                   np.array([index[str(root / r["candidate"])] for r in rows]),
                   np.array([int(r["label"]) for r in rows]),
                   {"level": np.array([r["level"] for r in rows]),
                    "case": np.array([r["case"] for r in rows])})


def read_soco(root: Path, lang: str) -> PairSet:
    """Every pair of files of one language (i < j, files sorted by name); qrel pairs positive."""
    names = sorted(p.name for p in (root / lang).iterdir() if p.suffix == f".{lang}")
    with open(root / f"SOCO14-{lang}.qrel") as f:
        positives = {frozenset(line.split()) for line in f if line.strip()}
    left, right = np.triu_indices(len(names), k=1)
    labels = np.array([frozenset((names[i], names[j])) in positives for i, j in zip(left, right)],
                      dtype=np.int64)
    return PairSet(f"soco_{lang}", lang, [str(root / lang / n) for n in names], left, right, labels)


# JPlag's AI-obfuscation study (Saglam et al., EMSE 2025): per task set, the attacks
# with a human original (tool statement insertion, tool refactoring, GPT obfuscation).
AI_OBFUSCATION_ATTACKS = ("insert", "refactor", "gptobf")


def read_ai_obfuscation(root: Path) -> list[PairSet]:
    """The pairs JPlag scored (raw-results/<set>-<attack>-Base.csv): Plag-Original positive,
    Original-Original negative; JPlag's similarity kept as tag "jplag". A submission is a
    folder: its .java files are read together."""
    pair_sets = []
    for csv_path in sorted((root / "raw-results").glob("*-Base.csv")):
        task, attack = csv_path.name[:-len("-Base.csv")].rsplit("-", 1)
        if attack not in AI_OBFUSCATION_ATTACKS:
            continue
        with open(csv_path) as f:
            rows = list(csv.DictReader(f, delimiter=";"))
        base = root / "datasets" / task
        paths = {}
        for r in rows:
            for name in (r["first"], r["second"]):
                human = base / "human" / name
                paths.setdefault(name, str(human if human.is_dir() else base / attack / name))
        files = sorted(set(paths.values()))
        index = {path: i for i, path in enumerate(files)}
        lang = "cpp" if any(base.rglob("*.cpp")) else "java"  # z5z1 and z5z5 are C++
        pair_sets.append(PairSet(
            f"aiobf_{task}_{attack}", lang, files,
            np.array([index[paths[r["first"]]] for r in rows]), np.array([index[paths[r["second"]]] for r in rows]),
            np.array([int(r["tupleType"] == "Plag-Original") for r in rows]),
            {"jplag": np.array([float(r["similarity"]) for r in rows])}))
    return pair_sets


SOURCE_SUFFIXES = (".java", ".c", ".cpp", ".cc", ".h", ".hpp")


def read_source(path: str) -> str:
    """A file, or every source file under a folder (one submission), joined in name order."""
    path = Path(path)
    if path.is_dir():
        return "\n".join(decode(p.read_bytes()) for p in sorted(path.rglob("*"))
                         if p.suffix in SOURCE_SUFFIXES and p.is_file())
    return decode(path.read_bytes())


def read_pair_sets(datasets: Path) -> list[PairSet]:
    """The pair sets whose folders exist under ``datasets``."""
    readers = {
        "conplag": lambda d: [read_conplag(d, 1), read_conplag(d, 2)],
        "irplag": lambda d: [read_irplag(d)],
        "soco14-train": lambda d: [read_soco(d, "java"), read_soco(d, "c")],
        "jplag-emse25-ai-obfuscation": read_ai_obfuscation,
    }
    pair_sets = []
    for folder, reader in readers.items():
        if (datasets / folder).is_dir():
            pair_sets += reader(datasets / folder)
        else:
            print(f"skipped {folder}: not found in {datasets}")
    return pair_sets


# ---------------------------------------------------------------- scores

def covered_tokens(starts: np.ndarray, ends: np.ndarray, n_tokens: int) -> int:
    """Number of tokens inside the union of [start, end) intervals."""
    depth = np.zeros(n_tokens + 1, np.int64)
    np.add.at(depth, starts, 1)
    np.add.at(depth, ends, -1)
    return int(np.count_nonzero(np.cumsum(depth[:-1]) > 0))


def fingerprint_similarity(a: Sketch, b: Sketch) -> float:
    total = a.fp_hashes.size + b.fp_hashes.size
    if total == 0:
        return 0.0
    shared = (np.count_nonzero(np.isin(a.fp_hashes, b.fp_hashes))
              + np.count_nonzero(np.isin(b.fp_hashes, a.fp_hashes)))
    return shared / total


def longest_passage(result: Comparison) -> int:
    """Tokens of the longest matched passage (what FilterPolicy.min_match_tokens tests)."""
    return max((p.n_tokens for p in result.passages), default=0)


def rare_shingles(sketches: list[Sketch]) -> list[np.ndarray]:
    """Each sketch's distinct k-grams without those found in more than the index's
    boilerplate cutoff of these files (what contest idioms and templates are).
    Unsupervised, but over all files of the set, test split included."""
    sets = [distinct(s.shingles) for s in sketches]
    # A file repeated in many pairs (ConPlag keeps a copy per pair) counts once.
    unique = list({s.tobytes(): s for s in sets}.values())
    if not unique:
        return sets
    hashes, df = distinct_counts(np.concatenate(unique))
    common = hashes[df > IndexSettings().df_cutoff(len(unique))]
    return [s[~sorted_contains(common, s)] for s in sets]


def sorted_contains(sorted_values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    if sorted_values.size == 0:
        return np.zeros(queries.shape, bool)
    idx = np.minimum(np.searchsorted(sorted_values, queries), sorted_values.size - 1)
    return sorted_values[idx] == queries


def pair_scores(a: Sketch, b: Sketch, rare_a: np.ndarray, rare_b: np.ndarray) -> tuple[float, ...]:
    """One value per entry of SCORES, in that order."""
    result = compare(a, b, gap=DEFAULT_POLICY.gap)
    coverage = 0.0
    if result.passages:
        spans = np.array([(p.a_start, p.a_end, p.b_start, p.b_end) for p in result.passages])
        covered = (covered_tokens(spans[:, 0], spans[:, 1], a.n_tokens)
                   + covered_tokens(spans[:, 2], spans[:, 3], b.n_tokens))
        coverage = covered / (a.n_tokens + b.n_tokens)
    rare_jaccard, rare_in_b, rare_in_a = set_overlap(rare_a, rare_b)
    match = match_from_comparison(a, b, result, "b", "b", a.config.shingle.guaranteed_match_tokens(a.tokens.lang),
                                  policy=DEFAULT_POLICY)
    pieces = max((s.tokens for s in match.spans if s.kind == "pieces"), default=0)
    return (result.jaccard, max(result.containment_a, result.containment_b), coverage,
            fingerprint_similarity(a, b), float(longest_passage(result)), rare_jaccard, max(rare_in_a, rare_in_b),
            float(max(longest_passage(result), pieces)))


# Normalized files and pair sets, set before the worker pool is forked (workers inherit them).
_STREAMS: dict = {}
_PAIR_SETS: list[PairSet] = []


def normalize_files(pair_sets: list[PairSet]) -> dict:
    """path -> (TokenStream, newline offsets), each file once."""
    streams = {}
    for pair_set in pair_sets:
        for path in pair_set.files:
            if path not in streams:
                text = read_source(path)
                streams[path] = (normalize(text, pair_set.lang), newline_offsets(text))
    return streams


def score_pairs(sketches: dict[str, Sketch], pair_set: PairSet, fingerprints_only: bool) -> dict:
    """{score name: array over the pairs}; only fp_coverage when ``fingerprints_only``."""
    pairs = [(sketches[pair_set.files[i]], sketches[pair_set.files[j]])
             for i, j in zip(pair_set.left, pair_set.right)]
    if fingerprints_only:
        return {WINDOW_SCORE: np.array([fingerprint_similarity(a, b) for a, b in pairs])}
    rare = rare_shingles([sketches[f] for f in pair_set.files])
    values = np.array([pair_scores(a, b, rare[i], rare[j])
                       for (a, b), i, j in zip(pairs, pair_set.left, pair_set.right)])
    return {name: values[:, column] for column, name in enumerate(SCORES)}


def score_config(shingle: ShingleConfig, fingerprints_only: bool) -> tuple[dict, float]:
    """({pair set name: {score name: array over pairs}}, seconds) for one configuration."""
    start = time.perf_counter()
    config = SketchConfig(shingle=shingle)
    sketches = {path: sketch_tokens(tokens, newlines, config)
                for path, (tokens, newlines) in _STREAMS.items()}
    scores = {p.name: score_pairs(sketches, p, fingerprints_only) for p in _PAIR_SETS}
    return scores, time.perf_counter() - start


# ---------------------------------------------------------------- metrics

def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mann-Whitney U / (n_pos n_neg), average ranks for ties."""
    ordered = np.sort(scores)
    ranks = (np.searchsorted(ordered, scores, "left") + np.searchsorted(ordered, scores, "right") + 1) / 2
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    return float((ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def threshold_curve(scores: np.ndarray, labels: np.ndarray):
    """(thresholds descending, true positives, false positives) for 'positive iff score >= t'."""
    order = np.argsort(-scores, kind="mergesort")
    ranked_scores, ranked_labels = scores[order], labels[order]
    last_of_tie = np.r_[ranked_scores[1:] != ranked_scores[:-1], True]
    true_pos = np.cumsum(ranked_labels)[last_of_tie]
    false_pos = np.cumsum(1 - ranked_labels)[last_of_tie]
    return ranked_scores[last_of_tie], true_pos, false_pos


def f_beta(precision, recall, beta: float):
    b2 = beta * beta
    denominator = np.asarray(b2 * precision + recall, float)
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, (1 + b2) * precision * recall / safe, 0.0)


def prf_at(scores: np.ndarray, labels: np.ndarray, threshold: float, beta: float = 1.0) -> dict:
    predicted = scores >= threshold
    tp = int(np.count_nonzero(predicted & (labels == 1)))
    fp = int(np.count_nonzero(predicted & (labels == 0)))
    fn = int(np.count_nonzero(~predicted & (labels == 1)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {"f": float(f_beta(precision, recall, beta)), "precision": precision, "recall": recall,
            "fpr": fp / np.count_nonzero(labels == 0), "threshold": float(threshold),
            "tp": tp, "fp": fp, "fn": fn}


def best_threshold(scores: np.ndarray, labels: np.ndarray, beta: float = 1.0) -> dict:
    """prf_at the threshold with the highest F-beta (ties: the highest threshold)."""
    thresholds, tp, fp = threshold_curve(scores, labels)
    f = f_beta(tp / (tp + fp), tp / labels.sum(), beta)
    if f.max() == 0:
        return prf_at(scores, labels, float("inf"), beta)
    return prf_at(scores, labels, thresholds[int(np.argmax(f))], beta)


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    _, tp, fp = threshold_curve(scores, labels)
    recall = tp / labels.sum()
    return float(np.sum(tp / (tp + fp) * np.diff(recall, prepend=0.0)))


def evaluate_conplag(scores: np.ndarray, pair_set: PairSet) -> dict:
    train = pair_set.tags["split"] == "train"
    test = ~train
    y_train, y_test = pair_set.labels[train], pair_set.labels[test]
    train_best = best_threshold(scores[train], y_train, 1.5)
    return {"train_best": train_best,
            "test_at_train_threshold": prf_at(scores[test], y_test, train_best["threshold"], 1.5),
            "test_oracle_best": best_threshold(scores[test], y_test, 1.5),
            "auc_test": roc_auc(scores[test], y_test), "auc_train": roc_auc(scores[train], y_train)}


def logistic_fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 50) -> np.ndarray:
    """Weights (bias last) of an L2-regularized logistic regression, by Newton's method."""
    x = np.column_stack([x, np.ones(len(x))])
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-x @ w))
        gradient = x.T @ (p - y) + penalty * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def logistic_scores(scores: dict[str, np.ndarray], pair_set: PairSet) -> np.ndarray:
    """All scores of one configuration combined by a logistic regression fit on the TRAIN split
    only (features standardized with TRAIN statistics); the linear score of every pair."""
    x = np.column_stack([scores[name] for name in SCORES])
    train = pair_set.tags["split"] == "train"
    mean, std = x[train].mean(axis=0), x[train].std(axis=0)
    z = (x - mean) / np.where(std > 0, std, 1.0)
    w = logistic_fit(z[train], pair_set.labels[train].astype(float))
    return z @ w[:-1] + w[-1]


def evaluate_irplag(scores: np.ndarray, pair_set: PairSet) -> dict:
    labels, levels, cases = pair_set.labels, pair_set.tags["level"], pair_set.tags["case"]
    best = best_threshold(scores, labels)
    independent = scores[levels == "non"]
    per_level = {"non": {"fpr_at_t": float(np.mean(independent >= best["threshold"])),
                         "median": float(np.median(independent))}}
    for level in sorted(set(levels) - {"non"}):
        copies = scores[levels == level]
        per_level[level] = {
            "recall_at_t": float(np.mean(copies >= best["threshold"])),
            "auc_vs_non": roc_auc(np.r_[copies, independent],
                                  np.r_[np.ones(copies.size, int), np.zeros(independent.size, int)]),
            "median": float(np.median(copies))}
    per_case = {case: roc_auc(scores[cases == case], labels[cases == case]) for case in sorted(set(cases))}
    return {"auc": roc_auc(scores, labels), "ap": average_precision(scores, labels), "best_f1": best,
            "flag_all_f1": prf_at(scores, labels, -np.inf)["f"], "per_level": per_level,
            "per_case_auc": per_case}


def evaluate_soco(scores: np.ndarray, pair_set: PairSet) -> dict:
    labels = pair_set.labels
    top = np.argsort(-scores, kind="mergesort")[:labels.sum()]
    return {"auc": roc_auc(scores, labels), "ap": average_precision(scores, labels),
            "best_f1": best_threshold(scores, labels), "r_precision": float(labels[top].mean()),
            "n_pairs": int(labels.size), "n_pos": int(labels.sum())}


def evaluate(pair_set: PairSet, scores: np.ndarray) -> dict:
    if pair_set.name.startswith("conplag"):
        return evaluate_conplag(scores, pair_set)
    if pair_set.name == "irplag":
        return evaluate_irplag(scores, pair_set)
    return evaluate_soco(scores, pair_set)


def evaluate_default_policy(pair_set: PairSet, scores: dict[str, np.ndarray]) -> dict:
    """The shipped FilterPolicy as a fixed classifier (ConPlag: on TEST, F1.5; others: all pairs, F1)."""
    blocked = ((scores["longest_or_pieces"] >= DEFAULT_POLICY.min_match_tokens)
               | (scores["jaccard"] >= DEFAULT_POLICY.jaccard_threshold)).astype(float)
    if pair_set.name.startswith("conplag"):
        test = pair_set.tags["split"] == "test"
        return prf_at(blocked[test], pair_set.labels[test], 1.0, 1.5)
    return prf_at(blocked, pair_set.labels, 1.0)


def run_configs(shingles: list[ShingleConfig], pair_sets: list[PairSet], jobs: int,
                fingerprints_only: bool = False) -> list[dict]:
    """Score and evaluate each configuration: one result entry per configuration."""
    score = functools.partial(score_config, fingerprints_only=fingerprints_only)
    if jobs == 1:
        scored = [score(s) for s in shingles]
    else:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            scored = pool.map(score, shingles, chunksize=1)
    results = []
    for shingle, (scores, seconds) in zip(shingles, scored):
        entry = {"config": config_label(shingle), "shingle": asdict(shingle), "seconds": seconds,
                 "metrics": {p.name: {s: evaluate(p, values) for s, values in scores[p.name].items()}
                             for p in pair_sets}}
        if not fingerprints_only:
            entry["logistic"] = {p.name: evaluate_conplag(logistic_scores(scores[p.name], p), p)
                                 for p in pair_sets if "split" in p.tags}
        if shingle == DEFAULT_SKETCH_CONFIG.shingle:
            entry["default_policy"] = {p.name: evaluate_default_policy(p, scores[p.name]) for p in pair_sets}
        results.append(entry)
        print(f"{entry['config']}: {seconds:.1f} s", flush=True)
    return results


# ---------------------------------------------------------------- ranking

def config_label(shingle: ShingleConfig) -> str:
    return f"k{shingle.k} w{shingle.window} {'param' if shingle.parameterized else 'plain'}"


# Per pair set: (name, value) of the headline metric and of the threshold-free one.
HEADLINE = {
    "conplag_v1": ("TEST F1.5", lambda m: m["test_at_train_threshold"]["f"]),
    "conplag_v2": ("TEST F1.5", lambda m: m["test_at_train_threshold"]["f"]),
    "irplag": ("AUC", lambda m: m["auc"]),
    "soco_java": ("AP", lambda m: m["ap"]),
    "soco_c": ("AP", lambda m: m["ap"]),
}
THRESHOLD_FREE = {
    "conplag_v1": ("TEST AUC", lambda m: m["auc_test"]),
    "conplag_v2": ("TEST AUC", lambda m: m["auc_test"]),
    "irplag": HEADLINE["irplag"],
    "soco_java": HEADLINE["soco_java"],
    "soco_c": HEADLINE["soco_c"],
}


def rank_rows(results: list[dict]) -> list[dict]:
    """One row per (config, score) that the config changes, best mean headline first."""
    rows = []
    for entry in results:
        for score in next(iter(entry["metrics"].values())):
            per_set = {name: metrics[score] for name, metrics in entry["metrics"].items() if name in HEADLINE}
            headline = {name: HEADLINE[name][1](m) for name, m in per_set.items()}
            threshold_free = {name: THRESHOLD_FREE[name][1](m) for name, m in per_set.items()}
            rows.append({"config": entry["config"], "shingle": entry["shingle"], "score": score,
                         "headline": headline, "mean": float(np.mean(list(headline.values()))),
                         "threshold_free_mean": float(np.mean(list(threshold_free.values())))})
    return sorted(rows, key=lambda row: -row["mean"])


def find_row(ranked: list[dict], score: str, **shingle) -> dict | None:
    return next((r for r in ranked if r["score"] == score
                 and all(r["shingle"][key] == value for key, value in shingle.items())), None)


def recommend(ranked: list[dict]) -> dict:
    """Recommended score, k, parameterized (rows at the sweep's window) and window (by fp_coverage)."""
    top = next(r for r in ranked if r["shingle"]["window"] == WINDOW)
    k, score = top["shingle"]["k"], top["score"]
    param = find_row(ranked, score, k=k, window=WINDOW, parameterized=True)
    parameterized = param["mean"] >= top["mean"] - TIE_TOLERANCE
    windows = sorted((r for r in ranked if r["score"] == WINDOW_SCORE and r["shingle"]["k"] == k
                      and r["shingle"]["parameterized"] == parameterized),
                     key=lambda r: r["shingle"]["window"])
    sweep_window = next(r for r in windows if r["shingle"]["window"] == WINDOW)
    best_window = max(windows, key=lambda r: r["mean"])
    window = best_window if best_window["mean"] > sweep_window["mean"] + TIE_TOLERANCE else sweep_window
    return {"k": k, "score": score, "parameterized": parameterized,
            "row": param if parameterized else top, "top": top, "window_rows": windows,
            "window": window["shingle"]["window"]}


# ---------------------------------------------------------------- report

def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(row) + " |" for row in rows])


def cell(metrics: dict, set_name: str) -> str:
    """Table cell of one (config, score, pair set); legend in CELL_LEGEND."""
    m = metrics
    if set_name.startswith("conplag"):
        return f"{m['test_at_train_threshold']['f']:.3f} / {m['auc_test']:.3f}"
    if set_name == "irplag":
        return f"{m['auc']:.3f} / {m['best_f1']['f']:.3f}"
    return f"{m['auc']:.3f} / {m['ap']:.3f} / {m['best_f1']['f']:.3f}"


def dolos_cell(set_name: str) -> str:
    d = DOLOS[set_name]
    if set_name.startswith("conplag"):
        return f"{d['test_f']:.3f} / {d['test_auc']:.3f}"
    if set_name == "irplag":
        return f"{d['auc']:.3f} / {d['f1']:.3f}"
    return f"{d['auc']:.3f} / {d['ap']:.3f} / {d['f1']:.3f}"


CELL_LEGEND = {
    "conplag_v1": "TEST F1.5 at the TRAIN threshold / TEST ROC AUC",
    "conplag_v2": "TEST F1.5 at the TRAIN threshold / TEST ROC AUC",
    "irplag": "ROC AUC / best F1",
    "soco_java": "ROC AUC / AP / best F1",
    "soco_c": "ROC AUC / AP / best F1",
}


def detail(set_name: str, m: dict) -> str:
    """All protocol figures of one (config, score) on one pair set."""
    if set_name.startswith("conplag"):
        t, b = m["test_at_train_threshold"], m["train_best"]
        return (f"TRAIN F1.5 {b['f']:.3f} @ t={b['threshold']:.3f}; TEST F1.5 {t['f']:.3f} "
                f"(P {t['precision']:.3f}, R {t['recall']:.3f}); TEST AUC {m['auc_test']:.3f}")
    if set_name == "irplag":
        levels = [m["per_level"][f"L{i}"] for i in range(1, 7)]
        return (f"AUC {m['auc']:.3f}, AP {m['ap']:.3f}, F1 {m['best_f1']['f']:.3f} @ "
                f"t={m['best_f1']['threshold']:.3g}; recall L1-L6 "
                + " ".join(f"{lv['recall_at_t']:.2f}" for lv in levels)
                + "; AUC vs non L1-L6 " + " ".join(f"{lv['auc_vs_non']:.2f}" for lv in levels))
    b = m["best_f1"]
    return (f"AUC {m['auc']:.3f}, AP {m['ap']:.3f}, F1 {b['f']:.3f} @ t={b['threshold']:.3g} "
            f"(P {b['precision']:.3f}, R {b['recall']:.3f}), R-prec {m['r_precision']:.3f}")


def dolos_detail(set_name: str) -> str:
    d = DOLOS[set_name]
    if set_name.startswith("conplag"):
        return (f"TRAIN F1.5 {d['train_f']:.3f} @ t={d['threshold']:.3f}; TEST F1.5 {d['test_f']:.3f} "
                f"(P {d['test_p']:.3f}, R {d['test_r']:.3f}); TEST AUC {d['test_auc']:.3f}")
    if set_name == "irplag":
        return (f"AUC {d['auc']:.3f}, AP {d['ap']:.3f}, F1 {d['f1']:.3f} @ t={d['threshold']:.3f}; "
                "recall L1-L6 " + " ".join(f"{x:.2f}" for x in d["level_recall"])
                + "; AUC vs non L1-L6 " + " ".join(f"{x:.2f}" for x in d["level_auc"]))
    return (f"AUC {d['auc']:.3f}, AP {d['ap']:.3f}, F1 {d['f1']:.3f} @ t={d['threshold']:.3f}, "
            f"R-prec {d['r_precision']:.3f}")


def comparison_section(results: list[dict], set_names: list[str], choice: dict) -> list[str]:
    """Best (config, score) per pair set and the recommended one, each next to Dolos."""
    recommended = choice["row"]
    by_config = {e["config"]: e for e in results}
    rows = []
    for name in set_names:
        best = max(((e["config"], s, m) for e in results for s, m in e["metrics"][name].items()),
                   key=lambda c: HEADLINE[name][1](c[2]))
        rec_metrics = by_config[recommended["config"]]["metrics"][name][recommended["score"]]
        rows.append([name, f"{best[0]}, {best[1]}", detail(name, best[2]), detail(name, rec_metrics),
                     dolos_detail(name)])
    return markdown_table(["dataset", "best config, score (by headline)", "its figures",
                           f"recommended ({recommended['config']}, {recommended['score']})",
                           "Dolos (k23 w17)"], rows)


def ranking_section(ranked: list[dict], set_names: list[str]) -> list[str]:
    header = ["config", "score", *[f"{n} {HEADLINE[n][0]}" for n in set_names], "mean",
              "threshold-free mean"]
    rows = [[r["config"], r["score"], *[f"{r['headline'][n]:.3f}" for n in set_names],
             f"**{r['mean']:.3f}**", f"{r['threshold_free_mean']:.3f}"] for r in ranked[:15]]
    return markdown_table(header, rows)


def per_set_section(results: list[dict], set_name: str) -> list[str]:
    rows = []
    for entry in results:
        metrics = entry["metrics"][set_name]
        rows.append([entry["config"], *[cell(metrics[s], set_name) if s in metrics else f"as w{WINDOW}"
                                        for s in SCORES]])
    rows.append(["**Dolos** k23 w17", dolos_cell(set_name), *[""] * (len(SCORES) - 1)])
    return markdown_table(["config", *SCORES], rows)


def policy_section(entry: dict) -> list[str]:
    rows = [[name, f"{p['f']:.3f}", f"{p['precision']:.3f}", f"{p['recall']:.3f}", f"{p['fpr']:.3f}"]
            for name, p in entry["default_policy"].items()]
    return markdown_table(["dataset", "F (F1.5 on ConPlag TEST)", "precision", "recall",
                           "false-positive rate"], rows)


def recommendation_section(ranked: list[dict], results: list[dict], set_names: list[str],
                           choice: dict) -> list[str]:
    row, top, score = choice["row"], choice["top"], choice["score"]
    by_config = {e["config"]: e for e in results}
    chosen = by_config[row["config"]]["metrics"]
    k_means = ", ".join(
        f"k{k} {find_row(ranked, score, k=k, window=WINDOW, parameterized=True)['mean']:.3f}/"
        f"{find_row(ranked, score, k=k, window=WINDOW, parameterized=False)['mean']:.3f}"
        for k in K_VALUES)
    gaps = np.array([r["mean"] - find_row(ranked, r["score"], k=r["shingle"]["k"], window=WINDOW,
                                          parameterized=False)["mean"]
                     for r in ranked if r["shingle"]["window"] == WINDOW and r["shingle"]["parameterized"]])
    window_text = "; ".join(
        f"w{r['shingle']['window']}: mean {r['mean']:.3f} ("
        + "/".join(f"{r['headline'][name]:.3f}" for name in set_names) + "), "
        f"keeps ~{200 / (r['shingle']['window'] + 1):.0f}% of k-grams, guarantees runs of "
        f"{r['shingle']['window'] + choice['k'] - 1} tokens" for r in choice["window_rows"])
    default = find_row(ranked, score, k=DEFAULT_SKETCH_CONFIG.shingle.k, window=WINDOW,
                       parameterized=DEFAULT_SKETCH_CONFIG.shingle.parameterized)
    thresholds = ", ".join(f"{name} {best_threshold_of(chosen[name][score], name):.3g}" for name in set_names)
    passage_thresholds = ", ".join(f"{name} {best_threshold_of(chosen[name]['longest'], name):.0f}"
                                   for name in set_names)
    versus_dolos = ", ".join(f"{name} {HEADLINE[name][0]} {row['headline'][name]:.3f} vs "
                             f"{dolos_headline(name):.3f}" for name in set_names)
    return [
        f"- **Score: {score}; k = {choice['k']}; parameterized = {choice['parameterized']}; "
        f"window = {choice['window']}.** Ranked by the mean of the headline metrics; "
        f"{row['config']}, {score}: mean {row['mean']:.3f} (threshold-free mean "
        f"{row['threshold_free_mean']:.3f}); the top row is {top['config']}, {top['score']} "
        f"({top['mean']:.3f}).",
        f"- Against Dolos: {versus_dolos}.",
        f"- k for {score} (mean headline, param/plain): {k_means}. Small k catches more reordered "
        "code but lets independent solutions share boilerplate k-grams; large k misses edited copies.",
        f"- parameterized vs plain, same k and score: mean difference {gaps.mean():+.3f} "
        f"(range {gaps.min():+.3f} to {gaps.max():+.3f}). Rule: keep parameterized (p-match) and window "
        f"{WINDOW} unless an alternative wins by more than {TIE_TOLERANCE} in mean headline.",
        f"- The window changes only fp_coverage, the score an index of winnowed fingerprints "
        f"sees (`compare` uses every k-gram). fp_coverage of k{choice['k']} "
        f"{'param' if choice['parameterized'] else 'plain'}: {window_text}.",
        f"- The library's current default {config_label(DEFAULT_SKETCH_CONFIG.shingle)} with {score}: "
        f"mean {default['mean']:.3f}.",
        f"- No single threshold fits every set: best-F threshold of {score} per set: {thresholds}.",
        f"- FilterPolicy: best-F threshold of the longest passage ({row['config']}), in tokens: "
        f"{passage_thresholds}; the shipped limit is {DEFAULT_POLICY.min_match_tokens} "
        "(false-positive rates in the section above).",
        "- Scores, best mean headline over all configs: " + ", ".join(
            f"{s} {m:.3f}" for m, s in sorted(((max(r["mean"] for r in ranked if r["score"] == s), s)
                                               for s in SCORES), reverse=True)) + ".",
    ]


def best_threshold_of(metrics: dict, set_name: str) -> float:
    return (metrics["train_best"] if set_name.startswith("conplag") else metrics["best_f1"])["threshold"]


def dolos_headline(set_name: str) -> float:
    key = {"conplag_v1": "test_f", "conplag_v2": "test_f", "irplag": "auc", "soco_java": "ap",
           "soco_c": "ap"}[set_name]
    return DOLOS[set_name][key]


def ai_obfuscation_section(results: list[dict], ai_sets: list[PairSet], choice: dict) -> list[str]:
    """AUROC per task set and attack, on the pairs JPlag scored, beside JPlag's own (Base) AUROC."""
    row = choice["row"]
    by_config = {e["config"]: e for e in results if all(p.name in e["metrics"] for p in ai_sets)}
    default = config_label(DEFAULT_SKETCH_CONFIG.shingle)
    candidates = [(config, score) for config, e in by_config.items() for score in e["metrics"][ai_sets[0].name]]

    def auc(config: str, score: str, name: str) -> float:
        return by_config[config]["metrics"][name][score]["auc"]

    overall = max(candidates, key=lambda c: np.mean([auc(*c, p.name) for p in ai_sets]))
    rows = []
    for p in ai_sets:
        best = max(candidates, key=lambda c: auc(*c, p.name))
        rows.append([p.name.removeprefix("aiobf_"), f"{p.labels.sum()} / {p.labels.size - p.labels.sum()}",
                     f"{roc_auc(p.tags['jplag'], p.labels):.3f}", f"{auc(row['config'], row['score'], p.name):.3f}",
                     f"{auc(default, row['score'], p.name):.3f}", f"{auc(*overall, p.name):.3f}",
                     f"{auc(*best, p.name):.3f} ({best[0]}, {best[1]})"])
    rows.append(["mean", "", f"{np.mean([roc_auc(p.tags['jplag'], p.labels) for p in ai_sets]):.3f}",
                 *[f"{np.mean([auc(*c, p.name) for p in ai_sets]):.3f}"
                   for c in ((row["config"], row["score"]), (default, row["score"]), overall)], ""])
    return markdown_table(["task set, attack", "pairs (copies / independent)", "JPlag (Base) AUROC",
                           f"recommended ({row['config']}, {row['score']})", f"default ({default}, {row['score']})",
                           f"best on these sets overall ({overall[0]}, {overall[1]})*",
                           "best per row*"], rows)


def render_markdown(results: list[dict], pair_sets: list[PairSet], ranked: list[dict], context: dict) -> str:
    choice = recommend(ranked)
    set_names = [p.name for p in pair_sets if p.name in HEADLINE]
    ai_sets = [p for p in pair_sets if p.name.startswith("aiobf_")]
    lines = [
        "# dedupfilter accuracy on labelled code-plagiarism sets, next to Dolos", "",
        f"- Date: {context['date']}. Machine: {context['machine']}, {context['cores']} cores; "
        f"{context['jobs']} worker processes. Run time {context['seconds']:.0f} s "
        f"(normalizing {context['normalize_seconds']:.0f} s); 1-minute load average at the end "
        f"{context['load_average']:.1f} (other jobs share the cores).",
        f"- Library: commit {context['library']}. Re-run from the repo root: `{context['command']}` "
        "(datasets read in place, never copied).",
        "- Protocol, pair lists, splits and metric definitions: those of `shared/peers/dolos` "
        "(metrics.py). Dolos figures: its `results.md` (Dolos 3.5.1 defaults k 23, w 17, same machine).",
        "- Scores: " + "; ".join(f"**{name}** = {text}" for name, text in SCORES.items())
        + f". Passages: `compare(a, b, gap={DEFAULT_POLICY.gap})` (the default FilterPolicy gap).",
        "- `param`: parameterized k-grams (identifier back-references, p-match); `plain`: every "
        f"identifier alike (as JPlag and Dolos). Window {WINDOW} throughout, plus windows "
        f"{', '.join(map(str, EXTRA_WINDOWS))} for the recommended k; the window changes only fp_coverage.",
        "- Headline metric per set: " + ", ".join(f"{n} {HEADLINE[n][0]}" for n in set_names)
        + "; threshold-free: ConPlag TEST AUC instead of F1.5. IR-Plag and SOCO thresholds are tuned "
        "on the evaluation data itself (optimistic, as for Dolos).",
        "", "## Best per dataset, recommended defaults, Dolos", "",
        *comparison_section(results, set_names, choice),
        "", "## Ranking by mean headline metric (top 15)", "",
        *ranking_section(ranked, set_names),
    ]
    for name in set_names:
        lines += ["", f"## {name}: {CELL_LEGEND[name]}", "", *per_set_section(results, name)]
    logistic = [(e["config"], name, m) for e in results if "logistic" in e for name, m in e["logistic"].items()]
    if logistic:
        lines += ["", "## ConPlag: every score of a configuration combined (logistic regression fit on TRAIN)", "",
                  f"Features: the {len(SCORES)} scores above, standardized with TRAIN statistics; L2 penalty 1; "
                  "threshold chosen for F1.5 on TRAIN; TEST untouched until reported.", "",
                  *markdown_table(["config", "set", "TRAIN F1.5", "TEST F1.5 (P, R)", "TEST AUC"],
                                  [[config, name, f"{m['train_best']['f']:.3f}",
                                    f"{m['test_at_train_threshold']['f']:.3f} "
                                    f"({m['test_at_train_threshold']['precision']:.3f}, "
                                    f"{m['test_at_train_threshold']['recall']:.3f})", f"{m['auc_test']:.3f}"]
                                   for config, name, m in logistic])]
    if ai_sets:
        lines += ["", "## JPlag's AI-obfuscation set (Saglam et al., EMSE 2025): ROC AUC per attack", "",
                  "Pairs: exactly those of `raw-results/<set>-<attack>-Base.csv` (copy vs its original positive, "
                  "two originals negative); JPlag's AUROC computed from the same file's similarities "
                  "(Mann-Whitney). Not part of the ranking above. *Chosen on these pairs: optimistic.", "",
                  *ai_obfuscation_section(results, ai_sets, choice)]
    for entry in (e for e in results if "default_policy" in e):
        lines += ["", f"## Default FilterPolicy as shipped ({entry['config']}; block iff a passage, or a copy "
                  f"in pieces within {DEFAULT_POLICY.piece_gap} tokens, has >= {DEFAULT_POLICY.min_match_tokens} "
                  f"tokens, or Jaccard >= {DEFAULT_POLICY.jaccard_threshold})", "", *policy_section(entry)]
    lines += ["", "## Run time per configuration (sketch every file, score every pair)", "",
              *markdown_table(["config", "seconds"], [[e["config"], f"{e['seconds']:.1f}"] for e in results])]
    lines += ["", "## Recommendation", "", *recommendation_section(ranked, results, set_names, choice), ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- main

def library_version() -> str:
    """Commit of the repo, flagged when dedupfilter/ has uncommitted changes."""
    def git(*args: str) -> str:
        run = subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True)
        return run.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "dedupfilter")
    return head + (" + uncommitted changes in dedupfilter/" if dirty else "")


def sweep_configs() -> list[ShingleConfig]:
    return [ShingleConfig(k=k, window=WINDOW, parameterized=p) for k in K_VALUES for p in (True, False)]


def window_configs(ranked: list[dict]) -> list[ShingleConfig]:
    """Extra windows for the recommended (k, parameterized)."""
    choice = recommend(ranked)
    return [ShingleConfig(k=choice["k"], window=w, parameterized=choice["parameterized"])
            for w in EXTRA_WINDOWS]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS,
                        help=f"folder holding conplag/, irplag/, soco14-train/ (default {DEFAULT_DATASETS})")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="worker processes, one configuration each (default 2)")
    args = parser.parse_args(argv)
    pair_sets = read_pair_sets(args.datasets) if args.datasets.is_dir() else []
    if not pair_sets:
        print(f"skipped: datasets not found at {args.datasets}")
        return 0

    started = time.perf_counter()
    library = library_version()
    global _STREAMS, _PAIR_SETS
    _STREAMS, _PAIR_SETS = normalize_files(pair_sets), pair_sets
    normalize_seconds = time.perf_counter() - started
    print(f"normalized {len(_STREAMS)} files in {normalize_seconds:.1f} s; "
          f"{sum(p.labels.size for p in pair_sets)} pairs in {len(pair_sets)} sets", flush=True)

    results = run_configs(sweep_configs(), pair_sets, args.jobs)
    results += run_configs(window_configs(rank_rows(results)), pair_sets, args.jobs, fingerprints_only=True)
    ranked = rank_rows(results)

    command = "python bench/accuracy_code.py"
    if args.datasets != DEFAULT_DATASETS:
        command += f" --datasets {args.datasets}"
    context = {"date": datetime.date.today().isoformat(), "library": library,
               "machine": platform.machine(),
               "cores": os.cpu_count(), "jobs": args.jobs, "command": command,
               "seconds": time.perf_counter() - started, "normalize_seconds": normalize_seconds,
               "load_average": os.getloadavg()[0]}
    report = render_markdown(results, pair_sets, ranked, context)
    print(report)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "accuracy_code.md").write_text(report)
    (RESULTS_DIR / "accuracy_code.json").write_text(json.dumps(
        {"context": context, "scores": SCORES, "dolos": DOLOS, "recommended": recommend(ranked),
         "results": results, "ranking": ranked}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
