"""The protected index: build, persist, add/remove, query."""

from .protected import IndexSettings, ProtectedIndex, build_index
from .storage import IndexError_ as IndexError

__all__ = ["IndexError", "IndexSettings", "ProtectedIndex", "build_index"]
