"""bytes -> str -> TokenStream, for prose and for source code."""

from __future__ import annotations

from .code import lex_code, normalize_code
from .languages import LANGUAGES, MARKDOWN, TEXT, canonical_language, detect_language, language_for_path
from .mixed import normalize_markdown
from .text import normalize_text
from .tokens import TokenStream


def decode(data: bytes) -> str:
    """Decode bytes as UTF-8 without losing anything.

    Policy: a UTF-8 byte-order mark is kept as a character (normalization
    ignores it, and offsets stay those of the decoded text); each byte that is
    not valid UTF-8 becomes one lone surrogate (Python's "surrogateescape"),
    so the original bytes are recoverable with
    ``text.encode("utf-8", "surrogateescape")``, offsets stay one character per
    bad byte, and such characters separate tokens. Callers that must refuse
    invalid input check ``first_invalid_utf8(data)`` first.
    """
    return data.decode("utf-8", "surrogateescape")


def first_invalid_utf8(data: bytes) -> int | None:
    """Byte offset of the first invalid UTF-8 sequence, or None."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start
    return None


def resolve_language(text: str, lang: str | None = None, path: str | None = None) -> str:
    """``lang`` if given, else the file extension of ``path``, else a content guess."""
    if lang:
        return canonical_language(lang)
    if path:
        by_extension = language_for_path(path)
        if by_extension:
            return by_extension
    return detect_language(text)


def normalize(text: str | bytes, lang: str | None = None, *, path: str | None = None,
              lexed: bool = False) -> TokenStream:
    """Normalize ``text`` into a TokenStream.

    ``lang``: a language name ("python", "java", "text", "markdown", aliases
    such as "py" or "c++" accepted); when None, the extension of ``path``
    decides, else a content-based guess; prose ("text") when nothing fits.
    "markdown" normalizes prose and each fenced code block in its own language.
    Offsets in the result are character offsets into ``text`` (into
    ``decode(text)`` for bytes). ``lexed``: code is lexed (``lex_code``: ten
    times faster than a parse, and the same tokens but where only the parse
    can tell, e.g. a contextual keyword) instead of parsed.
    """
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = decode(bytes(text))
    resolved = resolve_language(text, lang, path)
    if resolved == TEXT:
        return normalize_text(text)
    if resolved == MARKDOWN:
        return normalize_markdown(text, lexed)
    return lex_code(text, resolved)[0] if lexed else normalize_code(text, resolved)


__all__ = [
    "LANGUAGES", "MARKDOWN", "TEXT", "TokenStream", "canonical_language", "decode", "detect_language",
    "first_invalid_utf8", "language_for_path", "normalize", "normalize_code", "normalize_text",
    "resolve_language",
]
