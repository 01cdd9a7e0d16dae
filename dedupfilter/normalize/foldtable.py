"""The per-code-point fold table behind prose normalization.

Built from ``unicodedata`` by ``python -m dedupfilter.normalize.foldtable``
and shipped as ``fold_table.npz``, so token hashes do not change with the
Unicode version of the interpreter (3.10 and 3.12 ship different tables).
``FOLD_TABLE_VERSION`` is part of every config fingerprint.

For each code point c:
- JOIN if c is a combining mark, a format character (zero-width space and
  joiners, word joiner, BOM, soft hyphen, bidi controls) or a variation
  selector: it vanishes without splitting the word around it;
- else fold(c) = NFKD(c) with combining marks dropped, Latin look-alikes
  from other scripts mapped to Latin, then casefolded, keeping letters and
  digits only. This covers NFKC's compatibility forms (full-width, ligatures,
  circled and styled letters), case, accents and common homoglyphs;
- WORD if fold(c) is non-empty, SINGLE for scripts written without spaces
  (CJK ideographs, kana, Hangul syllables, Thai), SEP otherwise.
"""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

import numpy as np

FOLD_TABLE_VERSION = 1
TABLE_PATH = Path(__file__).with_name("fold_table.npz")
N_CODEPOINTS = 0x110000

SEP, WORD, JOIN, SINGLE = 0, 1, 2, 3

# Cyrillic, Greek, Armenian and other letters drawn like Latin ones (after
# casefolding where both cases look alike). Mapped before casefolding so that
# capitals such as Greek Eta (looks like H) fold to "h", not to eta.
CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
    "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i",
    "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ɡ": "g", "ү": "y",
    "А": "a", "В": "b", "Е": "e", "К": "k", "М": "m", "Н": "h", "О": "o", "Р": "p",
    "С": "c", "Т": "t", "У": "y", "Х": "x", "Ѕ": "s", "І": "i", "Ј": "j", "Ԛ": "q",
    "Ԝ": "w", "Һ": "h", "Ӏ": "l", "Ү": "y", "Ь": "b",
    # Greek
    "α": "a", "ο": "o", "ρ": "p", "ι": "i", "κ": "k", "ν": "v", "τ": "t", "υ": "u",
    "χ": "x", "ε": "e", "ϲ": "c", "ϳ": "j", "γ": "y", "ω": "w",
    "Α": "a", "Β": "b", "Ε": "e", "Ζ": "z", "Η": "h", "Ι": "i", "Κ": "k", "Μ": "m",
    "Ν": "n", "Ο": "o", "Ρ": "p", "Τ": "t", "Υ": "y", "Χ": "x", "Ϲ": "c", "Ϳ": "j",
    # Armenian, Latin variants, Cherokee
    "օ": "o", "ս": "u", "ց": "g", "հ": "h", "ո": "n", "ı": "i", "ȷ": "j", "ſ": "s",
    "Ꭺ": "a", "Ᏼ": "b", "Ꮯ": "c", "Ꭼ": "e", "Ꮋ": "h", "Ꭻ": "j", "Ꮶ": "k", "Ꮇ": "m",
    "Ꮲ": "p", "Ꭲ": "t", "Ꮃ": "w", "Ꮓ": "z",
}

# Format characters that are not category Cf/Mn in every Unicode version,
# listed explicitly so they are always dropped.
ALWAYS_JOIN = {0x00AD, 0x034F, 0x180E, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF}


def _is_single_script(cp: int) -> bool:
    return (
        0x3040 <= cp <= 0x30FF          # hiragana, katakana
        or 0x3400 <= cp <= 0x4DBF       # CJK extension A
        or 0x4E00 <= cp <= 0x9FFF       # CJK unified ideographs
        or 0xAC00 <= cp <= 0xD7AF       # Hangul syllables
        or 0xF900 <= cp <= 0xFAFF       # CJK compatibility ideographs
        or 0x0E00 <= cp <= 0x0E7F       # Thai
        or 0x20000 <= cp <= 0x3FFFF     # CJK extensions B onwards
    )


def _fold(ch: str) -> str:
    out = []
    for c in unicodedata.normalize("NFKD", ch):
        if unicodedata.category(c) in ("Mn", "Me", "Cf"):
            continue
        c = CONFUSABLES.get(c, c)
        for f in unicodedata.normalize("NFKD", c.casefold()):
            if f.isalnum():
                out.append(CONFUSABLES.get(f, f))
    return "".join(out)


def build_fold_table():
    """Return (char_class uint8, fold_start int32, fold_len uint8, fold_data uint32)."""
    char_class = np.zeros(N_CODEPOINTS, np.uint8)
    fold_start = np.arange(N_CODEPOINTS, dtype=np.int32)
    fold_len = np.ones(N_CODEPOINTS, np.uint8)
    extra: list[int] = []
    for cp in range(N_CODEPOINTS):
        if 0xD800 <= cp <= 0xDFFF:
            continue  # lone surrogates (undecodable bytes): separators
        ch = chr(cp)
        category = unicodedata.category(ch)
        if category == "Cn":
            continue
        if cp in ALWAYS_JOIN or category in ("Mn", "Me", "Cf") or 0xFE00 <= cp <= 0xFE0F:
            char_class[cp] = JOIN
            continue
        folded = _fold(ch)
        if not folded:
            continue
        char_class[cp] = SINGLE if _is_single_script(cp) else WORD
        if folded != ch:
            fold_start[cp] = N_CODEPOINTS + len(extra)
            fold_len[cp] = len(folded)
            extra.extend(ord(f) for f in folded)
    fold_data = np.concatenate(
        [np.arange(N_CODEPOINTS, dtype=np.uint32), np.array(extra, dtype=np.uint32)]
    )
    return char_class, fold_start, fold_len, fold_data


def save_fold_table(path: Path = TABLE_PATH) -> None:
    char_class, fold_start, fold_len, fold_data = build_fold_table()
    changed = np.flatnonzero(fold_start != np.arange(N_CODEPOINTS))
    np.savez_compressed(
        path,
        version=np.array([FOLD_TABLE_VERSION]),
        unidata_version=np.array([unicodedata.unidata_version]),
        char_class=char_class,
        changed=changed.astype(np.int32),
        changed_len=fold_len[changed],
        extra=fold_data[N_CODEPOINTS:],
    )


def load_fold_table(path: Path = TABLE_PATH):
    """Load the shipped table into dense arrays (about 11 MB)."""
    with np.load(path) as z:
        if int(z["version"][0]) != FOLD_TABLE_VERSION:
            raise RuntimeError(f"{path}: fold table version {int(z['version'][0])}, "
                               f"expected {FOLD_TABLE_VERSION}; rebuild it")
        char_class = z["char_class"]
        changed = z["changed"]
        changed_len = z["changed_len"]
        extra = z["extra"]
    fold_start = np.arange(N_CODEPOINTS, dtype=np.int32)
    fold_len = np.ones(N_CODEPOINTS, np.uint8)
    fold_len[changed] = changed_len
    starts_in_extra = np.concatenate([[0], np.cumsum(changed_len[:-1], dtype=np.int64)])
    fold_start[changed] = (N_CODEPOINTS + starts_in_extra).astype(np.int32)
    fold_data = np.concatenate([np.arange(N_CODEPOINTS, dtype=np.uint32), extra])
    return char_class, fold_start, fold_len, fold_data


if __name__ == "__main__":
    save_fold_table(Path(sys.argv[1]) if len(sys.argv) > 1 else TABLE_PATH)
    print(f"wrote fold table (Unicode {unicodedata.unidata_version})")
