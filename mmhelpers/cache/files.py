"""Atomic file writes: a reader never sees a half-written file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Callable

import torch


def dump_atomic(path: Path, dump: Callable[[BinaryIO], object]) -> None:
    """``dump(file)`` into a temporary sibling of ``path``, renamed into place: a reader never
    sees a half-written file, and a crash leaves the old one (or none). Writing straight to the
    file keeps no second copy of a large result in memory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            dump(f)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_torch(path: Path, obj) -> None:
    """``torch.save(obj)`` to ``path`` atomically."""
    dump_atomic(path, lambda f: torch.save(obj, f))
