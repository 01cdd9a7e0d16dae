"""compare(): exact Jaccard/containment, passages mapped to characters and lines; the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import corpora
from corpora.transforms import disguise
from dedupfilter.cli import main
from dedupfilter.compare import compare_texts
from dedupfilter.sketch import compare, sketch

from . import reference
from .conftest import stdlib_doc


def _function_at(doc, name):
    for fn in corpora.python_functions(doc):
        if fn.doc_id.split(":")[-1].startswith(name + "@"):
            return fn
    raise LookupError(name)


def test_exact_jaccard_and_containment_match_reference(stdlib_sample):
    a = sketch(stdlib_sample[1].text, "python")
    b = sketch(stdlib_sample[1].text[: len(stdlib_sample[1].text) // 3] + stdlib_sample[2].text, "python")
    result = compare(a, b)
    sa, sb = set(a.shingles.tolist()), set(b.shingles.tolist())
    assert result.jaccard == pytest.approx(reference.jaccard(sa, sb))
    assert result.containment_a == pytest.approx(len(sa & sb) / len(sa))
    assert result.containment_b == pytest.approx(len(sa & sb) / len(sb))


def test_copied_function_found_with_exact_lines():
    module = stdlib_doc("textwrap.py")
    fn = _function_at(module, "dedent")
    first_line = module.text[: module.text.index(fn.text)].count("\n") + 1
    last_line = first_line + fn.text.count("\n") - 1
    answer = "Here is some prose before the code.\n\n" + disguise(fn.text) + "\nAnd after.\n"
    verdict = compare_texts(answer, module.text, "python", b_path="textwrap.py")
    assert verdict.action == "block"
    (match,) = verdict.matches
    longest = max(match.spans, key=lambda s: s.tokens)
    # The passage runs from the function's first to its last line on both sides.
    assert longest.doc_lines[0] in (first_line, first_line + 1)
    assert longest.doc_lines[1] == last_line
    assert longest.query_lines[0] == 3
    assert answer[longest.query_start:longest.query_end].startswith("def ")
    assert module.text[longest.doc_start:longest.doc_end].startswith("def dedent")
    assert module.text[longest.doc_start:longest.doc_end].rstrip().endswith(fn.text.rstrip()[-10:])


def test_unrelated_modules_are_rarely_blocked(stdlib_docs):
    """Pairs of different modules: at most 5% blocked. compare() has no corpus to learn
    boilerplate from, so generic idioms (``__enter__``/``__exit__``) can reach the limit, and
    the standard library shares some code between modules."""
    docs = [d for d in stdlib_docs[::30] if not d.doc_id.startswith("stdlib:encodings/")][:10]
    pairs = [(a, b) for a in docs for b in docs if a is not b]
    blocked = [(a.doc_id, b.doc_id) for a, b in pairs
               if compare_texts(a.text[:20000], b.text[:20000], "python").action == "block"]
    assert len(blocked) <= 0.05 * len(pairs), blocked


def test_copied_paragraph_with_text_tricks(pydoc_docs):
    protected = max(pydoc_docs, key=lambda d: len(d.text))
    paragraph = max(protected.text.split("\n\n"), key=len)
    tricked = paragraph.upper().replace("a", "\u0430").replace(" ", "  \u200b").replace(",", " ;")
    answer = "As the manual puts it:\n\n" + tricked + "\n\nHope that helps."
    verdict = compare_texts(answer, protected.text, "text")
    assert verdict.action == "block"
    span = max(verdict.matches[0].spans, key=lambda s: s.tokens)
    assert span.tokens >= 0.9 * len(paragraph.split())
    assert protected.text[span.doc_start:span.doc_end].split()[0] == paragraph.split()[0]


def test_empty_inputs_are_allowed():
    verdict = compare_texts("", "", "text")
    assert verdict.action == "allow" and verdict.matches == ()


def test_verdict_json_has_the_contract_fields(tmp_path):
    module = stdlib_doc("textwrap.py")
    (tmp_path / "a.py").write_text(module.text[:5000])
    (tmp_path / "b.py").write_text(module.text)
    out = subprocess.run([sys.executable, "-m", "dedupfilter.cli", "compare", str(tmp_path / "a.py"),
                          str(tmp_path / "b.py"), "--json"], capture_output=True, text=True)
    assert out.returncode == 1, out.stderr
    verdict = json.loads(out.stdout)
    assert set(verdict) == {"action", "score", "reason", "matches"}
    assert verdict["action"] == "block"
    match = verdict["matches"][0]
    assert {"doc_id", "source", "jaccard", "containment", "spans"} <= set(match)
    span = match["spans"][0]
    assert {"query_start", "query_end", "doc_start", "doc_end", "query_lines", "doc_lines"} <= set(span)
    assert span["query_lines"][0] >= 1


def test_cli_exit_codes_and_errors(tmp_path, capsys):
    a = tmp_path / "a.txt"
    a.write_text("one two three four five six seven eight nine ten " * 5)
    other = tmp_path / "o.txt"
    other.write_text("completely different words appear in this file about nothing much")
    assert main(["compare", str(a), str(a)]) == 1
    assert main(["compare", str(a), str(other)]) == 0
    capsys.readouterr()
    assert main(["compare", str(a), str(tmp_path / "missing.txt")]) == 2
    assert "missing.txt: no such file" in capsys.readouterr().err
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x7fELF\x00\x01\x02" * 100)
    assert main(["compare", str(a), str(binary)]) == 2
    assert "binary" in capsys.readouterr().err
    assert main(["compare", str(a), str(a), "--lang", "klingon"]) == 2
    assert "unknown language" in capsys.readouterr().err
    assert main(["compare", str(a), str(a), "-k", "0"]) == 2
    assert main(["compare", str(tmp_path), str(a)]) == 2


def test_cli_invalid_utf8_is_a_warning_not_a_failure(tmp_path, capsys):
    a = tmp_path / "a.txt"
    a.write_bytes(b"caf\xe9 au lait and many more words to make a long enough text " * 4)
    assert main(["compare", str(a), str(a)]) == 1
    err = capsys.readouterr().err
    assert "invalid UTF-8 at byte 3" in err


def test_every_command_has_help_and_is_documented():
    from pathlib import Path

    from dedupfilter.cli import build_parser

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # argparse keeps them here
    assert {"compare", "normalize", "demo"} <= set(commands)
    for name, sub in commands.items():
        assert sub.description, name
        assert f"dedupfilter {name}" in readme, f"README does not document `dedupfilter {name}`"
        help_text = sub.format_help()
        for action in sub._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"{name} {action.option_strings} has no help"
        assert "usage:" in help_text


def test_normalize_command_prints_tokens(tmp_path, capsys):
    f = tmp_path / "x.go"
    f.write_text("package main\n\nfunc main() { x := 1 }\n")
    assert main(["normalize", str(f), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["lang"] == "go"
    assert [t["text"] for t in out["tokens"]][:3] == ["package", "main", "func"]


def test_demo_runs_and_catches_the_copy(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "BLOCK" in out and "ALLOW" in out
    assert "[removed: matches protected source stdlib:textwrap.py]" in out  # the streamed answer
    assert "left margin again" in out  # the prose after the copy went through
    assert np.any([line.strip().startswith("answer lines") for line in out.splitlines()])


def test_markdown_is_compared_as_prose_too_as_an_index_reads_it(pydoc_docs, tmp_path):
    """Help paragraphs with 10% of their words replaced, in a Markdown answer, against a
    Markdown page holding them: compared as prose too (prose's k), as the index compares
    them, so the two mostly agree (the index holds only winnowed fingerprints, so counts of
    evidence near the limit differ); a code docstring copied into an answer is a comment span."""
    from corpora.transforms import substitute_words
    from dedupfilter.index import build_index

    paragraphs = [p.text for d in pydoc_docs[:20] for p in corpora.paragraphs(d, min_words=40)][:40]
    agree = blocked = 0
    for i, p in enumerate(paragraphs):
        page = f"# Page\n\n{p}\n\n```python\nprint({i})\n```\n"
        answer = f"Sure:\n\n{substitute_words(p, 0.1, seed=i)}\n\n```sh\nls\n```\n"
        pair = compare_texts(answer, page, "markdown")
        index, _ = build_index(tmp_path / f"i{i}", [corpora.Document("page", "page", page, "markdown")])
        agree += pair.action == index.query(answer, "markdown").action
        blocked += not pair.allowed
    assert agree >= 0.85 * len(paragraphs) and blocked >= 0.85 * len(paragraphs)
    module = stdlib_doc("textwrap.py")
    docstring = module.text[module.text.index('"""Remove any common'):module.text.index("Entirely blank lines")]
    verdict = compare_texts(f"It says:\n\n```python\n{docstring}\n```\n", module.text, "markdown",
                            reference_lang="python")
    assert verdict.matches[0].spans and {s.kind for s in verdict.matches[0].spans} == {"comment"}


def test_prose_passages_flag_at_the_word_limit(tmp_path, capsys, pydoc_docs):
    """compare, library and command line: a copied run of about 28 words flags at
    min_match_words (22), reported as prose, and not with --min-match-words 30."""
    from .test_index import _run_of

    source = max(pydoc_docs[:20], key=lambda d: len(d.text)).text
    answer = f"I wrote this myself.\n\n{_run_of(max(source.split(chr(10) * 2), key=len), 'text', 5, 28)}\n\nThe end.\n"
    verdict = compare_texts(answer, source, lang="text")
    assert verdict.action == "block" and "words (limit 22)" in verdict.reason
    assert all(s.prose for s in verdict.matches[0].spans)
    (tmp_path / "a.txt").write_text(answer)
    (tmp_path / "b.txt").write_text(source)
    assert main(["compare", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["matches"][0]["spans"][0]["prose"] is True
    assert main(["compare", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), "--min-match-words", "30"]) == 0
