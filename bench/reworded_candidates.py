"""Where a reworded query's source ranks among the documents ``--reworded`` aligns.

Through the index, a reworded passage is found only if its source is among the
``reworded_candidates`` documents ``ProtectedIndex._reworded_candidates`` ranks
first (80 by default). For every pair of PAN 2013's obfuscated sub-corpora (train
and test), with all sources of a corpus indexed as the protected corpus, this
gives the share of pairs whose source ranks among the first 20, 40 and 80, at
several weights of the distinctive k-grams' share of the score
(``protected.KGRAM_HITS_WEIGHT``; 0: keys alone). Weights are chosen on train.

    python bench/reworded_candidates.py        # reads ../shared/datasets; ~5 minutes
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from accuracy_code import library_version, markdown_table  # noqa: E402
from accuracy_text import DEFAULT_DATASETS, RESULTS_DIR, read_pan  # noqa: E402
from corpora import Document  # noqa: E402
from dedupfilter.align import DEFAULT_ALIGN_PARAMS, sentences  # noqa: E402
from dedupfilter.index import IndexSettings, ProtectedIndex  # noqa: E402
from dedupfilter.index import protected  # noqa: E402

SUBCORPORA = ("02-no-obfuscation", "03-random-obfuscation", "04-translation-obfuscation",
              "05-summary-obfuscation")
WEIGHTS = (0.0, 1.0, 2.0, 4.0)
FIRST = (20, 40, 80)


def source_ranks(root: Path) -> dict:
    """{sub-corpus: {weight: [rank of each pair's source, or None beyond the last candidate]}}."""
    corpus = read_pan(root)
    documents = (Document(name, name, corpus.text("src", name), "text") for name in corpus.sources())
    index, _ = ProtectedIndex.empty(IndexSettings(store_text=True)).with_documents(documents)
    row_of = {doc_id: i for i, doc_id in enumerate(index.docs.ids)}
    default = protected.KGRAM_HITS_WEIGHT
    out = {}
    try:
        for sub in SUBCORPORA:
            out[sub] = {w: [] for w in WEIGHTS}
            for susp, src in corpus.pairs[sub]:
                text = corpus.text("susp", susp)
                query = index.sketch(text, "text")
                lookup = index.lookup(query.shingles)
                cut = sentences(text, DEFAULT_ALIGN_PARAMS.min_sentence_words)
                for w in WEIGHTS:
                    protected.KGRAM_HITS_WEIGHT = w
                    ranked = index._reworded_candidates(query, lookup, cut, max(FIRST))
                    out[sub][w].append(ranked.index(row_of[src]) if row_of[src] in ranked else None)
            print(f"  {root.name} {sub}: {len(corpus.pairs[sub])} pairs", flush=True)
    finally:
        protected.KGRAM_HITS_WEIGHT = default
    return out


def shares(ranks: list) -> dict:
    return {n: sum(r is not None and r < n for r in ranks) / len(ranks) for n in FIRST}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    args = parser.parse_args(argv)
    root = args.datasets / "pan13-text-alignment"
    corpora = [name for name in ("train", "test") if (root / name).is_dir()]
    if not corpora:
        print(f"skipped: no PAN 2013 corpus at {root}")
        return 0
    result = {name: {sub: {str(w): shares(r) for w, r in by_weight.items()}
                     for sub, by_weight in source_ranks(root / name).items()} for name in corpora}
    rows = [[name, sub, f"{w:g}" + (" (default)" if w == protected.KGRAM_HITS_WEIGHT else "")]
            + [f"{result[name][sub][str(w)][n]:.3f}" for n in FIRST]
            for name in corpora for sub in SUBCORPORA for w in WEIGHTS]
    context = {"date": datetime.date.today().isoformat(), "library": library_version(),
               "machine": platform.machine(), "command": "python bench/reworded_candidates.py"}
    lines = ["# Reworded candidates: where the paired source ranks", "",
             f"- Date: {context['date']}. Library: commit {context['library']}. Re-run: `{context['command']}` "
             "(datasets read in place, never copied).",
             "- Each PAN 2013 corpus's sources are one index (text stored); each pair's suspicious document is "
             "a query; the share of pairs whose source is among the first N candidates "
             "(`ProtectedIndex._reworded_candidates`), by the weight of the distinctive k-grams' "
             "share of the score (`protected.KGRAM_HITS_WEIGHT`; 0: sentence and word keys alone).", "",
             *markdown_table(["corpus", "sub-corpus", "k-gram weight"] + [f"among first {n}" for n in FIRST], rows)]
    report = "\n".join(lines) + "\n"
    print(report)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "reworded_candidates.md").write_text(report)
    (RESULTS_DIR / "reworded_candidates.json").write_text(json.dumps({"context": context, **result}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
