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
from dedupfilter.pieces import PIECE_OVERLAP, PIECE_SPREAD, Piece, chained_pieces

LIMIT, GAP = 30, 40


# ---------------------------------------------------------------- the rule

def test_reordered_pieces_add_up():
    # Four pieces of 20 tokens, in the query in the order 3 1 4 2 of the document.
    doc = {1: (100, 125), 2: (125, 150), 3: (150, 175), 4: (175, 200)}
    pieces = [Piece(q, q + 25, *doc[d], 20) for q, d in ((0, 3), (30, 1), (60, 4), (90, 2))]
    assert chained_pieces(pieces, LIMIT, GAP) == [0, 1, 2, 3]


def test_dead_code_between_two_pieces():
    pieces = [Piece(0, 20, 500, 520, 18), Piece(20 + GAP, 60 + GAP, 520, 560, 17)]
    assert chained_pieces(pieces, LIMIT, GAP) == [0, 1]
    assert chained_pieces([pieces[0], pieces[1]._replace(query_start=21 + GAP)], LIMIT, GAP) == []


@pytest.mark.parametrize("case, pieces", [
    ("too few tokens together", [Piece(0, 20, 0, 20, 15), Piece(25, 45, 20, 40, 14)]),
    ("one place of the document found twice (repeated code)", [Piece(0, 20, 0, 20, 18), Piece(25, 45, 2, 22, 18)]),
    ("one place of the query found twice", [Piece(0, 20, 0, 20, 18), Piece(5, 25, 300, 320, 18)]),
    ("from far apart in the document", [Piece(0, 20, 0, 20, 18), Piece(25, 45, 1000, 1020, 18)]),
    ("one piece", [Piece(0, 40, 0, 40, 35)]),
])
def test_not_a_copy_in_pieces(case, pieces):
    assert chained_pieces(pieces, LIMIT, GAP) == [], case


def test_a_piece_gap_of_zero_turns_the_rule_off():
    pieces = [Piece(0, 20, 0, 20, 18), Piece(20, 40, 20, 40, 18)]
    assert chained_pieces(pieces, LIMIT, 0) == []
    assert chained_pieces(pieces, LIMIT, 1) == [0, 1]


def test_of_two_chains_the_larger_wins():
    small = [Piece(0, 20, 0, 20, 16), Piece(25, 45, 20, 40, 16)]
    large = [Piece(200, 220, 500, 520, 20), Piece(225, 245, 540, 560, 20), Piece(250, 270, 520, 540, 20)]
    assert chained_pieces(small + large, LIMIT, GAP) == [2, 3, 4]


pieces_strategy = st.lists(st.builds(
    lambda q, ql, d, dl, t: Piece(q, q + ql, d, d + dl, t),
    st.integers(0, 300), st.integers(1, 40), st.integers(0, 300), st.integers(1, 40), st.integers(15, 29)),
    max_size=8)


def _overlap(a0, a1, b0, b1):
    return min(a1, b1) - max(a0, b0) > PIECE_OVERLAP * min(a1 - a0, b1 - b0)


@given(pieces_strategy)
def test_every_chain_found_keeps_the_rule(pieces):
    chain = chained_pieces(pieces, LIMIT, GAP)
    if not chain:
        return
    found = [pieces[i] for i in chain]
    assert len(found) >= 2 and sum(p.tokens for p in found) >= LIMIT
    assert found == sorted(found, key=lambda p: (p.query_start, p.query_end))
    for a, b in zip(found, found[1:]):
        assert b.query_start - a.query_end <= GAP
        assert not _overlap(a.query_start, a.query_end, b.query_start, b.query_end)
    for i, a in enumerate(found):
        for b in found[i + 1:]:
            assert not _overlap(a.doc_start, a.doc_end, b.doc_start, b.doc_end)
    extent = max(p.doc_end for p in found) - min(p.doc_start for p in found)
    assert extent <= PIECE_SPREAD * sum(p.doc_end - p.doc_start for p in found)


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
    assert span.tokens == sum(s.tokens for s in match.spans if s.kind == "copy")
    assert json.loads(verdict.to_json())["matches"][0]["spans"][1]["kind"] in ("pieces", "copy")
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
