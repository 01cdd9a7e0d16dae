"""Disguises applied to real Python source: what a copier (or a model) does.

Used by the demo, the tests and the evasion benchmarks. Each transform keeps
the program's token structure apart from what it is meant to change.
"""

from __future__ import annotations

import ast
import io
import keyword
import textwrap
import tokenize


def defined_names(source: str) -> set[str]:
    """Names the source itself defines: functions, classes, parameters,
    assigned variables, loop targets and attributes assigned on objects."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(textwrap.dedent(source))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
    names.discard("self")
    names.discard("cls")
    return {n for n in names if not keyword.iskeyword(n)}


def _rewrite(source: str, replace) -> str:
    """Rebuild ``source`` token by token; ``replace(tok)`` returns new text or None."""
    lines = source.splitlines(keepends=True)
    line_starts = [0]
    for line in lines:
        line_starts.append(line_starts[-1] + len(line))
    out = []
    pos = 0
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.ENDMARKER:
            break
        new = replace(tok)
        if new is None:
            continue
        start = line_starts[tok.start[0] - 1] + tok.start[1]
        end = line_starts[tok.end[0] - 1] + tok.end[1]
        out.append(source[pos:start])
        out.append(new)
        pos = end
    out.append(source[pos:])
    return "".join(out)


def rename_identifiers(source: str, prefix: str = "renamed_") -> str:
    """Consistently rename every name the source defines (everywhere it occurs)."""
    mapping = {name: f"{prefix}{i}" for i, name in enumerate(sorted(defined_names(source)))}
    return _rewrite(source, lambda tok: mapping.get(tok.string) if tok.type == tokenize.NAME else None)


def change_literals(source: str) -> str:
    """Replace every string literal with another string and every number with another number."""
    def replace(tok):
        if tok.type == tokenize.STRING:
            return repr(f"changed {len(tok.string)}")
        if tok.type == tokenize.NUMBER:
            return str(len(tok.string) + 41)
        return None
    return _rewrite(source, replace)


def change_comments(source: str) -> str:
    """Reword every comment (and keep the line count)."""
    return _rewrite(source, lambda tok: "# reworded remark" if tok.type == tokenize.COMMENT else None)


def reindent(source: str, width: int = 2) -> str:
    """Re-indent 4-space indentation to ``width`` spaces and add spaces around commas."""
    out = []
    for line in source.splitlines(keepends=True):
        stripped = line.lstrip(" ")
        n = len(line) - len(stripped)
        out.append(" " * (n // 4 * width + n % 4) + stripped)
    return "".join(out)


def disguise(source: str) -> str:
    """All of the above: what a renamed, reformatted, re-commented copy looks like."""
    return reindent(change_comments(change_literals(rename_identifiers(source))))
