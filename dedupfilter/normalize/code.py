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
White space, layout, invisible characters (zero-width, soft hyphen, bidi
controls) and the kind of space never produce tokens. Code that does not
parse still yields tokens: tree-sitter recovers, and the text of ERROR
leaves, macro bodies and JSX text goes through a lexical tokenizer with the
same rules; a parse that runs past its time budget falls back to it entirely.
"""

from __future__ import annotations

import functools
import time

import numpy as np

from .._kernels import lex
from .._kernels.lex import code_tokens, lexemes, operator_table
from .._kernels.tokens import backrefs_by_key, hash_ranges
from .languages import LANGUAGES, TEXT, keywords_for, parser_for, visible_keywords_for
from .text import codepoints, normalize_text
from .tokens import TOKEN_SEED, TokenStream

LEAF, IDENT, STR, NUM = 0, 1, 2, 3

# Parse time budget: tree-sitter parses about 6 MB/s; far beyond that is a runaway
# (its error recovery can take minutes on a few adversarial bytes).
PARSE_SECONDS_BASE = 1.0
PARSE_SECONDS_PER_MB = 3.0

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
# Names whose node type does not end in "identifier".
IDENTIFIER_TYPES = frozenset({"shorthand_property_identifier_pattern", "label_name", "metavariable"})
# Nodes whose text the grammar leaves unparsed: tokenized lexically.
LEXED_TYPES = frozenset({"preproc_arg", "jsx_text"})
# How code is lexed without a parse (``lex_code``), beyond the shared lexical rules:
# - the grammar's visible keywords, except contextual ones that are names in most code;
# - named leaves whose text is a word of the grammar (types, literals, this), which the
#   tree walk keeps as written;
# - operators the grammar reads as one token (tried before the shared ones).
_C_WORDS = ("void", "char", "short", "int", "long", "float", "double", "bool", "true", "false", "NULL")
_C_TYPES = ("size_t", "ssize_t", "ptrdiff_t", "intptr_t", "uintptr_t",
            *(f"{u}int{n}_t" for u in ("", "u") for n in (8, 16, 32, 64)))
_JS_CONTEXTUAL = ("get", "set", "of", "target", "meta", "from", "as", "async", "using")
_PREPROCESSOR = tuple(f"#{d}" for d in ("include", "define", "ifdef", "ifndef", "endif", "if", "else", "elif",
                                        "pragma", "undef", "error"))
_JS_OPERATORS = ("===", "!==", "**=", "??=", "&&=", "||=", ">>>", "??", "?.", "</")
STREAM_LEXING = {  # language: (contextual keywords, typed words, operators)
    "python": (("_", "type", "match", "case", "print", "exec"), ("True", "False", "None", "__future__"), ()),
    "c": ((), (*_C_WORDS, *_C_TYPES), _PREPROCESSOR),
    "cpp": (("final", "override"), (*_C_WORDS, "nullptr", "this", "wchar_t", "char8_t", "char16_t", "char32_t",
                                    "auto"), (*_PREPROCESSOR, "<=>", "->*", ".*")),
    "java": (("module", "open", "opens", "exports", "requires", "provides", "to", "uses", "with", "transitive",
              "permits", "sealed", "record", "when", "yield"),
             ("void", "byte", "short", "int", "long", "char", "float", "double", "boolean", "true", "false", "null",
              "this", "super"), (">>>=", ">>>")),
    "go": ((), ("true", "false", "nil", "iota"), ("&^=", "<-", "&^")),
    "javascript": (_JS_CONTEXTUAL, ("true", "false", "null", "undefined", "this", "super"), _JS_OPERATORS),
    "rust": (("block", "expr", "expr_2021", "ident", "item", "lifetime", "literal", "meta", "pat", "pat_param", "path",
              "stmt", "tt", "ty", "vis", "raw", "union", "default", "gen"),
             ("true", "false", "self", "Self", "mut", "bool", "char", "str", "i8", "i16", "i32", "i64", "i128",
              "isize", "u8", "u16", "u32", "u64", "u128", "usize", "f32", "f64"), ("..=", "..")),
}
STREAM_LEXING["typescript"] = STREAM_LEXING["tsx"] = (
    (*_JS_CONTEXTUAL, "type", "module", "global", "declare", "require", "is", "assert", "asserts", "infer",
     "readonly", "accessor", "satisfies", "namespace", "override"),
    (*STREAM_LEXING["javascript"][1], "string", "number", "boolean", "any", "void", "unknown", "never", "object",
     "symbol", "bigint"), _JS_OPERATORS)


# Grammars that read adjacent string literals as one (``concatenated_string``), and those
# where a name right before a string literal is part of it too.
JOINED_STRINGS = frozenset({"python", "c", "cpp"})
NAME_STRINGS = frozenset({"c", "cpp"})


@functools.lru_cache(maxsize=None)
def _keywords(lang: str) -> frozenset[bytes]:
    return frozenset(w.encode() for w in keywords_for(lang))


@functools.lru_cache(maxsize=None)
def _stream_lexing(lang: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sorted hashes of the words kept as written, operator bytes, operator offsets) for ``lex_code``."""
    contextual, typed, operators = STREAM_LEXING.get(lang, ((), (), ()))
    words = (visible_keywords_for(lang) - set(contextual)) | set(typed)
    hashes = np.sort(np.array([_token_hash(w.encode()) for w in words], np.uint64))
    return (hashes, *operator_table(tuple(op.encode() for op in sorted(operators, key=len, reverse=True))))


def _token_hash(word: bytes) -> np.uint64:
    return hash_ranges(np.frombuffer(word, np.uint8), np.array([0]), np.array([len(word)]), np.uint64(TOKEN_SEED))[0]


_OPERATOR_TABLE = operator_table()
# NUL cannot occur in source text, so these never equal a real token's hash input.
ID_HASH = _token_hash(b"\x00ID")
STR_HASH = _token_hash(b"\x00STR")
NUM_HASH = _token_hash(b"\x00NUM")


def _lex(data: bytes, start: int, end: int, lang: str, out: list) -> None:
    """Lexical tokens of ``data[start:end]`` (``_kernels.lex``): text the parser
    could not place in the tree (ERROR nodes), macro bodies, JSX text."""
    kinds, starts, ends = lexemes(np.frombuffer(data, np.uint8)[start:end], lang == "python", *_OPERATOR_TABLE)
    keywords = _keywords(lang)
    for kind, s, e in zip(kinds.tolist(), (starts + start).tolist(), (ends + start).tolist()):
        if kind == lex.WORD:
            out.append((LEAF if data[s:e] in keywords else IDENT, s, e))
        elif kind == lex.STR:
            out.append((STR, s, e))
        elif kind == lex.NUM:
            out.append((NUM, s, e))
        elif kind == lex.OP:
            out.append((LEAF, s, e))


def _parse(data: bytes, lang: str):
    """The syntax tree, or None when parsing runs past its time budget."""
    deadline = time.monotonic() + PARSE_SECONDS_BASE + PARSE_SECONDS_PER_MB * len(data) / 1e6
    try:
        return parser_for(lang).parse(lambda offset, _point: data[offset:offset + 65536],
                                      progress_callback=lambda *_: time.monotonic() > deadline)
    except ValueError:  # cancelled by the progress callback
        return None


# What the leaf walk does with a node, by kind (see _node_actions).
_WALK_DESCEND, _WALK_LEXED, _WALK_SKIP, _WALK_STRING, _WALK_NUMBER, _WALK_ERROR, _WALK_IDENTIFIER = range(7)


@functools.lru_cache(maxsize=None)
def _node_actions(lang: str) -> list[int]:
    """The walk's action for each node kind id of the grammar: one list index per node
    instead of string tests on its type (a third of the walk's time)."""
    language = parser_for(lang).language
    actions = []
    for kind_id in range(language.node_kind_count):
        kind, named = language.node_kind_for_id(kind_id) or "", language.node_kind_is_named(kind_id)
        if kind in LEXED_TYPES:
            actions.append(_WALK_LEXED)
        elif "comment" in kind:
            actions.append(_WALK_SKIP)
        elif kind in STRING_TYPES and named:
            actions.append(_WALK_STRING)
        elif kind in NUMBER_TYPES and named:
            actions.append(_WALK_NUMBER)
        elif kind == "ERROR":
            actions.append(_WALK_ERROR)
        elif kind.endswith("identifier") or kind in IDENTIFIER_TYPES:
            actions.append(_WALK_IDENTIFIER)
        else:
            actions.append(_WALK_DESCEND)
    # ERROR nodes have the largest id (65535), outside the grammar's own kinds.
    return actions + [_WALK_ERROR] * (65536 - len(actions))


def _is_string_statement(node) -> bool:
    """A Python string that is a statement of its own: a docstring."""
    parent = node.parent
    return parent is not None and parent.type == "expression_statement" and parent.named_child_count == 1


def _string_body_start(data: bytes, start: int) -> int:
    """Past a string literal's prefix (r, b, f, u): the prefix would read as a word."""
    while start < len(data) and data[start] in b"rRbBuUfF":
        start += 1
    return start


def _leaves(data: bytes, lang: str, prose: list | None = None) -> list[tuple[int, int, int]]:
    """(kind, start byte, end byte) of every token, in source order. With ``prose``,
    also the (start byte, end byte) of each comment and, in Python, each string
    statement (``code_and_prose``)."""
    out: list[tuple[int, int, int]] = []
    tree = _parse(data, lang)
    if tree is None:
        _lex(data, 0, len(data), lang, out)
        return out
    actions = _node_actions(lang)
    append = out.append
    docstrings = prose is not None and lang == "python"
    cursor = tree.walk()
    while True:
        node = cursor.node
        action = actions[node.kind_id]
        if action == _WALK_LEXED:
            _lex(data, node.start_byte, node.end_byte, lang, out)
        elif action == _WALK_SKIP:
            if prose is not None:
                prose.append((node.start_byte, node.end_byte))
        elif action == _WALK_STRING:
            append((STR, node.start_byte, node.end_byte))
            if docstrings and _is_string_statement(node):
                prose.append((_string_body_start(data, node.start_byte), node.end_byte))
        elif action == _WALK_NUMBER:
            append((NUM, node.start_byte, node.end_byte))
        elif cursor.goto_first_child():
            continue
        else:
            start, end = node.start_byte, node.end_byte
            if start < end:
                if action == _WALK_ERROR:
                    _lex(data, start, end, lang, out)
                elif action == _WALK_IDENTIFIER:
                    append((IDENT, start, end))
                else:
                    append((LEAF, start, end))
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return out


def _char_byte_starts(text: str, n_bytes: int) -> np.ndarray | None:
    """Where each character of ``text`` starts in its UTF-8 (``n_bytes`` long), and
    where it ends; None for ASCII, whose bytes and characters coincide."""
    if n_bytes == len(text):
        return None
    cps = codepoints(text)
    starts = np.empty(cps.size + 1, np.int64)
    starts[0] = 0
    np.cumsum(1 + (cps >= 0x80).view(np.uint8) + (cps >= 0x800).view(np.uint8) + (cps >= 0x10000).view(np.uint8),
              out=starts[1:])
    return starts


def _char_offsets(char_byte_starts: np.ndarray | None, byte_offsets: np.ndarray) -> np.ndarray:
    """Byte offsets into the UTF-8 of a text as character offsets (``_char_byte_starts``)."""
    if char_byte_starts is None:
        return byte_offsets
    return np.searchsorted(char_byte_starts, byte_offsets).astype(np.int64)


# Invisible characters are dropped and Unicode spaces read as " " before parsing:
# grammars would otherwise make tokens of them, and inserting them is an evasion.
_INVISIBLE = np.array([0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, *range(0x180B, 0x1810),
                       *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2070),
                       *range(0xFE00, 0xFE10), 0xFEFF], np.uint32)
_UNICODE_SPACES = np.array([0x00A0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000],
                           np.uint32)


_ASCII_BLANKS = np.frombuffer(b" \t\n\r\x0b\x0c", np.uint8)
# Each code point of the Basic Multilingual Plane: 1 invisible, 2 a Unicode space (neither
# set has one above it; U+FFFF, where those are looked up, is in neither). One gather per
# text instead of two np.isin sorts: 0.2 ms of a 4 KB query with one non-ASCII character.
_BMP_CLASS = np.zeros(0x10000, np.uint8)
_BMP_CLASS[_INVISIBLE] = 1
_BMP_CLASS[_UNICODE_SPACES] = 2


def _visible(text: str) -> tuple[str, np.ndarray | None]:
    """``text`` without invisible characters and with Unicode spaces as " ", and
    the index in ``text`` of each character kept (None when nothing changed)."""
    if text.isascii():
        return text, None
    cps = codepoints(text)
    char_class = _BMP_CLASS[np.minimum(cps, 0xFFFF)]
    invisible, spaces = char_class == 1, char_class == 2
    if not (invisible.any() or spaces.any()):
        return text, None
    kept = np.flatnonzero(~invisible)
    cleaned = np.where(spaces[kept], np.uint32(32), cps[kept]).astype(np.uint32)
    return cleaned.tobytes().decode("utf-32-le", "surrogatepass"), kept


def normalize_code(text: str, lang: str) -> TokenStream:
    return _normalized(text, lang, with_prose=False)[0]


_PIECE_BREAK = "\n\n"


def code_and_prose(text: str, lang: str) -> tuple[TokenStream, TokenStream]:
    """``normalize_code``'s tokens, and the prose the code carries: its comments and,
    in Python, its string statements (docstrings), each read by ``normalize_text``,
    with offsets into ``text``. Code tokens leave comments out and make a docstring
    one STR token, so a copied docstring is found through this prose, as prose."""
    return _normalized(text, lang, with_prose=True)


def _normalized(text: str, lang: str, with_prose: bool) -> tuple[TokenStream, TokenStream]:
    if lang not in LANGUAGES:
        raise ValueError(f"no grammar for {lang!r}")
    visible, kept = _visible(text)
    data = visible.encode("utf-8", "surrogatepass")
    prose_ranges: list[tuple[int, int]] | None = [] if with_prose else None
    try:
        leaves = _leaves(data, lang, prose_ranges)
    except Exception:  # the parser is C code; never let it take the caller down
        leaves, prose_ranges = [], []
        _lex(data, 0, len(data), lang, leaves)
    char_byte_starts = _char_byte_starts(visible, len(data))
    tokens = _token_stream(kept, char_byte_starts, data, leaves, lang)[0]
    if not prose_ranges:
        return tokens, TokenStream.empty(TEXT)
    ranges = np.array(prose_ranges, np.int64)
    starts = _char_offsets(char_byte_starts, ranges[:, 0])
    ends = _char_offsets(char_byte_starts, ranges[:, 1])
    # One prose reading of the pieces joined by blank lines (no word runs across one), not
    # one per comment: a file has hundreds of comments, each a kernel call.
    pieces = [visible[start:end] for start, end in zip(starts.tolist(), ends.tolist())]
    joined_starts = np.cumsum([0] + [len(piece) + len(_PIECE_BREAK) for piece in pieces[:-1]])
    prose = normalize_text(_PIECE_BREAK.join(pieces))
    piece = np.searchsorted(joined_starts, prose.starts, side="right") - 1
    shift = starts[piece] - joined_starts[piece]
    prose_starts, prose_ends = prose.starts + shift, prose.ends + shift
    if kept is not None and len(prose):  # offsets into ``text``, invisible characters included
        prose_starts, prose_ends = kept[prose_starts].astype(np.int64), kept[prose_ends - 1].astype(np.int64) + 1
    return tokens, TokenStream(prose.hashes, prose_starts.astype(np.int64), prose_ends.astype(np.int64),
                               prose.backrefs, TEXT)


def lex_code(text: str, lang: str) -> tuple[TokenStream, np.ndarray, int]:
    """Tokens of code without parsing it, as a stream filter needs them: a few
    microseconds per line where a parse and walk take ten times that.

    The tokens are ``normalize_code``'s wherever the parse does not decide:
    names, literals, keywords and punctuation by their form, with the
    grammar's typed words (``int``, ``None``, ``this``) kept as written and
    its multi-character operators whole (STREAM_LEXING), and what the
    grammars join joined (``code_tokens``: implicit string concatenation, a
    C name before a string, Python's line continuations). Contextual keywords
    used as keywords, and a few constructs (C++ include paths, Rust tuple
    fields) split differently: 98%+ of the k-grams of standard-library
    modules are the parse's (tests/test_lex.py), 99.0% (C) to 100% (Go) of
    those of held-out chunks of the 1M-document benchmark corpus
    (bench/stream_bench.py). Also returns each token's name hash (its text's hash for
    identifiers, 0 for other tokens), so a caller lexing a stream piece by
    piece can link a name to its last occurrence in an earlier piece.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"no grammar for {lang!r}")
    visible, kept = _visible(text)
    data = visible.encode("utf-8", "surrogatepass")
    keyword_hashes, operators, operator_offsets = _stream_lexing(lang)
    hashes, names, starts, ends, open_at = code_tokens(
        np.frombuffer(data, np.uint8), lang == "python", operators, operator_offsets, keyword_hashes,
        np.uint64(TOKEN_SEED), ID_HASH, STR_HASH, NUM_HASH, lang in JOINED_STRINGS, lang in NAME_STRINGS)
    char_byte_starts = _char_byte_starts(visible, len(data))
    if char_byte_starts is not None:  # byte offsets to character offsets
        starts, ends = _char_offsets(char_byte_starts, starts), _char_offsets(char_byte_starts, ends)
        open_at = _char_offsets(char_byte_starts, np.array([open_at]))[0]
    if kept is not None:  # offsets into ``text``, invisible characters included
        starts, ends = kept[starts].astype(np.int64), kept[ends - 1].astype(np.int64) + 1
        open_at = kept[open_at] if open_at < kept.size else len(text)
    backrefs = backrefs_by_key(names, names != 0)
    return TokenStream(hashes, starts, ends, backrefs, lang), names, int(open_at)


def _token_stream(kept: np.ndarray | None, char_byte_starts: np.ndarray | None, data: bytes, leaves: list,
                  lang: str) -> tuple[TokenStream, np.ndarray]:
    """The TokenStream of (kind, start byte, end byte) leaves, and the name hashes of its identifiers."""
    if not leaves:
        return TokenStream.empty(lang), np.empty(0, np.uint64)
    table = np.array(leaves, dtype=np.int64)
    starts = _char_offsets(char_byte_starts, table[:, 1])
    ends = _char_offsets(char_byte_starts, table[:, 2])
    # Zero-width recovery nodes, split undecodable bytes, and white space that error
    # recovery leaves in pieces of broken literals are not tokens.
    blank = np.isin(np.frombuffer(data, np.uint8)[np.minimum(table[:, 1], len(data) - 1)], _ASCII_BLANKS)
    keep = (ends > starts) & ~blank
    table, starts, ends = table[keep], starts[keep], ends[keep]
    if kept is not None:
        starts, ends = kept[starts].astype(np.int64), kept[ends - 1].astype(np.int64) + 1
    kinds = table[:, 0]
    hashes = hash_ranges(np.frombuffer(data, np.uint8), table[:, 1].copy(), table[:, 2].copy(),
                         np.uint64(TOKEN_SEED))
    is_identifier = kinds == IDENT
    names = np.where(is_identifier, hashes, np.uint64(0))
    backrefs = backrefs_by_key(hashes, is_identifier)
    hashes[is_identifier] = ID_HASH
    hashes[kinds == STR] = STR_HASH
    hashes[kinds == NUM] = NUM_HASH
    return TokenStream(hashes, starts, ends, backrefs, lang), names
