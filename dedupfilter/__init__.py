"""dedupfilter: find copies of protected text and code, whole or in part."""

import importlib

from ._kernels.warmup import warm_up
from .dedup import dedup
from .normalize import TokenStream, decode, normalize

__version__ = "0.1.0"

# Imported on first use, so `import dedupfilter` stays light (no pyarrow until an index is needed).
_LAZY = {"FilterPolicy": ".config", "OutputFilter": ".filter", "ProtectedIndex": ".index", "build_index": ".index"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'dedupfilter' has no attribute {name!r}")


__all__ = ["FilterPolicy", "OutputFilter", "ProtectedIndex", "TokenStream", "build_index", "decode", "dedup",
           "normalize", "warm_up", "__version__"]
