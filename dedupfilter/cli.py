"""The ``dedupfilter`` command: a thin shell over the library.

Exit status: 0 allow, 1 block/redact, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import json
import sys

from . import __version__
from .config import DEFAULT_POLICY, FilterPolicy, MinHashConfig, ShingleConfig, SketchConfig
from .io import InputError, TextInput, read_text
from .normalize import LANGUAGES, TEXT, canonical_language
from .normalize.languages import UnknownLanguageError

EXIT_ALLOW, EXIT_BLOCK, EXIT_ERROR = 0, 1, 2

LANG_HELP = ("language of the input: " + ", ".join([*LANGUAGES, TEXT]) +
             " (aliases such as py, js, c++ work); default: the file extension, else a content guess")


def _warn_invalid(inp: TextInput) -> None:
    if inp.invalid_utf8_at is not None:
        print(f"dedupfilter: warning: {inp.name}: invalid UTF-8 at byte {inp.invalid_utf8_at}; "
              "bad bytes kept as undecodable characters", file=sys.stderr)


def _add_sketch_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("sketch settings (both inputs use the same)")
    g.add_argument("-k", "--shingle-size", type=int, default=ShingleConfig.k, metavar="K",
                   help="tokens per k-gram (default %(default)s)")
    g.add_argument("-w", "--window", type=int, default=ShingleConfig.window, metavar="W",
                   help="winnowing window in k-grams (default %(default)s)")
    g.add_argument("--num-perm", type=int, default=MinHashConfig.num_perm,
                   help="MinHash permutations (default %(default)s)")


def _add_policy_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("policy")
    g.add_argument("--min-match-tokens", type=int, default=DEFAULT_POLICY.min_match_tokens, metavar="T",
                   help="block when a copied passage covers at least T normalized tokens "
                        "(default %(default)s)")
    g.add_argument("--jaccard-threshold", type=float, default=DEFAULT_POLICY.jaccard_threshold,
                   metavar="J", help="block when whole-document Jaccard reaches J (default %(default)s)")


def _sketch_config(args) -> SketchConfig:
    return SketchConfig(ShingleConfig(k=args.shingle_size, window=args.window),
                        MinHashConfig(num_perm=args.num_perm))


def _policy(args) -> FilterPolicy:
    return FilterPolicy(min_match_tokens=args.min_match_tokens,
                        jaccard_threshold=args.jaccard_threshold)


def _print_verdict_table(verdict, query_name: str) -> None:
    print(f"verdict: {verdict.action.upper()}  (score {verdict.score:.3f})")
    print(f"reason:  {verdict.reason}")
    for m in verdict.matches:
        print(f"\n{m.doc_id}  ({m.source})")
        print(f"  jaccard {m.jaccard:.3f}   containment: {query_name} in it {m.containment_query:.3f}, "
              f"it in {query_name} {m.containment_doc:.3f}")
        if not m.spans:
            print("  no copied passage long enough to report")
            continue
        print(f"  {'query lines':>13}  {'document lines':>15}  {'tokens':>7}")
        for s in m.spans:
            q = f"{s.query_lines[0]}-{s.query_lines[1]}"
            d = f"{s.doc_lines[0]}-{s.doc_lines[1]}"
            print(f"  {q:>13}  {d:>15}  {s.tokens:>7}")


def cmd_compare(args) -> int:
    from .compare import compare_texts

    a, b = read_text(args.a), read_text(args.b)
    for inp in (a, b):
        _warn_invalid(inp)
    verdict = compare_texts(a.text, b.text, lang=args.lang, a_path=a.name, b_path=b.name,
                            config=_sketch_config(args), policy=_policy(args))
    if args.json:
        print(verdict.to_json())
    else:
        _print_verdict_table(verdict, a.name)
    return EXIT_ALLOW if verdict.allowed else EXIT_BLOCK


def cmd_normalize(args) -> int:
    from .normalize import normalize

    inp = read_text(args.file)
    _warn_invalid(inp)
    tokens = normalize(inp.text, args.lang, path=None if inp.name == "<stdin>" else inp.name)
    if args.json:
        print(json.dumps({"lang": tokens.lang, "n_tokens": len(tokens),
                          "tokens": [{"hash": int(h), "start": int(s), "end": int(e), "backref": int(b),
                                      "text": inp.text[s:e]}
                                     for h, s, e, b in zip(tokens.hashes, tokens.starts, tokens.ends,
                                                           tokens.backrefs)]}))
        return EXIT_ALLOW
    print(f"# {inp.name}: {tokens.lang}, {len(tokens)} tokens")
    for h, s, e, b in zip(tokens.hashes, tokens.starts, tokens.ends, tokens.backrefs):
        ref = f"  (same name as {b} tokens back)" if b else ""
        print(f"{s:>8}-{e:<8} {int(h):016x}  {inp.text[s:e]!r}{ref}")
    return EXIT_ALLOW


def cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(json_output=args.json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dedupfilter",
        description="Find copies of protected text and code, whole or in part, with attribution. "
                    "Exit status: 0 allow, 1 block, 2 usage or input error.",
    )
    parser.add_argument("--version", action="version", version=f"dedupfilter {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("compare", help="compare two files: Jaccard, containment, copied line ranges",
                       description="Compare file A (e.g. a model's output) with file B (e.g. a "
                                   "protected document): whole-document Jaccard, containment both "
                                   "ways, and the copied passages with their line ranges. Exit 0 "
                                   "when below the block policy, 1 above it, 2 on an input error.")
    p.add_argument("a", metavar="A", help="the query file, or - for standard input")
    p.add_argument("b", metavar="B", help="the reference file")
    p.add_argument("--lang", help=LANG_HELP)
    p.add_argument("--json", action="store_true", help="print the Verdict JSON instead of a table")
    _add_sketch_options(p)
    _add_policy_options(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("normalize", help="show the normalized tokens of a file",
                       description="Print the tokens dedupfilter compares, with their character "
                                   "offsets: what survives normalization of case, punctuation, "
                                   "Unicode tricks, comments, names and literals.")
    p.add_argument("file", metavar="FILE", help="a file, or - for standard input")
    p.add_argument("--lang", help=LANG_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_normalize)

    p = sub.add_parser("demo", help="run the built-in demonstration on this machine's standard library",
                       description="Take a real function from the Python standard library, disguise "
                                   "it (renamed, re-indented, comments and strings changed) inside a "
                                   "prose answer, and show dedupfilter finding it with the line "
                                   "ranges on both sides; an unrelated module passes.")
    p.add_argument("--json", action="store_true", help="print the verdicts as JSON lines")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        if getattr(args, "lang", None):
            args.lang = canonical_language(args.lang)
        return args.func(args)
    except (InputError, UnknownLanguageError) as err:
        print(f"dedupfilter: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except ValueError as err:  # invalid settings from the config dataclasses
        print(f"dedupfilter: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_ALLOW
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
