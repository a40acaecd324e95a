"""Array folders: named ``.npy`` arrays plus a ``manifest.json``, written atomically, checked on read.

A cache entry is written into a temporary sibling folder and renamed into place only when
complete, so a crash never leaves a half-written entry under the final name. The manifest
records each file's size and SHA-1 digest; :func:`read_arrays` checks them and reports a
partial or corrupt entry (the caller rebuilds it). A digest is recomputed only when a file's
identity (inode, size, modification and change times) differs from the last successful check,
which is recorded in ``.verified.json`` beside the manifest: re-opening a notebook does not
re-hash a gigabyte of audio, and an edited or replaced file is still caught.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .fingerprint import fingerprint


class CacheMiss(Exception):
    """The entry is absent, partial or corrupt; the message says which."""


def file_digest(path: Path) -> str:
    """SHA-1 of a file's bytes: an integrity check, not security (it is the fastest here)."""
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def write_arrays(folder: Path, arrays: dict[str, np.ndarray], info: dict) -> dict:
    """Write ``arrays`` and a manifest atomically to ``folder``; return the manifest."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    try:
        files = {}
        for name, arr in arrays.items():
            if arr.dtype == object:
                raise TypeError(f"cache.write_arrays: array {name!r} has dtype object; use str or numbers")
            path = tmp / f"{name}.npy"
            np.save(path, arr, allow_pickle=False)
            files[name] = {"size": path.stat().st_size, "digest": file_digest(path),
                           "shape": list(arr.shape), "dtype": arr.dtype.str}
        manifest = dict(info, files=files, fingerprint=fingerprint({k: f["digest"] for k, f in files.items()}))
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str))
        # the digests were just computed from the written files: the first read need not re-hash them
        _write_verified(tmp, {k: _identity(tmp / f"{k}.npy") + [files[k]["digest"]] for k in files})
        if folder.exists():  # a stale or corrupt entry: replace it
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def read_or_build(folder: Path, build, info: dict) -> dict[str, np.ndarray]:
    """The arrays cached in ``folder``, memory-mapped copy-on-write; on a miss (absent, partial or
    corrupt entry) ``build()`` makes them, they are written there with ``info`` in the manifest,
    and the freshly built arrays are returned."""
    try:
        return read_arrays(folder, mmap=True)[0]
    except CacheMiss:
        arrays = build()
        write_arrays(folder, arrays, info)
        return arrays


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / "manifest.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CacheMiss(f"{folder}: no manifest (absent or partial entry)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CacheMiss(f"{path}: unreadable manifest ({exc})") from None


VERIFIED = ".verified.json"


def _identity(path: Path) -> list:
    st = path.stat()
    return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _read_verified(folder: Path) -> dict:
    try:
        return json.loads((folder / VERIFIED).read_text())
    except (OSError, ValueError):
        return {}


def _write_verified(folder: Path, stamps: dict) -> None:
    """Record checked file identities (atomically; a read-only cache simply stays unstamped)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".verified-", dir=folder)
        with os.fdopen(fd, "w") as f:
            json.dump(stamps, f)
        os.replace(tmp, folder / VERIFIED)
    except OSError:
        pass


def read_arrays(folder: Path, verify: bool = True, mmap: bool = False) -> tuple[dict, dict]:
    """Load every array listed in the manifest; raise :class:`CacheMiss` if anything is off.

    ``verify``: check each file's digest (skipped for a file unchanged since its last check).
    ``mmap``: map the files copy-on-write instead of reading them: nothing is read until used,
    concurrent processes share the pages, and writes stay private to the process.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    stamps = _read_verified(folder) if verify else {}
    checked = {}
    arrays = {}
    for name, meta in manifest.get("files", {}).items():
        path = folder / f"{name}.npy"
        if not path.is_file() or path.stat().st_size != meta["size"]:
            raise CacheMiss(f"{path}: missing or truncated")
        if verify:
            ident = _identity(path) + [meta["digest"]]
            if stamps.get(name) != ident:
                if file_digest(path) != meta["digest"]:
                    raise CacheMiss(f"{path}: content does not match its recorded digest")
                checked[name] = ident
        try:
            arrays[name] = np.load(path, mmap_mode="c" if mmap else None, allow_pickle=False)
        except Exception as exc:
            raise CacheMiss(f"{path}: unreadable ({exc})") from None
        if list(arrays[name].shape) != meta["shape"]:
            raise CacheMiss(f"{path}: shape {arrays[name].shape} differs from the manifest")
    if checked:
        _write_verified(folder, {**stamps, **checked})
    return arrays, manifest
