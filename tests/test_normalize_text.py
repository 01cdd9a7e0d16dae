"""Prose normalization: variants that must not matter, offsets, robustness."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupfilter import normalize
from dedupfilter.normalize import decode, first_invalid_utf8

from . import reference

PASSAGE = ("The quick brown fox jumps over the lazy dog. It was the best of times, "
           "it was the worst of times; naive cafe owners said so.")

VARIANTS = {
    "upper case": PASSAGE.upper(),
    "punctuation and spacing": PASSAGE.replace(". ", " !! ").replace(", ", " -- ").replace(" ", "   \n\t"),
    "homoglyphs (Cyrillic, Greek)": PASSAGE.replace("o", "\u043e").replace("a", "\u0430")
    .replace("e", "\u0435").replace("T", "\u03a4").replace("p", "\u0440"),
    "zero-width and soft hyphen": PASSAGE.replace("ck", "c\u200bk").replace("ow", "o\u00adw")
    .replace("ti", "t\u200di").replace("la", "l\ufeffa").replace("do", "d\u2060o"),
    "full-width forms": "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in PASSAGE),
    "accents": PASSAGE.replace("naive", "na\u00efve").replace("cafe", "caf\u00e9"),
    "combining accents": PASSAGE.replace("cafe", "cafe\u0301"),
    "bidi controls": PASSAGE.replace("fox", "\u202efox\u202c"),
    "ligatures and styled letters": PASSAGE.replace("fi", "\ufb01").replace("best", "\U0001d41b\U0001d41e\U0001d42c\U0001d42d"),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variants_give_identical_hashes(name):
    base = normalize(PASSAGE, "text")
    variant = normalize(VARIANTS[name], "text")
    assert len(base) == 26
    np.testing.assert_array_equal(variant.hashes, base.hashes)


def test_different_words_give_different_hashes():
    a = normalize(PASSAGE, "text").hashes
    b = normalize(PASSAGE.replace("fox", "cat"), "text").hashes
    assert (a != b).sum() == 1


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_offsets_slice_back_to_original_words(name):
    text = VARIANTS[name]
    tokens = normalize(text, "text")
    words = PASSAGE.replace(".", " ").replace(",", " ").replace(";", " ").split()
    sliced = [text[s:e] for s, e in zip(tokens.starts, tokens.ends)]
    assert len(sliced) == len(words)
    for got, word in zip(sliced, words):
        assert normalize(got, "text").hashes.tolist() == normalize(word, "text").hashes.tolist()


def test_cjk_characters_are_tokens_of_their_own():
    tokens = normalize("\u6211\u7231\u4f60 ok", "text")
    assert tokens.starts.tolist() == [0, 1, 2, 4]
    assert tokens.ends.tolist() == [1, 2, 3, 6]


def test_kernel_matches_reference_on_pydoc_topics(pydoc_docs):
    for doc in pydoc_docs[::7]:
        tokens = normalize(doc.text, "text")
        expected = reference.prose_tokens(doc.text)
        assert list(zip(tokens.hashes.tolist(), tokens.starts.tolist(), tokens.ends.tolist())) == expected


def test_long_words_hash_like_short_ones():
    # Words longer than the kernel's 256-byte buffer are hashed incrementally.
    for n in (31, 32, 33, 63, 64, 65, 192, 193, 255, 256, 257, 1000, 10000):
        for unit in ("a", "\u00e9", "\U0001d400", "\ufb03"):
            text = unit * n + " tail"
            assert list(zip(normalize(text, "text").hashes.tolist(),
                            normalize(text, "text").starts.tolist(),
                            normalize(text, "text").ends.tolist())) == reference.prose_tokens(text)


text_strategy = st.text(alphabet=st.characters(codec=None), max_size=300)


@settings(max_examples=300, deadline=None)
@given(text_strategy)
def test_never_raises_and_offsets_are_monotonic(text):
    tokens = normalize(text, "text")
    assert tokens.hashes.dtype == np.uint64
    assert np.all(tokens.starts < tokens.ends)
    assert np.all(tokens.ends <= len(text))
    assert np.all(tokens.starts >= 0)
    assert np.all(tokens.starts[1:] >= tokens.ends[:-1])


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_matches_reference_on_arbitrary_text(text):
    tokens = normalize(text, "text")
    assert list(zip(tokens.hashes.tolist(), tokens.starts.tolist(), tokens.ends.tolist())) == \
        reference.prose_tokens(text)


def test_bytes_with_invalid_utf8_lose_nothing():
    data = "caf\u00e9 ol\u00e9 ".encode() + b"\xff\xfe broken \xc3 end"
    assert first_invalid_utf8(data) == len("caf\u00e9 ol\u00e9 ".encode())
    text = decode(data)
    assert text.encode("utf-8", "surrogateescape") == data
    tokens = normalize(data, "text")
    words = [text[s:e] for s, e in zip(tokens.starts, tokens.ends)]
    assert words == ["caf\u00e9", "ol\u00e9", "broken", "end"]


def test_empty_and_whitespace_only():
    assert len(normalize("", "text")) == 0
    assert len(normalize(" \n\t\u200b ", "text")) == 0


def test_hashes_are_stable_across_runs():
    # xxh64 with the fixed seed: the same on every machine (pinned value).
    import xxhash
    from dedupfilter.normalize.tokens import TOKEN_SEED

    tokens = normalize("Hello", "text")
    assert int(tokens.hashes[0]) == xxhash.xxh64_intdigest(b"hello", TOKEN_SEED)


# ASCII beside the characters that take the general path, inside one word and across words.
mixed_alphabet = st.sampled_from(list("aZ09 _-.'\t\n") + ["\u00e9", "\u0301", "\u200b", "\u0410", "\uff21",
                                                            "\u4e2d", "\ufb03", "\u00df", "\x00", "\x7f"])


@settings(max_examples=300, deadline=None)
@given(st.lists(mixed_alphabet, max_size=400).map("".join))
def test_ascii_fast_path_matches_reference_next_to_other_characters(text):
    tokens = normalize(text, "text")
    assert list(zip(tokens.hashes.tolist(), tokens.starts.tolist(), tokens.ends.tolist())) == \
        reference.prose_tokens(text)
