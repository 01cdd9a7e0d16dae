"""dedupfilter: find copies of protected text and code, whole or in part."""

from ._kernels.warmup import warm_up
from .dedup import dedup
from .normalize import TokenStream, decode, normalize

__version__ = "0.1.0"

__all__ = ["TokenStream", "decode", "dedup", "normalize", "warm_up", "__version__"]
