"""Choosing the policy's copied-passage limit (min_match_tokens) by measurement.

Protected: every other module of this interpreter's standard library
(encodings/ excluded: its codec modules are generated from one template).
- Recall: each protected function, disguised (all defined names renamed,
  literals and comments changed, re-indented) inside a Markdown answer; the
  longest passage the index reports, by function size.
- False blocks: 4 KB chunks of the other modules. Not a clean negative set:
  the standard library copies code between modules (aifc/sunau,
  cProfile/profile, base64/plistlib, ...), so this rate is an upper bound.

Run from the repo root: python bench/threshold.py  (about 2 minutes)
"""

from __future__ import annotations

import datetime
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import corpora  # noqa: E402
from corpora.transforms import disguise  # noqa: E402
from dedupfilter import normalize  # noqa: E402
from dedupfilter.config import FilterPolicy  # noqa: E402
from dedupfilter.index import IndexSettings, build_index  # noqa: E402

LIMITS = (20, 25, 30, 35, 40, 50)
SIZE_BINS = ((20, 40), (40, 60), (60, 100), (100, 200), (200, 10**9))
RESULTS = Path(__file__).parent / "results"


def longest_passage(index, text: str, lang: str | None) -> int:
    never_block = FilterPolicy(min_match_tokens=10**9)
    matches = index.matches(index.sketch(text, lang), never_block)
    return max((m.longest_span for m in matches), default=0)


def disguised_functions(docs, per_doc: int = 5):
    for doc in docs:
        for fn in list(corpora.python_functions(doc, min_lines=4))[:per_doc]:
            try:
                yield len(normalize(fn.text, "python")), disguise(fn.text)
            except (SyntaxError, ValueError):
                continue


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-df-floor", type=int, default=IndexSettings.max_df_floor,
                        help="boilerplate cut: k-grams in more than this many documents (default %(default)s)")
    args = parser.parse_args()
    settings = IndexSettings(max_df_floor=args.max_df_floor)
    modules = [d for d in corpora.stdlib_python(min_chars=2000) if not d.doc_id.startswith("stdlib:encodings/")]
    protected, held_out = modules[::2], modules[1::2]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        index, _ = build_index(Path(tmp) / "index", protected, settings, n_workers=1)
    recall = np.array([(n, longest_passage(index, f"Some prose first.\n\n```python\n{code}```\n", None))
                       for n, code in disguised_functions(protected)])
    chunks = [d.text[i:i + 4000] for d in held_out for i in range(0, min(len(d.text), 40000), 4000)]
    unrelated = np.array([longest_passage(index, c, "python") for c in chunks])
    table = {"recall": {}, "false_block": {}}
    for lo, hi in SIZE_BINS:
        sel = (recall[:, 0] >= lo) & (recall[:, 0] < hi)
        table["recall"][f"{lo}-{hi if hi < 10**9 else 'more'}"] = {
            "n": int(sel.sum()), **{str(t): float((recall[sel, 1] >= t).mean()) for t in LIMITS}}
    table["false_block"] = {"n": int(unrelated.size), **{str(t): float((unrelated >= t).mean()) for t in LIMITS}}
    table["seconds"] = round(time.perf_counter() - started, 1)
    table["max_df_floor"] = args.max_df_floor
    write_report(table, len(protected))


def write_report(table: dict, n_protected: int) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "threshold.json").write_text(json.dumps(table, indent=2))
    head = "| | n | " + " | ".join(f"t={t}" for t in LIMITS) + " |"
    rule = "|---|---|" + "---|" * len(LIMITS)
    lines = [f"# Copied-passage limit: recall vs false blocks ({datetime.date.today()})", "",
             f"Command: `python bench/threshold.py` ({table['seconds']} s, 2-core machine). Protected: "
             f"{n_protected} standard-library modules; default k=8, w=8; boilerplate cut above "
             f"{table['max_df_floor']} documents.", "",
             "Share of disguised protected functions blocked, by function size (normalized tokens):", "",
             head, rule]
    for size, row in table["recall"].items():
        lines.append(f"| {size} tokens | {row['n']} | " + " | ".join(f"{row[str(t)]:.3f}" for t in LIMITS) + " |")
    fb = table["false_block"]
    lines += ["", "Share of 4 KB chunks of other standard-library modules blocked (upper bound: the "
              "standard library does copy code between modules):", "", head, rule,
              f"| chunks | {fb['n']} | " + " | ".join(f"{fb[str(t)]:.3f}" for t in LIMITS) + " |"]
    (RESULTS / "threshold.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
