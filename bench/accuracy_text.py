"""Accuracy of dedupfilter on labelled text-reuse sets: PAN 2013 text alignment and Clough & Stevenson.

Datasets (third-party, read in place and never copied into the repo; see their
READMEs under ../shared/datasets): pan13-text-alignment (train = training
corpus 2013-01-21, test = test corpus 2) and clough-stevenson-short-answers.

PAN 2013 text alignment, through the product's own query path:
- every source document of a corpus is indexed as the protected corpus
  (``ProtectedIndex.empty(settings).with_documents(...)``, documents as text);
- every suspicious document is queried once (``ProtectedIndex.matches``); the
  spans reported against a pair's source document are the detections of that
  pair (character offsets into both original texts, as the Verdict gives them);
- PAN's character-level measures (Potthast et al. 2010; perfmeasures.py 1.3):
  macro-averaged precision and recall (the script's default, used for the
  PAN 2013 ranking), micro-averaged ones beside them, granularity, and
  plagdet = F1 / log2(1 + granularity); per sub-corpus and for the entire
  corpus. Cases are the ``plagiarism`` features of the pair XMLs.
- Settings (k, the passage gap, the shortest span reported) are chosen on the
  TRAINING corpus by entire-corpus plagdet and reported on the TEST corpus,
  beside the shipped defaults.

Clough & Stevenson: each of the 95 answers against its task's Wikipedia
source (``sketch`` + ``compare``): per category (cut, light, heavy, non) the
score distribution, the ROC AUC of the category against the independent
answers, and the share the default policy would block. No split: 95 answers.

Usage (from the repo root): python bench/accuracy_text.py [--datasets DIR] [--pan-only|--clough-only]
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import math
import os
import platform
import sys
import time
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from accuracy_code import library_version, longest_passage, markdown_table, roc_auc  # noqa: E402
from corpora import Document  # noqa: E402
from dedupfilter.arrays import union_length  # noqa: E402
from dedupfilter.compare import compare_texts  # noqa: E402
from dedupfilter.config import DEFAULT_POLICY, DEFAULT_SKETCH_CONFIG, FilterPolicy, ShingleConfig, SketchConfig  # noqa: E402
from dedupfilter.index import IndexSettings, ProtectedIndex  # noqa: E402
from dedupfilter.index.protected import DEFAULT_REWORDED_CANDIDATES  # noqa: E402
from dedupfilter.normalize import decode  # noqa: E402
from dedupfilter.sketch import compare, sketch  # noqa: E402
from dedupfilter.verdict import decide, match_from_comparison  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATASETS = REPO_ROOT.parent / "shared" / "datasets"
RESULTS_DIR = REPO_ROOT / "bench" / "results"

SUBCORPORA = ("01-no-plagiarism", "02-no-obfuscation", "03-random-obfuscation",
              "04-translation-obfuscation", "05-summary-obfuscation")
# Sanchez-Perez, Sidorov, Gelbukh 2014 (PAN@CLEF notebook, Table 3): plagdet on test corpus 2.
PUBLISHED = {
    "Sanchez-Perez 2014": {"02-no-obfuscation": 0.900, "03-random-obfuscation": 0.884,
                           "04-translation-obfuscation": 0.887, "05-summary-obfuscation": 0.561,
                           "entire": 0.878},
    "best per column (2013 field)": {"02-no-obfuscation": 0.934, "03-random-obfuscation": 0.884,
                                     "04-translation-obfuscation": 0.887, "05-summary-obfuscation": 0.610,
                                     "entire": 0.878},
}
TARGETS = {"02-no-obfuscation": 0.95, "03-random-obfuscation": 0.90, "entire": 0.88}

# The sweep, chosen on the training corpus. The default (the prose k, gap 8, spans
# of any reported length) is always part of it. A gap is the number of changed or
# inserted tokens a passage bridges (sketch.passage_reach).
K_VALUES = (2, 3, 5, 8)  # the k of prose (``ShingleConfig.prose_k``)
TEXT_K = DEFAULT_SKETCH_CONFIG.shingle.k_for("text")
GAPS = (8, 16, 48, 128)
# Shortest span kept, in words: 0 = every span the index reports
# (at least window + k - 1 words), else the policy's passage limit for prose.
MIN_SPAN_TOKENS = (0, DEFAULT_POLICY.min_match_words)


# ---------------------------------------------------------------- PAN measures

class Annotation(NamedTuple):
    """A case or a detection: characters [t_off, t_off + t_len) of the suspicious
    document ``t_ref`` and [s_off, s_off + s_len) of the source ``s_ref``."""

    t_ref: str
    t_off: int
    t_len: int
    s_ref: str
    s_off: int
    s_len: int


def _overlapping(a: Annotation, b: Annotation) -> bool:
    return (a.t_ref == b.t_ref and a.s_ref == b.s_ref
            and b.t_off < a.t_off + a.t_len and a.t_off < b.t_off + b.t_len
            and b.s_off < a.s_off + a.s_len and a.s_off < b.s_off + b.s_len)


def _clip(start: int, length: int, other_start: int, other_length: int) -> tuple[int, int]:
    return max(start, other_start), min(start + length, other_start + other_length)


def _by_pair(annotations) -> dict[tuple[str, str], list[Annotation]]:
    index = defaultdict(list)
    for a in annotations:
        index[a.t_ref, a.s_ref].append(a)
    return index


def _detecting(cases, detections) -> list[tuple[Annotation, list[Annotation]]]:
    """Each case with the detections that overlap it."""
    index = _by_pair(detections)
    return [(c, [d for d in index.get((c.t_ref, c.s_ref), ()) if _overlapping(c, d)]) for c in cases]


def macro_recall(cases, detections) -> float:
    """Mean over cases of the share of the case's characters (both sides) that detections cover."""
    cases, detections = set(cases), set(detections)
    if not cases and not detections:
        return 1.0
    if not cases or not detections:
        return 0.0
    total = 0.0
    for case, found in _detecting(cases, detections):
        if found:
            this = union_length([_clip(d.t_off, d.t_len, case.t_off, case.t_len) for d in found])
            source = union_length([_clip(d.s_off, d.s_len, case.s_off, case.s_len) for d in found])
            total += (this + source) / (case.t_len + case.s_len)
    return total / len(cases)


def macro_precision(cases, detections) -> float:
    return macro_recall(detections, cases)


def _chars(annotations) -> int:
    """Characters covered, each counted once per document and side."""
    this, source = defaultdict(list), defaultdict(list)
    for a in annotations:
        this[a.t_ref].append((a.t_off, a.t_off + a.t_len))
        source[a.s_ref].append((a.s_off, a.s_off + a.s_len))
    return sum(union_length(v) for v in this.values()) + sum(union_length(v) for v in source.values())


def micro_recall_precision(cases, detections) -> tuple[float, float]:
    """Characters of cases detected / characters of cases, and / characters detected."""
    cases, detections = set(cases), set(detections)
    if not cases and not detections:
        return 1.0, 1.0
    if not cases or not detections:
        return 0.0, 0.0
    true_parts = []
    for case, found in _detecting(cases, detections):
        for d in found:
            t0, t1 = _clip(d.t_off, d.t_len, case.t_off, case.t_len)
            s0, s1 = _clip(d.s_off, d.s_len, case.s_off, case.s_len)
            true_parts.append(Annotation(case.t_ref, t0, t1 - t0, case.s_ref, s0, s1 - s0))
    detected = _chars(true_parts)
    return detected / _chars(cases), detected / _chars(detections)


def granularity(cases, detections) -> float:
    """Mean number of detections per detected case (1 = every case found in one piece)."""
    counts = [len(found) for _, found in _detecting(set(cases), set(detections)) if found]
    return float(np.mean(counts)) if counts else 1.0


def plagdet(recall: float, precision: float, gran: float) -> float:
    if recall <= 0 or precision <= 0 or gran < 1:
        return 0.0
    return (2 * recall * precision / (recall + precision)) / math.log2(1 + gran)


def pan_measures(cases, detections) -> dict:
    rec, prec = macro_recall(cases, detections), macro_precision(cases, detections)
    micro_rec, micro_prec = micro_recall_precision(cases, detections)
    gran = granularity(cases, detections)
    return {"plagdet": plagdet(rec, prec, gran), "recall": rec, "precision": prec, "granularity": gran,
            "micro_plagdet": plagdet(micro_rec, micro_prec, gran), "micro_recall": micro_rec,
            "micro_precision": micro_prec, "n_cases": len(set(cases)), "n_detections": len(set(detections))}


# ---------------------------------------------------------------- PAN corpus

@dataclass
class PanCorpus:
    root: Path
    pairs: dict[str, list[tuple[str, str]]]  # sub-corpus -> [(suspicious, source)]
    cases: dict[str, list[Annotation]]  # sub-corpus -> plagiarism cases

    def text(self, folder: str, name: str) -> str:
        # decode() keeps every character (no newline translation): PAN offsets count them all.
        return decode((self.root / folder / name).read_bytes())

    def sources(self) -> list[str]:
        return sorted({src for pairs in self.pairs.values() for _, src in pairs})

    def suspicious(self) -> list[str]:
        return sorted({susp for pairs in self.pairs.values() for susp, _ in pairs})


def read_pan(root: Path) -> PanCorpus:
    pairs, cases = {}, {}
    for sub in SUBCORPORA:
        with open(root / sub / "pairs") as f:
            pairs[sub] = [tuple(line.split()) for line in f if line.strip()]
        cases[sub] = []
        for susp, src in pairs[sub]:
            xml_path = root / sub / f"{Path(susp).stem}-{Path(src).stem}.xml"
            for node in ElementTree.parse(xml_path).getroot():
                if node.get("name") == "plagiarism" and node.get("source_reference"):
                    cases[sub].append(Annotation(susp, int(node.get("this_offset")), int(node.get("this_length")),
                                                 node.get("source_reference"), int(node.get("source_offset")),
                                                 int(node.get("source_length"))))
    return PanCorpus(root, pairs, cases)


@dataclass(frozen=True)
class PanSetting:
    k: int
    gap: int
    min_span_tokens: int

    @property
    def label(self) -> str:
        spans = "all spans" if self.min_span_tokens == 0 else f"spans >= {self.min_span_tokens} words"
        return f"k{self.k} gap {self.gap}, {spans}"

    @property
    def is_default(self) -> bool:
        return (self.k == TEXT_K and self.gap == DEFAULT_POLICY.gap
                and self.min_span_tokens == 0)


def pan_settings() -> list[PanSetting]:
    return [PanSetting(k, gap, m) for k in K_VALUES for gap in GAPS for m in MIN_SPAN_TOKENS]


def pan_detections(corpus: PanCorpus, settings: list[PanSetting]) -> tuple[dict, dict]:
    """({setting: [Annotation]}, {k: timings}) for every setting, one index per k."""
    detections = {s: [] for s in settings}
    timings = {}
    paired = defaultdict(set)
    for pairs in corpus.pairs.values():
        for susp, src in pairs:
            paired[susp].add(src)
    for k in sorted({s.k for s in settings}):
        started = time.perf_counter()
        index_settings = IndexSettings(sketch=SketchConfig(shingle=ShingleConfig(prose_k=k)))
        documents = (Document(name, name, corpus.text("src", name), "text") for name in corpus.sources())
        index, _ = ProtectedIndex.empty(index_settings).with_documents(documents)
        built = time.perf_counter()
        of_k = [s for s in settings if s.k == k]
        for susp in corpus.suspicious():
            query = index.sketch(corpus.text("susp", susp), "text")
            for gap in sorted({s.gap for s in of_k}):
                for match in index.matches(query, FilterPolicy(gap=gap)):
                    if match.doc_id not in paired[susp]:
                        continue
                    for span in match.spans:
                        annotation = Annotation(susp, span.query_start, span.query_end - span.query_start,
                                                match.doc_id, span.doc_start, span.doc_end - span.doc_start)
                        for s in of_k:
                            if s.gap == gap and span.tokens >= s.min_span_tokens:
                                detections[s].append(annotation)
        timings[k] = {"index_seconds": built - started, "query_seconds": time.perf_counter() - built,
                      "n_sources": len(index), "n_suspicious": len(corpus.suspicious())}
        print(f"  k{k}: index {built - started:.1f} s, queries {time.perf_counter() - built:.1f} s", flush=True)
    return detections, timings


REWORDED_PAIRS = f"k{TEXT_K} gap 8 + reworded prose, pairs given (`compare --reworded`)"
ALIGNED_THROUGH_INDEX = (DEFAULT_REWORDED_CANDIDATES // 2, DEFAULT_REWORDED_CANDIDATES)


def reworded_index_label(aligned: int) -> str:
    return (f"k{TEXT_K} gap 8 + reworded prose, through the index (`query --reworded --top 0"
            f"{'' if aligned == DEFAULT_REWORDED_CANDIDATES else f' --reworded-candidates {aligned}'}`: every "
            f"matched document, {aligned} aligned; index with text)")


REWORDED_INDEX_LABELS = tuple(reworded_index_label(n) for n in ALIGNED_THROUGH_INDEX)


def _annotations(susp: str, src: str, spans) -> list[Annotation]:
    return [Annotation(susp, s.query_start, s.query_end - s.query_start, src, s.doc_start, s.doc_end - s.doc_start)
            for s in spans]


def pan_reworded_detections(corpus: PanCorpus) -> tuple[dict, dict]:
    """Detections at the default settings with reworded prose aligned too: for each
    pair as PAN's task gives it (``compare_texts``), and through an index that
    stores the sources' text, where the 40 (and 20) sources whose sentence keys (then
    k-grams) best match a suspicious document's are aligned with it and every matched
    source is reported (``ProtectedIndex.query(top=None)``; spans against unpaired
    sources are dropped as for every setting)."""
    detections = {REWORDED_PAIRS: [], **{label: [] for label in REWORDED_INDEX_LABELS}}
    started = time.perf_counter()
    for pairs in corpus.pairs.values():
        for susp, src in pairs:
            verdict = compare_texts(corpus.text("susp", susp), corpus.text("src", src), lang="text",
                                    reworded=True)
            for m in verdict.matches:
                detections[REWORDED_PAIRS] += _annotations(susp, src, m.spans)
    pairs_seconds = time.perf_counter() - started
    paired = defaultdict(set)
    for pairs in corpus.pairs.values():
        for susp, src in pairs:
            paired[susp].add(src)
    started = time.perf_counter()
    documents = (Document(name, name, corpus.text("src", name), "text") for name in corpus.sources())
    index, _ = ProtectedIndex.empty(IndexSettings(store_text=True)).with_documents(documents)
    built = time.perf_counter()
    query_seconds = {}
    for aligned, label in zip(ALIGNED_THROUGH_INDEX, REWORDED_INDEX_LABELS):
        aligning = time.perf_counter()
        for susp in corpus.suspicious():
            verdict = index.query(corpus.text("susp", susp), "text", top=None, reworded=True,
                                  reworded_candidates=aligned)
            for m in verdict.matches:
                if m.doc_id in paired[susp]:
                    detections[label] += _annotations(susp, m.doc_id, m.spans)
        query_seconds[aligned] = time.perf_counter() - aligning
    timings = {"pairs_seconds": pairs_seconds, "index_seconds": built - started,
               "query_seconds": query_seconds[DEFAULT_REWORDED_CANDIDATES],
               "query_seconds_by_aligned": query_seconds}
    print(f"  reworded: pairs {pairs_seconds:.0f} s, index {built - started:.0f} s, queries "
          + ", ".join(f"{s:.0f} s ({n} aligned)" for n, s in query_seconds.items()), flush=True)
    return detections, timings


def evaluate_pan(corpus: PanCorpus, detections: list[Annotation]) -> dict:
    """PAN measures per sub-corpus and for the entire corpus (detections of each sub-corpus's pairs)."""
    by_pair = _by_pair(detections)
    out, all_cases, all_detections = {}, [], []
    for sub in SUBCORPORA:
        sub_detections = [d for pair in set(corpus.pairs[sub]) for d in by_pair.get(pair, ())]
        out[sub] = pan_measures(corpus.cases[sub], sub_detections)
        all_cases += corpus.cases[sub]
        all_detections += sub_detections
    out["entire"] = pan_measures(all_cases, all_detections)
    # No cases there, so the measures are 0 with any detection: report the false detections instead.
    out["01-no-plagiarism"]["pairs_with_detections"] = len(
        {(d.t_ref, d.s_ref) for pair in corpus.pairs["01-no-plagiarism"] for d in by_pair.get(pair, ())})
    return out


def run_pan(root: Path) -> dict | None:
    corpora = {name: root / name for name in ("train", "test") if (root / name).is_dir()}
    if "test" not in corpora:
        print(f"skipped PAN 2013: {root}/test not found")
        return None
    settings = pan_settings()
    result = {"settings": [s.label for s in settings], "corpora": {}}
    for name, path in corpora.items():
        print(f"PAN 2013 {name} corpus", flush=True)
        corpus = read_pan(path)
        detections, timings = pan_detections(corpus, settings)
        by_setting = {s.label: evaluate_pan(corpus, detections[s]) for s in settings}
        reworded, timings["reworded"] = pan_reworded_detections(corpus)
        by_setting.update({label: evaluate_pan(corpus, d) for label, d in reworded.items()})
        result["corpora"][name] = {"timings": timings, "by_setting": by_setting}
    default = next(s.label for s in settings if s.is_default)
    tuned_on = "train" if "train" in result["corpora"] else "test"
    by_setting = result["corpora"][tuned_on]["by_setting"]
    result["default"] = default
    result["chosen"] = max(by_setting, key=lambda label: by_setting[label]["entire"]["plagdet"])
    result["chosen_on"] = tuned_on
    return result


# ---------------------------------------------------------------- Clough & Stevenson

CLOUGH_CATEGORIES = ("cut", "light", "heavy", "non")
CLOUGH_SCORES = ("containment", "jaccard", "longest")


def run_clough(root: Path) -> dict | None:
    if not (root / "file_information.csv").is_file():
        print(f"skipped Clough & Stevenson: {root} not found")
        return None
    with open(root / "file_information.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["Category"] != "orig"]
    out = {}
    for k in K_VALUES:
        config = SketchConfig(shingle=ShingleConfig(prose_k=k))
        originals = {task: sketch(decode((root / f"orig_task{task}.txt").read_bytes()), "text", config)
                     for task in sorted({r["Task"] for r in rows})}
        scores = {name: [] for name in CLOUGH_SCORES}
        blocked = []
        for r in rows:
            answer = sketch(decode((root / r["File"]).read_bytes()), "text", config)
            source = originals[r["Task"]]
            comparison = compare(answer, source, gap=DEFAULT_POLICY.gap)
            scores["containment"].append(comparison.containment_a)
            scores["jaccard"].append(comparison.jaccard)
            scores["longest"].append(longest_passage(comparison))
            match = match_from_comparison(answer, source, comparison, "orig", "orig",
                                          config.shingle.guaranteed_match_tokens("text"))
            blocked.append(not decide([match], DEFAULT_POLICY).allowed)
        categories = np.array([r["Category"] for r in rows])
        blocked = np.array(blocked)
        per_category = {}
        for category in CLOUGH_CATEGORIES:
            sel = categories == category
            entry = {"n": int(sel.sum()), "blocked_at_default_policy": float(blocked[sel].mean())}
            for name in CLOUGH_SCORES:
                values = np.array(scores[name], float)
                entry[f"{name}_median"] = float(np.median(values[sel]))
                entry[f"{name}_range"] = [float(values[sel].min()), float(values[sel].max())]
                if category != "non":
                    pair = sel | (categories == "non")
                    entry[f"{name}_auc_vs_non"] = roc_auc(values[pair], sel[pair].astype(int))
            per_category[category] = entry
        out[f"k{k}"] = per_category
    return out


# ---------------------------------------------------------------- report

PAN_COLUMNS = ("02-no-obfuscation", "03-random-obfuscation", "04-translation-obfuscation",
               "05-summary-obfuscation", "entire")
SHORT = {"02-no-obfuscation": "none", "03-random-obfuscation": "random", "04-translation-obfuscation": "translation",
         "05-summary-obfuscation": "summary", "entire": "entire"}


def pan_row(label: str, measures: dict, key: str = "plagdet") -> list[str]:
    return [label] + [f"{measures[c][key]:.3f}" for c in PAN_COLUMNS] + [
        str(measures["01-no-plagiarism"]["pairs_with_detections"])]


def pan_section(pan: dict) -> list[str]:
    test = pan["corpora"]["test"]["by_setting"]
    header = ["test corpus 2, plagdet"] + [SHORT[c] for c in PAN_COLUMNS] + ["no-plagiarism pairs with a detection (of 1000)"]
    rows = [pan_row(f"dedupfilter defaults ({pan['default']})", test[pan["default"]]),
            pan_row(f"dedupfilter, setting chosen on {pan['chosen_on']} ({pan['chosen']})", test[pan["chosen"]])]
    rows += [pan_row(f"dedupfilter {label}", test[label]) for label in (REWORDED_PAIRS, *REWORDED_INDEX_LABELS)
             if label in test and label != pan["chosen"]]
    rows += [[name] + [f"{v[c]:.3f}" for c in PAN_COLUMNS] + [""] for name, v in PUBLISHED.items()]
    rows.append(["target (issue 7)"] + [f">= {TARGETS[c]:.2f}" if c in TARGETS else "" for c in PAN_COLUMNS] + [""])
    lines = markdown_table(header, rows)
    lines += ["", "Detail on the test corpus (macro = PAN's default measures; micro beside them):", ""]
    detail_rows = []
    for label in dict.fromkeys((pan["default"], pan["chosen"], REWORDED_PAIRS, *REWORDED_INDEX_LABELS)):
        if label not in test:
            continue
        for c in PAN_COLUMNS:
            m = test[label][c]
            detail_rows.append([label, SHORT[c], f"{m['plagdet']:.3f}", f"{m['precision']:.3f}", f"{m['recall']:.3f}",
                                f"{m['granularity']:.3f}", f"{m['micro_plagdet']:.3f}", f"{m['micro_precision']:.3f}",
                                f"{m['micro_recall']:.3f}", str(m["n_cases"]), str(m["n_detections"])])
    lines += markdown_table(["setting", "sub-corpus", "plagdet", "precision", "recall", "granularity",
                             "micro plagdet", "micro P", "micro R", "cases", "detections"], detail_rows)
    for name, corpus in pan["corpora"].items():
        lines += ["", f"Every setting on the {name} corpus (plagdet):", ""]
        lines += markdown_table(["setting"] + [SHORT[c] for c in PAN_COLUMNS] + ["no-plag pairs flagged"],
                                [pan_row(label, m) for label, m in corpus["by_setting"].items()])
        timings = dict(corpus["timings"])
        reworded = timings.pop("reworded", None)
        lines += ["", "Time: " + "; ".join(
            f"k{k}: index {t['n_sources']} sources {t['index_seconds']:.0f} s, {t['n_suspicious']} queries "
            f"{t['query_seconds']:.0f} s" for k, t in timings.items())
            + (f"; reworded: pairs {reworded['pairs_seconds']:.0f} s, index with text {reworded['index_seconds']:.0f} s, "
               "queries " + ", ".join(f"{s:.0f} s ({n} aligned)" for n, s in reworded.get(
                   "query_seconds_by_aligned", {DEFAULT_REWORDED_CANDIDATES: reworded["query_seconds"]}).items())
               if reworded else "")]
    return lines


def clough_section(clough: dict) -> list[str]:
    lines = []
    for config, per_category in clough.items():
        rows = []
        for category in CLOUGH_CATEGORIES:
            e = per_category[category]
            rows.append([config, category, str(e["n"])]
                        + [f"{e[f'{s}_median']:.3g} ({e[f'{s}_range'][0]:.3g}-{e[f'{s}_range'][1]:.3g})"
                           for s in CLOUGH_SCORES]
                        + [" / ".join(f"{e[f'{s}_auc_vs_non']:.3f}" for s in CLOUGH_SCORES) if category != "non"
                           else "", f"{e['blocked_at_default_policy']:.2f}"])
        lines += markdown_table(["config", "category", "n", "containment of the answer: median (range)",
                                 "Jaccard", "longest passage, tokens", "AUC vs non (containment / Jaccard / longest)",
                                 f"blocked at the default policy ({DEFAULT_POLICY.min_match_words} words)"], rows)
        lines.append("")
    return lines


def render_markdown(pan: dict | None, clough: dict | None, context: dict) -> str:
    lines = [
        "# dedupfilter accuracy on labelled text-reuse sets", "",
        f"- Date: {context['date']}. Machine: {context['machine']}, {context['cores']} cores (shared with other "
        f"jobs), one process. Run time {context['seconds']:.0f} s.",
        f"- Library: commit {context['library']}. Re-run from the repo root: `{context['command']}` "
        "(datasets read in place, never copied).",
    ]
    kept = context.get("kept", {})
    if pan:
        lines += [
            "", "## PAN 2013 text alignment", "",
            *([f"- Kept from an earlier run ({kept['pan']}): this run did not measure PAN."] if "pan" in kept else []),
            "- All source documents of a corpus are the protected corpus of one `ProtectedIndex`; each suspicious "
            "document is one query; the spans reported against a pair's source are that pair's detections "
            "(spans against sources the document is not paired with are not PAN detections and are dropped).",
            "- Measures: PAN's character-level macro precision and recall, granularity, plagdet = F1 / log2(1 + "
            "granularity), pooled over each sub-corpus; micro-averaged variants in the detail table. "
            "01-no-plagiarism has no cases: its column counts pairs with any detection.",
            f"- Sweep: k in {K_VALUES}, passage gap in {GAPS} changed or inserted tokens, spans of any length the index reports "
            f"(>= window + k - 1 words) or only >= {DEFAULT_POLICY.min_match_words} words (the policy's "
            "limit for prose). The setting is "
            f"chosen on the **{pan['chosen_on']}** corpus by entire plagdet "
            f"({'the test corpus itself: optimistic' if pan['chosen_on'] == 'test' else 'not on test'}).",
            "- Summary (05) and translation (04) obfuscation are rewrites of meaning: a token-level copy "
            "detector is not built for them; reported, not chased.", "",
            *pan_section(pan),
        ]
    if clough:
        lines += [
            "", "## Clough & Stevenson short answers", "",
            *([f"- Kept from an earlier run ({kept['clough']}): this run did not measure it."]
              if "clough" in kept else []),
            "- 95 answers, each against its task's source article (`compare`, default gap); containment = share "
            "of the answer's k-grams found in the source. AUC of each category against the 38 independent "
            "answers (no threshold involved); blocked = the default FilterPolicy on the pair.", "",
            *clough_section(clough),
        ]
    return "\n".join(lines) + "\n"


def _with_previous_sections(pan: dict | None, clough: dict | None, context: dict) -> tuple[dict | None, dict | None]:
    """A run of one set keeps the other's section from the last results, saying where it
    is from (``context["kept"]``), so ``--pan-only`` does not drop Clough & Stevenson."""
    previous_path = RESULTS_DIR / "accuracy_text.json"
    if (pan is not None and clough is not None) or not previous_path.exists():
        return pan, clough
    previous = json.loads(previous_path.read_text())
    kept_from = previous["context"].get("kept", {})
    origin = f"{previous['context']['date']}, commit {previous['context']['library']}"
    if pan is None and previous.get("pan"):
        pan, context.setdefault("kept", {})["pan"] = previous["pan"], kept_from.get("pan", origin)
    if clough is None and previous.get("clough"):
        clough, context.setdefault("kept", {})["clough"] = previous["clough"], kept_from.get("clough", origin)
    return pan, clough


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS,
                        help=f"folder holding pan13-text-alignment/ and clough-stevenson-short-answers/ "
                             f"(default {DEFAULT_DATASETS})")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--pan-only", action="store_true")
    only.add_argument("--clough-only", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    library = library_version()
    pan = None if args.clough_only else run_pan(args.datasets / "pan13-text-alignment")
    clough = None if args.pan_only else run_clough(args.datasets / "clough-stevenson-short-answers")
    if pan is None and clough is None:
        print(f"skipped: no text datasets found at {args.datasets}")
        return 0
    command = "python bench/accuracy_text.py" + "".join(
        f" {flag}" for flag, on in (("--pan-only", args.pan_only), ("--clough-only", args.clough_only)) if on)
    if args.datasets != DEFAULT_DATASETS:
        command += f" --datasets {args.datasets}"
    context = {"date": datetime.date.today().isoformat(), "library": library, "machine": platform.machine(),
               "cores": os.cpu_count(), "command": command, "seconds": time.perf_counter() - started,
               "text_k": TEXT_K}
    pan, clough = _with_previous_sections(pan, clough, context)
    report = render_markdown(pan, clough, context)
    print(report)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "accuracy_text.md").write_text(report)
    (RESULTS_DIR / "accuracy_text.json").write_text(json.dumps(
        {"context": context, "published": PUBLISHED, "targets": TARGETS, "pan": pan, "clough": clough}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
