"""A copy cut into pieces (dedupfilter.pieces): functions reordered, dead code between them."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import corpora
from dedupfilter.compare import compare_texts
from dedupfilter.config import FilterPolicy
from dedupfilter.filter import FilterEvent, OutputFilter
from dedupfilter.index import ProtectedIndex, storage
from dedupfilter.pieces import Piece, chained_pieces, piece_weight

LIMIT, GAP = 30, 40


# ---------------------------------------------------------------- the rule

def test_reordered_pieces_add_up():
    # Four pieces of 20 tokens, in the query in the order 3 1 4 2 of the document.
    doc = {1: (100, 125), 2: (125, 150), 3: (150, 175), 4: (175, 200)}
    pieces = [Piece(q, q + 25, *doc[d], 20) for q, d in ((0, 3), (30, 1), (60, 4), (90, 2))]
    assert chained_pieces(pieces, LIMIT, GAP) == ([0, 1, 2, 3], 80)


def test_dead_code_between_two_pieces():
    pieces = [Piece(0, 20, 500, 520, 18), Piece(20 + GAP, 60 + GAP, 520, 560, 17)]
    assert chained_pieces(pieces, LIMIT, GAP) == ([0, 1], 35)
    assert chained_pieces([pieces[0], pieces[1]._replace(query_start=21 + GAP)], LIMIT, GAP) == ([], 0)


@pytest.mark.parametrize("case, pieces", [
    ("too few tokens together", [Piece(0, 20, 0, 20, 15), Piece(25, 45, 20, 40, 14)]),
    ("one place of the document found twice (repeated code)", [Piece(0, 20, 0, 20, 18), Piece(25, 45, 2, 22, 18)]),
    ("one place of the query found twice", [Piece(0, 20, 0, 20, 18), Piece(5, 25, 300, 320, 18)]),
    ("from far apart in the document", [Piece(0, 20, 0, 20, 18), Piece(25, 45, 1000, 1020, 18)]),
    ("one piece", [Piece(0, 40, 0, 40, 35)]),
])
def test_not_a_copy_in_pieces(case, pieces):
    assert chained_pieces(pieces, LIMIT, GAP) == ([], 0), case


def test_a_piece_gap_of_zero_turns_the_rule_off():
    pieces = [Piece(0, 20, 0, 20, 18), Piece(20, 40, 20, 40, 18)]
    assert chained_pieces(pieces, LIMIT, 0) == ([], 0)
    assert chained_pieces(pieces, LIMIT, 1) == ([0, 1], 36)


def test_of_two_copies_in_pieces_the_larger_wins():
    small = [Piece(0, 20, 0, 20, 16), Piece(25, 45, 20, 40, 16)]
    large = [Piece(200, 220, 500, 520, 20), Piece(225, 245, 540, 560, 20), Piece(250, 270, 520, 540, 20)]
    assert chained_pieces(small + large, LIMIT, GAP) == ([2, 3, 4], 60)


def test_more_copied_text_never_undoes_a_copy_in_pieces():
    """A stray piece from elsewhere in the document, or a piece shown twice, leaves the
    copy as it was."""
    copy = [Piece(100, 120, 520, 540, 20), Piece(125, 145, 500, 520, 20)]
    assert chained_pieces(copy, LIMIT, GAP) == ([0, 1], 40)
    stray = Piece(121, 124, 90_000, 90_003, 15)
    assert chained_pieces(copy + [stray], LIMIT, GAP) == ([0, 1], 40)
    shown_before = Piece(0, 20, 520, 540, 20)
    assert chained_pieces([shown_before] + copy, LIMIT, GAP)[1] == 40


def _reference(pieces: list[Piece], limit: int, gap: int) -> int:
    """The rule's weight, slowly and obviously: runs and clusters as connected
    components of pairs within ``gap`` (union-find over every pair), weights by
    sets of token positions."""
    def components(members, side):
        parent = {i: i for i in members}

        def root(i):
            while parent[i] != i:
                i = parent[i]
            return i
        for a in members:
            for b in members:
                (sa, ea), (sb, eb) = side(pieces[a]), side(pieces[b])
                if max(sa, sb) - min(ea, eb) <= gap:
                    parent[root(a)] = root(b)
        groups: dict[int, list[int]] = {}
        for i in members:
            groups.setdefault(root(i), []).append(i)
        return list(groups.values())

    best = 0
    for run in components(range(len(pieces)), lambda p: (p.query_start, p.query_end)):
        for cluster in components(run, lambda p: (p.doc_start, p.doc_end)):
            if len(cluster) < 2:
                continue
            chosen = sorted((pieces[i] for i in cluster), key=lambda p: (p.query_start, p.query_end, p.doc_start))
            evidence = 0
            for n, p in enumerate(chosen):
                earlier = set().union(*(q.kgrams for q in chosen[:n]))
                evidence += p.tokens * len(p.kgrams - earlier) // len(p.kgrams) if p.kgrams else p.tokens
            weight = min(evidence, len({t for p in chosen for t in range(p.query_start, p.query_end)}),
                         len({t for p in chosen for t in range(p.doc_start, p.doc_end)}))
            best = max(best, weight)
    return best if best >= limit else 0


pieces_strategy = st.lists(st.builds(
    lambda q, ql, d, dl, t, kgrams: Piece(q, q + ql, d, d + dl, t, frozenset(kgrams)),
    st.integers(0, 300), st.integers(1, 40), st.integers(0, 300), st.integers(1, 40), st.integers(15, 29),
    st.sets(st.integers(0, 30), max_size=12)),
    max_size=8)


@given(pieces_strategy, st.sampled_from([1, 8, GAP]))
def test_the_rule_is_its_slow_obvious_definition(pieces, gap):
    chain, weight = chained_pieces(pieces, LIMIT, gap)
    assert weight == _reference(pieces, LIMIT, gap)
    assert (chain == []) == (weight == 0)
    if chain:
        assert len(chain) >= 2 and piece_weight([pieces[i] for i in chain]) == weight >= LIMIT


@given(pieces_strategy, pieces_strategy)
def test_more_pieces_of_other_kgrams_never_weigh_less(pieces, more):
    more = [p._replace(kgrams=frozenset(h + 1000 for h in p.kgrams)) for p in more]
    assert chained_pieces(pieces + more, LIMIT, GAP)[1] >= chained_pieces(pieces, LIMIT, GAP)[1]


def test_pieces_of_one_repeated_pattern_count_once():
    """Import lines the query shifts by a line: the pieces share their k-grams."""
    pattern = frozenset(range(10))
    pieces = [Piece(0, 17, 100, 117, 16, pattern), Piece(20, 37, 117, 134, 16, pattern | {99})]
    assert chained_pieces(pieces, LIMIT, GAP) == ([], 0)
    assert chained_pieces([p._replace(kgrams=frozenset()) for p in pieces], LIMIT, GAP) == ([0, 1], 32)


# ---------------------------------------------------------------- end to end

# Four short functions, each too short to flag when copied alone.
FUNCTIONS = [
    "def clamp(value, low, high):\n    return max(low, min(value, high))\n",
    "def mean_of(values):\n    return sum(values) / max(len(values), 1)\n",
    "def first_word(line):\n    parts = line.split()\n    return parts[0] if parts else None\n",
    "def halves(items):\n    middle = len(items) // 2\n    return items[:middle], items[middle:]\n",
]
# The protected module: a real one with the four functions at its end.
PROTECTED = Path(textwrap.__file__).read_text() + "\n\n" + "\n\n".join(FUNCTIONS)
# Reordered (3 1 4 2: no two neighbours in the query are neighbours in the module) and renamed.
REORDERED = "\n\n".join(FUNCTIONS[i].replace("value", "x").replace("items", "seq") for i in (2, 0, 3, 1))
ANSWER = ("Here are a few helpers that you can put in a module of your own:\n\n```python\n"
          + REORDERED + "```\n\nEach of them works on any sequence and returns a new value.\n")


@pytest.fixture(scope="module")
def index(built):
    return built[1].with_documents([corpora.Document("helpers", "helpers.py", PROTECTED, "python")])[0]


def _pieces(verdict):
    return [s for m in verdict.matches for s in m.spans if s.kind == "pieces"]


def test_each_function_alone_is_allowed(index):
    for function in FUNCTIONS:
        assert index.query(function, "python").allowed
    assert index.query("\n\n".join([FUNCTIONS[1]] * 3), "python").allowed  # the same piece thrice


def test_the_functions_reordered_are_a_copy_in_pieces(index):
    verdict = index.query(REORDERED, "python")
    assert verdict.action == "block", verdict.reason
    assert "helpers: copy in pieces of" in verdict.reason
    [span] = _pieces(verdict)
    lines = PROTECTED.count("\n")
    first = PROTECTED[:PROTECTED.index(FUNCTIONS[0])].count("\n") + 1
    assert span.doc_lines[0] >= first - 1 and span.doc_lines[1] <= lines + 1
    assert span.query_lines == (1, REORDERED.count("\n"))
    match = verdict.matches[0]
    assert LIMIT <= span.tokens <= sum(s.tokens for s in match.spans if s.kind == "copy")
    assert "pieces" in [s["kind"] for s in json.loads(verdict.to_json())["matches"][0]["spans"]]
    assert index.query(REORDERED, "python", policy=FilterPolicy(piece_gap=0)).allowed


def test_compare_finds_the_copy_in_pieces_too(index):
    verdict = compare_texts(REORDERED, PROTECTED, "python")
    assert not verdict.allowed and _pieces(verdict), verdict.reason
    kinds = [s.kind for s in verdict.matches[0].spans]
    assert kinds.count("copy") >= 2  # the pieces stay, for attribution
    assert compare_texts(REORDERED, PROTECTED, "python", policy=FilterPolicy(piece_gap=0)).allowed


def test_the_stream_removes_the_pieces_and_keeps_the_prose(index):
    output_filter = OutputFilter(index, FilterPolicy(action="redact"))
    items = list(output_filter.stream([ANSWER[i:i + 7] for i in range(0, len(ANSWER), 7)]))
    text = "".join(i for i in items if isinstance(i, str))
    events = [i for i in items if isinstance(i, FilterEvent)]
    assert events[-1].verdict.action == output_filter.check(ANSWER).action == "redact"
    assert "[removed: matches protected source helpers]" in text
    assert text.startswith("Here are a few helpers")
    assert text.endswith("Each of them works on any sequence and returns a new value.\n")
    shown = [line.strip() for line in REORDERED.splitlines() if line.strip() in text]
    assert not [line for line in shown if len(line) > 12], shown  # no statement of the copy


# Two functions of no protected document: 33 normalized tokens, less than the 40 of the piece gap.
UNRELATED = ("def unrelated_a(q):\n    return q\n\ndef unrelated_b(r, s):\n    t = r + s\n    u = t - r\n"
             "    return t * u\n\nw = 3\n")


def test_the_stream_holds_a_piece_back_while_another_may_join_it(index):
    """Dead code between the pieces longer than the hold-back (30 tokens) but within the
    piece gap (40): nothing of the copy is shown before it is caught."""
    text = FUNCTIONS[2] + "\n" + UNRELATED + FUNCTIONS[0] + "\n" + UNRELATED + FUNCTIONS[3]
    output_filter = OutputFilter(index, FilterPolicy(action="redact"), lang="python")
    assert "copy in pieces" in output_filter.check(text).reason
    items = list(output_filter.stream([text[i:i + 4] for i in range(0, len(text), 4)]))
    end = [i for i in items if isinstance(i, FilterEvent)][-1]
    assert end.verdict.action == "redact" and end.leaked == ()
    shown = "".join(i for i in items if isinstance(i, str))
    assert "unrelated_b(r, s)" in shown and "parts = line.split()" not in shown


@pytest.mark.parametrize("action", ["block", "redact"])
def test_the_stream_and_check_agree_on_a_copy_in_pieces_with_more_of_the_document(index, action):
    """The three functions reordered, then a line from elsewhere in the protected module
    (textwrap's): flagged whole, and by the stream."""
    far = "class TextWrapper:\n    unicode_whitespace_trans = dict.fromkeys(map(ord, _whitespace), ord(' '))\n"
    text = "\n\n".join(FUNCTIONS[i] for i in (2, 0, 3)) + "\n\n" + far + "\n" + "x = 1\n" * 20
    output_filter = OutputFilter(index, FilterPolicy(action=action), lang="python")
    assert output_filter.check(text).action == action
    events = [i for i in output_filter.stream([text[i:i + 5] for i in range(0, len(text), 5)])
              if isinstance(i, FilterEvent)]
    assert events[0].kind == action and events[-1].verdict.action == action


def test_reworded_passages_leave_a_copy_in_pieces_as_it_is(index):
    from dedupfilter.align import ReusedPassage
    from dedupfilter.normalize import normalize_text
    from dedupfilter.sketch import newline_offsets, sketch_tokens
    from dedupfilter.verdict import with_reworded

    prose = "A long explanation sentence that was reworded from the module docstring, far below. " * 8
    query = REORDERED + "\n\n" + prose
    match = next(m for m in index.query(query, "python").matches if m.doc_id == "helpers")
    [pieces] = [s for s in match.spans if s.kind == "pieces"]
    reworded = ReusedPassage(len(query) - len(prose), len(query), 0, 400, 0.9, 100)
    merged = with_reworded(match, sketch_tokens(normalize_text(query), newline_offsets(query)), lambda offset: 1,
                           [reworded], 300, FilterPolicy())
    assert pieces in merged.spans and "reworded" in {s.kind for s in merged.spans}


def test_an_index_from_before_pieces_keeps_its_answers(index, tmp_path):
    path = tmp_path / "idx"
    index.save(path)
    version = storage.current_version_dir(path)
    manifest = json.loads((version / "manifest.json").read_text())
    del manifest["policy"]["piece_gap"]
    (version / "manifest.json").write_text(json.dumps(manifest))
    old = ProtectedIndex.open(path)
    assert old.policy.piece_gap == 0
    assert old.query(REORDERED, "python").allowed
    assert ProtectedIndex.open(path, verify=False).query(REORDERED, "python", policy=FilterPolicy()).action == "block"


def test_the_command_line_takes_a_piece_gap(tmp_path, capsys):
    """compare, index build, query and index stats: --piece-gap 0 turns the rule off."""
    from dedupfilter.cli import main

    (tmp_path / "answer.py").write_text(REORDERED)
    (tmp_path / "helpers.py").write_text(PROTECTED)
    answer, helpers = str(tmp_path / "answer.py"), str(tmp_path / "helpers.py")
    assert main(["compare", answer, helpers, "--json"]) == 1
    assert "pieces" in {s["kind"] for s in json.loads(capsys.readouterr().out)["matches"][0]["spans"]}
    assert main(["compare", answer, helpers, "--piece-gap", "0"]) == 0
    index = str(tmp_path / "idx")
    assert main(["index", "build", index, helpers, "--piece-gap", "0"]) == 0
    capsys.readouterr()
    assert main(["index", "stats", index]) == 0
    assert "pieces adding up across 0 tokens" in capsys.readouterr().out
    assert main(["query", index, answer]) == 0
    assert main(["query", index, answer, "--piece-gap", "40"]) == 1
    assert "copy in pieces" in capsys.readouterr().out
