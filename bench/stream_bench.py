"""The streaming filter against a 1M-document index: time per delta, total overhead, leaks.

    python bench/index_bench.py run --docs 1000000     # the index and the corpus (once)
    taskset -c 0 python bench/stream_bench.py          # [--index DIR] [--answers 40]

Answers are ~2,000-token model outputs made of real text the index does not hold:
paragraphs and code chunks held out of the index (index_bench's holdout.jsonl),
code in Markdown fences. Half of them carry, in the middle, a disguised copy
(names renamed, re-indented, comments and strings reworded) of a Python function
the index holds. Each answer is cut into deltas of 16 model tokens (a token: a
word or a symbol with its space, ``dedupfilter.demo.model_deltas``) and streamed
through ``OutputFilter(action="redact")`` on one core (NUMBA_NUM_THREADS=1; run
under ``taskset -c 0``).

Reported: filter time per delta (p50, p99, max) and per answer (every push plus
the final check) beside the 66.7 s a 2,000-token answer takes at 30 tokens/s;
copies caught and characters of a copy shown before the catch, at hold-backs of
15, 30 (the default) and 60 tokens; answers redacted that copy nothing; and the
baseline a simple integration would use: ``check()`` of the whole text so far
after every delta, on the same answers.
"""

from __future__ import annotations

import argparse
import dataclasses
import ast
import datetime
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

for _name, _value in {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}.items():
    os.environ.setdefault(_name, _value)

from index_bench import WORK, environment  # noqa: E402  (bench/ is the script's directory)

from corpora.transforms import disguise  # noqa: E402
from dedupfilter import normalize  # noqa: E402
from dedupfilter.demo import model_deltas  # noqa: E402
from dedupfilter.filter import CHECK_EVERY, LOOKBACK, OutputFilter  # noqa: E402
from dedupfilter.index import ProtectedIndex  # noqa: E402

RESULTS = Path(__file__).parent / "results"
TOKENS_PER_ANSWER = 2000
TOKENS_PER_DELTA = 16
GENERATION_TOKENS_PER_S = 30
HOLD_BACKS = (15, 30, 60)
CODE_LANGS = ("python", "c", "go", "java")


def read_jsonl(path: Path, limit: int | None = None):
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f):
            if limit is not None and i >= limit:
                return
            yield json.loads(line)


def held_out_pieces(index: ProtectedIndex, limit: int = 3000) -> tuple[list[str], list[tuple[str, str]], int]:
    """Prose paragraphs and (lang, code) chunks of files the index does not hold, and that
    copy nothing it holds (Linux repeats itself across files: those chunks are left out
    and counted)."""
    prose, code, copying = [], [], 0
    rows = [r for r in read_jsonl(WORK / "holdout.jsonl") if 300 <= len(r["text"]) <= 1500
            and r["lang"] in ("text", *CODE_LANGS)]
    for row in random.Random(1).sample(rows, min(limit, len(rows))):
        if not index.query(row["text"], row["lang"]).allowed:
            copying += 1
        elif row["lang"] == "text":
            prose.append(row["text"].strip())
        else:
            code.append((row["lang"], row["text"]))
    return prose, code, copying


def protected_functions(n_indexed: int, n: int, rng: random.Random) -> list[tuple[str, str]]:
    """(doc_id, disguised text) of Python functions the index holds, 80+ tokens after disguise."""
    found = []
    for row in read_jsonl(WORK / "pool.jsonl", n_indexed):
        if row["lang"] == "python" and 600 <= len(row["text"]) <= 2500:
            found.append(row)
    rng.shuffle(found)
    out = []
    for row in found:
        try:
            ast.parse(row["text"])
            copied = disguise(row["text"])
        except (SyntaxError, ValueError):
            continue
        if len(normalize(copied, "python")) >= 80:
            out.append((row["doc_id"], copied))
        if len(out) == n:
            break
    return out


def fence(lang: str, code: str) -> str:
    return f"```{lang}\n{code.rstrip()}\n```"


def make_answer(prose: list[str], code: list[tuple[str, str]], rng: random.Random,
                copied: str | None) -> tuple[str, tuple[int, int] | None]:
    """~TOKENS_PER_ANSWER model tokens of held-out prose and code; the copy, if any, in the middle.
    Returns the answer and the character range of the copied code."""
    parts: list[str] = []
    n_tokens, where = 0, None
    while n_tokens < TOKENS_PER_ANSWER:
        if copied is not None and where is None and n_tokens >= TOKENS_PER_ANSWER // 2:
            piece = fence("python", copied)
            where = len(parts)
        elif len(parts) % 2 == 0:
            piece = rng.choice(prose)
        else:
            piece = fence(*rng.choice(code))
        parts.append(piece)
        n_tokens += len(model_deltas(piece))
    answer = "\n\n".join(parts) + "\n"
    if where is None:
        return answer, None
    start = len("\n\n".join(parts[:where])) + 2 + len("```python\n")
    return answer, (start, start + len(copied.rstrip()))


def deltas_of(answer: str) -> list[str]:
    tokens = model_deltas(answer)
    return ["".join(tokens[i:i + TOKENS_PER_DELTA]) for i in range(0, len(tokens), TOKENS_PER_DELTA)]


def stream_once(output_filter: OutputFilter, deltas: list[str]) -> dict:
    session = output_filter.session()
    push_s, items = [], []
    for delta in deltas:
        t = time.perf_counter()
        items += session.push(delta)
        push_s.append(time.perf_counter() - t)
    t = time.perf_counter()
    items += session.close()
    close_s = time.perf_counter() - t
    events = [i for i in items if not isinstance(i, str)]
    return {"push_s": push_s, "close_s": close_s, "output": "".join(i for i in items if isinstance(i, str)),
            "events": events}


def shown_of_copy(answer: str, output: str, copy_range: tuple[int, int], leaked) -> int:
    """Characters of the copied code the reader saw: leaked ranges inside the copy."""
    a, b = copy_range
    return sum(max(0, min(e, b) - max(s, a)) for s, e in leaked)


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run(args) -> dict:
    rng = random.Random(0)
    index = ProtectedIndex.open(args.index, verify=False)
    prose, code, copying = held_out_pieces(index)
    copies = protected_functions(len(index), args.answers // 2, rng)
    answers = [(*make_answer(prose, code, rng, None), None) for _ in range(args.answers - len(copies))]
    answers += [(*make_answer(prose, code, rng, text), doc_id) for doc_id, text in copies]
    print(f"{len(answers)} answers ({len(copies)} with a copy), index of {len(index):,} documents", flush=True)

    options = {"lookback": args.lookback, "check_every": args.check_every}
    if args.piece_gap is not None:  # else the policy stored in the index
        options["policy"] = dataclasses.replace(index.policy, piece_gap=args.piece_gap)
    warm = OutputFilter(index, action="redact", **options)
    for answer, _, _ in answers[:2]:
        stream_once(warm, deltas_of(answer))

    by_hold_back = {}
    for hold_back in HOLD_BACKS:
        f = OutputFilter(index, action="redact", hold_back=hold_back, **options)
        rows = []
        for answer, copy_range, doc_id in answers:
            r = stream_once(f, deltas_of(answer))
            final = r["events"][-1]
            row = {"chars": len(answer), "deltas": len(r["push_s"]), "push_s": r["push_s"], "close_s": r["close_s"],
                   "copy": doc_id is not None, "flagged": not final.verdict.allowed,
                   "redact_events": sum(e.kind == "redact" for e in r["events"]),
                   "found_source": doc_id is not None and any(
                       m.doc_id == doc_id for e in r["events"] for m in e.verdict.matches)}
            if doc_id is not None:
                row["copy_chars"] = copy_range[1] - copy_range[0]
                row["copy_shown"] = shown_of_copy(answer, r["output"], copy_range, final.leaked)
                row["longest_shown_tokens"] = max((len(normalize(answer[a:b], "python")) for a, b in final.leaked),
                                                  default=0)
            rows.append(row)
        by_hold_back[hold_back] = rows
        print(f"hold-back {hold_back}: done", flush=True)

    # The same answers with the language given, as a chat service knows its outputs are Markdown:
    # no guessing of the stream's language.
    declared = OutputFilter(index, action="redact", lang="markdown", **options)
    declared_push_s = [t for answer, _, _ in answers for t in stream_once(declared, deltas_of(answer))["push_s"]]

    naive = []
    f = OutputFilter(index, action="redact", **options)
    for answer, _, _ in answers[:args.naive]:
        text, times = "", []
        for delta in deltas_of(answer):
            text += delta
            t = time.perf_counter()
            f.check(text)
            times.append(time.perf_counter() - t)
        naive.append(times)
    growth = parse_growth(code)
    return {"answers": len(answers), "copies": len(copies), "index_documents": len(index), "parse_growth": growth,
            "options": {k: v for k, v in options.items() if k != "policy"}, "piece_gap": args.piece_gap, "pieces": {"prose": len(prose), "code": len(code), "left_out_as_copies": copying},
            "by_hold_back": by_hold_back, "naive_check_per_delta_s": naive, "declared_push_s": declared_push_s}


def parse_growth(code: list[tuple[str, str]], n_blocks: int = 200) -> dict:
    """A code block growing 64 characters at a time, as a stream sees it: tree-sitter
    parse time when each step parses the block afresh and when it edits the previous
    tree and parses incrementally, the time a parse and leaf walk (``normalize_code``'s
    tokenization) take on the same text, and the time the stream's lexer takes on the
    64 new characters (what the filter does)."""
    from dedupfilter.normalize.code import _leaves, lex_code
    from dedupfilter.normalize.languages import parser_for
    from dedupfilter.sketch import shingle_hashes

    fresh_s = incremental_s = walk_s = lex_s = 0.0
    kept: dict[str, list[int]] = {}  # language: [k-grams of the parse the lexer also has, k-grams of the parse]
    for lang, text in code:
        parsed = set(shingle_hashes(normalize(text, lang)).tolist())
        lexed = set(shingle_hashes(lex_code(text, lang)[0]).tolist())
        counts = kept.setdefault(lang, [0, 0])
        counts[0] += len(parsed & lexed)
        counts[1] += len(parsed)
    steps = 0
    for lang, text in code[:n_blocks]:
        parser = parser_for(lang)
        data = text.encode()
        tree = None
        for end in range(64, len(data) + 64, 64):
            piece = data[:min(end, len(data))]
            t = time.perf_counter()
            parser.parse(piece)
            fresh_s += time.perf_counter() - t
            t = time.perf_counter()
            if tree is not None:
                old_end = tree.root_node.end_byte
                tree.edit(start_byte=old_end, old_end_byte=old_end, new_end_byte=len(piece),
                          start_point=tree.root_node.end_point, old_end_point=tree.root_node.end_point,
                          new_end_point=(piece.count(b"\n"), len(piece) - piece.rfind(b"\n") - 1))
            tree = parser.parse(piece, tree) if tree is not None else parser.parse(piece)
            incremental_s += time.perf_counter() - t
            t = time.perf_counter()
            _leaves(piece, lang)
            walk_s += time.perf_counter() - t
            new = piece[max(0, end - 64):].decode("utf-8", "replace")
            t = time.perf_counter()
            lex_code(new, lang)
            lex_s += time.perf_counter() - t
            steps += 1
    return {"blocks": min(n_blocks, len(code)), "steps": steps, "fresh_parse_us": 1e6 * fresh_s / steps,
            "incremental_parse_us": 1e6 * incremental_s / steps, "parse_and_walk_us": 1e6 * walk_s / steps,
            "lex_new_us": 1e6 * lex_s / steps,
            "lexed_kgrams_kept": {lang: {"kept": a, "parsed": b, "share": a / max(b, 1)} for lang, (a, b) in kept.items()},
            "chunks_compared": len(code)}


def summarize(result: dict) -> dict:
    default = result["by_hold_back"][30]
    pushes = [t for row in default for t in row["push_s"]]
    totals = [sum(row["push_s"]) + row["close_s"] for row in default]
    generation_s = TOKENS_PER_ANSWER / GENERATION_TOKENS_PER_S
    naive_totals = [sum(times) for times in result["naive_check_per_delta_s"]]
    naive_deltas = [t for times in result["naive_check_per_delta_s"] for t in times]
    leaks = {}
    for hold_back, rows in result["by_hold_back"].items():
        copies = [r for r in rows if r["copy"]]
        clean = [r for r in rows if not r["copy"]]
        leaks[hold_back] = {
            "copies_caught": sum(r["flagged"] and r["found_source"] for r in copies), "copies": len(copies),
            "copies_shown_any": sum(r["copy_shown"] > 0 for r in copies),
            "copy_chars_shown": sum(r["copy_shown"] for r in copies),
            "copy_chars": sum(r["copy_chars"] for r in copies),
            "longest_shown_tokens": max((r["longest_shown_tokens"] for r in copies), default=0),
            "clean_redacted": sum(r["flagged"] or r["redact_events"] > 0 for r in clean), "clean": len(clean),
            "added_latency_s": hold_back / GENERATION_TOKENS_PER_S,
        }
    declared = result["declared_push_s"]
    return {
        "per_delta_ms": {"p50": 1000 * percentile(pushes, 0.5), "p99": 1000 * percentile(pushes, 0.99),
                         "max": 1000 * max(pushes), "mean": 1000 * statistics.mean(pushes)},
        "per_delta_ms_markdown": {"p50": 1000 * percentile(declared, 0.5), "p99": 1000 * percentile(declared, 0.99),
                                  "max": 1000 * max(declared)},
        "final_check_ms": {"p50": 1000 * percentile([r["close_s"] for r in default], 0.5),
                           "max": 1000 * max(r["close_s"] for r in default)},
        "per_answer_s": {"p50": percentile(totals, 0.5), "max": max(totals)},
        "overhead_share": {"p50": percentile(totals, 0.5) / generation_s, "max": max(totals) / generation_s},
        "chars_per_answer": statistics.mean(r["chars"] for r in default),
        "deltas_per_answer": statistics.mean(r["deltas"] for r in default),
        "naive": {"answers": len(naive_totals), "per_delta_ms_p50": 1000 * percentile(naive_deltas, 0.5),
                  "per_delta_ms_p99": 1000 * percentile(naive_deltas, 0.99),
                  "per_answer_s_p50": percentile(naive_totals, 0.5)} if naive_totals else None,
        "leaks": leaks,
        "parse_growth": result["parse_growth"],
    }


def render(result: dict, summary: dict, env: dict, command: str) -> str:
    s = summary
    d, dm = s["per_delta_ms"], s["per_delta_ms_markdown"]
    n = s["naive"] or {"answers": 0, "per_delta_ms_p50": float("nan"), "per_delta_ms_p99": float("nan"),
                       "per_answer_s_p50": float("nan")}
    lines = [
        "# Streaming filter: time per delta, overhead, leaks (1M-document index)", "",
        f"- Date: {datetime.date.today()}. Machine: {env['cpu']}, {env['cores']} cores (shared with other jobs), "
        f"one core used. dedupfilter {env['dedupfilter']}. Load average at the end: "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}.",
        f"- Command: `{command}`. Index: {result['index_documents']:,} documents "
        "(`python bench/index_bench.py run --docs 1000000`).",
        f"- OutputFilter lookback {result['options']['lookback']} characters, checkpoints every "
        f"{result['options']['check_every']} characters.",
        f"- {result['answers']} answers of ~{TOKENS_PER_ANSWER:,} model tokens ({s['chars_per_answer']:,.0f} "
        f"characters, {s['deltas_per_answer']:.0f} deltas of {TOKENS_PER_DELTA} tokens), held-out prose and code; "
        f"{result['copies']} carry a disguised copy of an indexed Python function. `OutputFilter(action=\"redact\")`.",
        f"- Pieces: {result['pieces']['prose']} paragraphs and {result['pieces']['code']} code chunks held out of "
        f"the index; {result['pieces']['left_out_as_copies']} more held-out pieces were left out because "
        "`query` finds them copied in indexed files (Linux repeats code and documentation across files).",
        "",
        "## Time (hold-back 30, the default)", "",
        "| measure | dedupfilter stream | check() of the text so far after every delta | target |",
        "|---|---|---|---|",
        f"| filter time per 16-token delta, p50 | {d['p50']:.3f} ms | {n['per_delta_ms_p50']:.1f} ms | |",
        f"| filter time per 16-token delta, p99 | {d['p99']:.2f} ms | {n['per_delta_ms_p99']:.1f} ms | 0.1 ms |",
        f"| filter time per delta, max | {d['max']:.1f} ms | | |",
        f"| the same, language given (`lang=\"markdown\"`): p50 / p99 / max | {dm['p50']:.3f} / {dm['p99']:.2f} / "
        f"{dm['max']:.1f} ms | | |",
        f"| final check of the whole answer, p50 | {s['final_check_ms']['p50']:.1f} ms | | |",
        f"| filter time per 2,000-token answer, p50 (max) | {s['per_answer_s']['p50']:.2f} s "
        f"({s['per_answer_s']['max']:.2f} s) | {n['per_answer_s_p50']:.2f} s ({n['answers']} answers) | |",
        f"| share of a 30 tokens/s generation (66.7 s), p50 (max) | {100 * s['overhead_share']['p50']:.2f}% "
        f"({100 * s['overhead_share']['max']:.2f}%) | {100 * n['per_answer_s_p50'] / 66.7:.2f}% | < 1% |",
        "",
        "A 16-token delta is 60-80 characters, so most deltas cross one checkpoint (every 64 characters, "
        "at a space): it tokenizes the new text onto the stream's token tape, looks up the k-grams it "
        "completes, and matches the window (the lookback, the held-back text and the new text) from the "
        "tape. Without a given language, the head of the stream is also guessed at 128, 256, 512 and "
        "1,024 characters (a grammar parse per checkpoint while a guess is under way). The load average "
        "during the run says how much other jobs took.",
        "",
        "## Leaks and latency by hold-back", "",
        "| hold-back (tokens) | latency it adds at 30 tokens/s | copies caught (right source) | "
        "copies with any character shown | copy characters shown | longest run shown (normalized tokens) | "
        "clean answers redacted |",
        "|---|---|---|---|---|---|---|",
    ]
    for hold_back, leak in s["leaks"].items():
        lines.append(f"| {hold_back} | {leak['added_latency_s']:.1f} s | {leak['copies_caught']}/{leak['copies']} | "
                     f"{leak['copies_shown_any']}/{leak['copies']} | {leak['copy_chars_shown']:,} of "
                     f"{leak['copy_chars']:,} | {leak['longest_shown_tokens']} | "
                     f"{leak['clean_redacted']}/{leak['clean']} |")
    lines += ["", "Characters shown are those the final check flags that had been released before any "
              "checkpoint caught them (the `leaked` field of the final event); a run shown is counted in "
              "normalized Python tokens, to compare with the 30-token match length."]
    g = s["parse_growth"]
    lines += ["", "## Code: parse, parse incrementally, or lex?", "",
              f"{g['blocks']} held-out code blocks grown 64 characters at a time ({g['steps']:,} steps), time per step:",
              "", "| tree-sitter parse afresh | tree-sitter incremental parse (edit + parse) | "
              "parse + leaf walk (`normalize_code`) | lexing the 64 new characters (`lex_code`, the stream's way) |",
              "|---|---|---|---|",
              f"| {g['fresh_parse_us']:.0f} us | {g['incremental_parse_us']:.0f} us | {g['parse_and_walk_us']:.0f} us "
              f"| {g['lex_new_us']:.0f} us |",
              "", f"An incremental parse's leaves would still need a walk: a parse and walk take "
              f"{g['parse_and_walk_us'] / g['lex_new_us']:.0f}x what lexing the new text does. The stream lexes, "
              "and so does `check()`: a query's code is lexed unless `parse_code=True`. What lexing loses: the "
              "share of each held-out chunk's k-grams (parsed, as the index's documents are) that the lexer "
              f"also gives, over all {g['chunks_compared']:,} held-out code chunks:", "",
              "| language | chunks' k-grams (parse) | also given by `lex_code` |", "|---|---|---|"]
    for lang, k in sorted(g["lexed_kgrams_kept"].items()):
        lines.append(f"| {lang} | {k['parsed']:,} | {100 * k['share']:.1f}% |")
    lines.append("")

    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", default=str(WORK / "n1000000" / "index"))
    parser.add_argument("--answers", type=int, default=40)
    parser.add_argument("--naive", type=int, default=4, help="answers timed with check() after every delta")
    parser.add_argument("--lookback", type=int, default=LOOKBACK, help="OutputFilter lookback (characters)")
    parser.add_argument("--check-every", type=int, default=CHECK_EVERY, help="OutputFilter check_every (characters)")
    parser.add_argument("--piece-gap", type=int, default=None,
                        help="FilterPolicy.piece_gap (default: the index's stored policy's; results then go to "
                             "stream_piece_gapN.*)")
    args = parser.parse_args()
    if not Path(args.index, "CURRENT").exists():
        sys.exit(f"no index at {args.index}: run `python bench/index_bench.py run --docs 1000000` first")
    result = run(args)
    summary = summarize(result)
    env = environment()
    command = "taskset -c 0 python bench/stream_bench.py" + "".join(
        f" --{name.replace('_', '-')} {getattr(args, name)}" for name, default in
        (("answers", 40), ("lookback", LOOKBACK), ("check_every", CHECK_EVERY), ("piece_gap", None))
        if getattr(args, name) != default)
    stem = "stream" if args.piece_gap is None else f"stream_piece_gap{args.piece_gap}"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps({"summary": summary, "environment": env, "command": command,
                                                     "date": str(datetime.date.today())}, indent=2))
    (RESULTS / f"{stem}.md").write_text(render(result, summary, env, command))
    print(render(result, summary, env, command))


if __name__ == "__main__":
    main()
