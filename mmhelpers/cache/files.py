"""Atomic file writes: a reader never sees a half-written file."""

from __future__ import annotations

import io
import os
from pathlib import Path

import torch


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary sibling renamed into place: a reader never
    sees a half-written file, and a crash leaves the old one (or none)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def save_torch(path: Path, obj) -> None:
    """``torch.save(obj)`` to ``path`` atomically."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    write_atomic(path, buf.getvalue())
