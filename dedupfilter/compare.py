"""Compare two texts end to end: normalize, sketch, compare, decide."""

from __future__ import annotations

from dataclasses import replace

from .align import DEFAULT_ALIGN_PARAMS, PROSE_LANGUAGES, AlignParams, align
from .config import DEFAULT_POLICY, DEFAULT_SKETCH_CONFIG, FilterPolicy, SketchConfig
from .index.protected import merged_per_document
from .index.sketching import document_tokens
from .normalize import LANGUAGES, TEXT, normalize_text, resolve_language
from .sketch import compare, newline_offsets, sketch, sketch_tokens
from .verdict import Verdict, decide, match_from_comparison, with_reworded


def compare_texts(query: str, reference: str, lang: str | None = None, *,
                  reference_lang: str | None = None, a_path: str | None = None,
                  b_path: str | None = None, config: SketchConfig = DEFAULT_SKETCH_CONFIG,
                  policy: FilterPolicy = DEFAULT_POLICY, reworded: bool = False,
                  align_params: AlignParams = DEFAULT_ALIGN_PARAMS) -> Verdict:
    """The Verdict for ``query`` against one ``reference`` text.

    The query's language is ``lang``, the reference's ``reference_lang``
    (default: ``lang``); where None, the path's extension decides, else a
    content guess. Spans are reported for passages of at least
    ``config.shingle.guaranteed_match_tokens`` tokens (shorter shared runs
    are not guaranteed to be found by the index either). Code and Markdown
    are compared as prose too, as an index reads them (``ProtectedIndex.query``).

    With ``reworded``, prose is also aligned sentence by sentence
    (``align.align``): passages whose words were shuffled, substituted or
    edited throughout, which keep too few runs for k-grams, are reported as
    spans of kind "reworded" and count against ``policy.min_match_words``
    like copies found as prose.
    """
    lang_a = resolve_language(query, lang, a_path)
    lang_b, b_tokens, b_lane = document_tokens(reference, reference_lang or lang, b_path)
    # As an index reads them: the query as prose too (code and Markdown), against the
    # reference's prose (a prose text; a Markdown text read as prose; code's comments).
    as_prose = normalize_text(query) if lang_a != TEXT else None
    a = sketch(query, lang_a, config, prose=as_prose)
    b = sketch_tokens(b_tokens, newline_offsets(reference), config, prose=b_lane)
    name = b_path or "reference"
    matches = [match_from_comparison(a, b, compare(a, b, gap=policy.gap), name, name,
                                     min_span_tokens=config.shingle.guaranteed_match_tokens(lang_a), policy=policy)]
    a_prose = a if as_prose is None else sketch_tokens(as_prose, a.newlines, config)
    b_prose = b if lang_b == TEXT else (sketch_tokens(b_lane, b.newlines, config)
                                        if b_lane is not None and len(b_lane) else None)
    if (a_prose is not a or b_prose is not b) and b_prose is not None and a_prose.n_tokens:
        prose = match_from_comparison(a_prose, b_prose, compare(a_prose, b_prose, gap=policy.gap), name, name,
                                      min_span_tokens=config.shingle.guaranteed_match_tokens(TEXT))
        if lang_b in LANGUAGES:
            prose = replace(prose, spans=tuple(replace(s, kind="comment") for s in prose.spans))
        matches = merged_per_document(matches + [prose])
    match = matches[0]
    if reworded and lang_a in PROSE_LANGUAGES and lang_b in PROSE_LANGUAGES:
        match = with_reworded(match, a_prose, b.line_of, align(query, reference, align_params),
                              align_params.merge_chars, policy)
    matches = [match] if (match.spans or match.jaccard > 0) else []
    return decide(matches, policy)
