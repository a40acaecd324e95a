"""The one place that decides quick mode, seeds, device and paths.

Every other module asks here; no other module reads ``MM_*`` environment variables, seeds a
generator from nothing, picks a device or builds a path from the current directory.

Environment variables (all optional):

* ``MM_QUICK``      -- ``1``/``true``/``yes``: quick (smoke) mode, small data and few epochs.
* ``MM_DATA``       -- directory with the course's own files; unset means the embedded dataset.
* ``MM_CACHE_DIR``  -- where datasets and trained models are cached.
* ``MM_FIGURES_DIR``-- where figures are saved (default ``<project>/figures``).
* ``MM_DEVICE``     -- force a torch device (``cpu``, ``cuda``, ``cuda:1``).
* ``MM_RETRAIN``    -- ``1``: ignore cached models and stored results; train and evaluate again.
* ``MM_THREADS``    -- torch's intra-op threads (default: torch's own choice, one per core).
* ``MM_SEED_OFFSET``-- added to every training seed (default 0): the same series with other
  initial weights and batch orders, to see which claims hold on other seeds (``tools/claims.py``).
  The data, its split and its noise do not change.
* ``MM_FALSE_CLAIMS``-- for testing the runner: every checked claim whose text contains this
  string is reported as false.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np

PACKAGE_DIR = Path(__file__).resolve().parent
SEED = 0
_TRUE = {"1", "true", "yes", "on"}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def is_quick(quick: bool | None = None) -> bool:
    """Quick (smoke) mode: an explicit argument wins, otherwise ``MM_QUICK``."""
    return _flag("MM_QUICK") if quick is None else bool(quick)


def by_mode(full, quick_value, quick: bool | None = None):
    """``full`` in full mode, ``quick_value`` in quick mode: the one switch between the two."""
    return quick_value if is_quick(quick) else full


def force_retrain() -> bool:
    """``MM_RETRAIN=1`` makes train-or-load ignore cached weights, and memo ignore stored results."""
    return _flag("MM_RETRAIN")


def project_root() -> Path:
    """The checkout this package lives in (``pyproject.toml`` beside the package).

    For a non-editable install there is no checkout; then figures and caches go to
    per-user directories instead (see :func:`cache_dir`, :func:`figures_dir`).
    """
    root = PACKAGE_DIR.parent
    return root if (root / "pyproject.toml").is_file() else Path.home() / "mmhelpers"


def cache_dir() -> Path:
    """Cache root: ``MM_CACHE_DIR``, else ``<project>/.cache`` (never the current directory)."""
    env = os.environ.get("MM_CACHE_DIR")
    return Path(env).expanduser().resolve() if env else project_root() / ".cache"


def figures_dir(quick: bool | None = None) -> Path:
    """``MM_FIGURES_DIR``, else ``<project>/figures``; quick-mode figures go to ``quick/`` below it
    so that a smoke run never overwrites the full-mode figures the README shows."""
    env = os.environ.get("MM_FIGURES_DIR")
    base = Path(env).expanduser().resolve() if env else project_root() / "figures"
    return base / "quick" if is_quick(quick) else base


def data_dir() -> Path | None:
    """The course files' directory from ``MM_DATA``, or ``None`` for the embedded dataset."""
    env = os.environ.get("MM_DATA", "").strip()
    return Path(env).expanduser().resolve() if env else None


def device(name: str | None = None):
    """``MM_DEVICE`` if set, else CUDA when available, else the CPU."""
    import torch

    name = name or os.environ.get("MM_DEVICE")
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def threads() -> int | None:
    """``MM_THREADS`` as a positive int, or ``None`` (leave torch's default).

    Set it when two trainings share the cores (two notebooks at once, a notebook beside a test
    run): two 2-thread processes on 2 cores stall each other badly, one thread each does not.
    """
    env = os.environ.get("MM_THREADS", "").strip()
    if not env:
        return None
    if not env.isdigit() or int(env) < 1:
        raise ValueError(f"MM_THREADS must be a positive integer, got {env!r}")
    return int(env)


def seed_offset() -> int:
    """``MM_SEED_OFFSET`` as a non-negative int (default 0)."""
    env = os.environ.get("MM_SEED_OFFSET", "").strip()
    if not env:
        return 0
    if not env.isdigit():
        raise ValueError(f"MM_SEED_OFFSET must be a non-negative integer, got {env!r}")
    return int(env)


def training_seed(i: int = 0) -> int:
    """The seed of the ``i``-th training run of a comparison: :data:`SEED` + ``MM_SEED_OFFSET`` + ``i``.
    Models, batch orders and everything else drawn while training follow it; the data does not
    (the dataset, its split and its noise keep :data:`SEED`)."""
    return SEED + seed_offset() + i


def claims_forced_false() -> str:
    """``MM_FALSE_CLAIMS``: claims whose text contains it are reported as false ("" = none)."""
    return os.environ.get("MM_FALSE_CLAIMS", "")


def seed_everything(seed: int = SEED) -> int:
    """Seed Python, NumPy and torch (CPU and CUDA) and return the seed."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return seed
