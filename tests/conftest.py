from __future__ import annotations

import functools

import pytest

import corpora


@functools.lru_cache(maxsize=1)
def _stdlib_docs():
    return tuple(corpora.stdlib_python(min_chars=2000))


@pytest.fixture(scope="session")
def stdlib_docs():
    """Real Python modules of this interpreter (a deterministic selection)."""
    docs = _stdlib_docs()
    assert len(docs) > 100
    return docs


@pytest.fixture(scope="session")
def stdlib_sample(stdlib_docs):
    return stdlib_docs[::40]


@pytest.fixture(scope="session")
def pydoc_docs():
    docs = tuple(corpora.pydoc_topics())
    assert len(docs) > 50
    return docs


def stdlib_doc(name: str):
    for doc in _stdlib_docs():
        if doc.doc_id == f"stdlib:{name}":
            return doc
    raise LookupError(name)
