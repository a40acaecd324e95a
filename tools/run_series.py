"""Run the notebook series in order, each in a fresh kernel, and time it.

``python -m tools.run_series --out reports/executed`` executes every ``notebooks/*.ipynb`` (sorted
by name: 00, 1a..1f, 2a..2d, 3a, 3b) into ``--out`` with nbclient, leaving the source notebooks
untouched, and prints the seconds per notebook. ``--quick`` sets ``MM_QUICK=1`` for the kernels.
The embedded dataset is built first, once.

Why not nbmake, which ``make test`` uses: nbmake checks that notebooks run, but writes no executed
copies (only over the sources), and the exported reports are made from those copies. The one piece
of custom code is :class:`Kernel`: the next notebook's kernel starts (and imports its libraries)
while the current one runs, measured to save ~8 s per notebook on two cores. Running two
notebooks at once was measured slower (quick series 119 s against 104 s) and is not offered.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from mmhelpers import config


def notebook_paths(folder: Path | None = None) -> list[Path]:
    folder = Path(folder) if folder else config.project_root() / "notebooks"
    paths = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    if not paths:
        raise FileNotFoundError(f"no notebooks (*.ipynb) in {folder}")
    return paths


#: imported by a kernel started ahead of its notebook (:class:`Kernel`): the libraries every
#: notebook's opening cell imports anyway, so importing them early changes nothing but the waiting
PRELOAD = "import numpy, pandas, torch, matplotlib.pyplot, seaborn, sklearn.metrics, IPython.display"


class Kernel:
    """A fresh kernel for one notebook, started now (by the series: while the previous notebook runs).

    Starting a kernel and importing torch, pandas and seaborn into it takes ~8 s, mostly on one
    core. The series starts the next notebook's kernel while the current notebook runs, so that
    time overlaps with work instead of adding to it. The kernel holds no notebook state: nothing
    but :data:`PRELOAD` has run in it, silently (no output, no execution count).
    """

    def __init__(self, cwd: Path, quick: bool | None = None):
        from jupyter_client.manager import KernelManager

        env = dict(os.environ)
        if quick is not None:
            env["MM_QUICK"] = "1" if quick else "0"
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=str(cwd), env=env)
        self._kc = self.km.blocking_client()
        self._kc.start_channels()
        self._kc.execute(PRELOAD, silent=True, store_history=False)   # queued; runs as soon as it is up

    def shutdown(self) -> None:
        self._kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def execute(path: Path, out_dir: Path, quick: bool | None = None, timeout: int = 7200,
            kernel: Kernel | None = None) -> float:
    """Execute one notebook in a fresh kernel into ``out_dir``; return the wall seconds.
    ``kernel``: one started ahead for it (:class:`Kernel`, which already carries ``quick``), else
    one is started here. Either way it is shut down here."""
    import nbformat
    from nbclient import NotebookClient

    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    try:
        if out_dir.resolve() == path.parent.resolve():
            raise ValueError(f"execute: --out {out_dir} is the notebooks' own folder; refusing to overwrite sources")
        nb = nbformat.read(path, as_version=4)
        kernel = kernel or Kernel(path.parent, quick)
        NotebookClient(nb, timeout=timeout, kernel_name="python3", km=kernel.km,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        if kernel is not None:
            kernel.shutdown()
    seconds = time.perf_counter() - t0
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / path.name)
    return seconds


def prepare_data(quick: bool | None = None, verbose: bool = True) -> float:
    """Build (or verify) the embedded dataset once, before any notebook runs; seconds taken.
    Nothing to do with the course's files (``MM_DATA``)."""
    if config.data_dir() is not None:
        return 0.0
    import subprocess

    t0 = time.perf_counter()
    # in a child process: building holds ~2 GB, which this process (alive for the whole series, with
    # an allocator told to keep freed memory) would otherwise keep beside every notebook's kernel
    subprocess.run([sys.executable, "-m", "mmhelpers.embedded"], check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, MM_QUICK="1" if config.is_quick(quick) else "0"))
    if verbose:
        print(f"dataset ready in {time.perf_counter() - t0:.1f} s", flush=True)
    return time.perf_counter() - t0


def run(out_dir: Path, quick: bool | None = None, only: list[str] | None = None, verbose: bool = True) -> dict:
    """Execute the series; return ``{notebook name: seconds}`` plus ``"dataset"`` and ``"total"``
    (wall clock)."""
    selected = [p for p in notebook_paths() if not only or any(p.name.startswith(o) for o in only)]
    t0 = time.perf_counter()
    times = {"dataset": prepare_data(quick, verbose)}
    kernel = Kernel(selected[0].parent, quick) if selected else None
    for i, path in enumerate(selected):
        if verbose:
            print(f"running {path.name} ...", end=" ", flush=True)
        this, kernel = kernel, None
        try:   # the next notebook's kernel starts while this one runs
            kernel = Kernel(selected[i + 1].parent, quick) if i + 1 < len(selected) else None
        except BaseException:
            this.shutdown()
            raise
        try:
            times[path.name] = execute(path, out_dir, quick, kernel=this)
        except BaseException:
            if kernel is not None:
                kernel.shutdown()
            raise
        if verbose:
            print(f"{times[path.name]:.1f} s", flush=True)
    times["total"] = time.perf_counter() - t0
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
