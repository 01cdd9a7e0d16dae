"""The built-in demonstration, on this machine's own standard library.

A real function is taken from a standard-library module, disguised the way
a copier or a model would (names changed, re-indented, comments and strings
reworded) and pasted into a prose answer. dedupfilter compares the answer
with the protected module and reports the copied lines on both sides; an
answer built around a function from another module passes.
"""

from __future__ import annotations

import json
import time

from corpora import Document, pydoc_topics, python_functions, stdlib_python
from corpora.transforms import disguise

from .compare import compare_texts
from .verdict import Verdict

PROTECTED_MODULE = "stdlib:textwrap.py"
COPIED_FUNCTION = "dedent"
UNRELATED_MODULE = "stdlib:shlex.py"


def _module(doc_id: str) -> Document:
    for doc in stdlib_python():
        if doc.doc_id == doc_id:
            return doc
    raise SystemExit(f"dedupfilter demo: {doc_id} not found in this interpreter's standard library")


def _function(module: Document, name: str | None = None) -> Document:
    for fn in python_functions(module, min_lines=10):
        if name is None or fn.doc_id.split(":")[-1].startswith(f"{name}@"):
            return fn
    raise SystemExit(f"dedupfilter demo: no function {name!r} in {module.doc_id}")


def _answer(code: str) -> str:
    prose = next(pydoc_topics()).text.strip().split("\n\n")[0]
    return (f"Sure! Here is a helper that does what you asked.\n\n{prose}\n\n"
            f"```python\n{code}```\n\nCall it on your text and print the result. Let me know if "
            "you need anything else.\n")


def _show(title: str, answer: str, verdict: Verdict, protected: Document) -> None:
    print(f"\n=== {title}")
    print(f"verdict: {verdict.action.upper()}   score {verdict.score:.2f}")
    print(f"reason:  {verdict.reason}")
    for m in verdict.matches:
        for s in m.spans:
            if s.tokens < 30:
                continue
            print(f"  answer lines {s.query_lines[0]}-{s.query_lines[1]}  <->  {protected.source} "
                  f"lines {s.doc_lines[0]}-{s.doc_lines[1]}  ({s.tokens} tokens)")
            excerpt = answer[s.query_start:s.query_end].splitlines()
            for line in excerpt[:4]:
                print(f"    | {line}")
            if len(excerpt) > 4:
                print(f"    | ... ({len(excerpt) - 4} more lines)")


def run_demo(json_output: bool = False) -> int:
    started = time.perf_counter()
    protected = _module(PROTECTED_MODULE)
    copied = disguise(_function(protected, COPIED_FUNCTION).text)
    unrelated = disguise(_function(_module(UNRELATED_MODULE)).text)
    copied_answer, clean_answer = _answer(copied), _answer(unrelated)
    copied_verdict = compare_texts(copied_answer, protected.text, "markdown", reference_lang="python",
                                   b_path=protected.source)
    clean_verdict = compare_texts(clean_answer, protected.text, "markdown", reference_lang="python",
                                  b_path=protected.source)
    if json_output:
        print(json.dumps({"case": "disguised copy", **copied_verdict.to_dict()}))
        print(json.dumps({"case": "unrelated code", **clean_verdict.to_dict()}))
    else:
        print(f"protected: {protected.source} ({len(protected.text.splitlines())} lines)")
        print(f"copied:    {COPIED_FUNCTION}() with every local name renamed, re-indented, comments "
              "and strings reworded, inside a Markdown answer")
        _show("answer with the disguised copy", copied_answer, copied_verdict, protected)
        _show(f"answer with a function from {UNRELATED_MODULE}", clean_answer, clean_verdict, protected)
        print(f"\n({time.perf_counter() - started:.1f} s, including first-run compilation)")
    ok = (not copied_verdict.allowed) and clean_verdict.allowed
    return 0 if ok else 1
