"""Connected components of a pair graph: union-find over node indices."""

from __future__ import annotations

import numpy as np

from . import jit


@jit(inline="always")
def _find(parent, x):
    # Path halving: every other node on the way up points to its grandparent.
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@jit
def connected_components(n_nodes, left, right):
    """int64 label per node: the smallest node index in its component.

    Each union hangs the larger root under the smaller, so a component's root
    is always its smallest member and labels do not depend on edge order.
    """
    parent = np.arange(n_nodes, dtype=np.int64)
    for e in range(left.shape[0]):
        a = _find(parent, left[e])
        b = _find(parent, right[e])
        if a < b:
            parent[b] = a
        elif b < a:
            parent[a] = b
    for x in range(n_nodes):
        parent[x] = _find(parent, x)
    return parent
