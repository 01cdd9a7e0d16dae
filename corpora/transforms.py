"""Disguises applied to real Python source and prose: what a copier (or a model) does.

Used by the demo, the tests and the evasion benchmark (bench/evasion.py).
Each code transform keeps the program valid and its token structure apart
from what it is meant to change; the prose transforms are seeded, so a run
is repeatable.
"""

from __future__ import annotations

import ast
import io
import keyword
import random
import re
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


# ---------------------------------------------------------------- structure (code)

def _first_line(node: ast.stmt) -> int:
    """1-based first line of a statement, decorators included."""
    decorators = getattr(node, "decorator_list", None)
    return min([node.lineno] + [d.lineno for d in decorators]) if decorators else node.lineno


def _lines(source: str) -> list[str]:
    lines = source.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return lines


def _reverse_siblings(source: str, nodes: list[ast.stmt]) -> str:
    """Put the line blocks of sibling statements in reverse order; what lies between them stays."""
    if len(nodes) < 2:
        return source
    lines = _lines(source)
    blocks = [(_first_line(n) - 1, n.end_lineno) for n in nodes]
    out = lines[:blocks[0][0]]
    for slot, (start, end) in enumerate(reversed(blocks)):
        out += lines[start:end]
        if slot + 1 < len(blocks):
            out += lines[blocks[slot][1]:blocks[slot + 1][0]]
    out += lines[blocks[-1][1]:]
    return "".join(out)


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def reorder_functions(source: str) -> str:
    """Reverse the order of the methods in each class, then of the top-level definitions."""
    n_classes = sum(isinstance(n, ast.ClassDef) for n in ast.parse(source).body)
    for i in range(n_classes):
        cls = [n for n in ast.parse(source).body if isinstance(n, ast.ClassDef)][i]
        source = _reverse_siblings(source, [n for n in cls.body if isinstance(n, _DEFINITIONS)])
    return _reverse_siblings(source, [n for n in ast.parse(source).body if isinstance(n, _DEFINITIONS)])


def _statements_in_functions(tree: ast.AST) -> list[ast.stmt]:
    """Statements inside function bodies that begin their own line, in source order."""
    found = {}
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, ast.stmt) and node is not fn:
                    found[id(node)] = node
    return sorted(found.values(), key=lambda n: (n.end_lineno, n.col_offset))


def insert_dead_code(source: str, every: int = 3) -> str:
    """After every ``every``-th statement inside a function, an assignment nothing reads."""
    lines = _lines(source)
    inserts: dict[int, str] = {}
    statements = [n for n in _statements_in_functions(ast.parse(source))
                  if not lines[n.lineno - 1][:n.col_offset].strip()]
    for i, node in enumerate(statements[every - 1::every]):
        indent = lines[node.lineno - 1][:node.col_offset]
        inserts.setdefault(node.end_lineno, f"{indent}unused_{i} = {i}\n")
    return "".join(line + inserts.get(n, "") for n, line in enumerate(lines, start=1))


def _names(node: ast.AST) -> tuple[set[str], set[str]]:
    """(names written, names read) by a statement; attribute chains as dotted names."""
    written, read = set(), set()

    def dotted(n):
        parts = []
        while isinstance(n, ast.Attribute):
            parts.append(n.attr)
            n = n.value
        return ".".join([n.id, *reversed(parts)]) if isinstance(n, ast.Name) else None

    inner = {id(n.value) for n in ast.walk(node) if isinstance(n, ast.Attribute)}  # parts of a longer chain
    for n in ast.walk(node):
        name = dotted(n) if isinstance(n, (ast.Name, ast.Attribute)) and id(n) not in inner else None
        if name is None:
            continue
        (written if isinstance(n.ctx, (ast.Store, ast.Del)) else read).add(name)
    return written, read | written


def _conflict(a: set[str], b: set[str]) -> bool:
    return any(x == y or x.startswith(y + ".") or y.startswith(x + ".") for x in a for y in b)


def _independent(a: ast.stmt, b: ast.stmt) -> bool:
    wa, ra = _names(a)
    wb, rb = _names(b)
    return not (_conflict(wa, rb) or _conflict(wb, ra))


def reorder_statements(source: str) -> str:
    """Swap adjacent one-line assignments that share no name (neither writes what the other uses)."""
    lines = _lines(source)
    swaps = []
    for node in ast.walk(ast.parse(source)):
        for body in (getattr(node, f, None) for f in ("body", "orelse", "finalbody")):
            if not isinstance(body, list):
                continue
            i = 0
            while i + 1 < len(body):
                a, b = body[i], body[i + 1]
                simple = all(isinstance(s, (ast.Assign, ast.AugAssign, ast.AnnAssign))
                             and s.lineno == s.end_lineno for s in (a, b))
                if simple and b.lineno == a.lineno + 1 and a.col_offset == b.col_offset and _independent(a, b):
                    swaps.append(a.lineno - 1)
                    i += 2
                else:
                    i += 1
    for i in swaps:
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
    return "".join(lines)


def reformat(source: str) -> str:
    """Layout only: 2-space indentation and a blank line after every block opener."""
    return "".join(line + ("\n" if line.rstrip().endswith(":") and not line.lstrip().startswith("#") else "")
                   for line in _lines(reindent(source)))


def insert_comments(source: str, every: int = 2) -> str:
    """A comment line above every ``every``-th statement inside a function."""
    lines = _lines(source)
    above: dict[int, str] = {}
    statements = [n for n in _statements_in_functions(ast.parse(source))
                  if not lines[n.lineno - 1][:n.col_offset].strip()]
    for i, node in enumerate(statements[::every]):
        indent = lines[node.lineno - 1][:node.col_offset]
        above.setdefault(node.lineno, f"{indent}# note {i}: see above\n")
    return "".join(above.get(n, "") + line for n, line in enumerate(lines, start=1))


def remove_comments(source: str) -> str:
    """Every comment removed (the lines stay, so line numbers do not move)."""
    return _rewrite(source, lambda tok: "" if tok.type == tokenize.COMMENT else None)


# ---------------------------------------------------------------- prose

# Cyrillic and Greek letters that render like Latin ones.
HOMOGLYPHS = {"a": "\u0430", "c": "\u0441", "e": "\u0435", "o": "\u043e", "p": "\u0440", "x": "\u0445",
              "y": "\u0443", "i": "\u0456", "A": "\u0391", "B": "\u0392", "E": "\u0395", "H": "\u0397",
              "K": "\u039a", "M": "\u039c", "O": "\u039f", "P": "\u03a1", "T": "\u03a4", "X": "\u03a7"}
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
# Common English words, for substitutions that read like ordinary text.
SUBSTITUTES = ("also", "often", "thus", "very", "later", "many", "some", "other", "rather", "simply",
               "again", "still", "only", "since", "every", "quite", "never", "always", "indeed", "perhaps")


def homoglyphs(text: str, share: float = 0.5, seed: int = 0) -> str:
    """Replace ``share`` of the letters that have a look-alike with it."""
    rng = random.Random(seed)
    return "".join(HOMOGLYPHS[c] if c in HOMOGLYPHS and rng.random() < share else c for c in text)


def zero_width(text: str, share: float = 0.3, seed: int = 0) -> str:
    """Insert an invisible character after ``share`` of the letters."""
    rng = random.Random(seed)
    return "".join(c + rng.choice(ZERO_WIDTH) if c.isalpha() and rng.random() < share else c for c in text)


def change_case(text: str, seed: int = 0) -> str:
    """Each word upper-, lower- or title-cased at random."""
    rng = random.Random(seed)
    return re.sub(r"\w+", lambda m: rng.choice((str.upper, str.lower, str.title))(m.group()), text)


def change_punctuation(text: str, seed: int = 0) -> str:
    """Each punctuation mark replaced by another, or dropped where white space
    follows (dropping ``a.b`` would join two words: a different text)."""
    rng = random.Random(seed)

    def replace(m):
        at_break = m.end() == len(text) or text[m.end()].isspace()
        return rng.choice(("", ";", " -", ",", "!") if at_break else (";", " -", ",", "!"))
    return re.sub(r"[.,;:!?()\"'-]", replace, text)


def change_whitespace(text: str, seed: int = 0) -> str:
    """Each run of white space replaced by another (double space, tab, line break, no-break space)."""
    rng = random.Random(seed)
    return re.sub(r"\s+", lambda m: rng.choice(("  ", "\t", "\n", " \u00a0", "\n\n")), text)


def full_width(text: str) -> str:
    """ASCII letters, digits and punctuation as their full-width forms; spaces as ideographic spaces."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text)


def substitute_words(text: str, share: float = 0.1, seed: int = 0) -> str:
    """Replace ``share`` of the words with other common words."""
    rng = random.Random(seed)
    return re.sub(r"[A-Za-z]+", lambda m: rng.choice(SUBSTITUTES) if rng.random() < share else m.group(), text)


def reword(text: str, share: float = 0.3, seed: int = 0) -> str:
    """What PAN's random obfuscation does: in each sentence, ``share`` of the words are
    each swapped with the next word, dropped, replaced by a common word, or followed by
    an inserted common word (a quarter of them each), so few runs of 5 words survive."""
    rng = random.Random(seed)
    out = []
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        words = sentence.split()
        i, edited = 0, []
        while i < len(words):
            w = words[i]
            if rng.random() >= share:
                edited.append(w)
            else:
                edit = rng.randrange(4)
                if edit == 0 and i + 1 < len(words):
                    edited += [words[i + 1], w]
                    i += 1
                elif edit == 1:
                    pass
                elif edit == 2:
                    edited.append(rng.choice(SUBSTITUTES))
                else:
                    edited += [w, rng.choice(SUBSTITUTES)]
            i += 1
        out.append(" ".join(edited))
    return " ".join(out)
