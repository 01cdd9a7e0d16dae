"""Mixed documents: prose with fenced code blocks, as models write answers.

The text is cut into segments: the body of each fenced block (```` ``` ````
or ``~~~``) is normalized as code, everything else as prose, and the token
streams are joined with offsets into the whole text. A fence's info string
names the language; when it names none we know, or names one whose cues do
not fire while another language's clearly do (a wrong tag), the content
decides. A block that looks like prose stays prose.
"""

from __future__ import annotations

import functools
import re

from .code import lex_code, normalize_code
from .languages import LANGUAGES, TEXT, UnknownLanguageError, canonical_language, cue_fires, cue_scores
from .text import normalize_text
from .tokens import TokenStream

_FENCE = re.compile(r"^(?P<indent>[ \t]{0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n", re.MULTILINE)


def _closing_fence(fence: str) -> re.Pattern:
    """A line closing a block opened by ``fence``; its line break may be CRLF."""
    return re.compile(r"^[ \t]{0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*\r?$",
                      re.MULTILINE)


def code_blocks(text: str) -> list[tuple[int, int, str]]:
    """(start, end, info) of each fenced block's body; an unclosed fence runs to the end."""
    blocks = []
    pos = 0
    while True:
        m = _FENCE.search(text, pos)
        if not m:
            return blocks
        fence = m.group("fence")
        c = _closing_fence(fence).search(text, m.end())
        end = c.start() if c else len(text)
        blocks.append((m.end(), end, m.group("info").strip()))
        pos = c.end() if c else len(text)


class FenceTracker:
    """``code_blocks`` one line at a time, for text that arrives as a stream.

    Feed every complete line, newline included, in order; ``opener`` is then
    the fence line of the block the next line belongs to (None outside
    blocks): the blocks ``code_blocks`` finds in the text so far.
    """

    def __init__(self):
        self.opener: str | None = None
        self._closing: re.Pattern | None = None

    def feed_line(self, line: str) -> None:
        if self._closing is None:
            m = _FENCE.match(line)
            if m:
                self.opener = m.group(0)
                self._closing = _closing_fence(m.group("fence"))
        elif self._closing.match(line.rstrip("\n")):
            self.opener = self._closing = None


def block_language(body: str, info: str) -> str:
    """The language a fenced block is normalized in (a registry name or "text")."""
    tagged = None
    word = info.split()[0] if info.split() else ""
    if word:
        try:
            tagged = canonical_language(word.strip("{}.,;"))
        except UnknownLanguageError:
            tagged = None
    if tagged in LANGUAGES and cue_fires(body, tagged):
        return tagged
    scores = cue_scores(body)
    best = max(scores, key=lambda lang: scores[lang])
    if tagged in LANGUAGES:
        return best if scores[best] >= 1 else tagged  # a clear cue of another language: tagged wrongly
    if scores[best] >= 1:
        return best
    return TEXT


@functools.lru_cache(maxsize=16)
def _normalized_segment(piece: str, lang: str, lexed: bool = False) -> TokenStream:
    """A segment's tokens, read-only; code ``lexed`` (``lex_code``) or parsed. Cached
    because a stream filter normalizes overlapping windows of one answer: a code block
    they share is read once."""
    if lang == TEXT:
        tokens = normalize_text(piece)
    else:
        tokens = lex_code(piece, lang)[0] if lexed else normalize_code(piece, lang)
    for array in (tokens.hashes, tokens.starts, tokens.ends, tokens.backrefs):
        array.flags.writeable = False
    return tokens


def _segment_stream(text: str, start: int, end: int, lang: str, lexed: bool = False) -> TokenStream:
    tokens = _normalized_segment(text[start:end], lang, lexed)
    return TokenStream(tokens.hashes, tokens.starts + start, tokens.ends + start, tokens.backrefs, tokens.lang)


def normalize_markdown(text: str, lexed: bool = False) -> TokenStream:
    """Prose, and each fenced block's body as code (``lexed``: by ``lex_code``)."""
    parts = []
    pos = 0
    for start, end, info in code_blocks(text):
        if pos < start:
            parts.append(_segment_stream(text, pos, start, TEXT))
        parts.append(_segment_stream(text, start, end, block_language(text[start:end], info), lexed))
        pos = end
    if pos < len(text):
        parts.append(_segment_stream(text, pos, len(text), TEXT))
    return TokenStream.concat(parts, "markdown")
