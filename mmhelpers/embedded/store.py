"""The embedded dataset's cache: each split built once (:mod:`.build`) into ``<cache>/datasets``,
then memory-mapped from there, its digests checked (:mod:`mmhelpers.cache.arrays`)."""

from __future__ import annotations

import time
from pathlib import Path

from .. import config
from ..cache.arrays import CacheMiss, read_arrays, write_arrays
from ..cache.fingerprint import fingerprint
from .build import build
from .plan import QUICK_SIZES, SIZES, settings


def cache_folder(split: str, n: int, seed: int = config.SEED) -> Path:
    return config.cache_dir() / "datasets" / f"embedded-{split}-{n}-{fingerprint(settings(split, n, seed))[:16]}"


def load_arrays(split: str, quick: bool | None = None, seed: int = config.SEED,
                verbose: bool = True) -> tuple[dict, dict]:
    """Arrays and manifest of one split, from the cache or freshly built (then cached)."""
    if split not in SIZES:
        raise ValueError(f"embedded: split must be 'train' or 'test', got {split!r}")
    n = config.by_mode(SIZES, QUICK_SIZES, quick)[split]
    folder = cache_folder(split, n, seed)
    try:
        return read_arrays(folder, mmap=True)
    except CacheMiss as miss:
        if folder.exists() and verbose:
            print(f"rebuilding the embedded dataset: {miss}")
    if verbose:
        print(f"building the embedded {split} set ({n} pairs, once; cached in {folder.parent}) ...", flush=True)
    t0 = time.perf_counter()
    arrays = build(split, n, seed)
    manifest = write_arrays(folder, arrays, {"settings": settings(split, n, seed),
                                             "build_seconds": time.perf_counter() - t0})
    return arrays, manifest


def main(argv=None) -> int:
    """``python -m mmhelpers.embedded [--quick]``: build (or verify) the cached dataset and summarise it."""
    import argparse

    ap = argparse.ArgumentParser(description="Build or verify the embedded offline dataset cache.")
    ap.add_argument("--quick", action="store_true", help="the quick-mode subset only")
    args = ap.parse_args(argv)
    for split in ("train", "test"):
        t0 = time.perf_counter()
        arrays, manifest = load_arrays(split, quick=True if args.quick else None)
        print(f"{split}: {len(arrays['labels'])} pairs ready in {time.perf_counter() - t0:.1f} s, "
              f"fingerprint {manifest['fingerprint']}")
    return 0
