"""The peers of `dedupfilter dedup`, each run as its users run it; called by bench/dedup_bench.py.

Runs in its own virtual environment (the peers are not dependencies of dedupfilter):

    python3 -m venv /tmp/dedup-bench/peers
    /tmp/dedup-bench/peers/bin/pip install datatrove text-dedup datasketch
    /tmp/dedup-bench/peers/bin/python bench/dedup_peers.py SYSTEM INPUT_DIR OUTPUT_DIR --bands B --rows R \
        --ngram N --workers W

SYSTEM: datatrove (its four-stage MinHash pipeline; word tokenizer: ``str.split``, a WordTokenizer
subclass below, since datatrove's English default needs an NLTK download and its WhitespaceTokenizer
loads spaCy),
text-dedup (``text_dedup.minhash``), datasketch (MinHash over word n-grams + MinHashLSH, union-find).
INPUT_DIR holds JSONL shards with ``doc_id`` and ``text``. Prints one JSON line: documents in and out.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import subprocess
import sys
from pathlib import Path

WORD = re.compile(r"\S+")


def split_words_tokenizer():
    """datatrove's WordTokenizer over ``str.split``: words as the other peers see them."""
    from datatrove.utils.word_tokenizers import WordTokenizer

    class SplitWords(WordTokenizer):
        def word_tokenize(self, text: str) -> list[str]:
            return text.split()

        def sent_tokenize(self, text: str) -> list[str]:
            return text.splitlines()

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            raise NotImplementedError

    return SplitWords()


def run_datatrove(args) -> dict:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
                                                  MinhashDedupFilter, MinhashDedupSignature)
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashing import HashConfig

    config = MinhashConfig(n_grams=args.ngram, num_buckets=args.bands, hashes_per_bucket=args.rows,
                           hash_config=HashConfig(precision=64))
    out = Path(args.output)
    n_files = len(list(Path(args.input).glob("*.jsonl")))

    def reader():
        return JsonlReader(args.input, glob_pattern="*.jsonl", text_key="text", id_key="doc_id")

    logs = str(out / "logs")
    stage1 = LocalPipelineExecutor(
        pipeline=[reader(), MinhashDedupSignature(output_folder=str(out / "signatures"), config=config,
                                                  language=split_words_tokenizer())],
        tasks=n_files, workers=args.workers, logging_dir=f"{logs}/signatures")
    stage2 = LocalPipelineExecutor(
        pipeline=[MinhashDedupBuckets(input_folder=str(out / "signatures"), output_folder=str(out / "buckets"),
                                      config=config)],
        tasks=config.num_buckets, workers=args.workers, logging_dir=f"{logs}/buckets", depends=stage1)
    stage3 = LocalPipelineExecutor(
        pipeline=[MinhashDedupCluster(input_folder=str(out / "buckets"), output_folder=str(out / "remove_ids"),
                                      config=config)],
        tasks=1, logging_dir=f"{logs}/clusters", depends=stage2)
    stage4 = LocalPipelineExecutor(
        pipeline=[reader(), MinhashDedupFilter(input_folder=str(out / "remove_ids")),
                  JsonlWriter(str(out / "deduped"), compression=None)],
        tasks=n_files, workers=args.workers, logging_dir=f"{logs}/filter", depends=stage3)
    stage4.run()
    return _count(args.input, out / "deduped")


def run_text_dedup(args) -> dict:
    out = Path(args.output)
    subprocess.run([sys.executable, "-m", "text_dedup.minhash", "--path", "json", "--data_files",
                    str(Path(args.input) / "*.jsonl"), "--split", "train", "--cache_dir", str(out / "cache"),
                    "--output", str(out / "deduped"), "--column", "text", "--num_perm", str(args.bands * args.rows),
                    "--b", str(args.bands), "--r", str(args.rows), "--ngram", str(args.ngram),
                    "--min_length", "0", "--hash_func", "xxh3", "--num_proc", str(args.workers)],
                   check=True, stdout=subprocess.DEVNULL)
    from datasets import load_from_disk

    return {"documents_in": _count_lines(args.input), "documents_out": len(load_from_disk(str(out / "deduped")))}


def _datasketch_signatures(payload):
    from datasketch import LeanMinHash, MinHash

    texts, ngram, num_perm = payload
    out = []
    for text in texts:
        words = WORD.findall(text.lower())
        grams = {" ".join(words[i:i + ngram]).encode() for i in range(max(len(words) - ngram + 1, 1))}
        m = MinHash(num_perm=num_perm)
        m.update_batch(list(grams))
        out.append(LeanMinHash(m))
    return out


def run_datasketch(args) -> dict:
    from datasketch import MinHashLSH

    num_perm = args.bands * args.rows
    files = sorted(Path(args.input).glob("*.jsonl"))
    rows = [line for f in files for line in f.open("rb")]
    texts = [json.loads(line)["text"] for line in rows]
    chunks = [(texts[i:i + 2000], args.ngram, num_perm) for i in range(0, len(texts), 2000)]
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        minhashes = [m for part in pool.map(_datasketch_signatures, chunks) for m in part]
    lsh = MinHashLSH(num_perm=num_perm, params=(args.bands, args.rows))
    parent = list(range(len(texts)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, m in enumerate(minhashes):
        for j in lsh.query(m):
            a, b = find(i), find(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
        lsh.insert(i, m)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    n_out = 0
    with (out / "deduped.jsonl").open("wb") as f:
        for i, line in enumerate(rows):
            if find(i) == i:
                f.write(line)
                n_out += 1
    return {"documents_in": len(rows), "documents_out": n_out}


def _count_lines(folder) -> int:
    return sum(1 for f in Path(folder).glob("*.jsonl") for line in f.open("rb") if line.strip())


def _count(input_dir, output_dir) -> dict:
    return {"documents_in": _count_lines(input_dir), "documents_out": _count_lines(output_dir)}


SYSTEMS = {"datatrove": run_datatrove, "text-dedup": run_text_dedup, "datasketch": run_datasketch}

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("system", choices=SYSTEMS)
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--bands", type=int, required=True)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--ngram", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(SYSTEMS[args.system](args)))
