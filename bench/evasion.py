"""Evasion robustness at the DEFAULT policy: the share of attacked copies still caught.

Protected corpus (one ProtectedIndex, default settings and FilterPolicy):
every other standard-library module of this interpreter (encodings/ left out:
its codecs come from one template) and every other help topic of the Python
reference (pydoc_data).

- Code units: excerpts of the protected modules, two or more consecutive
  top-level definitions, 30-150 lines, at most two per module.
- Prose units: paragraphs of the protected help topics (at least 40 words).
- Each attack (corpora/transforms.py) is applied to each unit, and the result
  is queried as an output would be (``ProtectedIndex.query``), once with the
  language detected from the content and once with it given. Caught = the
  verdict is not "allow".
- False blocks: the same query on unrelated documents: 4 KB chunks of the
  held-out standard-library modules and of installed third-party packages
  (upper bounds: the standard library copies code between its modules, and
  packages vendor standard-library code), and the held-out topics'
  paragraphs (the help topics quote one another).

Run from the repo root: python bench/evasion.py  (a few minutes on one core)
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import corpora  # noqa: E402
from accuracy_code import library_version, markdown_table  # noqa: E402
from corpora import transforms as t  # noqa: E402
from dedupfilter.config import (DEFAULT_POLICY, DEFAULT_SKETCH_CONFIG, FilterPolicy, ShingleConfig,  # noqa: E402
                                SketchConfig)
from dedupfilter.index import IndexSettings, ProtectedIndex  # noqa: E402
from dedupfilter.normalize import normalize  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGET = 0.99
# Units at least this long (normalized tokens) get their own column: below a few
# times the policy's passage limit, an attack that cuts the copy into pieces can
# leave every piece under the limit.
BIG_CODE_TOKENS = 100
BIG_PROSE_TOKENS = 60


def _all_code_attacks(source: str) -> str:
    return t.reorder_functions(t.insert_dead_code(t.reorder_statements(t.disguise(source))))


def _all_prose_attacks(text: str, seed: int) -> str:
    for attack in (t.change_case, t.change_punctuation, t.change_whitespace, t.homoglyphs, t.zero_width):
        text = attack(text, seed=seed)
    return t.full_width(text)


# name -> (transform, what it does). Prose transforms take a seed.
CODE_ATTACKS = {
    "none (verbatim copy)": (lambda s: s, "the excerpt as it is"),
    "identifier renaming": (t.rename_identifiers, "every name the excerpt defines renamed consistently"),
    "reformatting": (t.reformat, "2-space indentation, a blank line after each block opener"),
    "comment rewording": (t.change_comments, "every comment replaced"),
    "comment insertion": (t.insert_comments, "a comment line above every 2nd statement in functions"),
    "comment removal": (t.remove_comments, "every comment removed"),
    "literal changes": (t.change_literals, "every string and number replaced"),
    "function reordering": (t.reorder_functions, "methods of each class and top-level definitions reversed"),
    "dead-code insertion": (t.insert_dead_code, "an unused assignment after every 3rd statement in functions"),
    "statement reordering": (t.reorder_statements, "adjacent one-line assignments sharing no name swapped"),
    "all of the above": (_all_code_attacks, "renaming, literals, comments, reformatting, statement and "
                                            "function reordering, dead code, together"),
}
PROSE_ATTACKS = {
    "none (verbatim copy)": (lambda s, seed: s, "the paragraph as it is"),
    "homoglyphs": (t.homoglyphs, "half of the letters with a Cyrillic/Greek look-alike replaced"),
    "zero-width characters": (t.zero_width, "an invisible character after 30% of the letters"),
    "case changes": (t.change_case, "each word upper, lower or title case at random"),
    "punctuation changes": (t.change_punctuation, "each punctuation mark dropped or replaced"),
    "white-space changes": (t.change_whitespace, "each space a double space, tab, line break or no-break space"),
    "full-width forms": (lambda s, seed: t.full_width(s), "ASCII as full-width forms, ideographic spaces"),
    "10% word substitution": (t.substitute_words, "10% of the words replaced by common words"),
    "all but substitution": (_all_prose_attacks, "case, punctuation, white space, homoglyphs, zero-width, "
                                                 "full-width, together"),
    "rewording (30% of words edited)": (t.reword, "in each sentence 30% of the words swapped with the next, "
                                                  "dropped, replaced or followed by an inserted word, as PAN's "
                                                  "random obfuscation does"),
}
# Word substitution changes words, so it is the one prose attack not fully
# undone by normalization; the target applies to it too (issue 7).


def code_excerpts(doc: corpora.Document, per_doc: int = 2, min_lines: int = 30, max_lines: int = 150):
    """Runs of two or more consecutive top-level definitions, min_lines..max_lines long."""
    try:
        tree = ast.parse(doc.text)
    except (SyntaxError, ValueError):
        return
    lines = doc.text.splitlines(keepends=True)
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    n_found, group = 0, []
    for node in defs:
        if group and node.end_lineno - t._first_line(group[0]) + 1 > max_lines:
            group = []
        group.append(node)
        start = t._first_line(group[0])
        n_lines = node.end_lineno - start + 1
        if n_lines > max_lines:
            group = []
        elif len(group) >= 2 and n_lines >= min_lines:
            yield corpora.Document(f"{doc.doc_id}@{start}", doc.source, "".join(lines[start - 1:node.end_lineno]),
                                   "python")
            n_found, group = n_found + 1, []
            if n_found >= per_doc:
                return


def docstring_paragraphs(docs, min_words: int = 40):
    """Paragraphs of the module, class and function docstrings: prose that is not the help topics."""
    for doc in docs:
        try:
            tree = ast.parse(doc.text)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                docstring = ast.get_docstring(node)
                if docstring:
                    yield from (p for p in docstring.split("\n\n") if len(p.split()) >= min_words)


def chunks(docs, size: int = 4000, per_doc: int = 10):
    for doc in docs:
        for i in range(0, min(len(doc.text), size * per_doc), size):
            if len(doc.text[i:i + size]) >= size // 4:
                yield doc.text[i:i + size]


def caught(index: ProtectedIndex, texts: list[str], lang: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(verdict not allow, longest passage in tokens), one entry per text. An index that
    stores the text (``--reworded``) also aligns prose queries sentence by sentence."""
    verdicts = [index.query(text, lang, reworded=index.settings.store_text) for text in texts]
    return (np.array([not v.allowed for v in verdicts], bool),
            np.array([max((m.longest_span for m in v.matches), default=0) for v in verdicts]))


def attack_entry(index: ProtectedIndex, what: str, texts: list[str], big: np.ndarray, verbatim: np.ndarray,
                 lang: str) -> dict:
    """Share caught with the language detected from the content and with it given; with it
    given also for the big units only, and for the units whose verbatim copy is caught."""
    detected, _ = caught(index, texts)
    given, longest = caught(index, texts, lang)
    return {"what": what, "n": len(texts), "caught": float(detected.mean()), "caught_lang_given": float(given.mean()),
            "n_big": int(big.sum()), "caught_big": float(given[big].mean()),
            "n_verbatim_caught": int(verbatim.sum()), "caught_if_verbatim_caught": float(given[verbatim].mean()),
            "median_longest": float(np.median(longest))}


def run(limit_modules: int | None, settings: IndexSettings, policy: FilterPolicy) -> dict:
    modules = [d for d in corpora.stdlib_python(min_chars=2000) if not d.doc_id.startswith("stdlib:encodings/")]
    modules = modules[:limit_modules] if limit_modules else modules
    topics = list(corpora.pydoc_topics())
    protected_code, held_out_code = modules[::2], modules[1::2]
    protected_prose, held_out_prose = topics[::2], topics[1::2]
    started = time.perf_counter()
    index, _ = ProtectedIndex.empty(settings, policy).with_documents(protected_code + protected_prose)
    print(f"index: {len(index)} documents, {time.perf_counter() - started:.0f} s", flush=True)

    code_units = [u.text for d in protected_code for u in code_excerpts(d)]
    prose_units = [p.text for d in protected_prose for p in corpora.paragraphs(d)]
    result = {"n_protected_modules": len(protected_code), "n_protected_topics": len(protected_prose),
              "k": settings.sketch.shingle.k, "prose_k": settings.sketch.shingle.k_for("text"),
              "min_match_tokens": policy.min_match_tokens, "min_match_words": policy.min_match_words,
              "piece_gap": policy.piece_gap,
              "reworded": settings.store_text,
              "big_code_tokens": BIG_CODE_TOKENS, "big_prose_tokens": BIG_PROSE_TOKENS,
              "code": {}, "prose": {}, "false_blocks": {}}
    code_tokens = np.array([len(normalize(unit, "python")) for unit in code_units])
    code_verbatim, _ = caught(index, code_units, "python")
    for name, (attack, what) in CODE_ATTACKS.items():
        kept, texts = [], []
        for i, unit in enumerate(code_units):
            try:
                texts.append(attack(unit))
            except (SyntaxError, ValueError):  # tokenize/ast refuse the unit: not an attack on it
                continue
            kept.append(i)
        result["code"][name] = attack_entry(index, what, texts, code_tokens[kept] >= BIG_CODE_TOKENS,
                                            code_verbatim[kept], "python")
        print(f"code  {name}: {result['code'][name]}", flush=True)
    big = np.array([len(normalize(unit, "text")) >= BIG_PROSE_TOKENS for unit in prose_units], bool)
    prose_verbatim, _ = caught(index, prose_units, "text")
    for name, (attack, what) in PROSE_ATTACKS.items():
        texts = [attack(unit, seed=i) for i, unit in enumerate(prose_units)]
        result["prose"][name] = attack_entry(index, what, texts, big, prose_verbatim, "text")
        print(f"prose {name}: {result['prose'][name]}", flush=True)
    negatives = {
        "held-out standard-library modules, 4 KB chunks": list(chunks(held_out_code)),
        "installed third-party packages, 4 KB chunks": list(chunks(corpora.site_packages_python(limit=150))),
        "held-out help-topic paragraphs": [p.text for d in held_out_prose for p in corpora.paragraphs(d)],
        "docstrings of held-out standard-library modules, paragraphs": list(docstring_paragraphs(held_out_code)),
    }
    for name, texts in negatives.items():
        blocked, _ = caught(index, texts)
        result["false_blocks"][name] = {"n": len(texts), "blocked": float(blocked.mean())}
        print(f"false blocks, {name}: {blocked.mean():.3f} of {len(texts)}", flush=True)
    result["seconds"] = time.perf_counter() - started
    return result


def render_markdown(result: dict, context: dict) -> str:
    lines = [
        "# Evasion robustness: the share of attacked copies still caught", "",
        f"- Date: {context['date']}. Machine: {context['machine']}, {context['cores']} cores (shared with other "
        f"jobs), one process. Run time {result['seconds']:.0f} s.",
        f"- Library: commit {context['library']}. Re-run from the repo root: `{context['command']}`.",
        f"- Protected: {result['n_protected_modules']} standard-library modules and "
        f"{result['n_protected_topics']} help topics, one ProtectedIndex, k = {result['k']} for code (default "
        f"{DEFAULT_SKETCH_CONFIG.shingle.k}) and {result.get('prose_k', result['k'])} for prose (default "
        f"{DEFAULT_SKETCH_CONFIG.shingle.k_for('text')}); FilterPolicy: block at a copied passage of "
        f"{result['min_match_tokens']} normalized tokens (default {DEFAULT_POLICY.min_match_tokens}), "
        f"{result.get('min_match_words', result['min_match_tokens'])} words if found as prose (default "
        f"{DEFAULT_POLICY.min_match_words}), pieces of a copy adding up across {result.get('piece_gap', 0)} "
        f"tokens (default {DEFAULT_POLICY.piece_gap}; 0: never), or "
        f"Jaccard {DEFAULT_POLICY.jaccard_threshold}. Queries go through `ProtectedIndex.query`, once with the "
        "language detected from the content (as a serving stack without a language hint sees it) and once "
        "with it given (python, text)"
        + (", with `reworded=True` (prose also aligned sentence by sentence; index stores the text)"
           if result.get("reworded") else "") + ". Caught = verdict not \"allow\". "
        f"Target (issue 7): >= {TARGET:.0%} caught for every non-semantic attack.",
        "- Attacks: `corpora/transforms.py` (tested in tests/test_transforms.py).", "",
    ]
    for kind, title in (("code", "Code: excerpts of protected modules (2+ top-level definitions, 30-150 lines)"),
                        ("prose", "Prose: paragraphs of protected help topics (40+ words)")):
        lines += [f"## {title}", ""]
        rows = [[name, e["what"], str(e["n"]), f"{e['caught']:.3f}", f"{e['caught_lang_given']:.3f}",
                 "met" if e["caught_lang_given"] >= TARGET else "NOT met", f"{e['caught_big']:.3f} ({e['n_big']})",
                 f"{e['caught_if_verbatim_caught']:.3f} ({e['n_verbatim_caught']})", f"{e['median_longest']:.0f}"]
                for name, e in result[kind].items()]
        big = result[f"big_{kind}_tokens"]
        lines += markdown_table(["attack", "what", "n", "caught, language detected", "caught, language given",
                                 f"target {TARGET} (language given)", f"caught, units of {big}+ tokens (n)",
                                 "caught, units whose verbatim copy is caught (n)",
                                 "median longest passage, tokens"], rows) + [""]
    lines += ["## False blocks on unrelated documents (same index, same policy)", ""]
    lines += markdown_table(["documents", "n", "blocked"],
                            [[name, str(e["n"]), f"{e['blocked']:.3f}"] for name, e in result["false_blocks"].items()])
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit-modules", type=int, default=None,
                        help="use only the first N standard-library modules (a quick run; no files written)")
    parser.add_argument("--k", type=int, default=DEFAULT_SKETCH_CONFIG.shingle.k,
                        help="k-gram length of code in the index (default: the library's, %(default)s)")
    parser.add_argument("--prose-k", type=int, default=DEFAULT_SKETCH_CONFIG.shingle.k_for("text"),
                        help="k-gram length of prose in the index (default: the library's, %(default)s)")
    parser.add_argument("--min-match-tokens", type=int, default=DEFAULT_POLICY.min_match_tokens,
                        help="the policy's passage limit (default: the library's, %(default)s)")
    parser.add_argument("--min-match-words", type=int, default=DEFAULT_POLICY.min_match_words,
                        help="the policy's limit for passages found as prose, in words "
                             "(default: the library's, %(default)s)")
    parser.add_argument("--piece-gap", type=int, default=DEFAULT_POLICY.piece_gap,
                        help="the policy's piece gap in tokens, 0: a copy's pieces never add up "
                             "(default: the library's, %(default)s)")
    parser.add_argument("--reworded", action="store_true",
                        help="index with the text stored and query with reworded=True (sentence alignment)")
    args = parser.parse_args(argv)
    library = library_version()
    settings = IndexSettings(sketch=SketchConfig(shingle=ShingleConfig(k=args.k, prose_k=args.prose_k)),
                             store_text=args.reworded)
    policy = FilterPolicy(min_match_tokens=args.min_match_tokens, min_match_words=args.min_match_words,
                          piece_gap=args.piece_gap)
    result = run(args.limit_modules, settings, policy)
    options = "".join(f" --{flag} {value}" for flag, value, default in (
        ("limit-modules", args.limit_modules, None), ("k", args.k, DEFAULT_SKETCH_CONFIG.shingle.k),
        ("prose-k", args.prose_k, DEFAULT_SKETCH_CONFIG.shingle.k_for("text")),
        ("min-match-tokens", args.min_match_tokens, DEFAULT_POLICY.min_match_tokens),
        ("min-match-words", args.min_match_words, DEFAULT_POLICY.min_match_words),
        ("piece-gap", args.piece_gap, DEFAULT_POLICY.piece_gap)) if value != default) + (
        " --reworded" if args.reworded else "")
    command = "python bench/evasion.py" + options
    context = {"date": datetime.date.today().isoformat(), "library": library, "machine": platform.machine(),
               "cores": os.cpu_count(), "command": command}
    report = render_markdown(result, context)
    print(report)
    if args.limit_modules is None:
        # Other settings are evidence for a default change: kept beside the default run.
        stem = "evasion" + options.replace(" --", "_").replace(" ", "").replace("-", "_")
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        (RESULTS_DIR / f"{stem}.md").write_text(report)
        (RESULTS_DIR / f"{stem}.json").write_text(json.dumps({"context": context, **result}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
