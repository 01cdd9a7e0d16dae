"""The ``dedupfilter`` command: a thin shell over the library.

Exit status: 0 allow, 1 block/redact, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__
from .config import DEFAULT_POLICY, FilterPolicy, MinHashConfig, ShingleConfig, SketchConfig
from .index.protected import DEFAULT_REWORDED_CANDIDATES
from .index.sketching import default_workers
from .index.storage import IndexError_
from .io import InputError, TextInput, read_text
from .normalize import LANGUAGES, TEXT, canonical_language, resolve_language
from .normalize.languages import UnknownLanguageError

EXIT_ALLOW, EXIT_BLOCK, EXIT_ERROR = 0, 1, 2

LANG_HELP = ("language of the input: " + ", ".join([*LANGUAGES, TEXT]) +
             " (aliases such as py, js, c++ work); default: the file extension, else a content guess")


def _non_negative_int(value: str) -> int:
    n = int(value)
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {n}")
    return n


def _positive_int(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {n}")
    return n


def _warn_invalid(inp: TextInput) -> None:
    if inp.invalid_utf8_at is not None:
        print(f"dedupfilter: warning: {inp.name}: invalid UTF-8 at byte {inp.invalid_utf8_at}; "
              "bad bytes kept as undecodable characters", file=sys.stderr)


def _add_sketch_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("sketch settings (both inputs use the same)")
    g.add_argument("-k", "--shingle-size", type=int, default=ShingleConfig.k, metavar="K",
                   help="tokens per k-gram of code (default %(default)s)")
    g.add_argument("--prose-k", type=int, default=ShingleConfig.prose_k, metavar="K",
                   help="words per k-gram of prose: prose documents, code's comments and docstrings, "
                        "Markdown read as prose (default %(default)s: copies with words changed here "
                        "and there keep more whole k-grams)")
    g.add_argument("-w", "--window", type=int, default=ShingleConfig.window, metavar="W",
                   help="winnowing window in k-grams (default %(default)s)")
    g.add_argument("--prose-window", type=int, default=ShingleConfig.prose_window, metavar="W",
                   help="winnowing window for prose: prose documents, code's comments and docstrings "
                        "(default %(default)s: more fingerprints, so copies with words changed here "
                        "and there are found)")
    g.add_argument("--num-perm", type=int, default=MinHashConfig.num_perm,
                   help="MinHash permutations (default %(default)s)")


def _add_policy_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("policy")
    g.add_argument("--min-match-tokens", type=int, default=DEFAULT_POLICY.min_match_tokens, metavar="T",
                   help="block when a copied passage covers at least T normalized tokens "
                        "(default %(default)s)")
    g.add_argument("--min-match-words", type=int, default=DEFAULT_POLICY.min_match_words, metavar="N",
                   help="the same for a passage found reading the texts as prose, whose tokens are "
                        "words: prose, comments and docstrings (default %(default)s)")
    g.add_argument("--piece-gap", type=int, default=DEFAULT_POLICY.piece_gap, metavar="G",
                   help="a copy cut into pieces (functions reordered, code inserted between them): "
                        "copied passages of one document's code, each too short to block alone, add up "
                        "when each lies within G tokens of another in the output and in the document "
                        "(default %(default)s; 0: never)")
    g.add_argument("--jaccard-threshold", type=float, default=DEFAULT_POLICY.jaccard_threshold,
                   metavar="J", help="block when whole-document Jaccard reaches J (default %(default)s)")


def _add_index_policy_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("policy (default: the one stored in the index)")
    g.add_argument("--min-match-tokens", type=int, metavar="T",
                   help="flag a copied passage of at least T normalized tokens")
    g.add_argument("--min-match-words", type=int, metavar="N",
                   help="flag a passage found as prose (prose, comments, docstrings) of at least N words")
    g.add_argument("--piece-gap", type=int, metavar="G",
                   help="let copied pieces of one document's code add up across G tokens (0: never)")
    g.add_argument("--jaccard-threshold", type=float, metavar="J", help="flag at whole-document Jaccard J")


def _sketch_config(args) -> SketchConfig:
    return SketchConfig(ShingleConfig(k=args.shingle_size, window=args.window, prose_window=args.prose_window,
                                      prose_k=args.prose_k),
                        MinHashConfig(num_perm=args.num_perm))


def _policy(args) -> FilterPolicy:
    return FilterPolicy(min_match_tokens=args.min_match_tokens, min_match_words=args.min_match_words,
                        piece_gap=args.piece_gap, jaccard_threshold=args.jaccard_threshold)


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
        print(f"  {'query lines':>13}  {'document lines':>15}  {'tokens':>7}  kind")
        for s in m.spans:
            q = f"{s.query_lines[0]}-{s.query_lines[1]}"
            d = f"{s.doc_lines[0]}-{s.doc_lines[1]}"
            print(f"  {q:>13}  {d:>15}  {s.tokens:>7}  {s.kind}{' (words)' if s.prose else ''}")


def _emit_verdict(args, verdict, query_name: str) -> int:
    """Print the verdict (JSON or a table) and return the exit status it means."""
    if args.json:
        print(verdict.to_json())
    else:
        _print_verdict_table(verdict, query_name)
    return EXIT_ALLOW if verdict.allowed else EXIT_BLOCK


def cmd_compare(args) -> int:
    from .compare import compare_texts

    a, b = read_text(args.a), read_text(args.b)
    for inp in (a, b):
        _warn_invalid(inp)
    verdict = compare_texts(a.text, b.text, lang=args.lang, a_path=a.name, b_path=b.name,
                            config=_sketch_config(args), policy=_policy(args), reworded=args.reworded)
    return _emit_verdict(args, verdict, a.name)


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


def _source_documents(args, stats):
    from .io import TableColumns, iter_source

    columns = TableColumns(text=args.text_column, id=args.id_column, lang=args.lang_column)
    for source in args.sources:
        for doc in iter_source(source, columns, stats):
            if args.lang and doc.lang is None:
                doc = type(doc)(doc.doc_id, doc.source, doc.text, args.lang)
            if len(args.sources) > 1 and Path(source).is_dir():
                doc = type(doc)(f"{source.rstrip('/')}/{doc.doc_id}", doc.source, doc.text, doc.lang)
            yield doc


def _report(args, summary: dict, lines: list[str]) -> None:
    if args.json:
        print(json.dumps(summary))
    else:
        for line in lines:
            print(line, file=sys.stderr if args.quiet_stdout else sys.stdout)


def _templates(paths: list[str]) -> list[tuple[str, str | None]]:
    out = []
    for path in paths or []:
        inp = read_text(path)
        out.append((inp.text, None if inp.name == "<stdin>" else resolve_language(inp.text, None, inp.name)))
    return out


def _write_index(args, index_fn, verb: str) -> int:
    from .io import ReadStats
    from .progress import Progress

    stats = ReadStats()
    progress = Progress(f"{verb} {args.index}", enabled=None if not args.json else False)
    with progress:
        index, counts = index_fn(_source_documents(args, stats), progress.update)
    info = index.stats()
    summary = {"index": args.index, **counts, "read": {"documents": stats.n_documents, "bytes": stats.n_bytes,
               "skipped": {k: len(v) for k, v in stats.skipped.items()}},
               "documents": info["documents"], "fingerprints": info["fingerprints"],
               "bytes_on_disk": info["bytes_on_disk"]}
    lines = [f"{args.index}: {info['documents']} documents ({counts['added']} added, {counts['replaced']} "
             f"replaced), {info['fingerprints']:,} fingerprints, {info['bytes_on_disk'] / 1e6:.1f} MB on disk",
             f"read: {stats.summary()}"]
    for reason, names in sorted(stats.skipped.items()):
        for name in names[:5]:
            lines.append(f"  skipped ({reason}): {name}")
        if len(names) > 5:
            lines.append(f"  ... and {len(names) - 5} more")
    args.quiet_stdout = False
    _report(args, summary, lines)
    if stats.n_documents == 0 and counts["added"] == 0 and verb == "building":
        print(f"dedupfilter: warning: no documents read from {', '.join(args.sources)}", file=sys.stderr)
    return EXIT_ALLOW


def cmd_index_build(args) -> int:
    from .index import IndexSettings, build_index

    settings = IndexSettings(sketch=_sketch_config(args), lsh_threshold=args.jaccard_threshold,
                             max_df_share=args.max_df_share, max_df_floor=args.max_df_floor,
                             store_text=args.store_text)
    templates = _templates(args.ignore)
    return _write_index(args, lambda docs, tick: build_index(
        args.index, docs, settings, _policy(args), templates, n_workers=args.workers, on_batch=tick),
        "building")


def cmd_index_add(args) -> int:
    from .index import ProtectedIndex

    index = ProtectedIndex.open(args.index)
    if args.ignore:
        index = index.with_templates(_templates(args.ignore))

    def add(docs, tick):
        new, counts = index.with_documents(docs, n_workers=args.workers, on_batch=tick)
        return new.save(args.index), counts

    return _write_index(args, add, "adding to")


def cmd_index_remove(args) -> int:
    from .index import ProtectedIndex

    index = ProtectedIndex.open(args.index)
    missing = [i for i in args.id if i not in set(index.docs.ids)]
    if missing and not args.missing_ok:
        print(f"dedupfilter: error: {args.index}: no document with id {missing[0]!r}"
              f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}; nothing removed "
              "(see `dedupfilter index stats --ids`)", file=sys.stderr)
        return EXIT_ERROR
    new = index.without_ids(args.id).save(args.index)
    removed = len(index) - len(new)
    if args.json:
        print(json.dumps({"index": args.index, "removed": removed, "documents": len(new)}))
    else:
        print(f"{args.index}: removed {removed} documents, {len(new)} left")
    return EXIT_ALLOW


def cmd_index_stats(args) -> int:
    from .index import ProtectedIndex

    index = ProtectedIndex.open(args.index, verify=args.verify)
    info = index.stats()
    if args.ids:
        info["ids"] = list(index.docs.ids)
    if args.json:
        print(json.dumps(info))
        return EXIT_ALLOW
    cfg = info["config"]
    print(f"index:         {info['path']}")
    print(f"documents:     {info['documents']:,}  ({', '.join(f'{k} {v}' for k, v in info['languages'].items())})")
    print(f"tokens:        {info['tokens']:,}   characters: {info['chars']:,}")
    print(f"fingerprints:  {info['fingerprints']:,}   ignored hashes: {info['ignored_hashes']:,} "
          f"(boilerplate in more than {info['df_cutoff_documents']} documents, and templates)")
    if info["code_documents"]:
        print(f"comments:      {info['comment_fingerprints']:,} of the fingerprints are code documents' comments "
              "and docstrings, read as prose"
              + ("  (built before they were indexed: rebuild to protect them)"
                 if not info["comment_fingerprints"] else ""))
    print(f"on disk:       {info['bytes_on_disk'] / 1e6:.1f} MB   protected text stored: "
          f"{'yes' if info['stores_text'] else 'no'}")
    if info["stores_text"]:
        print(f"reworded keys: {info['sentence_keys']:,} sentence keys, {info['word_keys']:,} word keys"
              + ("  (built before word keys: rebuild to rank reworded candidates with them)"
                 if info["sentence_keys"] and not info["word_keys"] else ""))
    # None: built before it
    prose_k, prose_window = (cfg["shingle"].get(f"prose_{name}") or cfg["shingle"][name] for name in ("k", "window"))
    print(f"config:        k={cfg['shingle']['k']} window={cfg['shingle']['window']} prose_k={prose_k} "
          f"prose_window={prose_window} "
          f"parameterized={cfg['shingle']['parameterized']} num_perm={cfg['minhash']['num_perm']} "
          f"scheme={cfg['minhash']['scheme']} (fingerprint {info['config_fingerprint']})")
    print(f"LSH:           threshold {info['lsh']['threshold']}, {info['lsh']['bands']} bands x "
          f"{info['lsh']['rows']} rows")
    p = info["policy"]
    print(f"policy:        {p['action']} at a copied passage of {p['min_match_tokens']} tokens "
          f"({p['min_match_words']} words as prose; pieces adding up across {p.get('piece_gap', 0)} tokens) "
          f"or Jaccard >= {p['jaccard_threshold']}")
    print(f"updated:       {info['updated']}")
    if args.ids:
        for doc_id in info["ids"]:
            print(doc_id)
    return EXIT_ALLOW


def _index_policy(index, args) -> FilterPolicy:
    """The index's stored policy with the command line's overrides."""
    overrides = {k: v for k, v in (("min_match_tokens", args.min_match_tokens),
                                   ("min_match_words", args.min_match_words),
                                   ("piece_gap", args.piece_gap),
                                   ("jaccard_threshold", args.jaccard_threshold),
                                   ("action", getattr(args, "action", None))) if v is not None}
    return FilterPolicy(**{**index.policy.to_dict(), **overrides})


def cmd_query(args) -> int:
    from .index import ProtectedIndex

    index = ProtectedIndex.open(args.index, verify=False)
    inp = read_text(args.file)
    _warn_invalid(inp)
    verdict = index.query(inp.text, args.lang, top=args.top or None, policy=_index_policy(index, args),
                          path=None if inp.name == "<stdin>" else inp.name, reworded=args.reworded,
                          reworded_candidates=args.reworded_candidates, parse_code=args.parse_code)
    return _emit_verdict(args, verdict, inp.name)


def cmd_filter(args) -> int:
    import codecs

    from ._kernels.warmup import warm_up
    from .filter import OutputFilter
    from .index import ProtectedIndex

    index = ProtectedIndex.open(args.index, verify=False)
    output_filter = OutputFilter(index, _index_policy(index, args), hold_back=args.hold_back, lang=args.lang)
    warm_up()  # before the first delta: none of them waits for a compiled kernel to load
    index.prepare()  # nor the final check for the index's lookup directories
    session = output_filter.session()
    events = open(args.events, "a", encoding="utf-8") if args.events else sys.stderr
    # Invalid UTF-8 passes through byte for byte (as undecodable characters, like read_text).
    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
    flagged = False

    def write(text: str) -> None:
        sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))
        sys.stdout.buffer.flush()

    def emit(items) -> None:
        nonlocal flagged
        for item in items:
            if isinstance(item, str):
                write(item)
            else:
                flagged |= not item.verdict.allowed
                print(item.to_json(), file=events, flush=True)
                if item.kind == "block":
                    write(item.refusal())

    try:
        stdin = sys.stdin.buffer
        while not session.stopped:
            data = stdin.read1(65536)
            if not data:
                emit(session.push(decoder.decode(b"", final=True)))
                if not session.stopped:
                    emit(session.close())
                break
            emit(session.push(decoder.decode(data)))
    finally:
        if events is not sys.stderr:
            events.close()
    return EXIT_BLOCK if flagged else EXIT_ALLOW


def cmd_serve(args) -> int:
    from .index import ProtectedIndex
    from .server import serve

    index = ProtectedIndex.open(args.index, verify=not args.no_verify)
    policy = _index_policy(index, args)
    serve(index, policy, args.host, args.port, max_bytes=args.max_bytes, quiet=args.quiet)
    return EXIT_ALLOW


def cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(index_path=args.index, json_output=args.json)


def _add_column_options(p: argparse.ArgumentParser, id_help: str, lang_help: str) -> None:
    p.add_argument("--text-column", default="text", help="text column of JSONL/Parquet/datasets (default text)")
    p.add_argument("--id-column", help=id_help)
    p.add_argument("--lang-column", help="column with each row's language")
    p.add_argument("--lang", help=f"{lang_help}; {LANG_HELP}")


def _add_source_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", metavar="SOURCE", nargs="+",
                   help="directories (recursive; language by file extension), files, .jsonl, .parquet, "
                        "or Hugging Face datasets saved with save_to_disk")
    _add_column_options(p, id_help="document id column (default: file#row)",
                        lang_help="language of documents whose language is not otherwise known")
    p.add_argument("--ignore", nargs="+", metavar="FILE", default=[],
                   help="template or base code whose k-grams never count as copies")
    p.add_argument("--workers", type=int, default=default_workers(), metavar="N",
                   help="processes for sketching (default: one per core, %(default)s here)")
    p.add_argument("--json", action="store_true", help="print a JSON summary; no progress bar")


def _add_index_commands(sub) -> None:
    index = sub.add_parser("index", help="build and maintain a protected index (build, add, remove, stats)",
                           description="A protected index holds the sketches of the documents outputs "
                                       "must not copy. Only offsets are kept unless --store-text.")
    isub = index.add_subparsers(dest="index_command", metavar="ACTION")
    index.set_defaults(func=lambda args: (index.print_help(sys.stderr), EXIT_ERROR)[1])

    p = isub.add_parser("build", help="build an index from sources (replaces any index at INDEX)",
                        description="Build a protected index at INDEX from SOURCE... Binary and "
                                    "non-UTF-8 files are skipped and listed. Written atomically: a "
                                    "killed build leaves any previous index intact.")
    p.add_argument("index", metavar="INDEX", help="the index directory to create")
    _add_source_options(p)
    _add_sketch_options(p)
    _add_policy_options(p)
    g = p.add_argument_group("index")
    g.add_argument("--store-text", action="store_true",
                   help="keep the documents' text in the index (default: only offsets)")
    g.add_argument("--max-df-share", type=float, default=0.01, metavar="S",
                   help="k-grams in more than this share of documents are boilerplate (default 0.01)")
    g.add_argument("--max-df-floor", type=int, default=10, metavar="N",
                   help="...but only when in more than N documents (default 10)")
    p.set_defaults(func=cmd_index_build)

    p = isub.add_parser("add", help="add documents (an existing id is replaced)",
                        description="Add documents to an index without rebuilding it; a document "
                                    "whose id is already there replaces the old one.")
    p.add_argument("index", metavar="INDEX", help="an existing index")
    _add_source_options(p)
    p.set_defaults(func=cmd_index_add)

    p = isub.add_parser("remove", help="withdraw documents by id, without a rebuild",
                        description="Remove documents by id. Nothing is re-sketched.")
    p.add_argument("index", metavar="INDEX", help="an existing index")
    p.add_argument("--id", nargs="+", required=True, metavar="ID", help="document ids to remove")
    p.add_argument("--missing-ok", action="store_true", help="do not fail on ids that are not in the index")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=cmd_index_remove)

    p = isub.add_parser("stats", help="documents, fingerprints, bytes, config of an index",
                        description="Describe an index: counts, size, languages, config, policy.")
    p.add_argument("index", metavar="INDEX", help="an existing index")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--ids", action="store_true", help="also list every document id")
    p.add_argument("--verify", action="store_true", help="verify every file's checksum")
    p.set_defaults(func=cmd_index_stats)


def cmd_dedup(args) -> int:
    from .dedup import dedup

    summary = dedup(args.input, args.out, max_copies=args.max_copies, threshold=args.threshold,
                    text_column=args.text_column, id_column=args.id_column, lang_column=args.lang_column,
                    lang=args.lang, keep=args.keep, clusters=args.clusters, against=args.against,
                    flag_only=args.flag_only, verify=args.verify, config=_sketch_config(args),
                    n_workers=args.workers, shard_rows=args.shard_rows, work_dir=args.work_dir,
                    overwrite=args.overwrite, progress=False if args.json else None, engine=args.engine)
    if args.json:
        print(json.dumps(summary.to_dict()))
    else:
        print(f"{args.out}: written", *summary.lines(), sep="\n")
    return EXIT_ALLOW


def _add_dedup_command(sub) -> None:
    from .dedup import ENGINES
    from .dedup.local import VERIFY_MODES

    p = sub.add_parser("dedup", help="cap near-duplicate clusters of a training corpus at K copies",
                       description="Find clusters of near-duplicate documents in INPUT (MinHash LSH over "
                                   "normalized k-grams, confirmed by exact Jaccard) and write at most K of "
                                   "each to OUTPUT, in INPUT's form (Parquet, JSONL, a saved Hugging Face "
                                   "dataset, a directory of files) with all columns. Written atomically; "
                                   "a killed run rerun with the same arguments reuses its finished shards.")
    p.add_argument("input", metavar="INPUT", help="a .parquet or .jsonl file, a directory of them, a dataset "
                                                  "saved with save_to_disk, or a directory of text/code files")
    p.add_argument("--out", required=True, metavar="OUTPUT", help="where the kept rows go (same form as INPUT)")
    p.add_argument("--max-copies", type=int, default=1, metavar="K",
                   help="keep at most K documents of each cluster (default 1: classic dedup)")
    p.add_argument("--threshold", type=float, default=0.8, metavar="T",
                   help="Jaccard of normalized k-gram sets at which documents are duplicates (default 0.8)")
    p.add_argument("--keep", default="first", metavar="RULE",
                   help="which K stay: first (input order), longest, or column:NAME (largest value first); "
                        "default first")
    _add_column_options(p, id_help="document id column, copied to --clusters",
                        lang_help="language of every document (text: prose rules for all)")
    p.add_argument("--clusters", metavar="FILE",
                   help="also write a Parquet file: row, id, cluster, cluster_size, kept for every row")
    p.add_argument("--against", metavar="INDEX", help="also remove documents matching this protected index")
    p.add_argument("--flag-only", action="store_true",
                   help="with --against: keep them, marked in a protected_match column")
    p.add_argument("--verify", choices=VERIFY_MODES, default="exact",
                   help="confirm LSH candidates by exact Jaccard (default), MinHash agreement, or not at all")
    p.add_argument("--engine", choices=ENGINES, default="local", help="where to run (default local)")
    p.add_argument("--workers", type=int, default=default_workers(), metavar="N",
                   help="processes for sketching (default: one per core, %(default)s here)")
    p.add_argument("--shard-rows", type=int, default=10_000, metavar="N",
                   help="rows (or files) per shard: the unit of work and of resuming (default 10000)")
    p.add_argument("--work-dir", metavar="DIR", help="finished shards until the run completes "
                                                     "(default: .OUTPUT.dedup-work next to OUTPUT)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUTPUT (and --clusters)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON; no progress bars")
    _add_sketch_options(p)
    p.set_defaults(func=cmd_dedup)


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
    p.add_argument("--reworded", action="store_true",
                   help="prose: also align sentences, to find passages whose words were shuffled, "
                        "swapped for synonyms or edited throughout (spans of kind 'reworded'); "
                        "they count against --min-match-tokens like copies")
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

    _add_index_commands(sub)

    p = sub.add_parser("query", help="which protected documents a text resembles, how much, which lines",
                       description="Query a protected index with a file or standard input. Prints "
                                   "the Verdict: the matched documents with Jaccard, containment and "
                                   "the copied passages with line ranges on both sides. Exit 0 allow, "
                                   "1 block, 2 usage or input error.")
    p.add_argument("index", metavar="INDEX", help="an index directory made by `dedupfilter index build`")
    p.add_argument("file", metavar="FILE", nargs="?", default="-", help="the text to check (default: - , stdin)")
    p.add_argument("--lang", help=LANG_HELP)
    p.add_argument("--json", action="store_true", help="print the Verdict JSON")
    p.add_argument("--top", type=_non_negative_int, default=10, metavar="N",
                   help="report the N documents with the longest passages (default 10; 0: every "
                        "matched document). The action does not depend on N")
    p.add_argument("--reworded", action="store_true",
                   help="prose: also align the query sentence by sentence with the documents "
                        "whose sentence keys, then k-grams, best match it, to find passages "
                        "reworded throughout "
                        "(shuffled, substituted, edited words; spans of kind 'reworded'). Needs an "
                        "index built with --store-text")
    p.add_argument("--reworded-candidates", type=_positive_int, default=DEFAULT_REWORDED_CANDIDATES, metavar="M",
                   help=f"with --reworded: how many documents to align (default {DEFAULT_REWORDED_CANDIDATES}); "
                        "each costs milliseconds, more find sources that share fewer sentence keys")
    p.add_argument("--parse-code", action="store_true",
                   help="parse code with tree-sitter, as the index's documents were, instead of lexing it "
                        "(the default, ten times faster; the tokens differ only where a parse decides, "
                        "e.g. contextual keywords)")
    _add_index_policy_options(p)
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("filter", help="filter a generation stream on stdin: copies blocked or redacted",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Read a model's output from standard input as it is generated and "
                                   "write what is safe to show to standard output, flushing as it "
                                   "goes, so it works in a pipe behind a live generator. Events "
                                   "(JSON lines: redact, block, annotate, and a final end event with "
                                   "the Verdict of the whole output) go to stderr or --events FILE. "
                                   "Exit 0 when nothing was flagged, 1 when something was, 2 on an "
                                   "error.",
                       epilog="The hold-back is the latency/leak trade-off: text is shown only once "
                              "it is T tokens behind the newest text checked, so a copied run is "
                              "caught before it is shown. --hold-back 0 shows text at once.\n\n"
                              "example:\n  my-generator | dedupfilter filter protected-idx "
                              "--action redact --events events.jsonl")
    p.add_argument("index", metavar="INDEX", help="an index directory made by `dedupfilter index build`")
    p.add_argument("--action", choices=["block", "redact", "annotate"],
                   help="block: stop the stream at a copy; redact: replace the copied span with a "
                        "marker and go on; annotate: pass everything, report copies as events "
                        "(default: the index's policy, block unless set at build time)")
    p.add_argument("--events", metavar="FILE", help="append events to FILE instead of stderr")
    p.add_argument("--hold-back", type=int, metavar="T",
                   help="tokens held back before release (default: the policy's min match tokens; "
                        "0 with --action annotate)")
    p.add_argument("--lang", help=LANG_HELP.replace("the file extension, else a content guess",
                                                    "Markdown, prose or code found from the content"))
    _add_index_policy_options(p)
    p.set_defaults(func=cmd_filter)

    from .server import MAX_BYTES

    p = sub.add_parser("serve", help="serve an index over HTTP: query finished outputs, filter streams",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Open INDEX once and answer HTTP requests until interrupted.\n\n"
                                   "  GET  /health      documents, config, policy\n"
                                   "  POST /v1/query    {\"text\": ..., \"lang\": ..., \"top\": ...}: the Verdict JSON\n"
                                   "  POST /v1/filter   the model's output as the request body, sent while it is\n"
                                   "                    generated (chunked); the answer is JSON lines as they come:\n"
                                   "                    {\"text\": ...} safe to show, {\"event\": ...} for redact,\n"
                                   "                    block, annotate and the final end event; query parameters\n"
                                   "                    lang, action, hold_back\n\n"
                                   "Kernels are compiled or loaded before the first request is taken.",
                       epilog="examples:\n"
                              "  dedupfilter serve protected-idx --port 8000\n"
                              "  curl -s localhost:8000/v1/query -d '{\"text\": \"def f(x): ...\"}'\n"
                              "  my-generator | curl -sN -X POST -T - 'localhost:8000/v1/filter?action=redact'")
    p.add_argument("index", metavar="INDEX", help="an index directory made by `dedupfilter index build`")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s; 0.0.0.0: all)")
    p.add_argument("--port", type=_non_negative_int, default=8000, help="port (default %(default)s; 0: any free one)")
    p.add_argument("--action", choices=["block", "redact", "annotate"],
                   help="what a stream does at a copy, and the action a flagged Verdict carries "
                        "(default: the index's policy)")
    p.add_argument("--max-bytes", type=_positive_int, default=MAX_BYTES, metavar="N",
                   help="largest request body taken, in bytes (default %(default)s); larger: 413")
    p.add_argument("--no-verify", action="store_true", help="open the index without checking its checksums")
    p.add_argument("--quiet", action="store_true", help="no access log on stderr")
    _add_index_policy_options(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="run the built-in demonstration on this machine's standard library",
                       description="Index this Python's standard library and help topics as the "
                                   "protected corpus, then check three model answers: a disguised "
                                   "copy of a standard-library function (renamed, re-indented, "
                                   "comments and strings changed) and a reference paragraph with "
                                   "Unicode tricks are blocked with the protected lines; code from an "
                                   "installed package passes. Exit 0 when all three come out so.")
    p.add_argument("--index", metavar="DIR",
                   help="keep the demo index in DIR and reuse it next time (default: a temporary directory)")
    p.add_argument("--json", action="store_true", help="print the verdicts as JSON lines")
    p.set_defaults(func=cmd_demo)

    _add_dedup_command(sub)
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
    except (InputError, UnknownLanguageError, IndexError_) as err:
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
