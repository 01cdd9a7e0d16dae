"""What prose's own k costs a query: the 1M-document index of ``index_bench.py`` built
again with prose k-grams of 8 words (the code k), and the same 200 queries timed against
both indexes in one process, interleaved round by round, on one core.

    python bench/index_bench.py build --docs 1000000 && python bench/index_bench.py queries --docs 1000000
    taskset -c 0 python bench/prose_k_ab.py build    # the k-8 index beside it (~150 s, 2 workers)
    taskset -c 0 python bench/prose_k_ab.py query

Both indexes are mapped at once, so the absolute times are above ``index_bench.py``'s;
the ratio is the figure to read. Prints, does not write results.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from dedupfilter.config import ShingleConfig, SketchConfig  # noqa: E402
from dedupfilter.index import IndexSettings, ProtectedIndex, build_index  # noqa: E402
from index_bench import WORK, index_path, read_jsonl  # noqa: E402

DOCS = 1_000_000
CODE_K_INDEX = WORK / "prose_k8_index"
ROUNDS = 5


def build() -> None:
    started = time.perf_counter()
    settings = IndexSettings(sketch=SketchConfig(ShingleConfig(prose_k=None)))
    build_index(CODE_K_INDEX, read_jsonl(WORK / "pool.jsonl", DOCS), settings, n_workers=2)
    print(f"built {CODE_K_INDEX} in {time.perf_counter() - started:.0f} s")


def query() -> None:
    queries = json.loads((WORK / f"n{DOCS}" / "query_texts.json").read_text())
    indexes = {"prose k 5 (default)": ProtectedIndex.open(index_path(DOCS), verify=False),
               "prose k 8": ProtectedIndex.open(CODE_K_INDEX, verify=False)}
    for index in indexes.values():  # every page the queries touch, and every kernel
        for q in queries:
            index.query(q["text"], q["lang"])
    seconds = {name: [] for name in indexes}
    gc.disable()
    for round_ in range(ROUNDS):
        order = list(indexes.items()) if round_ % 2 == 0 else list(indexes.items())[::-1]
        for name, index in order:
            for q in queries:
                started = time.perf_counter()
                index.query(q["text"], q["lang"])
                seconds[name].append(time.perf_counter() - started)
    for name, times in seconds.items():
        ms = np.array(times).reshape(ROUNDS, -1) * 1e3
        medians = np.median(ms, axis=0)
        by_kind: dict[str, list[float]] = {}
        for q, m in zip(queries, medians):
            by_kind.setdefault(f"{q['kind']} {q['lang']}", []).append(float(m))
        print(f"{name}: p50 {np.percentile(ms, 50):.3f} ms, p99 {np.percentile(ms, 99):.3f} ms; p50 by kind: "
              + ", ".join(f"{kind} {np.median(v):.3f}" for kind, v in by_kind.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("phase", choices=("build", "query"))
    args = parser.parse_args(argv)
    build() if args.phase == "build" else query()
    return 0


if __name__ == "__main__":
    sys.exit(main())
