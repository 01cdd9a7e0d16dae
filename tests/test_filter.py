"""OutputFilter: check() and the streaming filter, against a real index of the standard library."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import corpora
from corpora.transforms import disguise
from dedupfilter.filter import FilterEvent, OutputFilter
from dedupfilter.normalize.languages import detect_language
from dedupfilter.normalize.mixed import FenceTracker, code_blocks

from .conftest import functions_with_tokens

MARKER = re.compile(r"\[removed: matches protected source [^\]]+\]")


@pytest.fixture(scope="module")
def index(built):
    return built[1]


@pytest.fixture(scope="module")
def prose(pydoc_docs):
    """Ordinary prose that is not protected: paragraphs of help topics outside the index
    (not the grammar rules and keyword tables among them, which read as code)."""
    paragraphs = [p.strip() for d in pydoc_docs[40:60] for p in d.text.split("\n\n")
                  if len(p.strip()) > 200 and detect_language(p) == "text"]
    assert len(paragraphs) > 10
    return paragraphs


@pytest.fixture(scope="module")
def copied_answers(protected_docs, prose):
    """Answers with a renamed, reformatted copy of a protected function in the middle."""
    cases = list(functions_with_tokens([d for d in protected_docs if d.lang == "python"], 80))[:8]
    assert len(cases) == 8
    return [(doc, f"{prose[i]}\n\nHere is the code:\n\n```python\n{disguise(fn.text)}```\n\n{prose[i + 1]}\n")
            for i, (doc, fn) in enumerate(cases)]


@pytest.fixture(scope="module")
def clean_answers(stdlib_docs, protected_docs, prose):
    protected = {d.doc_id for d in protected_docs}
    unprotected = [d for d in stdlib_docs[3::8] if d.doc_id not in protected and d.lang == "python"]
    cases = list(functions_with_tokens(unprotected, 80))[:4]
    return [f"{prose[i]}\n\n```python\n{fn.text}```\n\n{prose[i + 2]}\n" for i, (_, fn) in enumerate(cases)]


def run(output_filter: OutputFilter, deltas) -> tuple[str, list[FilterEvent]]:
    items = list(output_filter.stream(deltas))
    return "".join(i for i in items if isinstance(i, str)), [i for i in items if not isinstance(i, str)]


def chunks(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


def token_deltas(text: str) -> list[str]:
    """Deltas the way a model sends them: a word or a piece of punctuation with its space."""
    return re.findall(r"\s*\w+|\s*\W", text) + ([""] if not text else [])


def test_fence_tracker_finds_the_blocks_code_blocks_finds():
    text = ("Intro\n```python\nx = 1\n  ~~~\n```\nmiddle ```not a fence\n~~~~ c\nint y;\n~~~\n~~~~~\n"
            "````\n```\nstill code\n````\n   ```js\nlet z;\n")
    blocks = code_blocks(text)
    inside = {o for start, end, _ in blocks for o in range(start, end)}
    closing = {end for _, end, _ in blocks}
    tracker, line_start = FenceTracker(), 0
    for m in re.finditer(r"[^\n]*\n", text):
        # A closing fence line is still under its opener: the tracker learns it closes once fed.
        assert (tracker.opener is not None) == (line_start in inside | closing), text[line_start:m.end()]
        tracker.feed_line(m.group(0))
        line_start = m.end()
    assert tracker.opener == "   ```js\n"  # unclosed: runs to the end


def test_crlf_fences_open_and_close_blocks():
    text = "Intro\r\n```python\r\nx = 1\r\n```\r\nprose after\r\n"
    (start, end, info), = code_blocks(text)
    assert text[start:end] == "x = 1\r\n" and info == "python"
    tracker = FenceTracker()
    for line in text.splitlines(keepends=True)[:4]:
        tracker.feed_line(line)
    assert tracker.opener is None


def test_check_is_the_index_query(index, copied_answers):
    f = OutputFilter(index, action="redact")
    for _, answer in copied_answers[:3]:
        assert f.check(answer).to_dict() == index.query(answer, policy=f.policy).to_dict()


def test_renamed_copy_mid_answer_is_redacted_and_the_rest_is_byte_identical(index, copied_answers):
    f = OutputFilter(index, action="redact")
    n_redacted = 0
    for doc, answer in copied_answers:
        expected = f.check(answer)
        out, events = run(f, token_deltas(answer))
        assert events[-1].kind == "end"
        assert events[-1].verdict.to_dict() == expected.to_dict()  # agrees with check() on the final text
        if expected.allowed:
            assert out == answer
            continue
        n_redacted += 1
        assert events[0].kind == "redact" and events[0].verdict.matches[0].doc_id == doc.doc_id
        assert events[-1].leaked == ()
        markers = list(MARKER.finditer(out))
        assert markers and doc.doc_id in markers[0].group(0)
        # Outside the redactions the output is the answer, byte for byte.
        head, tail = out[:markers[0].start()], out[markers[-1].end():]
        assert answer.startswith(head) and answer.endswith(tail)
        code_start = answer.index("```python\n") + len("```python\n")
        code_end = answer.index("```\n\n", code_start)
        assert len(head) >= code_start - 1 and len(answer) - len(tail) <= code_end + 1
        # What was shown holds no copied passage the policy flags.
        assert f.check(out).allowed
    assert n_redacted >= 7


def test_block_stops_the_stream_before_the_copy_is_shown(index, copied_answers):
    f = OutputFilter(index, action="block")
    for doc, answer in copied_answers[:4]:
        out, events = run(f, chunks(answer, 5))
        assert [e.kind for e in events] == ["block"]
        assert events[0].verdict.action == "block" and events[0].verdict.matches[0].doc_id == doc.doc_id
        assert answer.startswith(out) and len(out) < len(answer)
        assert f.check(out).allowed
        assert not f.check(answer).allowed


def test_unprotected_answers_pass_byte_identical(index, clean_answers):
    assert len(clean_answers) == 4
    for action in ("block", "redact", "annotate"):
        f = OutputFilter(index, action=action)
        for answer in clean_answers:
            out, events = run(f, token_deltas(answer))
            assert out == answer
            assert [e.kind for e in events] == ["end"] and events[0].verdict.allowed


def test_annotate_passes_everything_and_reports_the_copy(index, copied_answers):
    doc, answer = copied_answers[0]
    out, events = run(OutputFilter(index, action="annotate"), chunks(answer, 16))
    assert out == answer
    assert events[0].kind == "annotate" and events[0].verdict.matches[0].doc_id == doc.doc_id
    assert events[-1].kind == "end" and events[-1].leaked  # shown on purpose: annotate hides nothing


def test_no_hold_back_shows_text_at_once_and_reports_what_leaked(index, copied_answers):
    _, answer = copied_answers[0]
    out, events = run(OutputFilter(index, action="redact", hold_back=0), chunks(answer, 16))
    assert events[-1].kind == "end" and events[-1].leaked
    for start, end in events[-1].leaked:
        assert answer[start:end] in out


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_chunking_gives_the_same_output(index, copied_answers, data):
    _, answer = copied_answers[data.draw(st.integers(0, 2))]
    f = OutputFilter(index, action="redact")
    reference = run(f, [answer])
    cuts = sorted(data.draw(st.sets(st.integers(1, len(answer) - 1), max_size=60)))
    bounds = [0, *cuts, len(answer)]
    out, events = run(f, [answer[a:b] for a, b in zip(bounds, bounds[1:])])
    assert out == reference[0]
    assert [e.to_dict() for e in events] == [e.to_dict() for e in reference[1]]


def test_async_stream_equals_the_sync_one(index, copied_answers):
    _, answer = copied_answers[1]
    f = OutputFilter(index, action="redact")

    async def deltas():
        for d in chunks(answer, 7):
            yield d

    async def collect():
        return [item async for item in f.astream(deltas())]

    items = asyncio.run(collect())
    assert [i if isinstance(i, str) else i.to_dict() for i in items] == \
           [i if isinstance(i, str) else i.to_dict() for i in f.stream(chunks(answer, 7))]


def test_session_misuse_is_a_clear_error(index):
    session = OutputFilter(index).session()
    with pytest.raises(TypeError):
        session.push(b"bytes")
    session.push("hello")
    session.close()
    with pytest.raises(RuntimeError):
        session.push("more")


def _cli_filter(index_path, data: bytes, *args, chunk=3):
    """`dedupfilter filter` in a real subprocess, its stdin written a few bytes at a time."""
    proc = subprocess.Popen([sys.executable, "-m", "dedupfilter.cli", "filter", str(index_path), *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    for i in range(0, len(data), chunk):
        proc.stdin.write(data[i:i + chunk])
        proc.stdin.flush()
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out.decode("utf-8"), err.decode("utf-8")


def test_cli_filter_redacts_a_byte_stream_cut_inside_characters(built, copied_answers, tmp_path):
    path, index = built
    _, answer = copied_answers[2]
    answer = "Résumé — “quoted” ünïcödé.\n\n" + answer  # multi-byte characters cut by 3-byte writes
    events_file = tmp_path / "events.jsonl"
    code, out, err = _cli_filter(path, answer.encode(), "--action", "redact", "--events", str(events_file))
    assert code == 1, err
    expected, expected_events = run(OutputFilter(index, action="redact"), [answer])
    assert out == expected and MARKER.search(out)
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert [e["event"] for e in events] == [e.kind for e in expected_events]
    assert events[-1]["verdict"] == expected_events[-1].verdict.to_dict()


def test_cli_filter_passes_a_clean_stream_and_blocks_a_copy(built, clean_answers, copied_answers):
    path, _ = built
    code, out, err = _cli_filter(path, clean_answers[0].encode(), chunk=64)
    assert (code, out) == (0, clean_answers[0]), err
    raw = b"bad bytes \xff\xfe and a cut \xe2\x82" + clean_answers[1].encode()
    proc = subprocess.run([sys.executable, "-m", "dedupfilter.cli", "filter", str(path)], input=raw,
                          capture_output=True, timeout=120)
    assert (proc.returncode, proc.stdout) == (0, raw)  # invalid UTF-8 passes through byte for byte
    assert json.loads(err.splitlines()[-1])["event"] == "end"
    code, out, err = _cli_filter(path, copied_answers[0][1].encode(), "--action", "block", chunk=64)
    assert code == 1
    assert out.rstrip().endswith("[stopped: the rest matches protected source " + copied_answers[0][0].doc_id + "]")
    assert json.loads(err.splitlines()[-1])["event"] == "block"


def test_a_huge_line_streams_in_bounded_memory(index, prose):
    line = " ".join(prose)  # one line, no newline
    line = (line + " ") * (20_000 // len(line) + 1)
    session = OutputFilter(index, action="redact").session()
    out, longest_tail = [], 0
    for i in range(0, len(line), 200):
        out += [x for x in session.push(line[i:i + 200]) if isinstance(x, str)]
        longest_tail = max(longest_tail, len(session._tail))
    out += [x for x in session.close() if isinstance(x, str)]
    assert "".join(out) == line
    assert longest_tail < 6_000  # the window and the hold-back, not the line


@pytest.fixture(scope="module")
def one_line_answer(index, protected_docs, prose):
    """Prose on one line (windows start mid-line) with a protected help-topic paragraph inside.
    (Paragraphs full of grammar rules can make the whole answer look like Python: those are skipped.)"""
    for topic in (d for d in protected_docs if d.doc_id.startswith("pydoc:")):
        quoted = max(topic.text.split("\n\n"), key=len)
        answer = " ".join(" ".join(p.split()) for p in [*prose[:4], quoted, *prose[4:8]])
        if len(quoted) > 600 and not index.query(answer).allowed:
            return topic, answer
    raise AssertionError("no help-topic paragraph to quote")


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_chunking_of_one_long_line_gives_the_same_output(index, one_line_answer, data):
    topic, answer = one_line_answer
    f = OutputFilter(index, action="redact")
    reference = run(f, [answer])
    assert "\n" not in answer and topic.doc_id in reference[0]
    cuts = sorted(data.draw(st.sets(st.integers(1, len(answer) - 1), max_size=80)))
    bounds = [0, *cuts, len(answer)]
    out, events = run(f, [answer[a:b] for a, b in zip(bounds, bounds[1:])])
    assert out == reference[0]
    assert [e.to_dict() for e in events] == [e.to_dict() for e in reference[1]]


def test_top_level_names_load_on_first_use():
    code = ("import sys, dedupfilter; assert 'pyarrow' not in sys.modules; "
            "from dedupfilter import OutputFilter, ProtectedIndex, build_index, FilterPolicy; "
            "assert OutputFilter.__module__ == 'dedupfilter.filter'")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_a_stream_guessed_to_be_code_is_matched_as_prose_too(tmp_path, pydoc_docs):
    """An interpreter session quoted by a protected help topic (indexed as prose), streamed
    without a language: windows guessed to be code also look for prose, as check() does."""
    from dedupfilter.index import build_index
    from dedupfilter.normalize import LANGUAGES

    doc, session = next((d, p.text.strip() + "\n") for d in pydoc_docs for p in corpora.paragraphs(d)
                        if p.text.lstrip().startswith(">>>") and detect_language(p.text) in LANGUAGES
                        and len(p.text) > 400)
    index, _ = build_index(tmp_path / "idx", [doc])
    out, events = run(OutputFilter(index, action="block"), token_deltas(session))
    assert [e.kind for e in events] == ["block"] and events[0].verdict.matches[0].doc_id == doc.doc_id
    assert len(out) < len(session) and OutputFilter(index).check(out).allowed


def test_language_detection_spends_one_parse_per_checkpoint(index, pydoc_docs, monkeypatch):
    """Detection of an unlabelled stream may parse its head with every grammar (~20 ms on
    prose): after the first guess, the parses are spread over checkpoints, one each,
    and the stream still ends on the verdict of check()."""
    from dedupfilter.normalize import languages

    def parses_needed(text):
        return sum(step is None for step in languages.detection_steps(text))

    answer = next(d.text for d in pydoc_docs[20:] if all(parses_needed(d.text[:n]) == 8 for n in (256, 512))
                  and len(d.text) > 2000)[:3000]
    assert languages.detect_language(answer[:512]) == list(languages.detection_steps(answer[:512]))[-1]
    calls = []
    real_error_share = languages.error_share
    monkeypatch.setattr(languages, "error_share", lambda *a: calls.append(1) or real_error_share(*a))
    f = OutputFilter(index, action="redact")
    session, per_push = f.session(), []
    for delta in chunks(answer, 64):
        before = len(calls)
        session.push(delta)
        per_push.append(len(calls) - before)
    final = session.close()[-1]
    assert sum(per_push) >= 16 and max(per_push[2:]) <= 2  # a 64-character delta crosses at most 2 checkpoints
    assert final.verdict.to_dict() == f.check(answer).to_dict()


@pytest.mark.parametrize("after_code", [False, True])
def test_substituted_prose_is_redacted_without_a_leak(index, pydoc_docs, after_code):
    """A protected help paragraph with every ninth word replaced, streamed without a
    language, alone or after a fenced code block (a Markdown answer, read as itself and as
    prose): check() counts the substituted words between copied runs as evidence, and so do
    the stream's windows, so nothing the final check flags was shown."""
    paragraph = max((p.text for d in pydoc_docs[:20] for p in corpora.paragraphs(d, min_words=80)
                     if detect_language(p.text) == "text"), key=len)
    words = paragraph.split()
    substitutes = ["thing", "other", "about", "which", "there"]
    altered = " ".join(substitutes[i % 5] if i % 9 == 3 else w for i, w in enumerate(words)) + "\n"
    head = "Try this:\n\n```python\nfor item in sorted(items):\n    print(item)\n```\n\n" if after_code else ""
    f = OutputFilter(index, action="redact")
    verdict = f.check(head + altered)
    assert not verdict.allowed and verdict.matches[0].spans[0].query_start >= len(head)
    out, events = run(f, token_deltas(head + altered))
    assert events[0].kind == "redact" and events[-1].leaked == ()
    assert out.startswith(head) and f.check(out).allowed


@pytest.mark.parametrize("as_markdown", [False, True])
def test_a_copied_docstring_is_redacted_from_a_code_stream(index, protected_docs, stdlib_docs, prose, as_markdown):
    """New code around a protected function's docstring, followed by more code so that
    windows judge it before the stream ends, streamed as Python (language given) or as an
    answer with the code in a fenced block (no language given): the stream reads code,
    and Markdown with code blocks, as prose too (as check() does), and redacts the
    docstring only."""
    from .test_index import _protected_docstrings

    protected = {d.doc_id for d in protected_docs}
    f = OutputFilter(index, action="redact")
    tail = next(d.text[:4000] for d in stdlib_docs[5::8] if d.doc_id not in protected and d.lang == "python"
                and f.check(d.text[:4000], "python").allowed)
    lang = None if as_markdown else "python"
    for doc, statement in _protected_docstrings(protected_docs, limit=3):
        lines = doc.text.splitlines(keepends=True)
        docstring = "".join(lines[statement.lineno - 1:statement.end_lineno]).strip()
        head = f"def summarize(items):\n    {docstring}\n    return sorted(set(items))[:3]\n\n\n"
        after = tail
        if as_markdown:
            head, after = f"{prose[0]}\n\n```python\n{head}", f"{tail}```\n\n{prose[1]}\n"
        expected = f.check(head + after, lang)
        assert expected.action == "redact" and expected.matches[0].doc_id == doc.doc_id
        assert max(expected.matches[0].spans, key=lambda s: s.tokens).kind == "comment"
        items = list(f.stream(token_deltas(head + after), lang=lang))
        out = "".join(i for i in items if isinstance(i, str))
        events = [i for i in items if not isinstance(i, str)]
        assert events[0].kind == "redact" and events[0].offset < len(head) + len(tail) // 2
        assert events[-1].verdict.to_dict() == expected.to_dict() and events[-1].leaked == ()
        marker = MARKER.search(out)
        assert marker and doc.doc_id in marker.group(0)
        assert out.startswith(head[:head.index("def summarize(items):\n") + 22]) and out.endswith(after)
        assert f.check(out, lang).allowed


@pytest.mark.parametrize("lang", [None, "text", "python"])
def test_a_short_prose_copy_is_redacted_at_the_word_limit(index, pydoc_docs, prose, lang):
    """A copied run of 28 words mid-answer flags at min_match_words (22), not at
    min_match_tokens (30), in the stream as in check(), whatever the language given:
    an answer read as code is read as prose too. Nothing of it is shown."""
    from .test_index import _run_of

    doc = max(pydoc_docs[:20], key=lambda d: len(d.text))
    run_ = _run_of(max(doc.text.split("\n\n"), key=len), "text", 5, 28)
    answer = f"{prose[0]}\n\n{run_}\n\n{prose[1]}\n{prose[2]}\n"
    f = OutputFilter(index, action="redact")
    verdict = f.check(answer, lang)
    assert verdict.action == "redact" and verdict.matches[0].doc_id == doc.doc_id
    assert "words (limit 22)" in verdict.reason
    items = list(f.stream(token_deltas(answer), lang=lang))
    out = "".join(i for i in items if isinstance(i, str))
    events = [i for i in items if not isinstance(i, str)]
    assert events[0].kind == "redact" and events[-1].leaked == ()
    assert run_ not in out and out.startswith(prose[0]) and out.endswith(prose[2] + "\n")
    assert OutputFilter(index, action="redact").check(out, lang).allowed
