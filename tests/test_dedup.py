"""Training-corpus dedup: kernels against slow twins, and whole runs on a corpus of real
documents with known duplicate clusters, in every input form, interrupted and resumed."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections import defaultdict, deque
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import corpora
from corpora import transforms
from dedupfilter import dedup
from dedupfilter._kernels.sets import distinct_segments
from dedupfilter._kernels.unionfind import connected_components
from dedupfilter._kernels.verify import pair_jaccard, signature_agreement
from dedupfilter.arrays import distinct
from dedupfilter.cli import main
from dedupfilter.dedup.local import bucket_links, keep_mask, size_histogram
from dedupfilter.io import InputError
from dedupfilter.sketch import estimated_jaccard, set_overlap, sketch

THRESHOLD = 0.8


# --- Kernels against slow, obvious twins --------------------------------------------------------------


def bfs_components(n: int, edges) -> list[int]:
    """Label per node: the smallest node reachable from it (breadth-first search)."""
    neighbours = defaultdict(list)
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    labels = [-1] * n
    for start in range(n):
        if labels[start] >= 0:
            continue
        seen, queue = {start}, deque([start])
        while queue:
            for nxt in neighbours[queue.popleft()]:
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        for node in seen:
            labels[node] = min(seen)
    return labels


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_connected_components_match_bfs(data):
    n = data.draw(st.integers(1, 60))
    edges = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=80))
    left = np.array([a for a, _ in edges], np.int64)
    right = np.array([b for _, b in edges], np.int64)
    assert connected_components(n, left, right).tolist() == bfs_components(n, edges)


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.uint64, st.integers(0, 80), elements=st.integers(0, 6)))
def test_bucket_links_give_the_components_of_all_pairs(keys):
    n = keys.size
    all_pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if keys[i] == keys[j]]
    left, right = bucket_links(keys)
    assert left.size <= 2 * n and np.all(left < right) and np.all(keys[left] == keys[right])
    assert connected_components(n, left, right).tolist() == bfs_components(n, all_pairs)


sets = st.lists(st.lists(st.integers(0, 30), max_size=25), min_size=2, max_size=8)


@settings(max_examples=200, deadline=None)
@given(sets, st.data())
def test_pair_jaccard_matches_set_overlap(members, data):
    arrays = [distinct(np.array(m, np.uint64)) for m in members]
    offsets = np.concatenate([[0], np.cumsum([a.size for a in arrays])]).astype(np.int64)
    flat = np.concatenate(arrays)
    pairs = data.draw(st.lists(st.tuples(st.integers(0, len(arrays) - 1), st.integers(0, len(arrays) - 1)),
                               min_size=1, max_size=10))
    left, right = (np.array(side, np.int64) for side in zip(*pairs))
    got = pair_jaccard(flat, offsets, left, right)
    for (a, b), j in zip(pairs, got):
        want = 1.0 if arrays[a].size == arrays[b].size == 0 else set_overlap(arrays[a], arrays[b])[0]
        assert j == pytest.approx(want)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 12), max_size=20), max_size=8))
def test_distinct_segments_match_per_segment_distinct(segments):
    values = np.array([v for seg in segments for v in seg], np.uint64)
    offsets = np.concatenate([[0], np.cumsum([len(seg) for seg in segments])]).astype(np.int64)
    flat, new_offsets = distinct_segments(values, offsets)
    assert [flat[a:b].tolist() for a, b in zip(new_offsets, new_offsets[1:])] == \
        [sorted(set(seg)) for seg in segments]


def test_signature_agreement_matches_estimated_jaccard(pydoc_docs):
    sigs = np.stack([sketch(d.text, "text").signature for d in pydoc_docs[:6]])
    sigs[1] = sigs[0]
    sigs[2, :40] = sigs[0, :40]
    left, right = np.array([0, 0, 3], np.int64), np.array([1, 2, 4], np.int64)
    got = signature_agreement(sigs, left, right)
    assert got.tolist() == [estimated_jaccard(sigs[a], sigs[b]) for a, b in zip(left, right)]
    assert got[0] == 1.0 and got[1] >= 40 / 128


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_keep_mask_matches_naive_ranking(data):
    n = data.draw(st.integers(1, 40))
    labels = np.array(data.draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)), np.int64)
    n_chars = np.array(data.draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)), np.int64)
    ranks = np.array(data.draw(st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=n, max_size=n)),
                     np.float64)
    k = data.draw(st.integers(1, 4))
    rules = {"first": lambda i: i, "longest": lambda i: (-n_chars[i], i),
             "column": lambda i: (np.isnan(ranks[i]), -np.nan_to_num(ranks[i]), i)}
    for rule, key in rules.items():
        want = np.zeros(n, bool)
        for label in set(labels.tolist()):
            members = sorted(np.flatnonzero(labels == label), key=key)
            want[members[:k]] = True
        assert keep_mask(labels, k, n_chars, ranks, rule).tolist() == want.tolist(), rule


def test_size_histogram_bins_by_powers_of_two():
    assert size_histogram(np.array([1, 1, 2, 3, 4, 5, 9, 16, 17])) == {
        "1": 2, "2": 1, "3-4": 2, "5-8": 1, "9-16": 2, "17-32": 1}


# --- A corpus with known clusters ----------------------------------------------------------------------


def _edit_prose(text: str, rng: np.random.Generator) -> str:
    """A light human edit of a paragraph: one of its first words changed, spacing and case changed."""
    words = text.split()
    words[int(rng.integers(3))] = "edited"
    return "  ".join(words).upper() if rng.random() < 0.5 else " ".join(words)


def _edit_code(text: str, variant: int) -> str:
    edits = (transforms.disguise, transforms.rename_identifiers, transforms.reindent, transforms.change_comments,
             lambda s: s)
    return edits[variant % len(edits)](text)


def _originals():
    """Real functions and paragraphs, none a near-duplicate of another (checked exactly)."""
    functions = (f for d in itertools.islice(corpora.stdlib_python(min_chars=3000), 0, None, 7)
                 for f in itertools.islice(corpora.python_functions(d, min_lines=15), 1))
    paragraphs = (p for d in corpora.pydoc_topics() for p in itertools.islice(corpora.paragraphs(d, 80), 1))
    chosen, shingle_sets = [], []
    for doc in itertools.chain(itertools.islice(functions, 40), itertools.islice(paragraphs, 30)):
        shingles = sketch(doc.text, doc.lang).shingles
        if all(set_overlap(shingles, other)[0] < 0.3 for other in shingle_sets):
            chosen.append(doc)
            shingle_sets.append(shingles)
    return chosen


@pytest.fixture(scope="module")
def corpus():
    """Rows (dicts) in shuffled order; group g has 1 + g % 5 members: an original and edited copies."""
    rng = np.random.default_rng(6)
    rows = []
    for g, doc in enumerate(_originals()):
        for copy in range(1 + g % 5):
            if copy == 0:
                text = doc.text
            elif doc.lang == "text":
                text = _edit_prose(doc.text, rng)
            else:
                text = _edit_code(doc.text, copy + g)
            rows.append({"doc_id": f"{doc.doc_id}/{copy}", "text": text, "lang": doc.lang, "group": g,
                         "score": float(rng.integers(100)), "tags": [doc.lang, f"copy{copy}"]})
    rows = [rows[i] for i in rng.permutation(len(rows))]
    # The construction is what the tests rely on: copies are duplicates, nothing else is.
    sketches = [sketch(r["text"], r["lang"]).shingles for r in rows]
    for (i, a), (j, b) in itertools.combinations(enumerate(sketches), 2):
        jaccard = set_overlap(a, b)[0]
        if rows[i]["group"] == rows[j]["group"]:
            assert jaccard >= THRESHOLD + 0.02, (rows[i]["doc_id"], rows[j]["doc_id"], jaccard)
        else:
            assert jaccard < 0.5, (rows[i]["doc_id"], rows[j]["doc_id"], jaccard)
    assert len(rows) > 150 and len({r["group"] for r in rows}) > 40
    return rows


def write_parquet(rows, path: Path, row_group_size: int = 16) -> pa.Table:
    table = pa.Table.from_pylist(rows).replace_schema_metadata({"origin": "test corpus"})
    pq.write_table(table, path, row_group_size=row_group_size)
    return table


def expected_kept(rows, k: int, key=lambda i: i) -> list[int]:
    by_group = defaultdict(list)
    for i, row in enumerate(rows):
        by_group[row["group"]].append(i)
    return sorted(i for members in by_group.values() for i in sorted(members, key=key)[:k])


@pytest.mark.parametrize("k", [1, 2, 3])
def test_every_cluster_is_cut_to_k_and_nothing_unrelated_is_merged(corpus, tmp_path, k):
    table = write_parquet(corpus, tmp_path / "in.parquet")
    summary = dedup(str(tmp_path / "in.parquet"), str(tmp_path / "out.parquet"), max_copies=k,
                    lang_column="lang", id_column="doc_id", clusters=str(tmp_path / "clusters.parquet"),
                    n_workers=1, shard_rows=40, progress=False)
    out = pq.read_table(tmp_path / "out.parquet")
    kept = expected_kept(corpus, k)
    # All columns, their types and the schema metadata survive; rows are the kept ones, in order.
    assert out.equals(table.take(kept)) and out.schema.metadata == table.schema.metadata
    clusters = pq.read_table(tmp_path / "clusters.parquet").to_pylist()
    groups = [r["group"] for r in corpus]
    assert [c["id"] for c in clusters] == [r["doc_id"] for r in corpus]
    for a, b in itertools.combinations(range(len(corpus)), 2):
        assert (clusters[a]["cluster"] == clusters[b]["cluster"]) == (groups[a] == groups[b])
    assert all(c["cluster_size"] == groups.count(g) for c, g in zip(clusters, groups))
    assert [i for i, c in enumerate(clusters) if c["kept"]] == kept
    assert summary.documents_in == len(corpus) and summary.documents_out == len(kept)
    assert summary.duplicates_removed == len(corpus) - len(kept)
    assert summary.clusters == len({g for g in groups if groups.count(g) > 1})
    assert summary.shards > 1 and summary.shards_reused == 0


@pytest.mark.parametrize("verify", ["signature", "none"])
def test_cheaper_verification_finds_the_same_clusters_here(corpus, tmp_path, verify):
    write_parquet(corpus, tmp_path / "in.parquet")
    dedup(str(tmp_path / "in.parquet"), str(tmp_path / "out.parquet"), lang_column="lang", verify=verify,
          n_workers=1, shard_rows=40, progress=False)
    assert pq.read_table(tmp_path / "out.parquet")["doc_id"].to_pylist() == \
        [corpus[i]["doc_id"] for i in expected_kept(corpus, 1)]


def test_keep_longest_and_keep_by_column(corpus, tmp_path):
    write_parquet(corpus, tmp_path / "in.parquet")
    for rule, key in (("longest", lambda i: (-len(corpus[i]["text"]), i)),
                      ("column:score", lambda i: (-corpus[i]["score"], i))):
        out = tmp_path / f"{rule.replace(':', '-')}.parquet"
        dedup(str(tmp_path / "in.parquet"), str(out), max_copies=2, keep=rule, lang_column="lang",
              n_workers=1, progress=False)
        want = [corpus[i]["doc_id"] for i in expected_kept(corpus, 2, key)]
        assert pq.read_table(out)["doc_id"].to_pylist() == want, rule


def test_jsonl_lines_come_back_byte_for_byte(corpus, tmp_path):
    lines = [json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in corpus]
    (tmp_path / "in.jsonl").write_bytes(b"".join(lines[:5]) + b"\n" + b"".join(lines[5:]))  # one blank line
    dedup(str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl"), max_copies=2, lang_column="lang",
          n_workers=2, shard_rows=30, progress=False)
    assert (tmp_path / "out.jsonl").read_bytes() == b"".join(lines[i] for i in expected_kept(corpus, 2))


def test_a_markdown_copy_of_prose_is_its_duplicate(pydoc_docs, tmp_path):
    """Markdown is compared as a whole by its prose, so a paragraph and its copy under a
    heading or beside a code block cluster together."""
    paragraph = next(p.text for p in corpora.paragraphs(pydoc_docs[3], min_words=80))
    rows = [{"text": paragraph, "lang": "text"}, {"text": f"# Note\n\n{paragraph}", "lang": "markdown"},
            {"text": f"{paragraph}\n```python\nx = 1\n```\n", "lang": "markdown"},
            {"text": pydoc_docs[9].text, "lang": "text"}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    dedup(str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl"), lang_column="lang", n_workers=1, progress=False)
    kept = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert kept == [rows[0], rows[3]]


def test_jsonl_with_a_column_changing_type_between_rows(corpus, tmp_path):
    """Arrow's JSON reader refuses such a file; the line-by-line reader takes over, same result."""
    rows = [{**r, "score": "n/a" if i % 7 == 0 else r["score"]} for i, r in enumerate(corpus)]
    rows.append({**corpus[0], "text": None, "doc_id": "no text"})
    lines = [json.dumps(r).encode() + b"\n" for r in rows]
    (tmp_path / "in.jsonl").write_bytes(b"".join(lines))
    summary = dedup(str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl"), lang_column="lang",
                    n_workers=1, progress=False)
    kept = expected_kept(corpus, 1) + [len(rows) - 1]
    assert (tmp_path / "out.jsonl").read_bytes() == b"".join(lines[i] for i in kept)
    assert summary.without_text == 1


def test_directories_of_parquet_shards_and_of_files(corpus, tmp_path):
    shards = tmp_path / "shards"
    (shards / "part").mkdir(parents=True)
    write_parquet(corpus[:90], shards / "part" / "a.parquet")
    write_parquet(corpus[90:], shards / "part" / "b.parquet")
    dedup(str(shards), str(tmp_path / "out"), lang_column="lang", n_workers=1, shard_rows=25, progress=False)
    ids = [r for f in ("a", "b") for r in pq.read_table(tmp_path / "out" / "part" / f"{f}.parquet")["doc_id"]
           .to_pylist()]
    assert ids == [corpus[i]["doc_id"] for i in expected_kept(corpus, 1)]

    files = tmp_path / "files"
    names = [f"{row['group'] % 3}/doc{i:03d}.{'py' if row['lang'] == 'python' else 'txt'}"
             for i, row in enumerate(corpus)]
    for name, row in zip(names, corpus):
        (files / name).parent.mkdir(parents=True, exist_ok=True)
        (files / name).write_text(row["text"])
    (files / "blob.bin").write_bytes(b"\x00\x01binary")
    summary = dedup(str(files), str(tmp_path / "files-out"), n_workers=1, shard_rows=50, progress=False)
    written = sorted(p.relative_to(tmp_path / "files-out").as_posix()
                     for p in (tmp_path / "files-out").rglob("*") if p.is_file())
    want = sorted(["blob.bin"] + [names[i] for i in expected_kept(corpus, 1)])
    assert written == want and summary.without_text == 1
    assert all((tmp_path / "files-out" / w).read_bytes() == (files / w).read_bytes() for w in written)


def test_saved_hugging_face_dataset(corpus, tmp_path):
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_list(corpus).save_to_disk(str(tmp_path / "ds"))
    dedup(str(tmp_path / "ds"), str(tmp_path / "ds-out"), max_copies=2, lang_column="lang", n_workers=1,
          progress=False)
    out = datasets.load_from_disk(str(tmp_path / "ds-out"))
    assert out.column_names == list(corpus[0])
    assert out["doc_id"] == [corpus[i]["doc_id"] for i in expected_kept(corpus, 2)]
    assert out[0]["tags"] == corpus[expected_kept(corpus, 2)[0]]["tags"]


def test_rows_without_text_pass_through(corpus, tmp_path):
    rows = [dict(r) for r in corpus[:30]] + [{**corpus[0], "text": None, "doc_id": f"empty{i}"} for i in range(3)]
    write_parquet(rows, tmp_path / "in.parquet")
    summary = dedup(str(tmp_path / "in.parquet"), str(tmp_path / "out.parquet"), lang_column="lang",
                    n_workers=1, progress=False)
    ids = pq.read_table(tmp_path / "out.parquet")["doc_id"].to_pylist()
    assert ids[-3:] == ["empty0", "empty1", "empty2"] and summary.without_text == 3


# --- Interrupted and resumed -------------------------------------------------------------------------

KILL_AFTER_SHARDS = textwrap.dedent("""
    import os, signal, sys
    from dedupfilter import dedup

    def kill_after(n):
        if n + 1 == int(sys.argv[3]):
            os.kill(os.getpid(), signal.SIGKILL)

    if __name__ == "__main__":
        dedup(sys.argv[1], sys.argv[2], lang_column="lang", n_workers=1, shard_rows=20, on_shard=kill_after,
              progress=False)
""")


def test_a_killed_run_resumes_with_the_same_result(corpus, tmp_path):
    write_parquet(corpus, tmp_path / "in.parquet", row_group_size=10)
    src, out = str(tmp_path / "in.parquet"), tmp_path / "out.parquet"
    script = tmp_path / "kill.py"
    script.write_text(KILL_AFTER_SHARDS)
    killed = subprocess.run([sys.executable, str(script), src, str(out), "3"], capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    assert not out.exists()  # no half output that looks complete
    work = tmp_path / ".out.parquet.dedup-work"
    assert len(list(work.glob("shard-*"))) == 3
    code = main(["dedup", src, "--out", str(out), "--lang-column", "lang", "--shard-rows", "20", "--workers", "1",
                 "--json"])
    assert code == 0 and not work.exists()
    dedup(src, str(tmp_path / "clean.parquet"), lang_column="lang", n_workers=1, shard_rows=20, progress=False)
    assert pq.read_table(out).equals(pq.read_table(tmp_path / "clean.parquet"))


def test_an_exception_mid_run_leaves_no_output_and_finished_shards_are_reused(corpus, tmp_path):
    write_parquet(corpus, tmp_path / "in.parquet", row_group_size=10)
    src, out = str(tmp_path / "in.parquet"), str(tmp_path / "out.parquet")

    def fail_after_two(n):
        if n == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        dedup(src, out, lang_column="lang", n_workers=1, shard_rows=20, on_shard=fail_after_two, progress=False)
    assert not Path(out).exists()
    summary = dedup(src, out, lang_column="lang", n_workers=1, shard_rows=20, progress=False)
    assert summary.shards_reused == 2 and summary.shards > 2
    assert pq.read_table(out)["doc_id"].to_pylist() == [corpus[i]["doc_id"] for i in expected_kept(corpus, 1)]


def test_different_settings_do_not_reuse_shards(corpus, tmp_path):
    write_parquet(corpus, tmp_path / "in.parquet", row_group_size=10)
    src, out = str(tmp_path / "in.parquet"), str(tmp_path / "out.parquet")
    with pytest.raises(KeyboardInterrupt):
        dedup(src, out, lang_column="lang", n_workers=1, shard_rows=20, progress=False,
              on_shard=lambda n: (_ for _ in ()).throw(KeyboardInterrupt))
    summary = dedup(src, out, lang="text", n_workers=1, shard_rows=20, progress=False)
    assert summary.shards_reused == 0


# --- Against a protected index -----------------------------------------------------------------------


def test_documents_matching_the_protected_index_are_dropped_or_flagged(corpus, tmp_path):
    from dedupfilter.index import build_index

    protected_groups = {corpus[0]["group"], corpus[1]["group"]}
    originals = [r for r in corpus if r["group"] in protected_groups and r["doc_id"].endswith("/0")]
    build_index(tmp_path / "index", [type("Doc", (), {"doc_id": r["doc_id"], "source": "test", "text": r["text"],
                                                      "lang": r["lang"]})() for r in originals])
    write_parquet(corpus, tmp_path / "in.parquet")
    kept = expected_kept(corpus, 1)
    summary = dedup(str(tmp_path / "in.parquet"), str(tmp_path / "out.parquet"), lang_column="lang",
                    against=str(tmp_path / "index"), n_workers=1, progress=False)
    want = [corpus[i]["doc_id"] for i in kept if corpus[i]["group"] not in protected_groups]
    assert pq.read_table(tmp_path / "out.parquet")["doc_id"].to_pylist() == want
    assert summary.protected_matches == sum(r["group"] in protected_groups for r in corpus)
    dedup(str(tmp_path / "in.parquet"), str(tmp_path / "flagged.parquet"), lang_column="lang",
          against=str(tmp_path / "index"), flag_only=True, n_workers=1, progress=False)
    flagged = pq.read_table(tmp_path / "flagged.parquet").to_pylist()
    assert [r["doc_id"] for r in flagged] == [corpus[i]["doc_id"] for i in kept]
    assert all(r["protected_match"] == (r["group"] in protected_groups) for r in flagged)


# --- Bad input -----------------------------------------------------------------------------------------


def test_bad_input_is_a_clear_error_and_nothing_is_written(corpus, tmp_path, capsys):
    write_parquet(corpus[:20], tmp_path / "in.parquet")
    assert main(["dedup", str(tmp_path / "in.parquet"), "--out", str(tmp_path / "o.parquet"),
                 "--text-column", "body"]) == 2
    err = capsys.readouterr().err
    assert "in.parquet" in err and "'body'" in err and "doc_id" in err
    assert not (tmp_path / "o.parquet").exists()

    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    (tmp_path / "empty.jsonl").write_text("\n")
    (tmp_path / "bad.jsonl").write_text('{"text": "fine"}\n[1, 2]\n')
    (tmp_path / "nothing").mkdir()
    for name, message in (("broken.parquet", "not a readable Parquet file"), ("empty.jsonl", "no documents"),
                          ("bad.jsonl", "expected a JSON object"), ("nothing", "no files"),
                          ("missing.jsonl", "no such file")):
        with pytest.raises(InputError, match=message) as info:
            dedup(str(tmp_path / name), str(tmp_path / "o.jsonl"), n_workers=1, progress=False)
        assert name in str(info.value)
        assert not (tmp_path / "o.jsonl").exists()

    with pytest.raises(InputError, match="'doc_id' has no numeric values"):
        dedup(str(tmp_path / "in.parquet"), str(tmp_path / "o.parquet"), keep="column:doc_id", n_workers=1,
              progress=False)
    assert not (tmp_path / "o.parquet").exists()

    (tmp_path / "exists.parquet").write_bytes(b"keep me")
    with pytest.raises(InputError, match="already exists"):
        dedup(str(tmp_path / "in.parquet"), str(tmp_path / "exists.parquet"), n_workers=1, progress=False)
    assert (tmp_path / "exists.parquet").read_bytes() == b"keep me"
    with pytest.raises(ValueError, match="engine"):
        dedup(str(tmp_path / "in.parquet"), str(tmp_path / "o.parquet"), engine="ray")


def test_cli_prints_a_summary(corpus, tmp_path, capsys):
    write_parquet(corpus, tmp_path / "in.parquet")
    assert main(["dedup", str(tmp_path / "in.parquet"), "--out", str(tmp_path / "o.parquet"), "--max-copies", "2",
                 "--lang-column", "lang", "--workers", "1", "--clusters", str(tmp_path / "c.parquet")]) == 0
    out = capsys.readouterr().out
    assert "duplicates removed" in out and "cluster sizes" in out and os.path.exists(tmp_path / "c.parquet")
