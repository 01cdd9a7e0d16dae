"""Dolos on JPlag's AI-obfuscation set, on the pairs JPlag scored: a third anchor for accuracy_code.py.

Same pairs and reading as bench/accuracy_code.py (a submission folder's source
files joined in name order into one file), one ``analyzePaths([a, b])`` per
pair with Dolos 3.5.1 defaults, through the driver of the Dolos peer run
(../shared/peers/dolos/dolos_pairs.mjs, public API only). Needs node >= 20 and
npm; ``@dodona/dolos-lib@3.5.1`` is installed into the work folder.

Usage (from the repo root): python bench/dolos_ai_obfuscation.py [--workdir DIR] [--datasets DIR]
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from accuracy_code import DEFAULT_DATASETS, RESULTS_DIR, markdown_table, read_ai_obfuscation, read_source, roc_auc

DOLOS_DRIVER = Path(__file__).resolve().parents[2] / "shared" / "peers" / "dolos" / "dolos_pairs.mjs"
DOLOS_VERSION = "3.5.1"
SUFFIX = {"java": ".java", "cpp": ".cpp"}


def ensure_dolos(workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    if not (workdir / "package.json").is_file():
        subprocess.run(["npm", "init", "-y"], cwd=workdir, check=True, capture_output=True)
    if not (workdir / "node_modules" / "@dodona" / "dolos-lib").is_dir():
        subprocess.run(["npm", "install", f"@dodona/dolos-lib@{DOLOS_VERSION}"], cwd=workdir, check=True)
    # The driver's ESM import resolves next to the script: run a copy inside the work folder.
    shutil.copy(DOLOS_DRIVER, workdir / "dolos_pairs.mjs")


def run_dolos(workdir: Path, pair_set) -> np.ndarray:
    """Dolos similarity of every pair of the set (0 where Dolos reports no shared fingerprint)."""
    folder = workdir / "src" / pair_set.name
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i, path in enumerate(pair_set.files):
        target = folder / f"{i:05d}{SUFFIX[pair_set.lang]}"
        target.write_text(read_source(path))
        files.append(target)
    jobs = workdir / f"{pair_set.name}.jobs.tsv"
    jobs.write_text("".join(f"{n}\t{files[i]}\t{files[j]}\n"
                            for n, (i, j) in enumerate(zip(pair_set.left, pair_set.right))))
    out = workdir / f"{pair_set.name}.sims.tsv"
    subprocess.run(["node", "dolos_pairs.mjs", "pairs", pair_set.lang, str(jobs), str(out)], cwd=workdir, check=True)
    scores = np.zeros(pair_set.labels.size)
    with open(out) as f:
        for row in csv.DictReader(f, delimiter="\t"):
            scores[int(row["id"])] = float(row["similarity"])
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/dolos-ai"))
    args = parser.parse_args(argv)
    root = args.datasets / "jplag-emse25-ai-obfuscation"
    if not root.is_dir() or shutil.which("node") is None or not DOLOS_DRIVER.is_file():
        print("skipped: needs the AI-obfuscation set, node, and ../shared/peers/dolos/dolos_pairs.mjs")
        return 0
    started = time.perf_counter()
    ensure_dolos(args.workdir)
    rows, result = [], {}
    for pair_set in read_ai_obfuscation(root):
        dolos = run_dolos(args.workdir, pair_set)
        name = pair_set.name.removeprefix("aiobf_")
        result[name] = {"dolos_auc": roc_auc(dolos, pair_set.labels),
                        "jplag_auc": roc_auc(pair_set.tags["jplag"], pair_set.labels),
                        "n_pos": int(pair_set.labels.sum()), "n_neg": int(pair_set.labels.size - pair_set.labels.sum())}
        rows.append([name, f"{result[name]['n_pos']} / {result[name]['n_neg']}", f"{result[name]['dolos_auc']:.3f}",
                     f"{result[name]['jplag_auc']:.3f}"])
        print(name, result[name], flush=True)
    versions = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    context = {"date": datetime.date.today().isoformat(), "machine": platform.machine(), "node": versions,
               "dolos_lib": DOLOS_VERSION, "seconds": time.perf_counter() - started,
               "command": "python bench/dolos_ai_obfuscation.py"}
    report = "\n".join([
        "# Dolos on JPlag's AI-obfuscation set", "",
        f"- Date: {context['date']}. Machine: {context['machine']}, shared. Node {versions}, "
        f"@dodona/dolos-lib {DOLOS_VERSION} defaults (k 23, w 17), one analyzePaths([a, b]) per pair. "
        f"Run time {context['seconds']:.0f} s. Re-run: `{context['command']}`.",
        "- Pairs: those of raw-results/<set>-<attack>-Base.csv, a submission's files joined into one file "
        "(as bench/accuracy_code.py reads them). ROC AUC: Mann-Whitney, ties 1/2.", "",
        *markdown_table(["task set, attack", "pairs (copies / independent)", "Dolos AUROC", "JPlag (Base) AUROC"],
                        rows), ""])
    print(report)
    (RESULTS_DIR / "dolos_ai_obfuscation.md").write_text(report)
    (RESULTS_DIR / "dolos_ai_obfuscation.json").write_text(json.dumps({"context": context, "sets": result}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
