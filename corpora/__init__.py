"""Real corpora found on any machine where dedupfilter is installed.

Nothing here is copied into the repository: each loader reads what the
running interpreter already has.

- ``stdlib_python()``: the standard library's Python source (code)
- ``pydoc_topics()``: the Python reference's help topics (English prose)
- ``site_packages_python()``: source of installed third-party packages (code)

Each yields ``Document(doc_id, source, text, lang)`` in a stable order.
"""

from __future__ import annotations

import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

__all__ = ["Document", "stdlib_python", "pydoc_topics", "site_packages_python", "python_functions",
           "paragraphs"]


@dataclass(frozen=True)
class Document:
    doc_id: str
    source: str
    text: str
    lang: str


def _python_files(root: Path, skip_dirs: frozenset[str]) -> Iterator[Path]:
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).parts
        if any(part in skip_dirs for part in rel[:-1]):
            continue
        yield path


def _read_python(root: Path, prefix: str, skip_dirs: frozenset[str], limit: int | None,
                 min_chars: int) -> Iterator[Document]:
    n = 0
    for path in _python_files(root, skip_dirs):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if len(text) < min_chars:
            continue
        yield Document(f"{prefix}{path.relative_to(root).as_posix()}", str(path), text, "python")
        n += 1
        if limit is not None and n >= limit:
            return


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_python(limit: int | None = None, min_chars: int = 1) -> Iterator[Document]:
    """Standard-library modules (tests, site-packages and bundled tools excluded)."""
    skip = frozenset({"site-packages", "dist-packages", "test", "tests", "idlelib", "turtledemo",
                      "lib2to3", "__pycache__", "ensurepip", "venv"})
    yield from _read_python(stdlib_root(), "stdlib:", skip, limit, min_chars)


def site_packages_python(limit: int | None = None, min_chars: int = 1) -> Iterator[Document]:
    """Python source of installed packages (this environment's purelib)."""
    root = Path(sysconfig.get_paths()["purelib"])
    if not root.is_dir():
        return
    yield from _read_python(root, "site:", frozenset({"__pycache__", "tests", "test"}), limit, min_chars)


def pydoc_topics(limit: int | None = None) -> Iterator[Document]:
    """The help topics of the Python reference (``pydoc_data.topics``), one document each."""
    from pydoc_data import topics

    for n, name in enumerate(sorted(topics.topics)):
        if limit is not None and n >= limit:
            return
        yield Document(f"pydoc:{name}", f"pydoc_data.topics[{name!r}] (Python {sys.version.split()[0]})",
                       topics.topics[name], "text")


def python_functions(doc: Document, min_lines: int = 5) -> Iterator[Document]:
    """Top-level functions and methods of a Python document, as their own documents."""
    import ast

    try:
        tree = ast.parse(doc.text)
    except (SyntaxError, ValueError):
        return
    lines = doc.text.splitlines(keepends=True)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno:
            if node.end_lineno - node.lineno + 1 < min_lines:
                continue
            start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            text = "".join(lines[start - 1:node.end_lineno])
            yield Document(f"{doc.doc_id}:{node.name}@{start}", doc.source, text, doc.lang)


def paragraphs(doc: Document, min_words: int = 40) -> Iterator[Document]:
    """Blank-line-separated paragraphs of a prose document with at least ``min_words`` words."""
    for n, block in enumerate(doc.text.split("\n\n")):
        if len(block.split()) >= min_words:
            yield Document(f"{doc.doc_id}#p{n}", doc.source, block, doc.lang)
