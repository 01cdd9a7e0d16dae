"""The built-in demonstration, on this machine's own standard library.

The protected corpus is this interpreter's standard library (code) and the
Python reference's help topics (prose). First a simulated model answer is
streamed through the filter a word at a time, the way a serving stack would:
ordinary prose around a real standard-library function disguised the way a
copier or a model would (names changed, re-indented, comments and strings
reworded). The copy is redacted with attribution while the rest passes
through unchanged. Then three finished answers are checked: the disguised
function and a reference paragraph with Unicode tricks are blocked with the
protected document and its lines; code from an installed package passes.
"""

from __future__ import annotations

import functools
import json
import re
import tempfile
import time
from pathlib import Path

from corpora import Document, pydoc_topics, python_functions, site_packages_python, stdlib_python
from corpora.transforms import disguise

from ._kernels.warmup import warm_up
from .filter import OutputFilter
from .index import ProtectedIndex, build_index
from .index.sketching import default_workers
from .progress import Progress
from .verdict import Verdict

COPIED_MODULE = "stdlib:textwrap.py"
COPIED_FUNCTION = "dedent"
QUOTED_TOPIC = "pydoc:with"
UNRELATED_PACKAGE = "site:datasketch/lsh.py"


def _find(docs, doc_id: str) -> Document:
    for doc in docs:
        if doc.doc_id == doc_id:
            return doc
    raise SystemExit(f"dedupfilter demo: {doc_id} not found on this machine")


def _function(module: Document, name: str | None = None) -> Document:
    for fn in python_functions(module, min_lines=10):
        if name is None or fn.doc_id.split(":")[-1].startswith(f"{name}@"):
            return fn
    raise SystemExit(f"dedupfilter demo: no function {name!r} in {module.doc_id}")


def _tricks(text: str) -> str:
    """Upper case, Cyrillic look-alikes, zero-width spaces, full-width commas."""
    return text.upper().replace("A", "\u0410").replace("E", "\u0415").replace(" ", " \u200b") \
        .replace(",", "\uff0c")


@functools.lru_cache(maxsize=1)
def _copied_function() -> str:
    return disguise(_function(_find(stdlib_python(), COPIED_MODULE), COPIED_FUNCTION).text)


def streamed_answer() -> str:
    """A model's answer: prose, a disguised standard-library function, more prose."""
    return ("To remove the indentation that every line of a block shares, compare the leading "
            "white space of the lines and strip the longest common prefix. Blank lines should not "
            "count, or a single empty line would stop anything from being removed.\n\n"
            f"```python\n{_copied_function()}```\n\n"
            "Call it on a triple-quoted string before you print it, and the text lines up with the "
            "left margin again. If you also want to wrap long lines, do that after this step.\n")


def answers() -> list[tuple[str, str]]:
    paragraph = max(_find(pydoc_topics(), QUOTED_TOPIC).text.split("\n\n"), key=len)
    unrelated = disguise(_function(_find(site_packages_python(), UNRELATED_PACKAGE)).text)
    return [
        ("disguised copy of textwrap.dedent()",
         f"Sure! Here is a helper that strips common indentation.\n\n```python\n{_copied_function()}```\n\n"
         "Call it on your text before printing it.\n"),
        ("reference paragraph with Unicode tricks",
         f"The manual explains it like this:\n\n{_tricks(paragraph)}\n\nHope that helps.\n"),
        ("code from an installed package (not protected)",
         f"You can band signatures like this:\n\n```python\n{unrelated}```\n"),
    ]


def model_deltas(text: str) -> list[str]:
    """The answer cut the way a model sends it: a word or a symbol with the space before it."""
    return re.findall(r"\s*\w+|\s*[^\w\s]|\s+$", text)


def stream_demo(index: ProtectedIndex, answer: str, show: bool) -> dict:
    """Stream ``answer`` through a redacting filter; print what a reader would see."""
    warm_up()  # as a service does at start: no delta pays for loading a compiled kernel
    output_filter = OutputFilter(index, action="redact")
    session = output_filter.session()
    released, events, latencies = [], [], []
    if show:
        print("\n=== a model's answer, streamed through `OutputFilter(action=\"redact\")` a word at a time")
        print("-" * 100)
    for delta in [*model_deltas(answer), None]:
        started = time.perf_counter()
        items = session.push(delta) if delta is not None else session.close()
        latencies.append(time.perf_counter() - started)
        for item in items:
            if isinstance(item, str):
                released.append(item)
                if show:
                    print(item, end="", flush=True)
            else:
                events.append(item)
    out = "".join(released)
    final = events[-1]
    if show:
        print("-" * 100)
        for event in events[:-1]:
            print(f"event {event.kind} at character {event.offset}: {event.verdict.reason}")
        for m in final.verdict.matches[:1]:
            s = max(m.spans, key=lambda s: s.tokens)
            print(f"final verdict {final.verdict.action.upper()}: answer lines {s.query_lines[0]}-"
                  f"{s.query_lines[1]} copy {m.doc_id} lines {s.doc_lines[0]}-{s.doc_lines[1]} "
                  f"({s.tokens} {'words' if s.prose else 'tokens'})")
        removed = len(answer) - len(re.sub(r"\[removed: [^\]]*\]", "", out))
        pushes = sorted(1000 * t for t in latencies[:-1])
        print(f"{removed} characters removed, {sum(b - a for a, b in final.leaked)} of the copy shown "
              f"before it was caught. Filter time per delta ({len(pushes)} deltas): p50 "
              f"{pushes[len(pushes) // 2]:.3f} ms, p99 {pushes[int(0.99 * len(pushes))]:.2f} ms; "
              f"final check of the whole answer {1000 * latencies[-1]:.1f} ms")
    return {"output": out, "events": [e.to_dict() for e in events]}


def _show(title: str, answer: str, verdict: Verdict) -> None:
    print(f"\n=== {title}")
    print(f"verdict: {verdict.action.upper()}   score {verdict.score:.2f}")
    print(f"reason:  {verdict.reason}")
    for m in verdict.matches[:1]:
        for s in sorted(m.spans, key=lambda s: -s.tokens)[:1]:
            print(f"  answer lines {s.query_lines[0]}-{s.query_lines[1]}  <->  {m.doc_id} lines "
                  f"{s.doc_lines[0]}-{s.doc_lines[1]}  ({s.tokens} {'words' if s.prose else 'tokens'})")
            excerpt = answer[s.query_start:s.query_end].splitlines()
            for line in excerpt[:3]:
                print(f"    | {line[:100]}")
            if len(excerpt) > 3:
                print(f"    | ... ({len(excerpt) - 3} more lines)")


def run_demo(index_path: str | None = None, json_output: bool = False) -> int:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dedupfilter-demo-") as tmp:
        path = Path(index_path) if index_path else Path(tmp) / "stdlib-index"
        reused = bool(index_path) and (path / "CURRENT").exists()
        if reused:
            index = ProtectedIndex.open(path)
        else:
            docs = [*stdlib_python(), *pydoc_topics()]
            with Progress("indexing the standard library", total=len(docs),
                          enabled=None if not json_output else False) as progress:
                index, _ = build_index(path, docs, n_workers=default_workers(), on_batch=progress.update)
        built = time.perf_counter()
        if not json_output:
            stats = index.stats()
            print(f"protected: {stats['documents']} documents of this Python's standard library and help "
                  f"topics, {stats['fingerprints']:,} fingerprints, {stats['bytes_on_disk'] / 1e6:.1f} MB "
                  f"({'opened' if reused else 'indexed'} in {built - started:.1f} s)")
        answer = streamed_answer()
        streamed = stream_demo(index, answer, show=not json_output)
        results = [(title, text, index.query(text)) for title, text in answers()]
        if json_output:
            print(json.dumps({"case": "streamed answer, redact", **streamed}))
            for title, _, verdict in results:
                print(json.dumps({"case": title, **verdict.to_dict()}))
        else:
            print("\n\nThree finished answers, checked whole (`dedupfilter query`):")
            for title, text, verdict in results:
                _show(title, text, verdict)
            print(f"\n(3 answers checked in {time.perf_counter() - built:.2f} s)")
    redacted = ("[removed: matches protected source " + COPIED_MODULE in streamed["output"]
                and streamed["events"][-1]["leaked"] == [])
    expected = ["block", "block", "allow"]
    return 0 if redacted and [v.action for _, _, v in results] == expected else 1
