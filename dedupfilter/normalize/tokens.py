"""TokenStream: the normalized form every later stage consumes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Seed of every token hash (xxh64). Changing it changes every hash: it is
# part of the config fingerprint through FORMAT_VERSION in config.py.
TOKEN_SEED = 0x6465647570  # "dedup"


@dataclass(frozen=True, eq=False)
class TokenStream:
    """Normalized tokens of one text.

    hashes    uint64 xxh64 of each normalized token (identifiers in code are
              abstracted to one token; see ``backrefs``)
    starts    int64 character offset of each token in the ORIGINAL text
    ends      int64 exclusive end offset
    backrefs  int32: for identifiers in code, how many tokens back the same
              name last occurred (0: none or not an identifier)
    lang      "text" for prose, else the code language used
    """

    hashes: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    backrefs: np.ndarray
    lang: str

    def __post_init__(self):
        n = self.hashes.shape[0]
        for name, dtype in (("hashes", np.uint64), ("starts", np.int64),
                            ("ends", np.int64), ("backrefs", np.int32)):
            arr = getattr(self, name)
            if arr.dtype != dtype or arr.ndim != 1 or arr.shape[0] != n:
                raise ValueError(f"TokenStream.{name}: expected 1-D {np.dtype(dtype)} of length {n}, "
                                 f"got {arr.dtype} {arr.shape}")

    def __len__(self) -> int:
        return int(self.hashes.shape[0])

    @classmethod
    def empty(cls, lang: str) -> "TokenStream":
        return cls(np.empty(0, np.uint64), np.empty(0, np.int64), np.empty(0, np.int64),
                   np.empty(0, np.int32), lang)

    @classmethod
    def concat(cls, parts: list["TokenStream"], lang: str) -> "TokenStream":
        """Join streams whose offsets already point into one text (backrefs stay local)."""
        if not parts:
            return cls.empty(lang)
        return cls(np.concatenate([p.hashes for p in parts]),
                   np.concatenate([p.starts for p in parts]),
                   np.concatenate([p.ends for p in parts]),
                   np.concatenate([p.backrefs for p in parts]), lang)
