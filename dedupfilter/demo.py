"""The built-in demonstration, on this machine's own standard library.

The protected corpus is this interpreter's standard library (code) and the
Python reference's help topics (prose). Three model answers are checked:
one pastes a real standard-library function disguised the way a copier or a
model would (names changed, re-indented, comments and strings reworded),
one quotes a reference paragraph with Unicode tricks, and one uses code from
an installed third-party package. The first two are blocked with the
protected document and its lines; the third passes.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from corpora import Document, pydoc_topics, python_functions, site_packages_python, stdlib_python
from corpora.transforms import disguise

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


def answers() -> list[tuple[str, str]]:
    copied = disguise(_function(_find(stdlib_python(), COPIED_MODULE), COPIED_FUNCTION).text)
    paragraph = max(_find(pydoc_topics(), QUOTED_TOPIC).text.split("\n\n"), key=len)
    unrelated = disguise(_function(_find(site_packages_python(), UNRELATED_PACKAGE)).text)
    return [
        ("disguised copy of textwrap.dedent()",
         f"Sure! Here is a helper that strips common indentation.\n\n```python\n{copied}```\n\n"
         "Call it on your text before printing it.\n"),
        ("reference paragraph with Unicode tricks",
         f"The manual explains it like this:\n\n{_tricks(paragraph)}\n\nHope that helps.\n"),
        ("code from an installed package (not protected)",
         f"You can band signatures like this:\n\n```python\n{unrelated}```\n"),
    ]


def _show(title: str, answer: str, verdict: Verdict) -> None:
    print(f"\n=== {title}")
    print(f"verdict: {verdict.action.upper()}   score {verdict.score:.2f}")
    print(f"reason:  {verdict.reason}")
    for m in verdict.matches[:1]:
        for s in sorted(m.spans, key=lambda s: -s.tokens)[:1]:
            print(f"  answer lines {s.query_lines[0]}-{s.query_lines[1]}  <->  {m.doc_id} lines "
                  f"{s.doc_lines[0]}-{s.doc_lines[1]}  ({s.tokens} tokens)")
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
        results = [(title, text, index.query(text)) for title, text in answers()]
        if json_output:
            for title, _, verdict in results:
                print(json.dumps({"case": title, **verdict.to_dict()}))
        else:
            stats = index.stats()
            print(f"protected: {stats['documents']} documents of this Python's standard library and help "
                  f"topics, {stats['fingerprints']:,} fingerprints, {stats['bytes_on_disk'] / 1e6:.1f} MB "
                  f"({'opened' if reused else 'indexed'} in {built - started:.1f} s)")
            for title, text, verdict in results:
                _show(title, text, verdict)
            print(f"\n(3 answers checked in {time.perf_counter() - built:.2f} s)")
    expected = ["block", "block", "allow"]
    return 0 if [v.action for _, _, v in results] == expected else 1
