"""Corpora read and written in shards, every row with all its columns.

Training-data dedup reads a corpus in pieces (so memory does not grow with
the corpus and a killed run can resume shard by shard) and writes back the
kept rows in the form it came in:

- Parquet: a file, or a directory of ``.parquet`` shards; a shard is a run
  of row groups; output keeps the schema (and its metadata);
- JSONL: a file, or a directory of ``.jsonl`` files; a shard is a byte range
  ending at a line end; output lines are the input lines, byte for byte;
- a Hugging Face dataset saved with ``save_to_disk`` (Arrow stream files);
  a shard is one Arrow file; output loads with ``datasets.load_from_disk``;
- a directory of text or code files; a shard is a run of files; output
  holds copies of the kept files at the same relative paths.

Rows whose text is missing or not a string (and binary or non-UTF-8 files)
cannot be compared; they are passed through untouched and counted.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .io import BINARY_SNIFF_BYTES, SKIP_DIRS, InputError, TableColumns, is_hf_saved_dataset, parse_json_row

PARQUET, JSONL, ARROW, FILES = "parquet", "jsonl", "arrow", "files"
JSONL_SUFFIXES = (".jsonl", ".ndjson")
HF_METADATA = ("state.json", "dataset_info.json", "dataset_dict.json")


@dataclass(frozen=True)
class Shard:
    """A slice of one input file (or of a directory's file list), read and written as a unit.

    start/stop: row groups (Parquet), bytes (JSONL), file indices (FILES); unused for ARROW.
    """

    kind: str
    path: str  # the input file; the input root for FILES
    rel: str  # where its rows go, relative to the output root ("" for a single-file input)
    start: int = 0
    stop: int = 0
    files: tuple[str, ...] = ()  # FILES: relative paths of the shard's files


@dataclass
class Layout:
    """What the input is and how it is cut into shards."""

    kind: str
    root: Path
    single_file: bool
    shards: list[Shard]
    metadata: list[str] = field(default_factory=list)  # files copied as they are (saved datasets)
    input_files: list[Path] = field(default_factory=list)  # what a resumed run must find unchanged


@dataclass
class ShardRows:
    """The comparable content of a shard's rows, in order (all rows, with or without text)."""

    texts: list[str | None]
    langs: list[str | None]
    paths: list[str | None]  # for language by file extension
    ids: list[str | None]  # the --id-column's values (FILES: relative paths)
    ranks: np.ndarray  # float64 per row: the --keep column's value (NaN where missing)


def _visible_files(root: Path) -> list[Path]:
    files = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in SKIP_DIRS or part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and not path.is_symlink():
            files.append(path)
    return files


def _parquet_file(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except Exception as err:
        raise InputError(f"{path}: not a readable Parquet file ({err})") from None


def _require_columns(names: list[str], wanted: list[str], where: str) -> None:
    for name in wanted:
        if name not in names:
            raise InputError(f"{where}: no column {name!r} (columns: {', '.join(names) or 'none'}); "
                             f"use --text-column / --id-column / --keep column:NAME")


def _parquet_shards(path: Path, rel: str, shard_rows: int, wanted: list[str]) -> list[Shard]:
    meta = _parquet_file(path).metadata
    _require_columns(_parquet_file(path).schema_arrow.names, wanted, str(path))
    shards, start, rows = [], 0, 0
    for g in range(meta.num_row_groups):
        rows += meta.row_group(g).num_rows
        if rows >= shard_rows:
            shards.append(Shard(PARQUET, str(path), rel, start, g + 1))
            start, rows = g + 1, 0
    if start < meta.num_row_groups or not shards:
        shards.append(Shard(PARQUET, str(path), rel, start, meta.num_row_groups))
    return shards


def _first_json_row(path: Path) -> dict | None:
    with path.open("rb") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                return parse_json_row(line, str(path), n)
    return None


def _jsonl_shards(path: Path, rel: str, shard_rows: int, wanted: list[str]) -> list[Shard]:
    first = _first_json_row(path)
    if first is not None:
        _require_columns(list(first), wanted, f"{path} (first row)")
    size = path.stat().st_size
    with path.open("rb") as f:
        sample = f.read(1 << 20)
        n_lines = max(sample.count(b"\n"), 1)
        step = max(len(sample) // n_lines * shard_rows, 1)
        offsets = [0]
        while offsets[-1] + step < size:
            f.seek(offsets[-1] + step)
            f.readline()
            if f.tell() >= size:
                break
            offsets.append(f.tell())
    offsets.append(size)
    return [Shard(JSONL, str(path), rel, a, b) for a, b in zip(offsets, offsets[1:])]


def _hf_arrow_files(root: Path) -> tuple[list[Path], list[str]]:
    """The Arrow files of a saved dataset (all splits, in order) and its metadata files."""
    metadata = [str(p.relative_to(root)) for p in sorted(root.rglob("*.json")) if p.name in HF_METADATA]
    if (root / "dataset_dict.json").exists():
        splits = json.loads((root / "dataset_dict.json").read_text())["splits"]
        dirs = [root / s for s in splits]
    else:
        dirs = [root]
    files = []
    for d in dirs:
        state = json.loads((d / "state.json").read_text())
        files += [d / entry["filename"] for entry in state["_data_files"]]
    return files, metadata


def _open_arrow(path: str) -> tuple[pa.Schema, object]:
    """(schema, record batches) of an Arrow stream or file (saved datasets use streams)."""
    source = pa.memory_map(path)
    try:
        reader = pa.ipc.open_stream(source)
        return reader.schema, reader
    except pa.ArrowInvalid:
        reader = pa.ipc.open_file(source)
        return reader.schema, (reader.get_batch(i) for i in range(reader.num_record_batches))


def plan_shards(source: str, columns: TableColumns, shard_rows: int, rank_column: str | None = None) -> Layout:
    """Find what ``source`` is and cut it into shards of about ``shard_rows`` rows.

    Checks up front that the columns exist, so a wrong ``--text-column`` fails
    before any work is done.
    """
    path = Path(source)
    if not path.exists():
        raise InputError(f"{source}: no such file or directory")
    wanted = [c for c in (columns.text, columns.id, columns.lang, rank_column) if c]
    if path.is_file():
        if path.suffix == ".parquet":
            return Layout(PARQUET, path, True, _parquet_shards(path, "", shard_rows, wanted), input_files=[path])
        if path.suffix in JSONL_SUFFIXES:
            return Layout(JSONL, path, True, _jsonl_shards(path, "", shard_rows, wanted), input_files=[path])
        raise InputError(f"{source}: give a .parquet or .jsonl file, a directory of them, a directory of "
                         "text or code files, or a Hugging Face dataset saved with save_to_disk")
    if is_hf_saved_dataset(path):
        files, metadata = _hf_arrow_files(path)
        for f in files:
            _require_columns(_open_arrow(str(f))[0].names, wanted, str(f))
        shards = [Shard(ARROW, str(f), str(f.relative_to(path))) for f in files]
        return Layout(ARROW, path, False, shards, metadata, files)
    files = _visible_files(path)
    if not files:
        raise InputError(f"{source}: no files in this directory")
    rels = [str(f.relative_to(path)) for f in files]
    if all(f.suffix == ".parquet" for f in files):
        shards = [s for f, r in zip(files, rels) for s in _parquet_shards(f, r, shard_rows, wanted)]
        return Layout(PARQUET, path, False, shards, input_files=files)
    if all(f.suffix in JSONL_SUFFIXES for f in files):
        shards = [s for f, r in zip(files, rels) for s in _jsonl_shards(f, r, shard_rows, wanted)]
        return Layout(JSONL, path, False, shards, input_files=files)
    shards = [Shard(FILES, str(path), "", i, min(i + shard_rows, len(rels)), tuple(rels[i:i + shard_rows]))
              for i in range(0, len(rels), shard_rows)]
    return Layout(FILES, path, False, shards, input_files=files)


# --- Reading ----------------------------------------------------------------------------------------


def _shard_batches(shard: Shard):
    """The shard's rows as Arrow record batches (Parquet and saved datasets)."""
    if shard.kind == PARQUET:
        if shard.stop > shard.start:
            yield from _parquet_file(Path(shard.path)).iter_batches(
                batch_size=4096, row_groups=list(range(shard.start, shard.stop)))
    else:
        yield from _open_arrow(shard.path)[1]


def _jsonl_lines(shard: Shard) -> list[bytes]:
    """The shard's non-blank lines (blank lines are no rows, and are not written back)."""
    with open(shard.path, "rb") as f:
        f.seek(shard.start)
        data = f.read(shard.stop - shard.start)
    return [line for line in data.splitlines(keepends=True) if line.strip()]


def _ranks(values: list) -> np.ndarray:
    def number(v):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return np.nan
        return float(v)

    return np.array([number(v) for v in values], np.float64)


def _table_rows(records, columns: TableColumns, rank_column: str | None) -> ShardRows:
    """``records``: a getter (column name -> value) per row."""
    texts, langs, ids, rank_values = [], [], [], []
    for get in records:
        text = get(columns.text)
        texts.append(text if isinstance(text, str) else None)
        lang = get(columns.lang) if columns.lang else None
        langs.append(lang if isinstance(lang, str) and lang else None)
        doc_id = get(columns.id) if columns.id else None
        ids.append(str(doc_id) if doc_id is not None else None)
        rank_values.append(get(rank_column) if rank_column else None)
    return ShardRows(texts, langs, [None] * len(texts), ids, _ranks(rank_values))


def _arrow_json_records(lines: list[bytes], wanted: list[str]) -> list[dict] | None:
    """The ``wanted`` columns of JSONL lines parsed by Arrow (several times faster than json.loads),
    or None where Arrow cannot (a column whose type changes between rows, nested oddities): the
    caller then parses line by line, with errors that name the line."""
    import io

    import pyarrow.json as pajson

    try:
        table = pajson.read_json(io.BytesIO(b"".join(lines)),
                                 read_options=pajson.ReadOptions(block_size=64 << 20))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != len(lines):
        return None
    present = [c for c in wanted if c in table.column_names]
    return table.select(present).to_pylist()


def read_shard(shard: Shard, columns: TableColumns, rank_column: str | None = None) -> ShardRows:
    name = shard.path
    if shard.kind == FILES:
        texts = []
        for rel in shard.files:
            data = (Path(shard.path) / rel).read_bytes()
            try:
                texts.append(None if b"\x00" in data[:BINARY_SNIFF_BYTES] else data.decode("utf-8"))
            except UnicodeDecodeError:
                texts.append(None)
        n = len(texts)
        return ShardRows(texts, [None] * n, list(shard.files), list(shard.files), np.full(n, np.nan))
    wanted = [c for c in (columns.text, columns.id, columns.lang, rank_column) if c]
    if shard.kind == JSONL:
        where = f"bytes {shard.start}-{shard.stop}"
        lines = _jsonl_lines(shard)
        records = _arrow_json_records(lines, wanted)
        if records is None:
            records = [parse_json_row(line, name, where) for line in lines]
        if records and all(r.get(columns.text) is None for r in records):
            parsed = [parse_json_row(line, name, where) for line in lines]
            if all(columns.text not in row for row in parsed):
                _require_columns(list(parsed[0]), [columns.text], f"{name} ({where})")
        return _table_rows((r.get for r in records), columns, rank_column)
    records = []
    for batch in _shard_batches(shard):
        _require_columns(batch.schema.names, wanted, name)
        records += batch.select(wanted).to_pylist()
    return _table_rows((r.get for r in records), columns, rank_column)


# --- Writing ----------------------------------------------------------------------------------------


class ShardWriter:
    """Writes kept rows shard by shard under ``root`` (a temporary name the caller renames).

    Shards of one input file must come in order; each output file is closed
    when the next file's first shard arrives, or by ``close()``.
    """

    def __init__(self, layout: Layout, root: Path):
        self.layout, self.root = layout, root
        self._rel: str | None = None
        self._sink = None

    def _target(self, rel: str) -> Path:
        target = self.root if self.layout.single_file else self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def _open(self, shard: Shard, schema: pa.Schema | None):
        if self._rel == shard.rel and self._sink is not None:
            return self._sink
        self._close_sink()
        target = self._target(shard.rel)
        if shard.kind == PARQUET:
            self._sink = pq.ParquetWriter(target, schema)
        elif shard.kind == ARROW:
            self._sink = pa.ipc.new_stream(str(target), schema)
        else:
            self._sink = target.open("wb")
        self._rel = shard.rel
        return self._sink

    def _close_sink(self) -> None:
        if self._sink is not None:
            self._sink.close()
        self._sink, self._rel = None, None

    def write(self, shard: Shard, kept: np.ndarray, flags: dict[str, np.ndarray] | None = None) -> None:
        """Write the rows of ``shard`` where ``kept``; ``flags``: extra bool columns (tables only)."""
        flags = flags or {}
        if shard.kind == FILES:
            for rel, keep in zip(shard.files, kept):
                if keep:
                    shutil.copy2(Path(shard.path) / rel, self._target(rel))
            return
        if shard.kind == JSONL:
            sink = self._open(shard, None)
            for i, line in enumerate(_jsonl_lines(shard)):
                if not kept[i]:
                    continue
                if flags:
                    row = json.loads(line)
                    row.update({name: bool(values[i]) for name, values in flags.items()})
                    line = (json.dumps(row, ensure_ascii=False) + "\n").encode()
                sink.write(line if line.endswith(b"\n") else line + b"\n")
            return
        schema = _parquet_file(Path(shard.path)).schema_arrow if shard.kind == PARQUET else \
            _open_arrow(shard.path)[0]
        for name in flags:
            schema = schema.append(pa.field(name, pa.bool_()))
        sink = self._open(shard, schema)
        row = 0
        for batch in _shard_batches(shard):
            n = batch.num_rows
            mask = pa.array(kept[row:row + n])
            for name, values in flags.items():
                batch = batch.append_column(name, pa.array(values[row:row + n]))
            sink.write_batch(batch.filter(mask))
            row += n

    def close(self) -> None:
        self._close_sink()

    def finish(self) -> None:
        """Close the last file and copy the input's metadata files (saved datasets)."""
        self._close_sink()
        for rel in self.layout.metadata:
            self._target(rel).write_bytes((self.layout.root / rel).read_bytes())


def replace_path(tmp: Path, final: Path) -> None:
    """Move a finished output into place; an existing one at ``final`` is removed only after."""
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
        os.replace(tmp, final)
        if old.is_dir():
            shutil.rmtree(old)
        else:
            old.unlink()
    else:
        os.replace(tmp, final)
