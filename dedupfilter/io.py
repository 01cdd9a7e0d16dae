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


# --- Corpus sources -----------------------------------------------------------------------------

SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".pytest_cache", ".tox",
                       ".venv", ".idea"})


@dataclass(frozen=True)
class SourceDocument:
    """One document read from a corpus source."""

    doc_id: str
    source: str  # where it came from: a path, or path#row
    text: str
    lang: str | None  # None: decide from the path or the content


@dataclass
class ReadStats:
    """What was read and what was skipped, and why: nothing is skipped silently."""

    n_documents: int = 0
    n_bytes: int = 0
    skipped: dict[str, list[str]] = None  # reason -> names

    def __post_init__(self):
        if self.skipped is None:
            self.skipped = {}

    def skip(self, reason: str, name: str) -> None:
        self.skipped.setdefault(reason, []).append(name)

    @property
    def n_skipped(self) -> int:
        return sum(len(v) for v in self.skipped.values())

    def summary(self) -> str:
        parts = [f"{self.n_documents} documents ({self.n_bytes / 1e6:.1f} MB)"]
        for reason, names in sorted(self.skipped.items()):
            example = names[0] if len(names) == 1 else f"{names[0]}, ..."
            parts.append(f"{len(names)} skipped: {reason} ({example})")
        return "; ".join(parts)


@dataclass(frozen=True)
class TableColumns:
    text: str = "text"
    id: str | None = None
    lang: str | None = None


def _file_document(path: Path, doc_id: str, stats: ReadStats) -> SourceDocument | None:
    try:
        data = path.read_bytes()
    except OSError as err:
        stats.skip(f"unreadable ({err.strerror})", str(path))
        return None
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        stats.skip("binary", str(path))
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        stats.skip(f"not UTF-8 (first bad byte at {err.start})", str(path))
        return None
    stats.n_documents += 1
    stats.n_bytes += len(data)
    return SourceDocument(doc_id, str(path), text, None)


def _iter_directory(root: Path, stats: ReadStats):
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in SKIP_DIRS for part in rel.parts) or not path.is_file() or path.is_symlink():
            continue
        doc = _file_document(path, rel.as_posix(), stats)
        if doc:
            yield doc


def _row_documents(rows, name: str, columns: TableColumns, stats: ReadStats, start: int = 0):
    """Documents from an iterable of dict rows (JSONL lines, Arrow batches as pylist)."""
    for i, row in enumerate(rows, start):
        text = row.get(columns.text)
        if not isinstance(text, str):
            if columns.text not in row:
                raise InputError(f"{name}: row {i} has no column {columns.text!r} "
                                 f"(columns: {', '.join(map(str, row)) or 'none'}); use --text-column")
            stats.skip(f"{columns.text!r} is not a string", f"{name}#{i}")
            continue
        doc_id = str(row[columns.id]) if columns.id and row.get(columns.id) is not None else f"{name}#{i}"
        lang = row.get(columns.lang) if columns.lang else None
        stats.n_documents += 1
        stats.n_bytes += len(text)
        yield SourceDocument(doc_id, f"{name}#{i}", text, lang or None)


def parse_json_row(line: bytes, name: str, where: int | str) -> dict:
    """One JSONL line as a dict; ``where`` (a line number, a byte range) goes into the error."""
    import json

    try:
        row = json.loads(line)
    except ValueError as err:
        raise InputError(f"{name}:{where}: not valid JSON ({err})") from None
    if not isinstance(row, dict):
        raise InputError(f"{name}:{where}: expected a JSON object per line")
    return row


def _iter_jsonl(path: Path, columns: TableColumns, stats: ReadStats):
    def rows():
        with path.open("rb") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    yield parse_json_row(line, str(path), n)

    yield from _row_documents(rows(), str(path), columns, stats)


def _arrow_batches_documents(batches, name: str, columns: TableColumns, stats: ReadStats):
    wanted = [c for c in (columns.text, columns.id, columns.lang) if c]
    start = 0
    for batch in batches:
        missing = [c for c in wanted if c not in batch.schema.names]
        if missing:
            raise InputError(f"{name}: no column {missing[0]!r} (columns: {', '.join(batch.schema.names)})")
        rows = batch.select(wanted).to_pylist()
        yield from _row_documents(rows, name, columns, stats, start)
        start += len(rows)


def _iter_parquet(path: Path, columns: TableColumns, stats: ReadStats):
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(path)
    except Exception as err:
        raise InputError(f"{path}: not a readable Parquet file ({err})") from None
    yield from _arrow_batches_documents(reader.iter_batches(batch_size=4096), str(path), columns, stats)


def _iter_hf_saved(root: Path, columns: TableColumns, stats: ReadStats):
    """A Hugging Face dataset saved with ``save_to_disk`` (Arrow stream files; no `datasets` needed)."""
    import json

    import pyarrow as pa

    if (root / "dataset_dict.json").exists():
        splits = json.loads((root / "dataset_dict.json").read_text())["splits"]
        for split in splits:
            yield from _iter_hf_saved(root / split, columns, stats)
        return
    state = json.loads((root / "state.json").read_text())
    for entry in state["_data_files"]:
        path = root / entry["filename"]
        with pa.memory_map(str(path)) as source:
            try:
                reader = pa.ipc.open_stream(source)
            except pa.ArrowInvalid:
                reader = pa.ipc.open_file(source)
                batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
            else:
                batches = reader
            yield from _arrow_batches_documents(batches, str(path), columns, stats)


def is_hf_saved_dataset(path: Path) -> bool:
    return path.is_dir() and ((path / "state.json").exists() or (path / "dataset_dict.json").exists())


def iter_source(source: str, columns: TableColumns = TableColumns(), stats: ReadStats | None = None):
    """Documents from one source: a directory (recursive), a saved Hugging Face dataset,
    a .jsonl/.parquet file, or any other text file (one document)."""
    stats = stats if stats is not None else ReadStats()
    path = Path(source)
    if not path.exists():
        raise InputError(f"{source}: no such file or directory")
    if is_hf_saved_dataset(path):
        yield from _iter_hf_saved(path, columns, stats)
    elif path.is_dir():
        yield from _iter_directory(path, stats)
    elif path.suffix in (".jsonl", ".ndjson"):
        yield from _iter_jsonl(path, columns, stats)
    elif path.suffix == ".parquet":
        yield from _iter_parquet(path, columns, stats)
    else:
        doc = _file_document(path, path.name, stats)
        if doc:
            yield doc
