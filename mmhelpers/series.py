"""Run the notebook series in order, each in a fresh kernel, and time it.

``python -m mmhelpers.series --out reports/executed`` executes every ``notebooks/*.ipynb`` (sorted
by name: 00, 1a..1f, 2a..2d, 3a, 3b) into ``--out``, leaving the source notebooks untouched, and
prints the seconds per notebook. ``--quick`` sets ``MM_QUICK=1`` for the kernels. One notebook
runs at a time, and the next one's kernel starts (and imports its libraries) while it runs
(:class:`Kernel`): on two cores that beat running two notebooks at once (quick series 104 s
against 119 s with ``--jobs 2``, 23:16, same cache state). ``--jobs 2`` is still there (see
:data:`NEEDS` and :func:`mmhelpers.config.threads`). The embedded dataset is built first, once.
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


#: notebooks that reuse models another notebook trains (by name prefix); with ``--jobs`` > 1 a
#: notebook starts only after these finished, so that it loads their models instead of training
#: them a second time
NEEDS = {"1c": ("1a", "1b"), "1e": ("1a", "1b"), "1f": ("1e",), "3a": ("1f",)}


def _needs(path: Path, selected: list[Path]) -> set[str]:
    prefix = path.name.split("_")[0]
    wanted = NEEDS.get(prefix, ())
    return {p.name for p in selected if p.name.split("_")[0] in wanted}


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


def run(out_dir: Path, quick: bool | None = None, only: list[str] | None = None, verbose: bool = True,
        jobs: int = 1) -> dict:
    """Execute the series; return ``{notebook name: seconds}`` plus ``"dataset"`` and ``"total"``
    (wall clock). ``jobs`` > 1 runs that many notebooks at once, each kernel with one torch
    thread (``MM_THREADS=1``), respecting :data:`NEEDS`."""
    selected = [p for p in notebook_paths() if not only or any(p.name.startswith(o) for o in only)]
    t0 = time.perf_counter()
    times = {"dataset": prepare_data(quick, verbose)}
    if jobs <= 1:
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
    else:
        times.update(_run_parallel(selected, Path(out_dir), quick, jobs, verbose))
    times["total"] = time.perf_counter() - t0
    return times


def _run_parallel(selected: list[Path], out_dir: Path, quick: bool | None, jobs: int, verbose: bool) -> dict:
    """Up to ``jobs`` notebooks at once, each in its own ``python -m mmhelpers.series --_one`` process.

    A child's output goes to an unnamed temporary file, not a pipe: nobody reads the pipes while a
    notebook runs, and a child that filled one (64 KiB of warnings) would block forever."""
    import subprocess
    import tempfile

    env = dict(os.environ, MM_THREADS="1")
    if quick is not None:
        env["MM_QUICK"] = "1" if quick else "0"
    pending, running, done, times = list(selected), {}, set(), {}
    while pending or running:
        for path in list(pending):
            if len(running) >= jobs:
                break
            if _needs(path, selected) <= done:
                pending.remove(path)
                cmd = [sys.executable, "-m", "mmhelpers.series", "--_one", str(path), "--out", str(out_dir)]
                log = tempfile.TemporaryFile(mode="w+")
                running[path] = (subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), log,
                                 time.perf_counter())
                if verbose:
                    print(f"started {path.name}", flush=True)
        time.sleep(0.2)
        for path, (proc, log, start) in list(running.items()):
            if proc.poll() is None:
                continue
            del running[path]
            log.seek(0)
            output = log.read()
            log.close()
            if proc.returncode != 0:
                for other, other_log, _ in running.values():
                    other.kill()
                    other_log.close()
                raise RuntimeError(f"{path.name} failed:\n{output[-6000:]}")
            done.add(path.name)
            times[path.name] = time.perf_counter() - start
            if verbose:
                print(f"finished {path.name} in {times[path.name]:.1f} s", flush=True)
        if pending and not running and not any(_needs(p, selected) <= done for p in pending):
            raise RuntimeError(f"series: unmet prerequisites for {[p.name for p in pending]}")
    return times


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(config.project_root() / "reports" / "executed"),
                    help="folder for the executed copies (default: reports/executed)")
    ap.add_argument("--quick", action="store_true", help="quick (smoke) mode: MM_QUICK=1")
    ap.add_argument("--only", nargs="*", help="run only notebooks whose names start with these prefixes")
    ap.add_argument("--jobs", type=int, default=1,
                    help="notebooks run at once (each with one torch thread); default 1")
    ap.add_argument("--_one", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._one:  # one notebook, for --jobs > 1 (quick mode and threads come from the environment)
        execute(Path(args._one), Path(args.out))
        return 0
    if args.jobs < 1:
        ap.error(f"--jobs must be >= 1, got {args.jobs}")
    times = run(Path(args.out), quick=True if args.quick else None, only=args.only, jobs=args.jobs)
    print(json.dumps({k: round(v, 1) for k, v in times.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
