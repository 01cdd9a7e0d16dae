"""Language detection for unlabelled text, on labelled prose and code no one here wrote.

    python bench/detect.py            # writes bench/results/detect.md and detect.json

``detect_language`` decides what an unlabelled query (a model's output with no
fence and no language hint) is normalized as; prose read as code, or code read
as prose, loses copies. Compared here: the rule before this bench (content
cues only: one cue that reads as prose, or no cue, is prose) and the shipped one
(two cues decide; otherwise the grammar the text parses best with, or prose when
every grammar fails on more than MAX_ERROR_SHARE of it).

Sets: paragraphs and 4,000-character openings of the Python reference's help
topics (prose, the topics with code examples in them), this interpreter's
standard library in 4,000-character chunks (Python), and, when
``bench/index_bench.py prepare`` has run, held-out Linux documentation
paragraphs (prose) and C, Go and Java chunks (its /tmp/idxbench/holdout.jsonl).
"""

from __future__ import annotations

import datetime
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import corpora  # noqa: E402
from dedupfilter.normalize import languages  # noqa: E402

RESULTS = Path(__file__).parent / "results"
HOLDOUT = Path("/tmp/idxbench/holdout.jsonl")
PER_SET = 300


def cues_only(text: str) -> str:
    """The rule detect_language followed before: content cues alone."""
    if "```" in text or "~~~" in text:
        return languages.MARKDOWN
    scores = languages.cue_scores(text)
    best = max(languages._DETECT_ORDER, key=lambda lang: scores[lang])
    if scores[best] == 0 or (scores[best] == 1 and languages._looks_like_prose(text[:20000])):
        return languages.TEXT
    if best == "c" and scores["cpp"] > 0:
        return "cpp"
    if best == "javascript" and scores["typescript"] > 0:
        return "typescript"
    return best


def labelled_sets() -> dict[str, tuple[list[str], tuple[str, ...]]]:
    rng = random.Random(0)
    topics = list(corpora.pydoc_topics())
    paragraphs = [p for d in topics for p in d.text.split("\n\n") if len(p) > 200]
    stdlib = [d.text[i:i + 4000] for d in list(corpora.stdlib_python())[::3]
              for i in range(0, min(len(d.text), 12000), 4000)]
    sets = {
        "help-topic paragraphs": (rng.sample(paragraphs, min(PER_SET, len(paragraphs))), ("text",)),
        "help topics, first 4,000 characters": ([d.text[:4000] for d in topics], ("text",)),
        "standard-library Python, 4,000-character chunks": (rng.sample(stdlib, min(PER_SET, len(stdlib))),
                                                            ("python",)),
    }
    if HOLDOUT.is_file():
        rows = [json.loads(line) for line in HOLDOUT.open(encoding="utf-8")]
        rng.shuffle(rows)
        for lang, name, expected in (("text", "Linux documentation paragraphs", ("text",)),
                                     ("c", "Linux C chunks", ("c", "cpp")),
                                     ("go", "Go standard-library chunks", ("go",)),
                                     ("java", "JDK Java chunks", ("java",))):
            sets[name] = ([r["text"][:4000] for r in rows if r["lang"] == lang][:PER_SET], expected)
    return sets


def main() -> None:
    sets = labelled_sets()
    rows, result = [], {}
    for name, (texts, expected) in sets.items():
        entry = {"n": len(texts), "expected": expected}
        for label, detect in (("cues_only", cues_only), ("shipped", languages.detect_language)):
            started = time.perf_counter()
            right = sum(detect(t) in expected for t in texts)
            entry[label] = {"accuracy": right / len(texts), "ms_per_text": 1000 * (time.perf_counter() - started)
                            / len(texts)}
        result[name] = entry
        rows.append(f"| {name} | {' or '.join(expected)} | {len(texts)} | {entry['cues_only']['accuracy']:.3f} | "
                    f"**{entry['shipped']['accuracy']:.3f}** | {entry['shipped']['ms_per_text']:.1f} |")
        print(rows[-1], flush=True)
    md = [
        "# Language detection of unlabelled text", "",
        f"- Date: {datetime.date.today()}. Command: `python bench/detect.py` (see its docstring for the sets).",
        f"- Shipped rule: two content cues decide; else grammar with the smallest share of bytes in error nodes, "
        f"prose above {languages.MAX_ERROR_SHARE}. Baseline: content cues only (the rule before).", "",
        "| set | right answer | n | cues only | shipped | shipped, ms per text |", "|---|---|---:|---:|---:|---:|",
        *rows, "",
        "Help topics carry Python examples and grammar rules; they are indexed as prose, so prose is the "
        "answer that finds their copies.", ""]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "detect.md").write_text("\n".join(md))
    (RESULTS / "detect.json").write_text(json.dumps({"date": str(datetime.date.today()), "sets": result}, indent=1))


if __name__ == "__main__":
    main()
