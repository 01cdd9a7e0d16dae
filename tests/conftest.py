from __future__ import annotations

import functools

import pytest

import corpora
from dedupfilter.index import build_index

INDEXED = 40  # stdlib modules in the test index (every 8th module); the rest are "unrelated"


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


@pytest.fixture(scope="session")
def protected_docs(stdlib_docs, pydoc_docs):
    """The protected corpus of the index tests: 40 stdlib modules and 20 help topics."""
    code = [d for d in stdlib_docs[::8] if not d.doc_id.startswith("stdlib:encodings/")][:INDEXED]
    return code + list(pydoc_docs[:20])


@pytest.fixture(scope="session")
def built(tmp_path_factory, protected_docs):
    """(path, ProtectedIndex) of protected_docs, built once per session."""
    path = tmp_path_factory.mktemp("idx") / "protected"
    index, counts = build_index(path, protected_docs, n_workers=1)
    assert counts["added"] == len(protected_docs)
    return path, index


def functions_with_tokens(docs, min_tokens, per_doc=1):
    """(module, function) pairs: up to per_doc functions of at least min_tokens tokens per module."""
    from dedupfilter import normalize

    for doc in docs:
        found = 0
        for fn in corpora.python_functions(doc, min_lines=5):
            if found < per_doc and len(normalize(fn.text, "python")) >= min_tokens:
                found += 1
                yield doc, fn
