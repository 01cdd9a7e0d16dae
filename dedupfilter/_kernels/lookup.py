"""Fingerprint-table hits restricted to a set of documents."""

from __future__ import annotations

import numpy as np

from . import jit


@jit
def hits_in_docs(lo, hi, max_hits, table_doc, docs):
    """(query index, table row) of the rows [lo[i], min(hi[i], lo[i] + max_hits))
    whose document is in ``docs`` (sorted, distinct)."""
    total = 0
    for i in range(lo.size):
        total += min(hi[i] - lo[i], max_hits)
    q_index = np.empty(total, np.int64)
    rows = np.empty(total, np.int64)
    n = 0
    for i in range(lo.size):
        for row in range(lo[i], lo[i] + min(hi[i] - lo[i], max_hits)):
            doc = table_doc[row]
            at = np.searchsorted(docs, doc)
            if at < docs.size and docs[at] == doc:
                q_index[n] = i
                rows[n] = row
                n += 1
    return q_index[:n], rows[:n]
