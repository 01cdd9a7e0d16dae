"""A lexical tokenizer for source code, over UTF-8 bytes.

It splits code the way the grammars do where no parse is needed: white
space, comments, string literals (prefixes, triple quotes, escapes,
backticks), numbers, words and operators (multi-character ones first, in
``OPERATORS`` order; any other byte is one token). Used for what tree-sitter
leaves unparsed (error nodes, macro bodies) and for stream pieces, which
are lexed without a parse. ``tests/reference.py`` holds the same rules as
one regular expression; the two are checked against each other.

Lexeme kinds: WS, COMMENT, STR, NUM, WORD, OP.
"""

from __future__ import annotations

import numpy as np

from . import jit
from .hashing import xxh64

WS, COMMENT, STR, NUM, WORD, OP = range(6)
# The trailing lexemes ``code_tokens`` keeps open for a string to join: at most this many. A
# longer run (a hundred strings in a row) is cut there, so a caller reading a growing text
# piece by piece does not read the run again at every piece.
OPEN_RUN = 32

# Multi-character operators, in the order they are tried.
OPERATORS = (b"...", b">>>=", b"<<=", b">>=", b"**=", b"//=", b"->", b"=>", b"::", b":=", b"==", b"!=", b"<=",
             b">=", b"&&", b"||", b"++", b"--", b"+=", b"-=", b"*=", b"/=", b"%=", b"&=", b"|=", b"^=", b"<<",
             b">>", b"**", b"//")


def operator_table(first: tuple[bytes, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    """``first``, then OPERATORS, as (bytes, offsets) arrays for the kernel."""
    operators = (*first, *OPERATORS)
    data = np.frombuffer(b"".join(operators), np.uint8).copy()
    offsets = np.zeros(len(operators) + 1, np.int64)
    offsets[1:] = np.cumsum([len(op) for op in operators])
    return data, offsets


@jit(inline="always")
def _is_space(c):
    return c == 32 or 9 <= c <= 13


@jit(inline="always")
def _is_digit(c):
    return 48 <= c <= 57


@jit(inline="always")
def _is_word_start(c):
    return (65 <= c <= 90) or (97 <= c <= 122) or c == 95 or c == 36 or c >= 128


@jit(inline="always")
def _is_word(c):
    return _is_word_start(c) or _is_digit(c)


@jit(inline="always")
def _is_prefix(c):  # r R b B u U f F L
    return c == 114 or c == 82 or c == 98 or c == 66 or c == 117 or c == 85 or c == 102 or c == 70 or c == 76


@jit(inline="always")
def _is_quote(c):
    return c == 34 or c == 39 or c == 96


@jit
def _string_end(data, i, n):
    """End of the string literal whose quote is at ``i``."""
    q = data[i]
    if q != 96 and i + 2 < n and data[i + 1] == q and data[i + 2] == q:  # """ or '''
        j = i + 3
        while j + 2 < n:
            if data[j] == q and data[j + 1] == q and data[j + 2] == q:
                return j + 3
            j += 1
        return n
    j = i + 1
    while j < n:
        c = data[j]
        if c == q:
            return j + 1
        if c == 92:  # backslash: escapes any next byte; at the very end, not part of the string
            if j + 1 >= n:
                return j
            j += 2
            continue
        if c == 10 and q != 96:
            return j
        j += 1
    return n


@jit
def _string_start(data, i, n):
    """The quote's index when a string literal (with its prefix) starts at ``i``, else -1."""
    c = data[i]
    if _is_quote(c):
        return i
    if _is_prefix(c):
        if i + 2 < n and _is_prefix(data[i + 1]) and _is_quote(data[i + 2]):
            return i + 2
        if i + 1 < n and _is_quote(data[i + 1]):
            return i + 1
    if c == 117 and i + 2 < n and data[i + 1] == 56 and _is_quote(data[i + 2]):  # u8"
        return i + 2
    return -1


@jit
def _operator_end(data, i, n, ops, op_offsets):
    for o in range(op_offsets.size - 1):
        a, b = op_offsets[o], op_offsets[o + 1]
        if i + (b - a) <= n:
            same = True
            for t in range(b - a):
                if data[i + t] != ops[a + t]:
                    same = False
                    break
            if same:
                return i + (b - a)
    return i + 1


@jit
def lexemes(data, hash_comments, ops, op_offsets, signed_exponents=False):
    """(kind, start, end) of every lexeme of ``data`` (uint8), white space and
    comments included; ``hash_comments``: comments run from # (Python), else
    from // or /* (to */ or the end); ``signed_exponents``: a number goes on
    through ``e-5`` / ``E+5`` as the grammars read it (the lexer of unparsed
    code in indexes splits ``1e-5`` in three, and keeps doing so)."""
    n = data.size
    kinds = np.empty(n, np.int64)
    starts = np.empty(n, np.int64)
    ends = np.empty(n, np.int64)
    m = 0
    i = 0
    while i < n:
        c = data[i]
        kind = OP
        if _is_space(c):
            j = i + 1
            while j < n and _is_space(data[j]):
                j += 1
            kind = WS
        elif (c == 35 if hash_comments else c == 47 and i + 1 < n and data[i + 1] == 47):  # a line comment
            j = i + 1
            while j < n and data[j] != 10:
                j += 1
            kind = COMMENT
        elif not hash_comments and c == 47 and i + 1 < n and data[i + 1] == 42:
            j = i + 2
            while j + 1 < n and not (data[j] == 42 and data[j + 1] == 47):
                j += 1
            j = j + 2 if j + 1 < n else n
            kind = COMMENT
        else:
            quote = _string_start(data, i, n)
            if quote >= 0:
                j = _string_end(data, quote, n)
                kind = STR
            elif _is_digit(c) or (c == 46 and i + 1 < n and _is_digit(data[i + 1])):
                j = i + 2 if c == 46 else i + 1
                while j < n:
                    d = data[j]
                    if (signed_exponents and (d == 101 or d == 69) and j + 2 < n and (data[j + 1] == 43 or
                                                                                   data[j + 1] == 45)
                            and _is_digit(data[j + 2])):
                        j += 3
                    elif _is_word(d) and d < 128 and d != 36 or d == 46:
                        j += 1
                    else:
                        break
                kind = NUM
            elif _is_word_start(c):
                j = i + 1
                while j < n and _is_word(data[j]):
                    j += 1
                kind = WORD
            else:
                j = _operator_end(data, i, n, ops, op_offsets)
        kinds[m] = kind
        starts[m] = i
        ends[m] = j
        m += 1
        i = j
    return kinds[:m], starts[:m], ends[:m]


@jit
def _continuation_end(data, kinds, starts, ends, i, m):
    """Where a Python line continuation (a backslash right before a line break) at
    lexeme ``i`` ends, the break included, as the grammar's token does; 0 if none."""
    if kinds[i] != OP or ends[i] - starts[i] != 1 or data[starts[i]] != 92 or i + 1 >= m or kinds[i + 1] != WS:
        return 0
    s = starts[i + 1]
    if data[s] == 10:
        return s + 1
    if data[s] == 13 and s + 1 < ends[i + 1] and data[s + 1] == 10:
        return s + 2
    return 0


@jit
def _is_name(data, kinds, starts, ends, i, keyword_hashes, seed):
    if kinds[i] != WORD:
        return False
    h = xxh64(data, starts[i], ends[i], seed)
    at = np.searchsorted(keyword_hashes, h)
    return not (at < keyword_hashes.size and keyword_hashes[at] == h)


@jit
def _may_prefix_a_string(data, start, end):
    """A word at the very end that the next text may make a string's prefix (``f`` then ``"a"``)."""
    if end - start > 2:
        return False
    for i in range(start, end):
        if not (_is_prefix(data[i]) or (i > start and data[i] == 56)):  # r b u f L, or u8
            return False
    return True


@jit
def _string_prefix_may_be(data, kinds, starts, ends, i, keyword_hashes, seed):
    """A name that a string after it would join (C): not one right after a preprocessor
    directive (``#define NAME "text"``: the name is the macro's)."""
    if not _is_name(data, kinds, starts, ends, i, keyword_hashes, seed):
        return False
    j = i - 1
    while j >= 0 and (kinds[j] == WS or kinds[j] == COMMENT):
        j -= 1
    return not (j >= 0 and kinds[j] == OP and data[starts[j]] == 35)


@jit
def _next_significant(data, kinds, starts, ends, i, m, python):
    """The first lexeme after ``i`` that is not white space, a comment or (``python``) a
    line continuation; ``m`` if none."""
    j = i + 1
    while j < m and (kinds[j] == WS or kinds[j] == COMMENT or
                     (python and _continuation_end(data, kinds, starts, ends, j, m))):
        j += 1
    return j


@jit
def code_tokens(data, hash_comments, ops, op_offsets, keyword_hashes, seed, id_hash, str_hash, num_hash,
                join_strings=False, name_strings=False):
    """Tokens of ``data`` as normalized code, numbers with signed exponents whole:
    (hashes, names, starts, ends, open_at).

    Comments and white space make no token; strings hash as ``str_hash``,
    numbers as ``num_hash``; a word whose xxh64 is in ``keyword_hashes``
    (sorted) is kept as written, any other word is a name: ``id_hash``, with
    its own hash in ``names`` (0 for other tokens). As the grammars read them:
    with ``join_strings``, adjacent string literals are one string (implicit
    concatenation, as in Python and C; not in Go, where a line break ends one),
    and with ``name_strings`` too a name right before a string (C:
    ``KERN_INFO "x"``); with ``hash_comments`` (Python) a line continuation is
    a token, the line break included, unless a string follows it.

    ``open_at``: where the lexemes that may go on in more text begin (the
    text's size if none): those after the last white space unless the text
    ends in white space (a word, a string or comment, ``=`` then ``=``), a
    line continuation (what follows decides whether it is a token), and a
    string that a string in more text would join.
    """
    kinds, starts, ends = lexemes(data, hash_comments, ops, op_offsets, True)
    m = kinds.size
    hashes = np.empty(m, np.uint64)
    names = np.zeros(m, np.uint64)
    t_starts = np.empty(m, np.int64)
    t_ends = np.empty(m, np.int64)
    open_at = data.size
    if m and kinds[m - 1] != WS:  # the lexemes after the last white space may go on (``a =`` then ``= b``)
        open_at = 0
        for i in range(m - 1, -1, -1):
            if kinds[i] == WS:
                open_at = ends[i]
                break
    stop = max(m - OPEN_RUN, 0)
    last = m - 1  # the last lexeme that is not white space, a comment, (Python) a backslash
    while last >= stop and (kinds[last] == WS or kinds[last] == COMMENT or (
            hash_comments and kinds[last] == OP and ends[last] - starts[last] == 1 and data[starts[last]] == 92) or (
            not hash_comments and last == m - 1 and kinds[last] == OP and ends[last] - starts[last] == 1 and
            data[starts[last]] == 47)):  # or, at the very end, a "/" that may open a comment
        if kinds[last] == OP:  # a line continuation is a token or not by what follows it
            open_at = min(open_at, starts[last])
        last -= 1
    if name_strings and last >= stop:  # a directive, or its name, at the end: what follows is the macro's
        j = last
        if _is_name(data, kinds, starts, ends, j, keyword_hashes, seed):
            j -= 1
            while j >= 0 and (kinds[j] == WS or kinds[j] == COMMENT):
                j -= 1
        if j >= 0 and kinds[j] == OP and data[starts[j]] == 35:
            open_at = min(open_at, starts[j])
    if join_strings and last >= stop and (kinds[last] == STR or (name_strings and _string_prefix_may_be(
            data, kinds, starts, ends, last, keyword_hashes, seed)) or (
            last == m - 1 and kinds[last] == WORD and _may_prefix_a_string(data, starts[last], ends[last]))):
        first = last
        for i in range(last - 1, stop - 1, -1):
            if kinds[i] == STR or (kinds[first] == STR and name_strings and _string_prefix_may_be(
                    data, kinds, starts, ends, i, keyword_hashes, seed)):
                first = i
            elif not (kinds[i] == WS or kinds[i] == COMMENT or
                      (hash_comments and _continuation_end(data, kinds, starts, ends, i, m))):
                break
        open_at = min(open_at, starts[first])
    t = 0
    joined = -1  # the token a next string joins (a string, or with name_strings a name before one)
    ahead = 0  # the next significant lexeme after the last one asked about: found once per run
    after_directive = False  # the last token is a preprocessor directive (#define, #include, ...)
    for i in range(m):
        kind = kinds[i]
        if kind == WS or kind == COMMENT:
            continue
        end = ends[i]
        if hash_comments:
            continuation = _continuation_end(data, kinds, starts, ends, i, m)
            if continuation:
                if ahead <= i:
                    ahead = _next_significant(data, kinds, starts, ends, i, m, hash_comments)
                if ahead < m and kinds[ahead] == STR:
                    continue  # the grammar's string scanner takes a line continuation before a string
                end = continuation
        if kind == STR and joined >= 0 and join_strings:
            t_ends[joined] = end
            continue
        word_hash = np.uint64(0)
        is_name = False
        if kind == WORD:  # hashed once: whether it is a name, and its token
            word_hash = xxh64(data, starts[i], end, seed)
            at = np.searchsorted(keyword_hashes, word_hash)
            is_name = not (at < keyword_hashes.size and keyword_hashes[at] == word_hash)
        is_string_prefix = False
        if join_strings and name_strings and is_name and not after_directive:
            if ahead <= i:
                ahead = _next_significant(data, kinds, starts, ends, i, m, hash_comments)
            is_string_prefix = ahead < m and kinds[ahead] == STR
        after_directive = kind == OP and data[starts[i]] == 35  # ``#define NAME "text"``: the macro's name
        if is_string_prefix:
            if joined >= 0:
                t_ends[joined] = end
                continue
            kind = STR
        if kind == STR:
            h = str_hash
            joined = t
        else:
            joined = -1
            if kind == NUM:
                h = num_hash
            elif is_name:
                names[t] = word_hash
                h = id_hash
            elif kind == WORD:
                h = word_hash
            else:
                h = xxh64(data, starts[i], end, seed)
        hashes[t] = h
        t_starts[t] = starts[i]
        t_ends[t] = end
        t += 1
    for j in range(t - 1, -1, -1):  # a joined token that runs into the open lexemes is open too
        if t_starts[j] < open_at:
            if t_ends[j] > open_at:
                open_at = t_starts[j]
            break
    return hashes[:t], names[:t], t_starts[:t], t_ends[:t], open_at
