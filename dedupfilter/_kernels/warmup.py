"""Compile (or load from numba's on-disk cache) every kernel before the first request.

A service calls ``warm_up()`` at start so that no request pays JIT
compilation; the types used here are the ones the wrappers pass.
"""

from __future__ import annotations

import numpy as np

from . import hashing, lex, lookup, lsh, minhash, passages, sets, shingle, tokenize, tokens, unionfind, verify, winnow


def warm_up() -> None:
    u8 = np.frombuffer(b"warm up", np.uint8)
    u64 = np.arange(1, 9, dtype=np.uint64)
    i64 = np.arange(8, dtype=np.int64)
    seed = np.uint64(1)
    hashing.xxh64(u8, 0, u8.size, seed)
    cps = np.frombuffer("warm up".encode("utf-32-le"), np.uint32)
    table_size = int(cps.max()) + 1
    tokenize.tokenize_prose(cps, np.ones(table_size, np.uint8), np.arange(table_size, dtype=np.int32),
                            np.ones(table_size, np.uint8), np.arange(table_size, dtype=np.uint32),
                            np.full(128, tokenize.ASCII_GENERAL, np.uint8), seed)
    tokens.hash_ranges(u8, i64[:2], i64[:2] + 1, seed)
    tokens.backrefs_by_key(u64, np.ones(8, np.bool_))
    backrefs = np.zeros(8, np.int32)
    shingles = shingle.shingle_hashes(u64, backrefs, 3, seed)
    shingle.informative(u64, 3)
    winnow.winnow(shingles, 2)
    offsets = np.array([0, shingles.size], np.int64)
    for single, batch in ((minhash.minhash64, minhash.minhash64_batch),
                          (minhash.minhash32, minhash.minhash32_batch)):
        single(shingles, u64, u64)
        signatures = batch(shingles, offsets, u64, u64)
    lsh.band_keys(signatures, 2, 4)
    lsh.band_keys(signatures.astype(np.uint32), 2, 4)
    for signature in (signatures[0], signatures[0].astype(np.uint32)):
        for keys, docs in ((np.zeros((2, 3), np.uint64), np.zeros((2, 3), np.uint32)),
                           (_read_only(np.zeros((2, 3), np.uint64)), _read_only(np.zeros((2, 3), np.uint32)))):
            lsh.lsh_candidates(signature, 4, keys, docs, lsh.band_directory(keys, 2), np.empty(4, docs.dtype))
    passages.passages_of_hits(np.zeros(8, np.int64), i64, i64, i64, u64, np.ones(8, np.bool_), 3, 4, 4, 10, 5, True)
    table_doc = np.arange(8, dtype=np.uint32)
    for table in (u64, _read_only(u64)):  # an opened index's columns are read-only memory maps
        lookup.sorted_ranges(table, u64, *lookup.table_sample(table, 4))
        directory = lookup.table_directory(table, 2)
        for members in (u64[:2], _read_only(u64[:2])):
            for d in (directory, _read_only(directory)):
                lookup.directory_ranges(table, u64, d, 2, members)
    for table in (table_doc, _read_only(table_doc)):
        usable, hit_q, hit_row, hit_doc = lookup.usable_hits(i64[:4], i64[:4] + 2, np.ones(4, np.bool_),
                                                             np.zeros(4, np.bool_), 64, 1024, table)
        for flags in (usable, _read_only(usable)):  # a stream's tape hands over read-only views
            passages.candidate_passages(hit_q, hit_row, hit_doc, i64[:4], i64[:4] + 2, np.ones(4, np.bool_), flags,
                                        1024, table, table, 2, u64[:4], 3, 4, 4, 6, 5, True, 3)
    ops, op_offsets = lex.operator_table()
    for hash_comments in (True, False):
        lex.lexemes(u8, hash_comments, ops, op_offsets)
        for joined in (True, False):
            lex.code_tokens(u8, hash_comments, ops, op_offsets, u64, seed, seed, seed, seed, joined, joined)
    unionfind.connected_components(8, i64[:4], i64[4:])
    verify.pair_jaccard(u64, np.array([0, 4, 8], np.int64), i64[:1], i64[1:2])
    verify.signature_agreement(signatures, i64[:1], i64[:1])
    sets.distinct_segments(u64, np.array([0, 4, 8], np.int64))


def _read_only(array: np.ndarray) -> np.ndarray:
    array = array.copy()
    array.flags.writeable = False
    return array
