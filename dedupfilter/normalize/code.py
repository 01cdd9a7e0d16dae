"""Code normalization with tree-sitter.

Tokens are the leaves of the syntax tree, in order:
- comments are dropped;
- string and character literals become one STR token, numbers one NUM token
  (their content is not compared);
- identifiers (variables, functions, types, fields, labels) become one ID
  token, and ``TokenStream.backrefs`` records how far back the same name last
  occurred; shingling turns that into parameterized k-grams, so consistent
  renaming changes nothing while the pattern of names still counts;
- keywords, operators and punctuation are kept as written.
White space and layout never produce tokens. Code that does not parse still
yields tokens: tree-sitter recovers, and the text of any ERROR leaf goes
through a lexical tokenizer with the same rules.
"""

from __future__ import annotations

import re

import numpy as np

from .._kernels.tokens import backrefs_by_key, hash_ranges
from .languages import LANGUAGES, keywords_for, parser_for
from .text import codepoints
from .tokens import TOKEN_SEED, TokenStream

LEAF, IDENT, STR, NUM = 0, 1, 2, 3

STRING_TYPES = frozenset({
    "string", "string_literal", "raw_string_literal", "char_literal", "character_literal",
    "template_string", "interpreted_string_literal", "rune_literal", "text_block",
    "concatenated_string", "regex", "byte_string_literal",
})
NUMBER_TYPES = frozenset({
    "integer", "float", "number", "number_literal", "int_literal", "float_literal",
    "imaginary_literal", "integer_literal", "decimal_integer_literal", "hex_integer_literal",
    "octal_integer_literal", "binary_integer_literal", "decimal_floating_point_literal",
    "hex_floating_point_literal",
})


def _special_hash(name: bytes) -> np.uint64:
    return hash_ranges(np.frombuffer(name, np.uint8), np.array([0]), np.array([len(name)]),
                       np.uint64(TOKEN_SEED))[0]


# NUL cannot occur in source text, so these never equal a real token's hash input.
ID_HASH = _special_hash(b"\x00ID")
STR_HASH = _special_hash(b"\x00STR")
NUM_HASH = _special_hash(b"\x00NUM")

_LEXEME = re.compile(
    rb"""(?P<ws>\s+)
    |(?P<comment>//[^\n]*|/\*.*?(?:\*/|\Z)|\#[^\n]*)
    |(?P<str>"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?|`(?:[^`\\]|\\.)*`?)
    |(?P<num>\.?\d(?:[\w.]|[eE][+-])*)
    |(?P<word>[A-Za-z_$\x80-\xff][\w$\x80-\xff]*)
    |(?P<op>.)""",
    re.VERBOSE | re.DOTALL,
)


def _lex(data: bytes, start: int, end: int, keywords: frozenset[str], out: list) -> None:
    """Lexical fallback for text the parser could not place in the tree."""
    for m in _LEXEME.finditer(data, start, end):
        kind = m.lastgroup
        if kind in ("ws", "comment"):
            continue
        s, e = m.span()
        if kind == "str":
            out.append((STR, s, e))
        elif kind == "num":
            out.append((NUM, s, e))
        elif kind == "word":
            out.append((LEAF if m.group().decode("utf-8", "replace") in keywords else IDENT, s, e))
        else:
            out.append((LEAF, s, e))


def _leaves(data: bytes, lang: str) -> list[tuple[int, int, int]]:
    """(kind, start byte, end byte) of every token, in source order."""
    out: list[tuple[int, int, int]] = []
    append = out.append
    keywords = keywords_for(lang)
    cursor = parser_for(lang).parse(data).walk()
    while True:
        node = cursor.node
        kind = node.type
        if "comment" in kind:
            pass
        elif kind in STRING_TYPES:
            append((STR, node.start_byte, node.end_byte))
        elif kind in NUMBER_TYPES:
            append((NUM, node.start_byte, node.end_byte))
        elif cursor.goto_first_child():
            continue
        else:
            start, end = node.start_byte, node.end_byte
            if start < end:
                if kind == "ERROR":
                    _lex(data, start, end, keywords, out)
                elif kind.endswith("identifier"):
                    append((IDENT, start, end))
                else:
                    append((LEAF, start, end))
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return out


def _char_offsets(text: str, n_bytes: int, byte_offsets: np.ndarray) -> np.ndarray:
    if n_bytes == len(text):  # ASCII: bytes and characters coincide
        return byte_offsets
    cps = codepoints(text)
    utf8_len = 1 + (cps >= 0x80).astype(np.int64) + (cps >= 0x800) + (cps >= 0x10000)
    char_byte_starts = np.concatenate([[0], np.cumsum(utf8_len)])
    return np.searchsorted(char_byte_starts, byte_offsets).astype(np.int64)


def normalize_code(text: str, lang: str) -> TokenStream:
    if lang not in LANGUAGES:
        raise ValueError(f"no grammar for {lang!r}")
    data = text.encode("utf-8", "surrogatepass")
    try:
        leaves = _leaves(data, lang)
    except Exception:  # the parser is C code; never let it take the caller down
        leaves = []
        _lex(data, 0, len(data), keywords_for(lang), leaves)
    if not leaves:
        return TokenStream.empty(lang)
    table = np.array(leaves, dtype=np.int64)
    kinds, byte_starts, byte_ends = table[:, 0], table[:, 1].copy(), table[:, 2].copy()
    hashes = hash_ranges(np.frombuffer(data, np.uint8), byte_starts, byte_ends, np.uint64(TOKEN_SEED))
    is_identifier = kinds == IDENT
    backrefs = backrefs_by_key(hashes, is_identifier)
    hashes[is_identifier] = ID_HASH
    hashes[kinds == STR] = STR_HASH
    hashes[kinds == NUM] = NUM_HASH
    return TokenStream(hashes, _char_offsets(text, len(data), byte_starts),
                       _char_offsets(text, len(data), byte_ends), backrefs, lang)
