"""Run the notebook series in order, each in a fresh kernel, and time it.

``python -m mmhelpers.series --out reports/executed`` executes every ``notebooks/*.ipynb`` (sorted
by name: 00, 1a..1f, 2a..2d, 3a, 3b) into ``--out``, leaving the source notebooks untouched, and
prints a table of seconds per notebook. ``--quick`` sets ``MM_QUICK=1`` for the kernels.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from . import config


def notebook_paths(folder: Path | None = None) -> list[Path]:
    folder = Path(folder) if folder else config.project_root() / "notebooks"
    paths = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    if not paths:
        raise FileNotFoundError(f"no notebooks (*.ipynb) in {folder}")
    return paths


def execute(path: Path, out_dir: Path, quick: bool | None = None, timeout: int = 7200) -> float:
    """Execute one notebook in a fresh kernel into ``out_dir``; return the wall seconds."""
    import nbformat
    from nbclient import NotebookClient

    out_dir = Path(out_dir)
    if out_dir.resolve() == path.parent.resolve():
        raise ValueError(f"execute: --out {out_dir} is the notebooks' own folder; refusing to overwrite sources")
    nb = nbformat.read(path, as_version=4)
    env_quick = os.environ.get("MM_QUICK")
    if quick is not None:
        os.environ["MM_QUICK"] = "1" if quick else "0"
    t0 = time.perf_counter()
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        if quick is not None:
            os.environ.pop("MM_QUICK") if env_quick is None else os.environ.__setitem__("MM_QUICK", env_quick)
    seconds = time.perf_counter() - t0
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / path.name)
    return seconds


def run(out_dir: Path, quick: bool | None = None, only: list[str] | None = None, verbose: bool = True) -> dict:
    """Execute the series in order; return ``{notebook name: seconds}`` plus ``"total"``."""
    times = {}
    for path in notebook_paths():
        if only and not any(path.name.startswith(o) for o in only):
            continue
        if verbose:
            print(f"running {path.name} ...", end=" ", flush=True)
        times[path.name] = execute(path, out_dir, quick)
        if verbose:
            print(f"{times[path.name]:.1f} s", flush=True)
    times["total"] = sum(times.values())
    return times


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(config.project_root() / "reports" / "executed"),
                    help="folder for the executed copies (default: reports/executed)")
    ap.add_argument("--quick", action="store_true", help="quick (smoke) mode: MM_QUICK=1")
    ap.add_argument("--only", nargs="*", help="run only notebooks whose names start with these prefixes")
    args = ap.parse_args(argv)
    times = run(Path(args.out), quick=True if args.quick else None, only=args.only)
    print(json.dumps({k: round(v, 1) for k, v in times.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
