"""TokenTape: an output read piece by piece gives the tokens and k-grams of reading it whole."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedupfilter.normalize.code import lex_code
from dedupfilter.normalize.mixed import block_language, code_blocks
from dedupfilter.normalize.text import normalize_text
from dedupfilter.sketch import informative_mask, shingle_hashes
from dedupfilter.tape import UNTAGGED_HOLD, TokenTape

from .conftest import stdlib_doc
from .test_normalize_code import CASES

WORDS = ["the", "Model", "wrote", "naïve", "ﬁle", "x1", "déjà", "vu", "日本", "can't", "e-mail", "3.14", "a\u200bb",
         "ＡＢＣ", "—", "...", "(", ")", ",", "\u00ad"]
SEPARATORS = [" ", "  ", "\n", "\n\n", "\t", "\u00a0", "\u3000", ""]


@st.composite
def prose(draw):
    parts = draw(st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=60))
    return "".join(w + s for w, s in parts)


def read_in_pieces(index, mode: str, text: str, cuts: list[int]) -> TokenTape:
    tape = TokenTape(index, mode)
    for p in sorted({c % (len(text) + 1) for c in cuts}) + [len(text)]:
        tape.advance(text, 0, p)
    return tape


def tokens_of(tape: TokenTape) -> list[tuple[int, int, int]]:
    t = tape.tokens
    return list(zip(*(t.get(name, t.base, t.end).tolist() for name in ("hash", "start", "end"))))


def assert_whole_but_the_open_end(got: list, whole: list, text: str) -> None:
    """The tape has the whole text's tokens; when the text does not end in white space, it may
    hold the last one open (it may go on)."""
    assert got == whole or (not text[-1:].isspace() and got == whole[:-1])


@pytest.fixture(scope="module")
def index(built):
    return built[1]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=prose(), cuts=st.lists(st.integers(0, 10**6), max_size=15))
def test_prose_read_in_pieces_tokenizes_as_the_whole(index, text, cuts):
    whole = normalize_text(text)
    expected = list(zip(whole.hashes.tolist(), whole.starts.tolist(), whole.ends.tolist()))
    assert_whole_but_the_open_end(tokens_of(read_in_pieces(index, "text", text, cuts)), expected, text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lang=st.sampled_from(sorted(CASES)), cuts=st.lists(st.integers(0, 10**6), max_size=15))
def test_code_read_in_pieces_lexes_as_the_whole(index, lang, cuts):
    text = CASES[lang].original
    whole, names, open_at = lex_code(text, lang)
    expected = [t for t in zip(whole.hashes.tolist(), whole.starts.tolist(), whole.ends.tolist()) if t[1] < open_at]
    tape = read_in_pieces(index, lang, text, cuts)
    assert tokens_of(tape) == expected
    # Names link as in the whole text within a k-gram; farther back, a link may be lost (it does not count).
    for got, want in zip(tape.tokens.get("backref", 0, len(expected)).tolist(), whole.backrefs.tolist()):
        assert got == want if want < tape.k else got in (0, want)


@pytest.mark.parametrize("mode", ["python", "text"])
def test_kgrams_and_lookups_are_those_of_the_tokens(index, mode):
    """k-grams with the k of the tape's mode (prose has its own), looked up in the index."""
    text = stdlib_doc("json/decoder.py").text[:6000]
    tape = read_in_pieces(index, mode, text, list(range(0, len(text), 97)))
    n = tape.tokens.end
    stream = lex_code(text, mode)[0] if mode != "text" else normalize_text(text)
    stream = type(stream)(stream.hashes[:n], stream.starts[:n], stream.ends[:n],
                          tape.tokens.get("backref", 0, n).copy(), mode)
    assert tape.k == (5 if mode == "text" else 8)
    shingles = shingle_hashes(stream)
    assert tape.kgrams.end == shingles.size
    assert tape.kgrams.get("shingle", 0, shingles.size).tolist() == shingles.tolist()
    assert tape.kgrams.get("informative", 0, shingles.size).tolist() == informative_mask(stream, tape.k).tolist()
    lookup = index.lookup(shingles)
    assert tape.kgrams.get("lo", 0, shingles.size).tolist() == lookup.lo.tolist()
    assert tape.kgrams.get("ignored", 0, shingles.size).tolist() == lookup.ignored.tolist()
    assert (lookup.hi > lookup.lo).any()  # the protected decoder is in the index
    from dedupfilter.index.protected import DISTINCTIVE_MAX_HITS, MAX_HITS_PER_HASH
    from dedupfilter.sketch import usable_hits
    usable, hit_q, hit_row, _ = usable_hits(lookup.lo, lookup.hi, informative_mask(stream, tape.k), lookup.ignored,
                                            DISTINCTIVE_MAX_HITS, MAX_HITS_PER_HASH, index.fp.doc)
    assert tape.kgrams.get("usable", 0, shingles.size).tolist() == usable.tolist()
    assert tape.hits.get("q", 0, tape.hits.end).tolist() == hit_q.tolist() and hit_q.size
    assert tape.hits.get("row", 0, tape.hits.end).tolist() == hit_row.tolist()


def markdown_answer() -> str:
    return ("Here is how it works, in short.\n\n```python\n" + CASES["python"].original + "```\n\n"
            "And in C:\n\n~~~c\n" + CASES["c"].original + "~~~\n\nWithout a tag:\n\n```\n" + CASES["go"].original
            + "```\n\nInside a block, ``` is not a fence: \n````\n```\nnot code\n````\nThe end.\n")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(0, 10**6), max_size=40))
def test_markdown_read_in_pieces_reads_prose_and_each_block_as_code(index, cuts):
    """Prose as prose, fenced bodies lexed in their fence's language, an untagged body in the
    language its beginning shows, whatever the pieces."""
    text = markdown_answer()
    expected, pos = [], 0
    for start, end, info in code_blocks(text):
        expected += _shifted(normalize_text(text[pos:start]), pos)
        body = text[start:end]
        lang = info or block_language(body[:UNTAGGED_HOLD], info)
        stream = normalize_text(body) if lang == "text" else lex_code(body, lang)[0]
        expected += _shifted(stream, start)
        pos = end
    expected += _shifted(normalize_text(text[pos:]), pos)
    assert_whole_but_the_open_end(tokens_of(read_in_pieces(index, "markdown", text, cuts)), expected, text)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(0, 10**6), max_size=40))
def test_a_markdown_answer_read_as_prose_in_pieces_is_read_whole(index, cuts):
    """The prose tape of a Markdown answer (``check()``'s second reading of it): the whole
    answer, fences and code too, as prose, whatever the pieces."""
    text = markdown_answer()
    whole = normalize_text(text)
    expected = list(zip(whole.hashes.tolist(), whole.starts.tolist(), whole.ends.tolist()))
    assert_whole_but_the_open_end(tokens_of(read_in_pieces(index, "text", text, cuts)), expected, text)


def test_an_untagged_block_is_held_until_its_language_shows(index):
    body = CASES["go"].original
    text = "Look:\n\n```\n" + body
    tape = TokenTape(index, "markdown")
    body_start = text.index("```\n") + 4
    tape.advance(text, 0, body_start + UNTAGGED_HOLD - 1)
    assert tape.stable == body_start and tape.keep_from == body_start
    tape.advance(text, 0, body_start + UNTAGGED_HOLD + 10)
    assert tape.stable > body_start + UNTAGGED_HOLD // 2 and tape.tokens.end > 30  # read as Go


def test_a_line_that_may_close_the_block_is_held_until_complete(index):
    text = "```python\nx = 1\n``"
    tape = TokenTape(index, "markdown")
    tape.advance(text, 0, len(text))
    assert tape.stable == text.rindex("\n") + 1
    text += "`\nnow prose\n"
    tape.advance(text, 0, len(text))
    assert [text[s:e] for _, s, e in tokens_of(tape)][-3:] == ["1", "now", "prose"]


def _shifted(stream, offset: int) -> list[tuple[int, int, int]]:
    return list(zip(stream.hashes.tolist(), (stream.starts + offset).tolist(), (stream.ends + offset).tolist()))


@pytest.mark.parametrize("text, cuts", [
    ("```python\nx = 1\n  ```\nnow prose\n", [17]),  # cut inside the closing fence's indentation
    ("```javascript\nconst q = `\nSELECT a\n`;\nf(q)\n```\nDone.\n", []),  # a body line starting with `
    ("```python\ns = \'\'\'\n~x\n`y`\n\'\'\'\nz = s\n```\nDone.\n", [20, 23]),  # ~ and ` lines in a docstring
    ("```python\r\nx = 1\r\n```\r\nnow prose\r\n", [20, 21]),  # CRLF line breaks, a cut between \r and \n
])
def test_fence_like_lines_in_a_block_split_nothing(index, text, cuts):
    """Only the closing fence ends a block: a body line that starts like a fence is code like any
    other, wherever the pieces end (a piece may end inside the closing fence's indentation)."""
    expected, pos = [], 0
    for start, end, info in code_blocks(text):
        expected += _shifted(normalize_text(text[pos:start]), pos) + _shifted(lex_code(text[start:end], info)[0], start)
        pos = end
    expected += _shifted(normalize_text(text[pos:]), pos)
    assert tokens_of(read_in_pieces(index, "markdown", text, cuts)) == expected


@pytest.mark.parametrize("text, first", [
    ("```js\nq = `a\nb`;\nf(q)\n```\n", 12),  # kept text begins inside a body line
    ("see ```js\nnot code\n", 4),  # kept text begins inside a prose line, before a fence-like run
])
def test_text_kept_from_inside_a_line_finds_no_line_start_there(index, text, first):
    """A filter keeps the output from a point inside a line when lines are long: the tape must not
    take the start of the kept text for a line start (a fence there would be no fence)."""
    tape = TokenTape(index, "markdown")
    tape.advance(text, 0, first)
    at = tape.keep_from
    tape.advance(text[at:], at, len(text))
    whole = read_in_pieces(index, "markdown", text, [])
    assert tokens_of(tape) == tokens_of(whole)
