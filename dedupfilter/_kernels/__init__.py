"""Numba kernels: the only package that imports numba.

Every kernel is a free function over contiguous numpy arrays: no I/O, no
classes, no configuration objects. Public, validated wrappers live in
``dedupfilter.sketch`` and ``dedupfilter.normalize``; call those instead.

Numba policy is set once here (``jit`` / ``pjit``): on-disk caching so a
process pays compilation once per machine, ``nogil`` so threads can overlap.
"""

from __future__ import annotations

import functools

import numba

jit = functools.partial(numba.njit, cache=True, nogil=True)
# Parallel kernels: prange over documents. Results never depend on the
# number of threads (each document is computed independently).
pjit = functools.partial(numba.njit, cache=True, nogil=True, parallel=True)
