"""On-disk layout of a protected index, written atomically.

INDEX/                    the directory the user names
  CURRENT                 the name of the live version, e.g. "v000003" (replaced atomically)
  v000003/
    manifest.json         format version, config and its fingerprint, counts, file checksums
    docs.arrow            doc_id, source, lang, n_tokens, n_chars
    signatures.arrow      MinHash signature per document (fixed-size list)
    bands.arrow           LSH band keys: key, doc (band-major, each band sorted by key)
    fingerprints.arrow    hash (sorted), doc, pos, char_start, char_end, line_start, line_end
    ignored.arrow         hashes never counted: boilerplate (document-frequency cut) and templates
    templates.arrow       hashes registered with --ignore (kept so the cut can be recomputed)
    text.arrow            the documents' text, only with --store-text

A new version is written under a temporary name, fsynced, renamed into
place, and only then is CURRENT switched (os.replace is atomic), so a killed
process leaves the previous version intact. Files are Arrow IPC without
compression and are opened memory-mapped (zero copy).
"""

from __future__ import annotations

import json
import mmap
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import xxhash

FORMAT_VERSION = 1
CURRENT = "CURRENT"
MANIFEST = "manifest.json"


class IndexError_(Exception):
    """A missing, corrupt or incompatible index; the message says which and what to do."""


def checksum(path: Path) -> str:
    """xxh3-128 of the file, read through a memory map (no copies: about twice as fast)."""
    h = xxhash.xxh3_128()
    with path.open("rb") as f:
        if os.fstat(f.fileno()).st_size:
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                h.update(data)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_table(path: Path, table: pa.Table) -> None:
    with pa.OSFile(str(path), "wb") as sink:
        with pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    with path.open("rb+") as f:
        os.fsync(f.fileno())


def current_version_dir(root: Path) -> Path:
    if not root.exists():
        raise IndexError_(f"{root}: no such index (build one with `dedupfilter index build {root} SOURCE...`)")
    pointer = root / CURRENT
    if not pointer.is_file():
        raise IndexError_(f"{root}: not a dedupfilter index (no {CURRENT} file)")
    name = pointer.read_text().strip()
    version = root / name
    if not name.startswith("v") or not version.is_dir():
        raise IndexError_(f"{root}: {CURRENT} names {name!r}, which is missing; the index is corrupt")
    return version


def commit_version(root: Path, tables: dict[str, pa.Table], manifest: dict) -> Path:
    """Write a new version of the index and make it current."""
    root.mkdir(parents=True, exist_ok=True)
    existing = [int(p.name[1:]) for p in root.iterdir() if p.is_dir() and re.fullmatch(r"v\d+", p.name)]
    number = max(existing, default=0) + 1
    name = f"v{number:06d}"
    tmp = root / f"{name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    files = {}
    for stem, table in tables.items():
        path = tmp / f"{stem}.arrow"
        write_table(path, table)
        files[path.name] = {"bytes": path.stat().st_size, "xxh3_128": checksum(path)}
    manifest = {**manifest, "format_version": FORMAT_VERSION, "files": files}
    manifest_path = tmp / MANIFEST
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    with manifest_path.open("rb+") as f:
        os.fsync(f.fileno())
    _fsync_dir(tmp)
    final = root / name
    os.replace(tmp, final)
    pointer_tmp = root / f"{CURRENT}.tmp-{os.getpid()}"
    pointer_tmp.write_text(name + "\n")
    with pointer_tmp.open("rb+") as f:
        os.fsync(f.fileno())
    os.replace(pointer_tmp, root / CURRENT)
    _fsync_dir(root)
    for old in root.iterdir():  # earlier versions and leftovers of killed writers
        if old.name not in (name, CURRENT) and (old.name.startswith("v") or old.name.startswith(CURRENT)):
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    return final


def read_manifest(version: Path) -> dict:
    path = version / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise IndexError_(f"{version}: no {MANIFEST}; the index is corrupt (rebuild it)") from None
    except ValueError as err:
        raise IndexError_(f"{path}: unreadable manifest ({err}); the index is corrupt (rebuild it)") from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexError_(f"{version.parent}: index format {manifest.get('format_version')}, this "
                          f"dedupfilter reads format {FORMAT_VERSION}; rebuild the index")
    return manifest


def open_tables(version: Path, manifest: dict, verify: bool = True) -> dict[str, pa.Table]:
    """Memory-map every table, checking sizes (and checksums when ``verify``)."""
    files = {version / filename: meta for filename, meta in manifest["files"].items()}
    for path, meta in files.items():
        if not path.is_file():
            raise IndexError_(f"{path}: missing; the index is corrupt (rebuild it)")
        size = path.stat().st_size
        if size != meta["bytes"]:
            raise IndexError_(f"{path}: {size} bytes, the manifest says {meta['bytes']}; "
                              "the file is truncated or corrupt (rebuild the index)")
    if verify:  # xxhash releases the GIL: files are hashed in parallel
        with ThreadPoolExecutor(min(4, os.cpu_count() or 1)) as pool:
            for path, digest in zip(files, pool.map(checksum, files)):
                if digest != files[path]["xxh3_128"]:
                    raise IndexError_(f"{path}: checksum mismatch; the file is corrupt (rebuild the index)")
    tables = {}
    for path in files:
        try:
            with pa.memory_map(str(path)) as source:
                tables[path.stem] = pa.ipc.open_file(source).read_all()
        except (pa.ArrowInvalid, OSError) as err:
            raise IndexError_(f"{path}: not a readable Arrow file ({err}); the index is corrupt") from None
    return tables


def column(table: pa.Table, name: str) -> np.ndarray:
    """A primitive column as a numpy array (zero copy for a single chunk)."""
    col = table.column(name)
    if col.num_chunks == 1:
        return col.chunk(0).to_numpy(zero_copy_only=False)
    return col.to_numpy()
