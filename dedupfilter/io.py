"""Reading inputs for the CLI and the library, with clear errors.

Policy: a file with a NUL byte in its first 8 KiB is binary and refused;
invalid UTF-8 is decoded losslessly (see ``dedupfilter.normalize.decode``)
and reported as a warning with the offset of the first bad byte.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from .normalize import decode, first_invalid_utf8

BINARY_SNIFF_BYTES = 8192


class InputError(Exception):
    """An input that cannot be used; the message names it and says what is wrong."""


@dataclass(frozen=True)
class TextInput:
    name: str  # the path as given, or "<stdin>"
    text: str
    invalid_utf8_at: int | None  # byte offset of the first invalid sequence, if any


def decode_input(data: bytes, name: str) -> TextInput:
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        raise InputError(f"{name}: looks like a binary file (NUL byte in the first "
                         f"{BINARY_SNIFF_BYTES} bytes); give a text or source file")
    return TextInput(name, decode(data), first_invalid_utf8(data))


def read_text(path: str) -> TextInput:
    """Read a file (or "-" for standard input) as text."""
    if path == "-":
        return decode_input(sys.stdin.buffer.read(), "<stdin>")
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory; give a file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror or err})") from None
    return decode_input(data, path)
