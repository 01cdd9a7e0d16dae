"""dedupfilter: find copies of protected text and code, whole or in part."""

from .normalize import TokenStream, decode, normalize

__version__ = "0.1.0"

__all__ = ["TokenStream", "decode", "normalize", "__version__"]
