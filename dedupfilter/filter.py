"""OutputFilter: a model's output checked against a protected index before anyone sees it.

``check(text)`` judges a finished output. ``stream(deltas)`` judges an output
while the model writes it and yields the text that is safe to show, with
events (``FilterEvent``) that carry the Verdict.

How the stream is judged:

- Checkpoints depend on the text only, never on how it was cut into deltas:
  after a white-space character once ``check_every`` characters have come
  since the last checkpoint (or after ``4 * check_every`` characters of text
  with no white space). A checkpoint judges exactly the text up to it, so any
  chunking of the same text gives the same decisions and the same output.
- The output is read once, as it comes, onto token tapes (``tape.TokenTape``):
  each checkpoint tokenizes the text since the one before, hashes the k-grams
  it completes and looks them up. Prose is tokenized as ``check()`` does;
  code is lexed, not parsed (a parse costs ten times as much per piece), so
  a stream may see a few tokens of code differently from ``check()`` (see
  ``lex_code``). Each checkpoint then matches a window of the tapes: from a
  line start ``lookback`` characters before the released text, to the
  checkpoint. The work per delta does not grow with the output.
- Hold-back: text is released up to ``hold_back`` normalized tokens before
  the checkpoint. A copied run is found when it reaches ``min_match_tokens``
  tokens of evidence (``min_match_words`` in a prose reading); with
  ``hold_back`` at least that (the default for
  block and redact) a run whose k-grams all count as evidence is found before
  any of it is shown. Less hold-back is less latency and more leak; annotate
  releases at once (hold-back 0).
- When the stream ends, the whole output is checked once more with
  ``check()``. That verdict is the stream's verdict, so the stream agrees with
  ``check()`` on the final text by construction; it redacts what is still held
  back, and whatever it flags that was already released is reported in the
  final event as ``leaked``.
"""

from __future__ import annotations

import json
import re
from collections import deque
from itertools import islice
from dataclasses import dataclass, field, replace
from typing import AsyncIterable, Iterable, Iterator, Union

import numpy as np

from .config import FilterPolicy
from .index.protected import hit_spacing, merged_per_document
from .normalize.languages import MARKDOWN, TEXT, canonical_language, detection_steps
from .normalize.mixed import FenceTracker
from .sketch import passage_reach
from .tape import TokenTape
from .verdict import Match, Verdict, decide

CHECK_EVERY = 64  # characters between checkpoints
LOOKBACK = 256  # characters of released text each window looks back over (1,024 caught no more in bench/stream_bench.py)
LONG_LINE = 4096  # a longer line is taken for no fence line, so its head need not be kept
DETECT_CHARS = 1024  # an output of unknown language is judged by its beginning
_SPACE = re.compile(r"\s")


@dataclass(frozen=True)
class FilterEvent:
    """What the filter did, and why.

    kind     "redact" or "annotate" (a copied passage found), "block" (the
             stream is stopped), "end" (the stream is over; its final verdict)
    offset   characters of the output judged when the event was raised
    verdict  the Verdict, with offsets and lines into the whole output
    leaked   on the final event: character ranges the final verdict flags that
             had already been released
    """

    kind: str
    offset: int
    verdict: Verdict
    leaked: tuple[tuple[int, int], ...] = ()

    def to_dict(self) -> dict:
        return {"event": self.kind, "offset": self.offset, "verdict": self.verdict.to_dict(),
                "leaked": [list(r) for r in self.leaked]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def refusal(self) -> str:
        """A line to show the reader in place of a blocked output's rest."""
        source = self.verdict.matches[0].doc_id if self.verdict.matches else "unknown"
        return f"\n[stopped: the rest matches protected source {source}]\n"


StreamItem = Union[str, FilterEvent]


class OutputFilter:
    """Filter generated text against a ProtectedIndex.

    action      "block", "redact" or "annotate"; default: the policy's
    hold_back   tokens held back before release (default: the longer of the
                policy's min_match_tokens and min_match_words for block and
                redact, 0 for annotate)
    lang        the output's language; None: Markdown, prose or code, found
                from the content (as ``dedupfilter query``)
    """

    def __init__(self, index, policy: FilterPolicy | None = None, *, action: str | None = None,
                 hold_back: int | None = None, lang: str | None = None,
                 check_every: int = CHECK_EVERY, lookback: int = LOOKBACK):
        policy = policy or index.policy
        if action is not None:
            policy = replace(policy, action=action)
        if hold_back is None:
            hold_back = 0 if policy.action == "annotate" else max(policy.min_match_tokens, policy.min_match_words)
        if hold_back < 0 or check_every < 1 or lookback < 0:
            raise ValueError("hold_back and lookback must be >= 0 and check_every >= 1")
        self.index, self.policy, self.hold_back = index, policy, hold_back
        self.lang = canonical_language(lang) if lang else None
        self.check_every, self.lookback = check_every, lookback
        shingle = index.settings.sketch.shingle
        # How far a suspect passage may still grow: prose read alone, or code or Markdown read with it,
        # where another piece of a copy cut into pieces may still join it (``FilterPolicy.piece_gap``).
        self._reach = {kind: max(passage_reach(shingle.k_for(mode), policy.gap, hit_spacing(shingle))
                                 for mode in modes) for kind, modes in (("prose", (TEXT,)), ("other", (TEXT, MARKDOWN)))}
        self._reach["other"] += policy.piece_gap

    def check(self, text: str, lang: str | None = None) -> Verdict:
        """The Verdict for a finished output."""
        return self.index.query(text, lang or self.lang, policy=self.policy)

    def session(self, lang: str | None = None) -> "StreamSession":
        """A stream to push deltas into by hand (``push``, then ``close``)."""
        return StreamSession(self, canonical_language(lang) if lang else self.lang)

    def stream(self, deltas: Iterable[str], lang: str | None = None) -> Iterator[StreamItem]:
        """Yield safe text (str) and FilterEvents for an iterable of text deltas."""
        session = self.session(lang)
        for delta in deltas:
            yield from session.push(delta)
            if session.stopped:
                return
        yield from session.close()

    async def astream(self, deltas: AsyncIterable[str], lang: str | None = None):
        """``stream`` for an async iterable of deltas."""
        session = self.session(lang)
        async for delta in deltas:
            for item in session.push(delta):
                yield item
            if session.stopped:
                return
        for item in session.close():
            yield item


@dataclass
class _Redaction:
    start: int
    end: int
    doc_ids: list[str]
    shown: bool = False  # its marker has been released

    def marker(self) -> str:
        return f"[removed: matches protected source {', '.join(self.doc_ids)}]"


@dataclass
class _Line:
    start: int  # character offset of the line
    number: int  # 1-based


@dataclass
class StreamSession:
    """The state of one output stream. ``push`` deltas, then ``close``."""

    filter: OutputFilter
    lang: str | None
    stopped: bool = False
    verdict: Verdict | None = None  # the final verdict, once the stream is over
    _parts: list[str] = field(default_factory=list)  # everything received, for the final check
    _tail: str = ""  # the text from _tail_at on: what windows and releases still need
    _tail_at: int = 0
    _length: int = 0
    _scanned: int = 0  # lines are read up to here
    _checked: int = 0  # the last checkpoint
    _released: int = 0
    _lines: deque = field(default_factory=lambda: deque([_Line(0, 1)]))
    _fences: FenceTracker = field(default_factory=FenceTracker)
    _redactions: list[_Redaction] = field(default_factory=list)
    _removed: list[tuple[int, int]] = field(default_factory=list)  # released as a marker
    _leaked: list[tuple[int, int]] = field(default_factory=list)
    _tapes: dict[str, TokenTape] = field(default_factory=dict)  # by reading mode
    _head: str = ""  # the first DETECT_CHARS characters
    _detected: tuple[int, str] | None = None  # (characters guessed on, the guess)
    _detecting: tuple[int, Iterator] | None = None  # a guess under way: (characters, detection_steps)
    _first_fence_end: int | None = None  # where the first fenced block's opening line ends

    def push(self, delta: str) -> list[StreamItem]:
        """Take the next delta; return what can be released now, and events."""
        if self.stopped:
            raise RuntimeError("the stream is over (blocked or closed)")
        if not isinstance(delta, str):
            raise TypeError(f"a delta must be str, got {type(delta).__name__}")
        self._parts.append(delta)
        if len(self._head) < DETECT_CHARS:
            self._head = (self._head + delta)[:DETECT_CHARS]
        self._tail += delta
        self._length += len(delta)
        self._read_lines()
        out: list[StreamItem] = []
        while not self.stopped:
            p = self._next_checkpoint()
            if p is None:
                break
            out += self._judge(p)
            self._checked = p
        return out

    def close(self) -> list[StreamItem]:
        """The end of the output: the final check, the rest of the text, the final event."""
        if self.stopped:
            return []
        self.stopped = True
        text = "".join(self._parts)
        policy = self.filter.policy
        verdict = self.filter.check(text, self.lang)
        self.verdict = verdict
        out: list[StreamItem] = []
        if not verdict.allowed:
            flagged = [m for m in verdict.matches if m.flags(policy)]
            # A copy in pieces is removed piece by piece, not with what lies between them.
            ranges = [(s.query_start, s.query_end, m.doc_id) for m in flagged for s in m.spans if s.kind != "pieces"]
            if not ranges:  # a near-duplicate as a whole, no passage to point at
                ranges = [(0, len(text), m.doc_id) for m in flagged]
            if policy.action == "block":
                self._note_leaks(ranges)
                return [FilterEvent("block", len(text), verdict, self._leaks())]
            if policy.action == "redact":
                self._redact(ranges)
            else:
                self._note_leaks(ranges)
        out += self._release(len(text))
        out.append(FilterEvent("end", len(text), verdict, self._leaks()))
        return out

    # --- reading the text ------------------------------------------------------------------

    def _text(self, start: int, end: int) -> str:
        return self._tail[start - self._tail_at:end - self._tail_at]

    def _read_lines(self) -> None:
        """Note where lines start; until the first fence line, feed every completed line to the fence tracker."""
        while True:
            i = self._tail.find("\n", self._scanned - self._tail_at)
            if i < 0:
                self._scanned = self._length
                return
            end = self._tail_at + i + 1
            line = self._lines[-1]
            if self._first_fence_end is None and end - line.start <= LONG_LINE:
                self._fences.feed_line(self._text(line.start, end))
                if self._fences.opener:
                    self._first_fence_end = end
            self._lines.append(_Line(end, line.number + 1))
            self._scanned = end

    def _next_checkpoint(self) -> int | None:
        step = self.filter.check_every
        at = self._checked + step
        if at > self._length:
            return None
        m = _SPACE.search(self._tail, at - 1 - self._tail_at)
        p = self._tail_at + m.end() if m else None
        hard = self._checked + 4 * step
        if p is None or p > hard:
            p = hard if hard <= self._length else None
        return p

    def _window_start(self) -> _Line:
        """Where the next window begins: a line start ``lookback`` before the released text."""
        target = max(0, self._released - self.filter.lookback)
        lines = self._lines
        while len(lines) > 1 and lines[1].start <= target:
            lines.popleft()
        line = lines[0]
        if target - line.start > self.filter.lookback:  # a very long line: start mid-line, after a space
            m = _SPACE.search(self._tail, target - self._tail_at, self._released - self._tail_at)
            line = _Line(self._tail_at + m.end() if m else target, line.number)
        current = lines[-1].start  # the line still coming in: kept from its start while it may be a fence line
        keep = min(line.start, current) if self._length - current <= LONG_LINE else line.start
        keep = max(self._tail_at, min([keep, *(tape.keep_from for tape in self._tapes.values())]))
        self._tail = self._tail[keep - self._tail_at:]
        self._tail_at = keep
        return line

    # --- judging ---------------------------------------------------------------------------

    def _judge(self, p: int) -> list[StreamItem]:
        """Match the window ending at checkpoint ``p``. A window is judged by its passages
        (``ProtectedIndex.passages``; no near-duplicate test: a window is no whole
        document); a Verdict, with spans and line numbers, is made only for an event."""
        f = self.filter
        policy = f.policy
        line = self._window_start()
        lang = self._window_language(p)
        windows = []
        modes = self._readings(lang)
        for i, mode in enumerate(modes):
            tape = self._tapes.get(mode)
            if tape is None:
                tape = self._tapes[mode] = TokenTape(f.index, mode, line.start)
            tape.advance(self._tail, self._tail_at, p)
            tape.drop_before(line.start)
            if i == 0 or tape.has_hits_from(line.start):  # a reading without hits has no passage
                windows.append(tape.tail(line.start))
        # Every candidate: a passage too short to flag still holds text back (it may grow).
        found = [f.index.passage_rows(sk, lookup, policy, all_candidates=True) for sk, lookup in windows]
        readings = [f.index.passages(sk, lookup, policy, rows) for (sk, lookup), rows in zip(windows, found)]
        out: list[StreamItem] = []
        chained = set().union(*(f.index.chained_documents(sk, lookup, rows, policy)
                                for (sk, lookup), rows in zip(windows, found)))
        flagged = _flagged_passages(readings, [policy.limit(sk.tokens.lang == TEXT) for sk, _ in windows], chained)
        if flagged.size:
            ids = f.index.docs.ids
            ranges = [(start, end, ids[doc]) for doc, start, end, _ in flagged.tolist()]
            if policy.action == "block":
                self.stopped = True
                self.verdict = self._window_verdict(windows, found, line)
                self._note_leaks(ranges)
                return [FilterEvent("block", p, self.verdict, self._leaks())]
            if self._redact(ranges):
                out.append(FilterEvent(policy.action, p, self._window_verdict(windows, found, line)))
        reach = f._reach["prose" if modes == [TEXT] else "other"]
        out += self._release(self._release_point(windows[0][0].tokens.starts, np.concatenate(readings), p, reach))
        return out

    def _window_verdict(self, windows: list, found: list, line: _Line) -> Verdict:
        """The Verdict of a window (every document it matches, not only those it flags),
        from its readings' ``passage_rows`` (``found``), with line numbers into the output.
        Its spans are those redacted (``passages``): not widened to the copy's ends."""
        f = self.filter
        newlines = np.fromiter((next_line.start - 1 for next_line in islice(self._lines, 1, None)), np.int64)
        matches = [m for (sk, lookup), rows in zip(windows, found)
                   for m in f.index.matches(replace(sk, newlines=newlines), f.policy, near_duplicates=False,
                                            lookup=lookup, rows=rows, widen=False)]
        return decide([_shifted(m, line.number - 1) for m in merged_per_document(matches)], f.policy)

    def _readings(self, lang: str) -> list[str]:
        """The tape modes a window judged in ``lang`` is read in: as ``check()`` matches
        them, prose as prose, and code and Markdown as themselves and as prose. The
        prose tape reads the whole output, so it goes on whatever the guess of the
        output's language becomes."""
        readings = [TEXT] if lang == TEXT else [lang, TEXT]
        for mode in set(self._tapes) - set(readings):
            del self._tapes[mode]
        return readings

    def _window_language(self, p: int) -> str:
        """The language windows are normalized in, as ``check()`` would guess it
        for the whole output: the given one; Markdown once a fenced block has
        begun; before that, the guess for the output's beginning. Past 128 characters the guess is
        made on the first 128, 256, 512 and DETECT_CHARS characters only, not
        at every checkpoint: detection may parse with every grammar, up to
        20 ms on prose. After the stream's first guess, those parses are spread
        over checkpoints, one grammar each, the previous guess standing
        meanwhile."""
        if self.lang is not None:
            return self.lang
        if self._first_fence_end is not None and self._first_fence_end <= p:
            return MARKDOWN
        n = p if p < 128 else min(DETECT_CHARS, 1 << (p.bit_length() - 1))  # the largest step <= p
        if self._detected is None or self._detected[0] != n:
            if self._detecting is None:
                self._detecting = (n, detection_steps(self._head[:n]))
            at, steps = self._detecting
            for guess in steps:
                if guess is not None:
                    self._detected, self._detecting = (at, guess), None
                    break
                if self._detected is not None:
                    break  # one parse per checkpoint
        return self._detected[1]

    def _release_point(self, token_starts: np.ndarray, passages: np.ndarray, p: int, reach: int) -> int:
        """``hold_back`` tokens before the checkpoint, and never past the start of a
        suspect passage (rows of ``ProtectedIndex.passages``, in any reading of the
        window): one too short to flag yet that may still grow (it ends within
        ``reach`` tokens of the checkpoint: the longest of the readings' passage reach)."""
        hold_back = self.filter.hold_back
        if hold_back == 0:
            return p
        if token_starts.size <= hold_back:
            return self._released
        r = int(token_starts[-hold_back])
        still_open = int(token_starts[max(0, token_starts.size - reach)])
        open_starts = passages[passages[:, 2] >= still_open, 1]
        if open_starts.size:
            r = min(r, int(open_starts.min()))
        return max(self._released, r)

    def _redact(self, ranges: list[tuple[int, int, str]]) -> bool:
        """Add character ranges to redact (annotate: only note them); True if one is new."""
        new = False
        self._note_leaks(ranges)
        for start, end, doc_id in sorted(ranges):
            if end <= self._released:
                continue
            new |= self._add_redaction(max(start, self._released), end, doc_id)
        return new

    def _add_redaction(self, start: int, end: int, doc_id: str) -> bool:
        for r in self._redactions:
            if start <= r.end and r.start <= end:
                r.start, r.end = min(r.start, start), max(r.end, end)
                if doc_id not in r.doc_ids:
                    r.doc_ids.append(doc_id)
                return False
        self._redactions.append(_Redaction(start, end, [doc_id]))
        self._redactions.sort(key=lambda r: r.start)
        return True

    def _note_leaks(self, ranges: list[tuple[int, int, str]]) -> None:
        self._leaked += [(start, min(end, self._released)) for start, end, _ in ranges if start < self._released]

    def _leaks(self) -> tuple[tuple[int, int], ...]:
        """Flagged character ranges that reached the user as text (not as a marker)."""
        return tuple(_subtracted(_merged(self._leaked), _merged(self._removed)))

    def _release(self, r: int) -> list[StreamItem]:
        """The text from the released point to ``r``, with redactions applied."""
        if r <= self._released:
            return []
        pieces = []
        pos = self._released
        redacting = self.filter.policy.action == "redact"
        for red in self._redactions if redacting else ():
            if red.end <= pos or red.start >= r:
                continue
            if red.start > pos:
                pieces.append(self._text(pos, red.start))
            if not red.shown:
                pieces.append(red.marker())
                red.shown = True
            self._removed.append((max(pos, red.start), min(red.end, r)))
            pos = min(red.end, r)
        if pos < r:
            pieces.append(self._text(pos, r))
        self._released = r
        self._redactions = [red for red in self._redactions if red.end >= r]
        text = "".join(pieces)
        return [text] if text else []


def _flagged_passages(readings: list[np.ndarray], limits: list[int], chained: set[int] = frozenset()) -> np.ndarray:
    """The passages (rows of ``ProtectedIndex.passages``, one array per reading of the
    window) of the documents that have one of its reading's limit or more (tokens), in
    any reading (as ``merged_per_document`` keeps every reading's spans), or are
    ``chained`` (``ProtectedIndex.chained_documents``)."""
    kept = [(rows, limit) for rows, limit in zip(readings, limits) if rows.size]
    if not kept:
        return np.empty((0, 4), np.int64)
    flagged = set(chained).union(*(rows[rows[:, 3] >= limit, 0].tolist() for rows, limit in kept))
    rows = np.concatenate([rows for rows, _ in kept]) if len(kept) > 1 else kept[0][0]
    return rows[[doc in flagged for doc in rows[:, 0].tolist()]] if flagged else rows[:0]


def _shifted(m: Match, lines: int) -> Match:
    """A window's match with line numbers into the whole output (offsets already are)."""
    spans = tuple(replace(s, query_lines=(s.query_lines[0] + lines, s.query_lines[1] + lines))
                  for s in m.spans)
    return replace(m, spans=spans)


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _subtracted(ranges: list[tuple[int, int]], removed: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted disjoint ``ranges`` minus sorted disjoint ``removed``."""
    out = []
    for start, end in ranges:
        for r0, r1 in removed:
            if r1 <= start or r0 >= end:
                continue
            if r0 > start:
                out.append((start, r0))
            start = max(start, r1)
        if start < end:
            out.append((start, end))
    return out


__all__ = ["FilterEvent", "OutputFilter", "StreamSession", "StreamItem"]
