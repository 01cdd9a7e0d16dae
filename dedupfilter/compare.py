"""Compare two texts end to end: normalize, sketch, compare, decide."""

from __future__ import annotations

from .align import DEFAULT_ALIGN_PARAMS, PROSE_LANGUAGES, AlignParams, align
from .config import DEFAULT_POLICY, DEFAULT_SKETCH_CONFIG, FilterPolicy, SketchConfig
from .normalize import MARKDOWN, TEXT, resolve_language
from .sketch import compare, sketch
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
    are not guaranteed to be found by the index either). Prose against
    Markdown is compared as prose on both sides (as an index matches them).

    With ``reworded``, prose is also aligned sentence by sentence
    (``align.align``): passages whose words were shuffled, substituted or
    edited throughout, which keep too few runs for k-grams, are reported as
    spans of kind "reworded" and count against ``policy.min_match_tokens``
    like copies.
    """
    lang_a = resolve_language(query, lang, a_path)
    lang_b = resolve_language(reference, reference_lang or lang, b_path)
    if {lang_a, lang_b} == {TEXT, MARKDOWN}:
        lang_a = lang_b = TEXT
    a = sketch(query, lang_a, config)
    b = sketch(reference, lang_b, config)
    comparison = compare(a, b, gap=policy.gap)
    name = b_path or "reference"
    match = match_from_comparison(a, b, comparison, name, name,
                                  min_span_tokens=config.shingle.guaranteed_match_tokens(lang_a))
    if reworded and lang_a in PROSE_LANGUAGES and lang_b in PROSE_LANGUAGES:
        match = with_reworded(match, a, b.line_of, align(query, reference, align_params), align_params.merge_chars)
    matches = [match] if (match.spans or match.jaccard > 0) else []
    return decide(matches, policy)
