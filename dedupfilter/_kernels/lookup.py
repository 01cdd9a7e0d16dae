"""Fingerprint-table hits restricted to a set of documents."""

from __future__ import annotations

import numpy as np

from . import jit


@jit
def hits_in_docs(lo, hi, max_hits, table_doc, docs):
    """(query index, table row) of the rows [lo[i], min(hi[i], lo[i] + max_hits))
    whose document is in ``docs`` (sorted, distinct).

    Within each range the table's documents must be non-decreasing (the index
    keeps its rows sorted by hash, then document), so each range is merged with
    ``docs``: a binary search per document when there are few, else one pass.
    """
    total = 0
    for i in range(lo.size):
        total += min(hi[i] - lo[i], max_hits)
    q_index = np.empty(total, np.int64)
    rows = np.empty(total, np.int64)
    n = 0
    for i in range(lo.size):
        start = lo[i]
        end = start + min(hi[i] - start, max_hits)
        if end <= start:
            continue
        if docs.size * 8 < end - start:  # few documents: find each one's rows
            for doc in docs:
                row = start + np.searchsorted(table_doc[start:end], doc)
                while row < end and table_doc[row] == doc:
                    q_index[n] = i
                    rows[n] = row
                    n += 1
                    row += 1
        else:  # walk the range and the documents together
            j = 0
            for row in range(start, end):
                doc = table_doc[row]
                while j < docs.size and docs[j] < doc:
                    j += 1
                if j == docs.size:
                    break
                if docs[j] == doc:
                    q_index[n] = i
                    rows[n] = row
                    n += 1
    return q_index[:n], rows[:n]
