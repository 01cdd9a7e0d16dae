"""TokenTape: the tokens of a growing text, their k-grams and where the index has them.

A stream filter judges an output again and again as it grows. A tape reads
each piece of text once: it tokenizes what came since the last reading,
hashes the k-grams those tokens complete, and looks them up in the index.
Judging the text so far then costs a slice of the tape, not a normalization
and lookup of a window.

- Prose is tokenized by the prose normalizer from a token boundary on: a
  piece cut after white space tokenizes as it does inside the whole text. The
  last token of a piece that runs to its end may go on in the next piece: it
  is read again with it.
- Code is lexed (``normalize.code.lex_code``), not parsed: a parse costs ten
  times a lexer per piece, and the tokens differ only where the parse decides
  (contextual keywords, the C preprocessor). A token still open at the end of
  a piece (a word, a string not yet closed) is read again with the next one;
  names link to their last occurrence within k tokens, across pieces.
- Markdown: prose, and each fenced block's body as code in the language its
  fence names. A block whose fence names no known language is held until
  ``UNTAGGED_HOLD`` characters of it have come (or it closes), then read in the
  language ``mixed.block_language`` finds for those characters. Only the
  closing fence ends a block (a body line that starts like a fence is code);
  a last line that may still become it is held until it is complete.

Tokens and k-grams depend on where readings happen only through the rules
above; a stream filter reads at checkpoints that depend on the text alone, so
any chunking of an output gives the same tape.
"""

from __future__ import annotations

import re

import numpy as np

from ._kernels.tokens import backrefs_by_key
from .index.protected import DISTINCTIVE_MAX_HITS, MAX_HITS_PER_HASH, Lookup
from .config import SketchConfig
from .normalize.code import lex_code
from .normalize.languages import LANGUAGES, MARKDOWN, TEXT, UnknownLanguageError, canonical_language
from .normalize.mixed import _FENCE, _closing_fence, block_language
from .normalize.text import normalize_text
from .sketch import kgrams, passage_sketch, usable_hits
from .normalize.tokens import TokenStream

UNTAGGED_HOLD = 256  # characters of a block with no known language read before its language is chosen
_MAY_BE_FENCE = re.compile(r"^[ \t]{0,3}[`~]", re.MULTILINE)
_EMPTY_I64 = np.empty(0, np.int64)


class _Columns:
    """Parallel arrays that grow at the end and are dropped from the front.
    Rows are numbered from the start of the text (``base`` is the first held)."""

    def __init__(self, **dtypes):
        self._data = {name: np.empty(512, dtype) for name, dtype in dtypes.items()}
        self.base = 0
        self.end = 0

    def append(self, **arrays: np.ndarray) -> None:
        n = len(next(iter(arrays.values())))
        used = self.end - self.base
        size = len(next(iter(self._data.values())))
        if used + n > size:
            grown = max(2 * size, used + n)
            for name, data in self._data.items():
                new = np.empty(grown, data.dtype)
                new[:used] = data[:used]
                self._data[name] = new
        for name, values in arrays.items():
            self._data[name][used:used + n] = values
        self.end += n

    def get(self, name: str, lo: int, hi: int) -> np.ndarray:
        """Rows [lo, hi) of a column (a view)."""
        return self._data[name][lo - self.base:hi - self.base]

    def drop_before(self, row: int) -> None:
        row = min(max(row, self.base), self.end)
        if row - self.base > max(1024, self.end - row):  # copied down only when most of it is dropped
            used = self.end - row
            for data in self._data.values():
                data[:used] = data[row - self.base:self.end - self.base]
            self.base = row


class TokenTape:
    """The tokens of an output from ``start`` on, read in ``mode`` ("text", "markdown"
    or a code language), with k-gram hashes, informative flags and index lookups."""

    def __init__(self, index, mode: str, start: int = 0):
        config: SketchConfig = index.settings.sketch
        self.index, self.mode, self.config = index, mode, config
        self.k = config.shingle.k_for(mode)
        self.stable = start  # the text before this is read
        self.tokens = _Columns(hash=np.uint64, backref=np.int32, start=np.int64, end=np.int64, name=np.uint64)
        self.kgrams = _Columns(shingle=np.uint64, informative=np.bool_, lo=np.int64, hi=np.int64,
                               ignored=np.bool_, usable=np.bool_)
        self.hits = _Columns(q=np.int64, row=np.int64, doc=np.int64)  # of usable k-grams, by k-gram
        self._segment_start = 0  # first token of the current code segment (names link within it)
        self._line_start = start  # where the next fence line may begin: the start of the line being read
        self._block: str | None = None  # Markdown: the language of the block being read ("text" too)
        self._closing: re.Pattern | None = None  # the open block's closing fence
        self._untagged: tuple[int, str] | None = None  # an untagged block's (body start, info string)

    # --- reading ---------------------------------------------------------------------------

    def advance(self, text: str, at: int, p: int) -> None:
        """Read the output up to offset ``p``; ``text`` holds it from offset ``at`` on
        (from ``keep_from`` at least)."""
        if self.mode != MARKDOWN:
            self._read(text, at, p, self.mode, final=False)
            return
        while self.stable < p and self._markdown_step(text, at, p):
            pass

    @property
    def keep_from(self) -> int:
        """The first offset of the output the tape may still read."""
        return self._untagged[0] if self._untagged else self.stable

    def _markdown_step(self, text: str, at: int, p: int) -> bool:
        """Read on from ``stable`` towards ``p``; False when nothing more can be read yet."""
        if self._untagged is not None:
            return self._read_untagged(text, at, p)
        lines_from, end = self._lines_from(text, at), p - at
        if self._block is None:  # prose, up to the end of the next opening fence line
            m = _FENCE.search(text, lines_from, end) if lines_from <= end else None
            stop = at + m.end() if m else p
            self._read(text, at, stop, TEXT, final=m is not None)
            self._note_lines(text, at, stop)
            if m:
                self._open_block(m)
            return m is not None
        # A block: read up to its closing fence line; a last line that may still become it is held.
        for m in _MAY_BE_FENCE.finditer(text, lines_from, end) if lines_from <= end else ():
            line = at + m.start()
            newline = text.find("\n", m.start(), end)
            if newline < 0:
                self._read(text, at, line, self._block, final=False)
                self._note_lines(text, at, line)
                return False
            if self._closing.match(text, m.start(), newline):
                self._read(text, at, line, self._block, final=True)
                self._close_block()
                self._line_start = at + newline + 1  # the closing line is read as prose, and opens nothing
                return True
        self._read(text, at, p, self._block, final=False)
        self._note_lines(text, at, p)
        return False

    def _lines_from(self, text: str, at: int) -> int:
        """Where fence lines may begin in ``text``: at the start of the line being read, or,
        when ``text`` begins inside that line (a long line), at the next line start."""
        if self._line_start >= at:
            return self._line_start - at
        newline = text.find("\n")
        return newline + 1 if newline >= 0 else len(text) + 1

    def _note_lines(self, text: str, at: int, end: int) -> None:
        newline = text.rfind("\n", max(self._line_start, at) - at, end - at)
        if newline >= 0:
            self._line_start = at + newline + 1

    def _open_block(self, fence: re.Match) -> None:
        self._line_start = self.stable
        self._closing = _closing_fence(fence.group("fence"))
        info = fence.group("info").strip()
        word = info.split()[0] if info else ""
        try:
            tagged = canonical_language(word.strip("{}.,;")) if word else None
        except UnknownLanguageError:
            tagged = None
        if tagged in LANGUAGES:
            self._start_segment(tagged)
        else:
            self._untagged = (self.stable, info)

    def _read_untagged(self, text: str, at: int, p: int) -> bool:
        body_start, info = self._untagged
        closing = None
        for line in re.finditer(r"[^\n]*\n", text[body_start - at:p - at]):
            if self._closing.match(line.group(0).rstrip("\n")):
                closing = (body_start + line.start(), body_start + line.end())
                break
        end = closing[0] if closing else p
        if closing is None and end - body_start < UNTAGGED_HOLD:
            return False
        self._untagged = None
        self._start_segment(block_language(text[body_start - at:min(end, body_start + UNTAGGED_HOLD) - at], info))
        if closing is not None:
            self._read(text, at, closing[0], self._block, final=True)
            self._line_start = closing[1]
            self._close_block()
        return True

    def _start_segment(self, lang: str) -> None:
        self._block = lang
        self._segment_start = self.tokens.end

    def _close_block(self) -> None:
        self._block = self._closing = None

    def _read(self, text: str, at: int, end: int, lang: str, final: bool) -> None:
        """Tokenize [stable, end) in ``lang``; unless ``final``, a token (or a code comment
        or string) that may go on past ``end`` is left for the next reading."""
        start = self.stable
        if end <= start:
            return
        piece = text[start - at:end - at]
        if lang == TEXT:
            stream, names = normalize_text(piece), None
            # White space always ends a word; otherwise the last word may go on.
            open_at = len(piece) if final or piece[-1].isspace() or not len(stream) else int(stream.starts[-1])
        else:
            stream, names, open_at = lex_code(piece, lang)
            open_at = len(piece) if final else open_at
        n = int(np.searchsorted(stream.starts, open_at)) if open_at < len(piece) else len(stream)
        self.stable = start + open_at
        if n == 0:
            return
        if names is None:
            names, backrefs = np.zeros(n, np.uint64), np.zeros(n, np.int32)
        else:
            names, backrefs = names[:n], self._backrefs(names[:n])
        self.tokens.append(hash=stream.hashes[:n], backref=backrefs, start=stream.starts[:n] + start,
                           end=stream.ends[:n] + start, name=names)
        self._add_kgrams()

    def _backrefs(self, names: np.ndarray) -> np.ndarray:
        """Backrefs of new tokens, linked to the k - 1 tokens before them in the segment."""
        context_start = max(self._segment_start, self.tokens.end - (self.k - 1), self.tokens.base)
        keys = np.concatenate([self.tokens.get("name", context_start, self.tokens.end), names])
        refs = backrefs_by_key(keys, keys != 0)
        return refs[self.tokens.end - context_start:]

    def _add_kgrams(self) -> None:
        k, n = self.k, self.tokens.end
        first = max(self.kgrams.end, self.tokens.base)
        if n - first < k:
            return
        stream = TokenStream(*(self.tokens.get(name, first, n) for name in ("hash", "start", "end", "backref")),
                             self.mode)
        shingles, informative = kgrams(stream, self.config.shingle)
        lookup = self.index.lookup(shingles)
        usable, hit_q, hit_row, hit_doc = usable_hits(lookup.lo, lookup.hi, informative, lookup.ignored,
                                                      DISTINCTIVE_MAX_HITS, MAX_HITS_PER_HASH, self.index.fp.doc)
        if self.kgrams.end < first:  # tokens before were dropped: k-gram rows restart with them
            self.kgrams.base = self.kgrams.end = first
        self.kgrams.append(shingle=shingles, informative=informative, lo=lookup.lo, hi=lookup.hi,
                           ignored=lookup.ignored, usable=usable)
        if hit_q.size:
            self.hits.append(q=hit_q + first, row=hit_row, doc=hit_doc)

    # --- what a judge reads ----------------------------------------------------------------

    def first_token_at(self, offset: int) -> int:
        """The first held token starting at or after ``offset``."""
        starts = self.tokens.get("start", self.tokens.base, self.tokens.end)
        return self.tokens.base + int(np.searchsorted(starts, offset))

    def tail(self, offset: int):
        """(Sketch, Lookup) of the tokens from ``offset`` on, for ``index.passages`` and
        ``index.matches``: the k-grams, their informative flags and lookups as read; no
        fingerprints, no signature (a tail is matched by its passages, not as a whole)
        and no newlines (a caller that wants spans' line numbers sets them)."""

        t0, n = self.first_token_at(offset), self.tokens.end
        m = max(0, n - self.k + 1 - t0) if n - t0 >= self.k else 0
        tokens = TokenStream(self.tokens.get("hash", t0, n), self.tokens.get("start", t0, n),
                             self.tokens.get("end", t0, n), self.tokens.get("backref", t0, n), self.mode)
        rows = (t0, t0 + m)
        sketch = passage_sketch(tokens, _EMPTY_I64, self.kgrams.get("shingle", *rows),
                                self.kgrams.get("informative", *rows), self.config)
        first_hit = self._first_hit_at(t0)
        hit_q, hit_row, hit_doc = (self.hits.get(name, first_hit, self.hits.end) for name in ("q", "row", "doc"))
        lookup = Lookup(*(self.kgrams.get(name, *rows) for name in ("lo", "hi", "ignored", "usable")),
                        hits=(hit_q - t0, hit_row, hit_doc))
        return sketch, lookup

    def has_hits_from(self, offset: int) -> bool:
        """Whether a k-gram from ``offset`` on has a usable hit (without one, no passage)."""
        return self.hits.end > self._first_hit_at(self.first_token_at(offset))

    def _first_hit_at(self, kgram: int) -> int:
        return self.hits.base + int(np.searchsorted(self.hits.get("q", self.hits.base, self.hits.end), kgram))

    def drop_before(self, offset: int) -> None:
        """Forget tokens (and their k-grams) that start before ``offset``."""
        t = self.first_token_at(offset)
        self.tokens.drop_before(t)
        self.kgrams.drop_before(t)
        self.hits.drop_before(self._first_hit_at(t))
