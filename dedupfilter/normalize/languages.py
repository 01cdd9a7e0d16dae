"""Grammar registry and language detection.

Grammars come from the per-language wheels (tree-sitter-python, ...), which
ship compiled parsers: nothing is downloaded at run time.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import tree_sitter


@dataclass(frozen=True)
class LanguageSpec:
    name: str
    module: str
    function: str
    extensions: tuple[str, ...]
    line_comment: tuple[str, ...]


LANGUAGES: dict[str, LanguageSpec] = {
    spec.name: spec
    for spec in (
        LanguageSpec("python", "tree_sitter_python", "language", (".py", ".pyi", ".pyw"), ("#",)),
        LanguageSpec("javascript", "tree_sitter_javascript", "language",
                     (".js", ".mjs", ".cjs", ".jsx"), ("//",)),
        LanguageSpec("typescript", "tree_sitter_typescript", "language_typescript",
                     (".ts", ".mts", ".cts"), ("//",)),
        LanguageSpec("tsx", "tree_sitter_typescript", "language_tsx", (".tsx",), ("//",)),
        LanguageSpec("java", "tree_sitter_java", "language", (".java",), ("//",)),
        LanguageSpec("c", "tree_sitter_c", "language", (".c", ".h"), ("//",)),
        LanguageSpec("cpp", "tree_sitter_cpp", "language",
                     (".cc", ".cpp", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".ino"), ("//",)),
        LanguageSpec("go", "tree_sitter_go", "language", (".go",), ("//",)),
        LanguageSpec("rust", "tree_sitter_rust", "language", (".rs",), ("//",)),
    )
}

TEXT = "text"
MARKDOWN = "markdown"  # prose with fenced code blocks: each segment in its own language

ALIASES = {
    "py": "python", "python3": "python", "js": "javascript", "node": "javascript",
    "jsx": "javascript", "ts": "typescript", "c++": "cpp", "cxx": "cpp", "cc": "cpp",
    "golang": "go", "rs": "rust", "h": "c", "hpp": "cpp",
    "prose": TEXT, "txt": TEXT, "plain": TEXT, "plaintext": TEXT, "md": MARKDOWN, "mixed": MARKDOWN,
}

_EXTENSIONS = {ext: spec.name for spec in LANGUAGES.values() for ext in spec.extensions}
_EXTENSIONS.update({".md": MARKDOWN, ".markdown": MARKDOWN, ".txt": TEXT, ".rst": TEXT})


class UnknownLanguageError(ValueError):
    pass


def canonical_language(lang: str) -> str:
    """Map a user-given name (any case, common aliases) to a registry name or "text"."""
    key = lang.strip().lower()
    key = ALIASES.get(key, key)
    if key in (TEXT, MARKDOWN) or key in LANGUAGES:
        return key
    known = ", ".join(sorted([*LANGUAGES, TEXT, MARKDOWN]))
    raise UnknownLanguageError(f"unknown language {lang!r}; known: {known}")


def language_for_path(path: str | Path) -> str | None:
    return _EXTENSIONS.get(Path(path).suffix.lower())


@functools.lru_cache(maxsize=None)
def parser_for(lang: str) -> tree_sitter.Parser:
    spec = LANGUAGES[lang]
    module = importlib.import_module(spec.module)
    return tree_sitter.Parser(tree_sitter.Language(getattr(module, spec.function)()))


@functools.lru_cache(maxsize=None)
def keywords_for(lang: str) -> frozenset[str]:
    """Word-like anonymous node kinds of the grammar: its keywords."""
    language = parser_for(lang).language
    words = set()
    for kind_id in range(language.node_kind_count):
        kind = language.node_kind_for_id(kind_id)
        if kind and not language.node_kind_is_named(kind_id) and re.fullmatch(r"[A-Za-z_]\w*", kind):
            words.add(kind)
    return frozenset(words)


@functools.lru_cache(maxsize=None)
def visible_keywords_for(lang: str) -> frozenset[str]:
    """The grammar's keywords that appear as tokens (``keywords_for`` also holds the
    names of hidden rules, ``_statement``, ``block``)."""
    language = parser_for(lang).language
    return frozenset(kind for kind in keywords_for(lang)
                     if any(language.node_kind_for_id(i) == kind and language.node_kind_is_visible(i)
                            for i in range(language.node_kind_count)))


# Content cues, each worth one point for its language. Detection is for
# unlabelled snippets; a file extension or an explicit lang always wins.
# Each cue is (gates, pattern): a pattern can match only where one of its gates
# (literal text every match contains) occurs, and a substring test is a hundred
# times cheaper than a regex search over a few kilobytes, most of which fail.
_CUE_SOURCES: dict[str, list[tuple[tuple[str, ...], str]]] = {
    "python": [(("def ",), r"^\s*def \w+\(.*\)\s*(->\s*[\w\[\], .]+)?:\s*$"),
               (("import ",), r"^\s*(from [\w.]+ )?import [\w.]+"),
               (("class ",), r"^\s*class \w+(\(.*\))?:\s*$"),
               (("elif", "except", "with"), r"^\s*(elif|except|with)\b.*:\s*$"),
               (("self.",), r"\bself\.\w+"),
               (("__main__",), r"^\s*if __name__ == .__main__.:")],
    "javascript": [(("function",), r"\bfunction\s*\w*\s*\("),
                   (("const ", "let ", "var "), r"\b(const|let|var) \w+\s*="),
                   (("=>",), r"=>\s*[{(]?"),
                   (("console.log(",), r"\bconsole\.log\("),
                   (("require(",), r"\brequire\(['\"]"),
                   (("module.exports",), r"^\s*module\.exports\b"),
                   (("document.",), r"\bdocument\.\w+")],
    "typescript": [(("interface ",), r"^\s*(export )?interface \w+"),
                   (("string", "number", "boolean", "void", "any"), r":\s*(string|number|boolean|void|any)\b"),
                   (("type ",), r"^\s*(export )?type \w+\s*="),
                   (("public ", "private ", "readonly "), r"\b(public|private|readonly) \w+\s*:"),
                   (("const ",), r"\bconst \w+\s*:\s*\w+")],
    "java": [(("public", "private", "protected"),
              r"^\s*(public|private|protected)\s+(static\s+)?(final\s+)?[\w<>\[\]]+\s+\w+\s*\("),
             (("class ",), r"^\s*(public )?(final )?class \w+"),
             (("System.out.print",), r"\bSystem\.out\.print"),
             (("import java.",), r"^\s*import java\."),
             (("package ",), r"^\s*package [\w.]+;"),
             (("new ",), r"\bnew \w+(<.*>)?\(")],
    "c": [(("#include",), r"^\s*#include\s*[<\"]"),
          (("printf",), r"\bprintf\s*\("),
          (("malloc",), r"\bmalloc\s*\("),
          (("int", "void", "char"), r"^\s*(static )?(int|void|char)\s+\*?\w+\s*\("),
          (("struct ",), r"\bstruct \w+\s*\{"),
          (("#define ",), r"^\s*#define \w+")],
    "cpp": [(("std::",), r"\bstd::"),
            (("#include",), r"^\s*#include\s*<(iostream|vector|string|map|algorithm)>"),
            (("template",), r"\btemplate\s*<"),
            (("using namespace ",), r"^\s*using namespace \w+;"),
            (("cout",), r"\bcout\s*<<"),
            (("class ",), r"\bclass \w+\s*(:\s*public \w+)?\s*\{")],
    "go": [(("package ",), r"^package \w+\s*$"),
           (("func ",), r"^\s*func (\(\w+ \*?\w+\) )?\w+\("),
           ((":=",), r":="),
           (("fmt.",), r"\bfmt\.\w+\("),
           (("import (",), r"^import \($")],
    "rust": [(("fn ",), r"^\s*(pub )?fn \w+(<.*>)?\("),
             (("let mut",), r"\blet mut\b"),
             (("use ",), r"^\s*use [\w:]+(::\{.*\})?;"),
             (("impl",), r"\bimpl(<.*>)? \w+"),
             (("println!(",), r"\bprintln!\("),
             (("->",), r"->\s*(Self|Option<|Result<|Vec<)"),
             (("&mut",), r"\b&mut\b")],
}
_CUES: dict[str, list[tuple[tuple[str, ...], re.Pattern]]] = {
    lang: [(gates, re.compile(pattern, re.MULTILINE)) for gates, pattern in cues]
    for lang, cues in _CUE_SOURCES.items()
}


def _cue_fires(gates: tuple[str, ...], pattern: re.Pattern, sample: str) -> bool:
    return any(gate in sample for gate in gates) and pattern.search(sample) is not None


# cpp is a superset of c, tsx of typescript of javascript: detection falls
# back to the more general grammar when the specific cues do not fire.
_DETECT_ORDER = ["python", "rust", "go", "java", "cpp", "c", "typescript", "javascript"]


def _looks_like_prose(text: str) -> bool:
    sample = text[:20000]
    if not sample.strip():
        return True
    symbols = sum(sample.count(c) for c in "{}();=[]<>*&|:")
    words = len(re.findall(r"[A-Za-z]{2,}", sample))
    return symbols < 0.08 * max(words, 1)


def cue_fires(text: str, lang: str) -> bool:
    """Whether any content cue of ``lang`` (or of the language it extends) fires on ``text``."""
    sample = text[:20000]
    related = {"tsx": ("typescript", "javascript"), "typescript": ("typescript", "javascript"),
               "cpp": ("cpp", "c")}.get(lang, (lang,))
    return any(_cue_fires(gates, p, sample) for name in related for gates, p in _CUES.get(name, ()))


def cue_scores(text: str) -> dict[str, int]:
    """How many content cues of each language fire on ``text``."""
    sample = text[:20000]
    return {lang: sum(_cue_fires(gates, p, sample) for gates, p in _CUES[lang]) for lang in _DETECT_ORDER}


# Grammars tried, in this order of preference on ties, when the cues do not decide.
_PARSE_CANDIDATES = ["python", "c", "cpp", "java", "go", "javascript", "typescript", "rust"]
PARSE_SAMPLE_CHARS = 4000
# Above this share of bytes in error nodes under every grammar, the text is prose.
MAX_ERROR_SHARE = 0.1


@functools.lru_cache(maxsize=None)
def _error_query(lang: str) -> tree_sitter.Query:
    return tree_sitter.Query(parser_for(lang).language, "(ERROR) @error (MISSING) @missing")


def error_share(text: str, lang: str) -> float:
    """How badly ``text`` parses as ``lang``: bytes inside error nodes, plus 8 per
    missing node, over all bytes."""
    data = text.encode("utf-8", "surrogatepass")
    tree = parser_for(lang).parse(data)
    captures = tree_sitter.QueryCursor(_error_query(lang)).captures(tree.root_node)
    in_errors = sum(n.end_byte - n.start_byte for n in captures.get("error", ()))
    return (in_errors + 8 * len(captures.get("missing", ()))) / max(len(data), 1)


def detect_language(text: str) -> str:
    """Guess the language of unlabelled text: a registry name, "markdown" when it
    has fenced code blocks, or "text" for prose.

    Two or more content cues of one language decide. Otherwise, text with no
    cue that reads as prose is prose; the rest is parsed with each grammar and
    takes the one it parses best with, or is prose if it parses badly with all
    (measured on labelled prose and code: `python bench/detect.py`).
    """
    *_, guess = detection_steps(text)
    return guess


def detection_steps(text: str) -> Iterator[str | None]:
    """``detect_language`` in steps: None after each grammar's parse (up to a few
    milliseconds each on prose), then the guess. A stream filter spreads the
    parses over several deltas instead of spending them all on one."""
    if "```" in text or "~~~" in text:
        yield MARKDOWN
        return
    scores = cue_scores(text)
    best = max(_DETECT_ORDER, key=lambda lang: scores[lang])  # first in order wins ties
    if scores[best] >= 2:
        if best == "c" and scores["cpp"] > 0:
            yield "cpp"
        elif best == "javascript" and scores["typescript"] > 0:
            yield "typescript"
        else:
            yield best
        return
    if scores[best] == 0 and _looks_like_prose(text[:20000]):
        yield TEXT
        return
    sample = text[:PARSE_SAMPLE_CHARS]
    shares = {}
    for lang in _PARSE_CANDIDATES:
        shares[lang] = error_share(sample, lang)
        yield None
        if shares[lang] == 0:  # no later grammar can parse it better, and ties go to the first
            break
    parsed = min(shares, key=lambda lang: shares[lang])  # first wins ties
    yield parsed if shares[parsed] <= MAX_ERROR_SHARE else TEXT
