"""The lexical tokenizer: the kernel against its regular-expression reference, and
``lex_code`` (code without a parse, as streams are read) against the parse."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupfilter._kernels.lex import lexemes, operator_table
from dedupfilter.normalize.code import lex_code, normalize_code
from dedupfilter.sketch import shingle_hashes

from . import reference
from .conftest import stdlib_doc
from .test_normalize_code import CASES, LANGS

# Bytes that make lexemes interesting: quotes, escapes, comment and operator characters, prefixes.
LEXEME_BYTES = st.binary(max_size=120).map(bytes) | st.lists(
    st.sampled_from([b" ", b"\n", b"\t", b"\"", b"'", b"`", b"\\", b"#", b"/", b"*", b".", b"1", b"e", b"+", b"-",
                     b"=", b">", b"<", b":", b"&", b"|", b"r", b"b", b"u", b"8", b"f", b"L", b"x", b"_", b"$",
                     b"\xc3\xa9", b"\xff", b"\"\"\"", b"'''", b"/*", b"*/", b"//", b"..."]),
    max_size=60).map(b"".join)


@settings(max_examples=400, deadline=None)
@given(data=LEXEME_BYTES, hash_comments=st.booleans(), signed_exponents=st.booleans())
def test_lexemes_match_the_regular_expression(data, hash_comments, signed_exponents):
    kinds, starts, ends = lexemes(np.frombuffer(data, np.uint8), hash_comments, *operator_table(), signed_exponents)
    assert list(zip(kinds.tolist(), starts.tolist(), ends.tolist())) == reference.lexemes(data, hash_comments,
                                                                                          signed_exponents)


def test_streams_lex_signed_exponents_as_the_grammars_do():
    text = "x = 1e-5 + 2.5E+10 - 3e5\n"
    stream = lex_code(text, "python")[0]
    assert [text[s:e] for s, e in zip(stream.starts.tolist(), stream.ends.tolist())] == \
        ["x", "=", "1e-5", "+", "2.5E+10", "-", "3e5"]
    assert [text[s:e] for s, e in zip(stream.starts.tolist(), stream.ends.tolist())] == \
        [text[n.start_byte:n.end_byte] for n in _leaves_of(text)]


def _leaves_of(text: str):
    from dedupfilter.normalize.languages import parser_for

    tree, out = parser_for("python").parse(text.encode()), []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.child_count == 0 or node.type in ("float", "integer"):
            out.append(node)
        else:
            stack.extend(reversed(node.children))
    return [n for n in out if n.end_byte > n.start_byte]


@pytest.mark.parametrize("name", ["json/decoder.py", "argparse.py", "asyncio/base_events.py"])
def test_lexemes_of_real_code_match_the_regular_expression(name):
    data = stdlib_doc(name).text.encode("utf-8", "surrogateescape")
    kinds, starts, ends = lexemes(np.frombuffer(data, np.uint8), True, *operator_table())
    assert list(zip(kinds.tolist(), starts.tolist(), ends.tolist())) == reference.lexemes(data, True)


@pytest.mark.parametrize("lang", LANGS)
def test_lexed_code_keeps_most_kgrams_of_the_parse(lang):
    """Without a parse, names, literals and keywords are told apart by their form, and the
    grammar's typed words (int, None, this) are kept as written: nearly every k-gram of
    the parsed snippet survives (contextual keywords and the preprocessor are what differ)."""
    for text in (CASES[lang].original, CASES[lang].copy):
        parsed = set(shingle_hashes(normalize_code(text, lang)).tolist())
        lexed = set(shingle_hashes(lex_code(text, lang)[0]).tolist())
        assert len(parsed & lexed) >= 0.85 * len(parsed), lang


@pytest.mark.parametrize("name", ["argparse.py", "json/decoder.py", "typing.py"])
def test_lexed_stdlib_code_keeps_the_kgrams_of_the_parse(name):
    text = stdlib_doc(name).text
    parsed = set(shingle_hashes(normalize_code(text, "python")).tolist())
    lexed = set(shingle_hashes(lex_code(text, "python")[0]).tolist())
    assert len(parsed & lexed) >= 0.98 * len(parsed)


# What the grammars join (and two places where they do not): implicit string concatenation (across comments and, in Python,
# line continuations), a C name before a string, Python's line continuation token.
JOINED = {
    "python": ['msg = ("abc"  # first\n       "def" \\\n       f"{x!r}")\n',
               'total = first + \\\n    second + \\\r\n    third\n',
               'from __future__ import annotations\nwarn("a" \\\n     "b" \\\n     + suffix)\n',
               "assert ok, \\\n    'bad %s' % name\nx = \\\n  -1\n", 'y = ("a" rb"b" br"c" Rb"d")\n'],
    "c": ['printk(KERN_INFO "probe: " "%d\\n", err);\n', 'fmt = "%" PRId64 " items"  /* n */ "\\n";\n',
          'static const char *s = "a"\n\t"b"\n\t"c";\n', '#define MSG "hello"\n#define PREFIX KERN_INFO\n'],
    "cpp": ['std::puts(PREFIX "x" "y");\n', 'auto s = "a" /* c */ "b";\n', 'auto t = u8"a" L"b";\n'],
    # and what they do not: a line break ends a Go or JavaScript string statement
    "go": ['import (\n\t"errors"\n\t"sync"\n)\n'],
    "javascript": ['let s = "a"\n"b"\nlet t = `x`\n'],
}


@pytest.mark.parametrize("lang,text", [(lang, text) for lang, texts in JOINED.items() for text in texts])
def test_lexed_tokens_join_what_the_grammar_joins(lang, text):
    parsed, lexed = normalize_code(text, lang), lex_code(text, lang)[0]
    assert [text[s:e] for s, e in zip(lexed.starts, lexed.ends)] == \
        [text[s:e] for s, e in zip(parsed.starts, parsed.ends)]
    assert lexed.hashes.tolist() == parsed.hashes.tolist()
    assert lexed.backrefs.tolist() == parsed.backrefs.tolist()


@settings(max_examples=60, deadline=None)
@given(lang=st.sampled_from(LANGS), cuts=st.lists(st.integers(0, 10**6), max_size=12), data=st.data())
def test_lexing_in_pieces_cut_where_a_lexeme_may_go_on_equals_lexing_the_whole(lang, cuts, data):
    """A piece ends anywhere; the next one starts where its open lexeme began (``open_at``):
    the tokens are the whole text's, offsets and names included."""
    text = data.draw(st.sampled_from([CASES[lang].original, CASES[lang].copy, CASES[lang].unrelated,
                                      *JOINED.get(lang, ())]))
    text = text[:data.draw(st.integers(0, len(text)))] + data.draw(st.sampled_from(["", "é", "\u200b", " x"]))
    whole, whole_names, _ = lex_code(text, lang)
    pieces, names, start = [], [], 0
    for cut in sorted(c % (len(text) + 1) for c in cuts) + [len(text)]:
        if cut <= start:
            continue
        stream, piece_names, open_at = lex_code(text[start:cut], lang)
        keep = stream.starts < open_at if cut < len(text) else np.ones(len(stream), bool)
        pieces.append((stream.hashes[keep], stream.starts[keep] + start, stream.ends[keep] + start))
        names.append(piece_names[keep])
        start = start + open_at if cut < len(text) else cut
    if start < len(text):
        stream, piece_names, _ = lex_code(text[start:], lang)
        pieces.append((stream.hashes, stream.starts + start, stream.ends + start))
        names.append(piece_names)
    joined = [np.concatenate([p[i] for p in pieces]) if pieces else np.empty(0) for i in range(3)]
    assert joined[0].tolist() == whole.hashes.tolist()
    assert joined[1].tolist() == whole.starts.tolist() and joined[2].tolist() == whole.ends.tolist()
    assert (np.concatenate(names) if names else np.empty(0)).tolist() == whole_names.tolist()


def test_lex_code_offsets_index_the_text_with_invisible_and_wide_characters():
    text = "déf = 1\u200b2 + nаme  # c\nx\u00a0= 'ü'\n"
    stream, names, open_at = lex_code(text, "python")
    pieces = [text[s:e] for s, e in zip(stream.starts.tolist(), stream.ends.tolist())]
    assert pieces == ["déf", "=", "1\u200b2", "+", "nаme", "x", "=", "'ü'"]
    assert open_at == text.index("'ü'") and (names != 0).sum() == 3  # a string may join the next one


def test_a_run_of_line_continuations_is_lexed_in_linear_time():
    """Adversarial input: a million Python line continuations before a string. Each one
    asks what follows it; looking past the whole run each time was quadratic (hours for
    this text). In a subprocess, so a regression fails at the timeout instead of hanging."""
    code = ("from dedupfilter.normalize.code import lex_code\n"
            "text = 'x = ' + '\\\\\\n' * 1_000_000 + '\"s\"\\n'\n"
            "stream = lex_code(text, 'python')[0]\n"
            "print([text[s:e] for s, e in zip(stream.starts, stream.ends)])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['x', '=', '\"s\"']"


@pytest.mark.parametrize("lang,text", [(lang, text) for lang, texts in JOINED.items() for text in texts])
def test_every_cut_of_a_joined_run_lexes_as_the_whole(lang, text):
    """Each cut of texts where strings, names and continuations join (a string prefix, a
    ``/`` that may open a comment, a directive's name at a piece's end): the first piece's
    tokens before its ``open_at``, then the rest lexed from there, are the whole text's."""
    whole = lex_code(text, lang)[0]
    expected = list(zip(whole.starts.tolist(), whole.ends.tolist(), whole.hashes.tolist()))
    for cut in range(1, len(text)):
        first, _, open_at = lex_code(text[:cut], lang)
        rest = lex_code(text[open_at:], lang)[0]
        kept = first.starts < open_at
        got = list(zip(first.starts[kept].tolist(), first.ends[kept].tolist(), first.hashes[kept].tolist()))
        got += [(s + open_at, e + open_at, h) for s, e, h in zip(rest.starts.tolist(), rest.ends.tolist(),
                                                                rest.hashes.tolist())]
        assert got == expected, (cut, text[:cut])
