"""The disguises of corpora/transforms.py used by bench/evasion.py: each keeps
code valid and changes only what it says, and each prose disguise that
normalization is meant to undo is undone."""

from __future__ import annotations

import ast
import re
import textwrap
from collections import Counter

import numpy as np
import pytest

import corpora
from corpora import transforms as t
from dedupfilter.normalize import normalize

CODE_TRANSFORMS = [t.reorder_functions, t.insert_dead_code, t.reorder_statements, t.reformat,
                   t.insert_comments, t.remove_comments]
# Normalization drops comments and layout: these must leave the code tokens as they were.
TOKEN_PRESERVING = [t.reformat, t.insert_comments, t.remove_comments]
PROSE_INVARIANT = [t.homoglyphs, t.zero_width, t.change_case, t.change_punctuation, t.change_whitespace,
                   lambda text, seed: t.full_width(text)]


def _same_tokens(a: str, b: str, lang: str) -> bool:
    return np.array_equal(normalize(a, lang).hashes, normalize(b, lang).hashes)


@pytest.mark.parametrize("transform", CODE_TRANSFORMS, ids=lambda f: f.__name__)
def test_code_transforms_keep_real_modules_valid(transform, stdlib_sample):
    n_changed = 0
    for doc in stdlib_sample:
        out = transform(doc.text)
        ast.parse(out)
        n_changed += out != doc.text
        if transform in TOKEN_PRESERVING:
            assert _same_tokens(out, doc.text, "python"), doc.doc_id
    assert n_changed >= len(stdlib_sample) // 2


@pytest.mark.parametrize("transform", [t.reorder_functions, t.reorder_statements], ids=lambda f: f.__name__)
def test_reordering_keeps_every_line(transform, stdlib_sample):
    for doc in stdlib_sample:
        assert Counter(transform(doc.text).splitlines()) == Counter(doc.text.splitlines()), doc.doc_id


def test_reorder_functions_reverses_definitions_and_methods():
    source = textwrap.dedent('''\
        import os


        def first():
            return 1


        class Box:
            def a(self):
                return 2

            def b(self):
                return 3


        def last():
            return 4
        ''')
    out = t.reorder_functions(source)
    names = [n.name for n in ast.parse(out).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert names == ["last", "Box", "first"]
    box = next(n for n in ast.parse(out).body if isinstance(n, ast.ClassDef))
    assert [m.name for m in box.body] == ["b", "a"]
    assert out.startswith("import os\n")


def test_reorder_statements_swaps_only_independent_assignments():
    source = textwrap.dedent('''\
        def f(p):
            a = p + 1
            b = p * 2
            c = a + b
            d = c
            self.x = d
            self.y = 2
            return d
        ''')
    body = ast.parse(t.reorder_statements(source)).body[0].body
    targets = [ast.unparse(s.targets[0]) if isinstance(s, ast.Assign) else "return" for s in body]
    # a/b share no name: swapped; c reads a and b, d reads c, self.x reads d: kept; self.x/self.y: swapped.
    assert targets == ["b", "a", "c", "d", "self.y", "self.x", "return"]


def test_insert_dead_code_adds_unused_assignments_and_keeps_the_rest():
    source = textwrap.dedent('''\
        def f(p):
            a = p
            b = a
            if b:
                c = b
                d = c
            return a
        ''')
    out = t.insert_dead_code(source, every=2)
    ast.parse(out)
    added = [line for line in out.splitlines() if "unused_" in line]
    assert len(added) == 3
    assert [line for line in out.splitlines() if "unused_" not in line] == source.splitlines()


def test_prose_disguises_are_undone_by_normalization(pydoc_docs):
    paragraphs = [p.text for d in pydoc_docs[::10] for p in corpora.paragraphs(d)][:40]
    assert len(paragraphs) >= 20
    for transform in PROSE_INVARIANT:
        for seed, text in enumerate(paragraphs):
            out = transform(text, seed=seed)
            assert out != text
            assert _same_tokens(out, text, "text")


def test_substitute_words_replaces_about_the_share_asked(pydoc_docs):
    text = " ".join(d.text for d in pydoc_docs[:20])
    words = re.findall(r"[A-Za-z]+", text)
    out = re.findall(r"[A-Za-z]+", t.substitute_words(text, share=0.1, seed=3))
    assert len(out) == len(words)
    changed = np.mean([a != b for a, b in zip(words, out)])
    assert 0.06 < changed < 0.11  # some draws pick the word that was there
    assert t.substitute_words(text, seed=3) == t.substitute_words(text, seed=3)


def test_reword_edits_about_the_share_asked_and_breaks_long_runs(pydoc_docs):
    text = " ".join(p.text for d in pydoc_docs[:20] for p in corpora.paragraphs(d))
    words = text.split()
    out = t.reword(text, share=0.3, seed=5).split()
    assert t.reword(text, share=0.3, seed=5) == " ".join(out)  # deterministic per seed
    # Each edit adds, drops or replaces about one word; most words are still there.
    assert 0.85 < len(out) / len(words) < 1.1
    assert len(set(out) & set(words)) / len(set(words)) > 0.9

    def runs(ws, n):
        return {tuple(ws[i:i + n]) for i in range(len(ws) - n + 1)}
    kept = len(runs(out, 8) & runs(words, 8)) / len(runs(words, 8))
    assert kept < 0.15  # about 0.7 ** 8 of the 8-word runs survive
    assert t.reword(text, share=0.0).split() == words  # no edits: every word, in order
