"""Every kernel against its slow, obvious twin in tests/reference.py, and MinHash against datasketch."""

from __future__ import annotations

import collections
from dataclasses import replace
from unittest import mock

import numba
import numpy as np
import pytest
import xxhash
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dedupfilter import normalize
from dedupfilter._kernels.hashing import xxh64
from dedupfilter._kernels.shingle import shingle_hashes as shingle_kernel
from dedupfilter._kernels.winnow import winnow
from dedupfilter.config import MinHashConfig, ShingleConfig, SketchConfig
from dedupfilter.sketch import (estimated_jaccard, permutations, shingle_hashes, signature,
                                signatures, sketch)

from . import reference

u64 = hnp.arrays(np.uint64, st.integers(0, 60), elements=st.integers(0, 2**64 - 1))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 2**64 - 1))
def test_xxh64_matches_xxhash(data, seed):
    arr = np.frombuffer(data, np.uint8) if data else np.zeros(0, np.uint8)
    assert int(xxh64(arr, 0, len(data), np.uint64(seed))) == xxhash.xxh64_intdigest(data, seed)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_shingles_match_reference(data):
    n = data.draw(st.integers(0, 40))
    hashes = data.draw(hnp.arrays(np.uint64, n, elements=st.integers(0, 2**64 - 1)))
    backrefs = data.draw(hnp.arrays(np.int32, n, elements=st.integers(0, 12)))
    k = data.draw(st.integers(1, 10))
    seed = data.draw(st.integers(0, 2**64 - 1))
    got = shingle_kernel(hashes, backrefs, k, np.uint64(seed)).tolist()
    assert got == reference.shingles(hashes.tolist(), backrefs.tolist(), k, seed)


def test_shingles_match_reference_on_real_code(stdlib_sample):
    for doc in stdlib_sample[:5]:
        tokens = normalize(doc.text[:20000], "python")
        expected = reference.shingles(tokens.hashes.tolist(), tokens.backrefs.tolist(), 8, 0)
        assert shingle_hashes(tokens, ShingleConfig(k=8)).tolist() == expected


def test_parameterization_can_be_switched_off():
    a = normalize("x = y + x\n", "python")
    b = normalize("x = y + y\n", "python")
    on, off = ShingleConfig(k=5), ShingleConfig(k=5, parameterized=False)
    assert shingle_hashes(a, on).tolist() != shingle_hashes(b, on).tolist()
    assert shingle_hashes(a, off).tolist() == shingle_hashes(b, off).tolist()


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.uint64, st.integers(0, 80), elements=st.integers(0, 50)), st.integers(1, 12))
def test_winnow_matches_brute_force(hashes, w):
    # Small hash values force many ties: the rightmost-minimum rule is exercised.
    assert winnow(hashes, w).tolist() == reference.winnow(hashes.tolist(), w)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_winnowing_guarantee(data):
    """Any shared run of at least w + k - 1 tokens yields a shared fingerprint.

    (The run's tokens are distinct, so its k-grams are informative: periodic
    k-grams are never fingerprints, see test_periodic_kgrams_are_not_fingerprints.)"""
    k = data.draw(st.integers(1, 6))
    w = data.draw(st.integers(1, 8))
    t = w + k - 1
    shared = data.draw(hnp.arrays(np.uint64, st.integers(t, t + 10), elements=st.integers(0, 2**64 - 1),
                                  unique=True))
    left_a = data.draw(u64)
    right_a = data.draw(u64)
    left_b = data.draw(u64)
    right_b = data.draw(u64)
    config = ShingleConfig(k=k, window=w)

    def fingerprint_set(tokens):
        s = sketch_of(tokens, config)
        return set(s.fp_hashes.tolist())

    a = np.concatenate([left_a, shared, right_a])
    b = np.concatenate([left_b, shared, right_b])
    assert fingerprint_set(a) & fingerprint_set(b)


@settings(max_examples=200, deadline=None)
@given(hashes=hnp.arrays(np.uint64, st.integers(0, 40), elements=st.integers(0, 3)), k=st.integers(1, 10))
def test_informative_mask_matches_reference(hashes, k):
    from dedupfilter.normalize import TokenStream
    from dedupfilter.sketch import informative_mask

    n = hashes.size
    tokens = TokenStream(hashes, np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64) + 1,
                         np.zeros(n, np.int32), "text")
    assert informative_mask(tokens, k).tolist() == reference.informative(hashes.tolist(), k)


def test_periodic_kgrams_are_not_fingerprints():
    from dedupfilter.sketch import informative_mask

    rng = np.random.default_rng(1)
    table = np.tile(rng.integers(0, 2**63, 2, dtype=np.uint64), 40)  # STR , STR , ...
    code = rng.integers(0, 2**63, 30, dtype=np.uint64)
    tokens = np.concatenate([code, table, code[::-1]])
    s = sketch_of(tokens, ShingleConfig(k=8, window=4))
    mask = informative_mask(s.tokens, 8)
    assert not mask[35:100].any() and mask[:20].all()
    assert not np.isin(s.fp_positions, np.arange(31, 103)).any()
    assert s.fp_positions.size > 5


def sketch_of(token_hashes, config: ShingleConfig):
    """A sketch of bare token hashes with ``config.k`` and ``config.window`` (its prose k and
    window unset)."""
    from dedupfilter.normalize import TokenStream
    from dedupfilter.sketch import sketch_tokens

    n = token_hashes.shape[0]
    tokens = TokenStream(token_hashes.astype(np.uint64), np.arange(n, dtype=np.int64),
                         np.arange(n, dtype=np.int64) + 1, np.zeros(n, np.int32), "text")
    return sketch_tokens(tokens, np.empty(0, np.int64), SketchConfig(shingle=replace(config, prose_window=None, prose_k=None)))


@pytest.mark.parametrize("scheme", ["affine64", "affine32"])
@pytest.mark.parametrize("num_perm,seed", [(128, 1), (64, 7), (256, 42), (17, 2**31 + 5)])
def test_signature_bit_identical_to_datasketch(stdlib_sample, pydoc_docs, scheme, num_perm, seed):
    config = MinHashConfig(num_perm=num_perm, seed=seed, scheme=scheme)
    hashfunc = (lambda h: h) if scheme == "affine64" else (lambda h: h & 0xFFFFFFFF)
    docs = [(d.text, "python") for d in stdlib_sample[:3]] + [(d.text, "text") for d in pydoc_docs[:3]]
    for text, lang in docs:
        shingles = shingle_hashes(normalize(text, lang))
        expected = MinHash(num_perm=num_perm, seed=seed, scheme=scheme, hashfunc=hashfunc)
        expected.update_batch(shingles.tolist())
        got = signature(shingles, config)
        assert got.dtype == expected.hashvalues.dtype
        np.testing.assert_array_equal(got, expected.hashvalues)


def test_signature_matches_pure_python_reference():
    rng = np.random.default_rng(3)
    shingles = rng.integers(0, 2**63, 50, dtype=np.uint64)
    for scheme, width in (("affine64", 64), ("affine32", 32)):
        config = MinHashConfig(num_perm=16, seed=9, scheme=scheme)
        a, b = permutations(config)
        expected = reference.minhash(shingles.tolist(), a.tolist(), b.tolist(), width)
        assert signature(shingles, config).tolist() == expected


def test_empty_signature_is_datasketch_empty():
    for scheme in ("affine64", "affine32"):
        got = signature(np.empty(0, np.uint64), MinHashConfig(scheme=scheme))
        np.testing.assert_array_equal(got, MinHash(scheme=scheme).hashvalues)


def test_to_datasketch_round_trip(stdlib_sample):
    a = sketch(stdlib_sample[0].text, "python")
    b = sketch(stdlib_sample[0].text[: len(stdlib_sample[0].text) // 2], "python")
    lean_a, lean_b = a.to_datasketch(), b.to_datasketch()
    assert lean_a.jaccard(lean_b) == estimated_jaccard(a.signature, b.signature)
    np.testing.assert_array_equal(lean_a.hashvalues, a.signature)


def test_batch_equals_single_and_independent_of_threads(stdlib_sample):
    shingle_sets = [shingle_hashes(normalize(d.text, "python")) for d in stdlib_sample]
    shingle_sets.append(np.empty(0, np.uint64))
    for scheme in ("affine64", "affine32"):
        config = MinHashConfig(scheme=scheme)
        single = np.stack([signature(s, config) for s in shingle_sets])
        before = numba.get_num_threads()
        try:
            numba.set_num_threads(1)
            one_thread = signatures(shingle_sets, config)
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
            all_threads = signatures(shingle_sets, config)
        finally:
            numba.set_num_threads(before)
        np.testing.assert_array_equal(one_thread, single)
        np.testing.assert_array_equal(all_threads, single)


def test_estimated_jaccard_within_minhash_error(stdlib_docs):
    """On real pairs (a module and an edited version of it), the estimate is within
    4 standard errors of the exact Jaccard: sqrt(J(1-J)/num_perm)."""
    config = MinHashConfig(num_perm=256)
    rng = np.random.default_rng(0)
    checked = 0
    for doc in stdlib_docs[::25][:12]:
        lines = doc.text.splitlines(keepends=True)
        keep = rng.random(len(lines)) > rng.uniform(0.05, 0.6)
        edited = "".join(line for line, k in zip(lines, keep) if k)
        a = shingle_hashes(normalize(doc.text, "python"))
        b = shingle_hashes(normalize(edited, "python"))
        exact = reference.jaccard(a.tolist(), b.tolist())
        est = estimated_jaccard(signature(a, config), signature(b, config))
        assert abs(est - exact) <= 4 * np.sqrt(max(exact * (1 - exact), 1e-3) / config.num_perm) + 1e-9
        checked += 1
    assert checked >= 10


def test_warm_up_compiles_every_kernel():
    import dedupfilter
    from dedupfilter._kernels import lookup, lsh, minhash, passages, shingle, tokenize, tokens, winnow

    dedupfilter.warm_up()
    for kernel in (tokenize.tokenize_prose, tokens.hash_ranges, tokens.backrefs_by_key,
                   shingle.shingle_hashes, winnow.winnow, minhash.minhash64,
                   minhash.minhash32, minhash.minhash64_batch, minhash.minhash32_batch, lsh.band_keys,
                   lsh.lsh_candidates, lsh.band_directory,
                   passages.passages_of_hits, lookup.sorted_ranges,
                   passages.candidate_passages, lookup.usable_hits, lookup.directory_ranges):
        assert kernel.signatures, kernel.__name__


# Small values repeat (groups); values past 32 bits take the lexsort path of distinct_pairs.
pair_values = st.one_of(st.integers(0, 5), st.integers(-2**40, 2**40))


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.int64, st.integers(0, 50), elements=pair_values),
       hnp.arrays(np.int64, st.integers(0, 50), elements=pair_values))
def test_sort_based_set_operations_match_numpy(a, b):
    from dedupfilter.arrays import distinct, distinct_counts, distinct_pairs

    n = min(a.size, b.size)
    a, b = a[:n], b[:n]
    np.testing.assert_array_equal(distinct(a), np.unique(a))
    values, counts = distinct_counts(a)
    expected_values, expected_counts = np.unique(a, return_counts=True)
    np.testing.assert_array_equal(values, expected_values)
    np.testing.assert_array_equal(counts, expected_counts)
    pairs = sorted(set(zip(a.tolist(), b.tolist())))
    got_a, got_b = distinct_pairs(a, b)
    assert list(zip(got_a.tolist(), got_b.tolist())) == pairs


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 3).flatmap(lambda n_keys: st.lists(
    hnp.arrays(np.int64, 30, elements=pair_values), min_size=n_keys, max_size=n_keys)), st.integers(1, 60))
def test_lex_order_is_lexsort(keys, repeat):
    from dedupfilter.arrays import lex_order

    keys = [np.tile(k, repeat) for k in keys]  # short arrays are lexsorted, long ones sorted by packed keys
    np.testing.assert_array_equal(lex_order(*keys), np.lexsort(keys[::-1]))
    unsigned = [np.abs(k).astype(np.uint64) for k in keys]
    np.testing.assert_array_equal(lex_order(*unsigned), np.lexsort(unsigned[::-1]))


# Uniform hashes (interpolation's case), clustered small values with long runs of one
# value, and values spread over a few orders of magnitude (interpolation's worst case).
table_values = st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 30),
                         st.integers(0, 62).map(lambda e: 2**e), st.sampled_from([0, 2**64 - 1]))


@settings(max_examples=300, deadline=None)
@given(hnp.arrays(np.uint64, st.integers(0, 3000), elements=table_values),
       hnp.arrays(np.uint64, st.integers(0, 40), elements=table_values), st.integers(1, 64))
def test_sorted_ranges_is_searchsorted(table, values, n_samples):
    from dedupfilter._kernels.lookup import sorted_ranges, table_sample

    table = np.sort(table)
    values = np.concatenate([values, table[::97]])
    lo, hi = sorted_ranges(table, values, *table_sample(table, n_samples))
    np.testing.assert_array_equal(lo, np.searchsorted(table, values, side="left"))
    np.testing.assert_array_equal(hi, np.searchsorted(table, values, side="right"))

@settings(deadline=None)
@given(docs=st.lists(st.one_of(st.integers(0, 40), st.integers(0, 2**40)), max_size=400),
       min_hits=st.integers(1, 5))
def test_doc_table_counts_and_numbers_the_candidates(docs, min_hits):
    from dedupfilter._kernels.passages import _candidates_in_table, _doc_table, _slot_of

    slot_doc, slot_value, bits = _doc_table(np.array(docs, np.int64))
    counts = collections.Counter(docs)
    assert slot_doc.size == 2**bits >= 2 * len(counts)
    assert {int(d): int(n) for d, n in zip(slot_doc, slot_value) if d >= 0} == dict(counts)
    candidates = _candidates_in_table(slot_doc, slot_value, bits, min_hits).tolist()
    assert candidates == sorted(d for d, n in counts.items() if n >= min_hits)
    for doc in set(docs) | {2**41, 7}:
        number = slot_value[_slot_of(slot_doc, bits, doc)]
        assert number == (candidates.index(doc) if doc in candidates else -1)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_candidate_passages_is_candidate_hits_then_passages_from_hits(data):
    """The one-call kernel against the reference's hits in candidate documents, grouped
    into passages by passages_from_hits (its own sort of the hits)."""
    from dedupfilter._kernels import passages as passages_kernels
    from dedupfilter.sketch import candidate_passages, passage_reach, passages_from_hits, usable_hits

    # A fingerprint table as the index keeps it: sorted by hash, then document (positions
    # in order, or not: the kernel does not rely on it). Shapes that reach every path: few
    # documents with long groups of hits each; many, for 16+ candidates (membership array);
    # long ranges of rows with few candidates (bisection).
    n_docs, n_rows, n_hashes, n_queries = data.draw(st.sampled_from(
        [(4, 150, 7, 24), (13, 150, 7, 24), (300, 3000, 12, 60), (40, 2000, 40, 30)]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    table_hash = rng.integers(0, n_hashes, n_rows).astype(np.uint64)
    table_doc = rng.integers(0, n_docs, n_rows).astype(np.uint32)
    table_pos = rng.integers(0, 60, n_rows).astype(np.uint32)
    table_hash[rng.random(n_rows) < 0.3] = 0  # one common hash: long ranges of rows
    _, distinct_rows = np.unique(np.stack([table_hash, table_doc, table_pos]), axis=1, return_index=True)
    distinct_rows = rng.permutation(distinct_rows)
    table_hash, table_doc, table_pos = table_hash[distinct_rows], table_doc[distinct_rows], table_pos[distinct_rows]
    order = np.lexsort((table_pos, table_doc, table_hash) if data.draw(st.booleans()) else (table_doc, table_hash))
    table_hash, table_doc, table_pos = table_hash[order], table_doc[order], table_pos[order]
    queries = rng.integers(0, n_hashes + 2, rng.integers(0, n_queries + 1)).astype(np.uint64)
    lo, hi = (np.searchsorted(table_hash, queries, side=side) for side in ("left", "right"))
    informative, ignored = rng.random(queries.size) < 0.8, rng.random(queries.size) < 0.2
    distinctive_max = data.draw(st.sampled_from((5, 50, 400)))
    max_hits, min_hits = data.draw(st.sampled_from((8, 40, 1024))), data.draw(st.integers(1, 4))
    k, gap, spacing = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 8)), data.draw(st.integers(1, 4))
    min_tokens, bridge = data.draw(st.integers(0, 12)), data.draw(st.booleans())
    min_far_hits = data.draw(st.sampled_from((0, min_hits + 1, min_hits + 3)))

    usable, *hits = usable_hits(lo, hi, informative, ignored, distinctive_max, max_hits, table_doc)
    args = (*hits, lo, hi, informative, usable, max_hits, table_doc, table_pos, min_hits, queries, k, gap,
            min_tokens, spacing, bridge, min_far_hits)
    rows, hit_rows = candidate_passages(*args)
    # The same code run by Python, where an index out of bounds raises (compiled, it reads or
    # writes memory it does not own).
    uncompiled = getattr(passages_kernels.candidate_passages, "py_func", passages_kernels.candidate_passages)
    with mock.patch.object(passages_kernels, "candidate_passages", uncompiled):
        checked_rows, checked_hit_rows = candidate_passages(*args)
    np.testing.assert_array_equal(checked_rows, rows)
    np.testing.assert_array_equal(checked_hit_rows, hit_rows)

    expected_hits, expected_usable = reference.candidate_hits(lo, hi, informative, ignored, distinctive_max,
                                                              max_hits, table_doc, min_hits,
                                                              passage_reach(k, gap, spacing), min_far_hits)
    assert usable.tolist() == expected_usable
    q = np.array([q for q, _ in expected_hits], np.int64)
    table_rows = np.array([row for _, row in expected_hits], np.int64)
    expected_rows, order = passages_from_hits(table_doc[table_rows].astype(np.int64), q,
                                              table_pos[table_rows].astype(np.int64), queries, k, gap, min_tokens,
                                              usable, spacing, bridge)
    np.testing.assert_array_equal(rows, expected_rows)
    np.testing.assert_array_equal(hit_rows[rows[:, 3:5]], table_rows[order][expected_rows[:, 3:5]])
    assert sorted(hit_rows.tolist()) == sorted(table_rows[order].tolist())


def _passages_against_fingerprints(doc_tokens, query_tokens, config: ShingleConfig, gap: int, bridge=False):
    """Passages of a query against one document's winnowed fingerprints, as the index finds them."""
    from dedupfilter.sketch import passages_from_hits

    doc, query = sketch_of(doc_tokens, config), sketch_of(query_tokens, config)
    pairs = [(q, int(d)) for q, h in enumerate(query.shingles.tolist())
             for d in doc.fp_positions[doc.fp_hashes == h]]
    hit_q = np.array([q for q, _ in pairs], np.int64)
    hit_d = np.array([d for _, d in pairs], np.int64)
    rows, _ = passages_from_hits(np.zeros(hit_q.size, np.int64), hit_q, hit_d, query.shingles, config.k, gap,
                                 spacing=config.window, bridge_substitutions=bridge)
    return rows


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_up_to_gap_changed_or_inserted_tokens_never_split_a_passage(data):
    """Under winnowing a hit comes only every w k-grams, so up to ``gap`` changed or
    inserted tokens between two copied runs may leave k + gap + 2(w - 1) query tokens
    between hits (sketch.passage_reach): the runs still make one passage."""
    k = data.draw(st.integers(2, 8))
    w = data.draw(st.integers(1, 8))
    gap = data.draw(st.integers(1, 10))
    side = 2 * w + k  # each run long enough for two hits on its diagonal
    tokens = data.draw(hnp.arrays(np.uint64, st.integers(2 * side + gap, 2 * side + gap + 30),
                                  elements=st.integers(1, 2**64 - 1), unique=True))
    n_changed = data.draw(st.integers(1, gap))
    at = data.draw(st.integers(side, tokens.size - side - n_changed))
    fresh = np.arange(n_changed, dtype=np.uint64) ^ np.uint64(0xABCDEF)  # distinct from every token above
    fresh = fresh[~np.isin(fresh, tokens)]
    config = ShingleConfig(k=k, window=w)
    if data.draw(st.booleans()):
        query = np.concatenate([tokens[:at], fresh, tokens[at:]])  # an insertion: the diagonal shifts
    else:
        query = np.concatenate([tokens[:at], fresh, tokens[at + fresh.size:]])  # a substitution
    rows = _passages_against_fingerprints(tokens, query, config, gap)
    assert rows.shape[0] == 1
    assert rows[0, 1] < at and rows[0, 2] > at + fresh.size


def test_a_query_repeating_one_line_does_not_join_copied_runs():
    """Run A, one line of it repeated four times, run B: the repetitions pair with one
    place in the document and do not carry A's passage over to B's diagonal."""
    k, w = 4, 1
    tokens = np.arange(1, 41, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    line = tokens[15:20]
    query = np.concatenate([tokens[:20], line, line, line, line, tokens[20:40]])
    rows = _passages_against_fingerprints(tokens, query, ShingleConfig(k=k, window=w), gap=8)
    assert not any(q_start < 20 and q_end > 40 for q_start, q_end in rows[:, 1:3].tolist())
    assert 0 in rows[:, 1]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_lsh_candidates_are_the_documents_sharing_a_band(data):
    from dedupfilter._kernels.lsh import band_directory, band_keys, lsh_candidates

    n_bands, rows = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 4))
    # Few distinct values: documents share bands with the query and with one another.
    signatures = data.draw(hnp.arrays(np.uint64, st.tuples(st.integers(0, 30), st.just(n_bands * rows)),
                                      elements=st.integers(0, 2)))
    query = data.draw(hnp.arrays(np.uint64, n_bands * rows, elements=st.integers(0, 2)))
    keys = band_keys(signatures, n_bands, rows).T  # as ProtectedIndex keeps them: sorted per band
    order = np.argsort(keys, axis=1, kind="stable")
    sorted_keys, docs = np.take_along_axis(keys, order, axis=1).copy(), order.astype(np.uint32)
    directory = band_directory(sorted_keys, data.draw(st.integers(1, 6)))
    query_keys = band_keys(query[None, :], n_bands, rows)[0]
    pairs = [(b, d) for d in range(signatures.shape[0]) for b in range(n_bands) if keys[b, d] == query_keys[b]]

    found = np.full(data.draw(st.integers(0, 8)), 99, np.uint32)  # maybe too small: counted, not written
    n = lsh_candidates(query, rows, sorted_keys, docs, directory, found)
    assert n == len(pairs)
    written = found[:min(n, found.size)].tolist()
    assert set(written) <= {d for _, d in pairs} and (found[len(written):] == 99).all()
    found = np.empty(n, np.uint32)
    assert lsh_candidates(query, rows, sorted_keys, docs, directory, found) == n
    assert sorted(found.tolist()) == sorted(d for _, d in pairs)


def test_band_directory_is_each_bands_table_directory():
    from dedupfilter._kernels.lookup import table_directory
    from dedupfilter._kernels.lsh import band_directory

    rng = np.random.default_rng(0)
    keys = np.sort(rng.integers(0, 2**64, (3, 500), dtype=np.uint64), axis=1)
    keys[1, 100:140] = keys[1, 100]  # a run of equal keys
    for bits in (1, 4, 7):
        directory = band_directory(keys, bits)
        assert directory.shape == (3, 2**bits + 1)
        for band in range(3):
            assert (directory[band] == table_directory(keys[band], bits)).all()
            top = (keys[band] >> np.uint64(64 - bits)).astype(np.int64)
            assert (directory[band] == np.searchsorted(top, np.arange(2**bits + 1))).all()


def _passages_step_by_step(hit_doc, hit_q, hit_d, q_shingles, k, reach, max_shift, min_tokens, evidence, bridge):
    """sketch.passages_from_hits step by step in numpy (as it was before one kernel did it all):
    order, diagonal weights, lone hits dropped, grouping, the two evidence caps."""
    from dedupfilter._kernels.passages import passages_by_doc

    n_q_tokens = q_shingles.size + k - 1 if q_shingles.size > 1 else q_shingles.size
    order = np.lexsort((hit_d, hit_q, hit_doc))
    hit_doc, hit_q, hit_d = hit_doc[order], hit_q[order], hit_d[order]
    diagonal = hit_d - hit_q
    weight = np.array([int(np.sum((hit_doc == a) & (diagonal == b))) for a, b in zip(hit_doc, diagonal)], np.int64)
    kept = weight >= 2
    order, hit_doc, hit_q, hit_d, weight = (a[kept] for a in (order, hit_doc, hit_q, hit_d, weight))
    rows = passages_by_doc(hit_doc, hit_q, hit_d, weight, evidence[hit_q], k, reach, max_shift, max(n_q_tokens, 1),
                           bridge)
    rows[:, 5] = np.minimum(rows[:, 5], hit_d[rows[:, 4]] - hit_d[rows[:, 3]] + k)
    for r in np.flatnonzero(rows[:, 5] >= min_tokens):
        window = slice(rows[r, 1], max(rows[r, 2] - k + 1, rows[r, 1] + 1))
        n_distinct = len(set(q_shingles[window][evidence[window]].tolist()))
        rows[r, 5] = min(rows[r, 5], n_distinct + k - 1 if n_distinct else 0)
    return rows, order


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_passages_of_hits_is_the_step_by_step_reference(data):
    from dedupfilter.sketch import passage_reach, passages_from_hits

    n_q = data.draw(st.integers(1, 60))
    k, gap, spacing = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 8)), data.draw(st.integers(1, 4))
    # Few documents and positions: shared diagonals, repeated k-grams and ties in every key.
    hits = data.draw(st.lists(st.tuples(st.integers(0, 3), st.integers(0, n_q - 1), st.integers(0, 2**35)
                                        if data.draw(st.booleans()) else st.integers(0, 80)), max_size=120))
    for doc, start, offset, length in data.draw(st.lists(st.tuples(  # copied runs: long passages
            st.integers(0, 3), st.integers(0, n_q - 1), st.integers(0, 40), st.integers(1, 40)), max_size=4)):
        hits += [(doc, q, q + offset) for q in range(start, min(start + length, n_q))]
    for doc, start, base, step in data.draw(st.lists(st.tuples(  # the query advancing faster than the document
            st.integers(0, 3), st.integers(0, n_q - 1), st.integers(0, 40), st.integers(2, 4)), max_size=2)):
        hits += [(doc, q, base + i) for i, q in enumerate(range(start, n_q, step))]
    hit_doc, hit_q, hit_d = (np.array([h[i] for h in hits], np.int64) for i in range(3))
    q_shingles = data.draw(hnp.arrays(np.uint64, n_q, elements=st.integers(0, 12)))
    evidence = data.draw(hnp.arrays(np.bool_, n_q))
    min_tokens = data.draw(st.integers(0, 20))
    bridge = data.draw(st.booleans())
    rows, order = passages_from_hits(hit_doc, hit_q, hit_d, q_shingles, k, gap, min_tokens, evidence, spacing, bridge)
    expected_rows, expected_order = _passages_step_by_step(
        hit_doc, hit_q, hit_d, q_shingles, k, passage_reach(k, gap, spacing), gap, min_tokens, evidence, bridge)
    np.testing.assert_array_equal(order, expected_order)
    np.testing.assert_array_equal(rows, expected_rows)


def test_prose_substitutions_count_as_evidence_insertions_do_not():
    """Words substituted one for one leave the runs around them on one diagonal: with
    bridge_substitutions (prose) the passage's evidence is all of its tokens; an
    insertion shifts the diagonal and its tokens never count."""
    config = ShingleConfig(k=4, window=4)
    tokens = np.arange(1, 81, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    substituted = tokens.copy()
    substituted[[25, 50]] = [np.uint64(7), np.uint64(11)]
    inserted = np.concatenate([tokens[:40], np.array([7, 11], np.uint64), tokens[40:]])
    plain = _passages_against_fingerprints(tokens, substituted, config, gap=8)
    bridged = _passages_against_fingerprints(tokens, substituted, config, gap=8, bridge=True)
    assert plain.shape[0] == bridged.shape[0] == 1
    assert bridged[0, 5] == bridged[0, 2] - bridged[0, 1] > plain[0, 5]
    rows = _passages_against_fingerprints(tokens, inserted, config, gap=8, bridge=True)
    assert rows.shape[0] == 1 and rows[0, 5] <= rows[0, 2] - rows[0, 1] - 2


@settings(max_examples=150, deadline=None)
@given(table=hnp.arrays(np.uint64, st.integers(0, 300), elements=st.sampled_from(
           [0, 1, 5, 2**40, 2**63 - 1, 2**63, 2**63 + 7, 2**64 - 2, 2**64 - 1]) | st.integers(0, 2**64 - 1)),
       queries=hnp.arrays(np.uint64, st.integers(0, 20), elements=st.integers(0, 2**64 - 1)),
       members=hnp.arrays(np.uint64, st.integers(0, 8), elements=st.integers(0, 2**64 - 1)),
       rows_per_bucket=st.integers(1, 64))
def test_directory_ranges_are_searchsorted(table, queries, members, rows_per_bucket):
    from dedupfilter.sketch import directory_ranges, table_directory

    table = np.sort(table)
    queries = np.concatenate([queries, table[::3]])
    members = np.sort(np.concatenate([members, table[:2]]))
    directory = table_directory(table, rows_per_bucket)
    lo, hi, is_member = directory_ranges(queries, table, directory, members)
    np.testing.assert_array_equal(lo, np.searchsorted(table, queries, side="left"))
    np.testing.assert_array_equal(hi, np.searchsorted(table, queries, side="right"))
    assert is_member.tolist() == [q in set(members.tolist()) for q in queries.tolist()]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_widened_matches_reference(data):
    """Two k-gram sequences over a small alphabet (long equal runs are common), some
    k-grams not informative, a passage [q0, q1) x [d0, d1) of at least k tokens somewhere
    in them, and limits on the widening."""
    from dedupfilter.sketch import widened

    k = data.draw(st.integers(1, 5))
    small = hnp.arrays(np.uint64, st.integers(1, 30), elements=st.integers(0, 2))
    q, d = data.draw(small), data.draw(small)
    q_ok = data.draw(hnp.arrays(np.bool_, q.size, elements=st.booleans()))
    d_ok = data.draw(hnp.arrays(np.bool_, d.size))
    q0 = data.draw(st.integers(0, q.size - 1))
    d0 = data.draw(st.integers(0, d.size - 1))
    q1 = data.draw(st.integers(q0 + k, q.size + k - 1))
    d1 = data.draw(st.integers(d0 + k, d.size + k - 1))
    max_left, max_right = data.draw(st.integers(0, 40)), data.draw(st.integers(0, 40))
    args = (q0, q1, d0, d1, k, max_left, max_right)
    assert widened(q, q_ok, d, d_ok, *args) == reference.widened(q, q_ok, d, d_ok, *args)
