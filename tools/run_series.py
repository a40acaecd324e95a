"""Run the notebook series in order, each in a fresh kernel; export it; say what did not hold.

``python -m tools.run_series --out reports/executed --export reports`` executes every
``notebooks/*.ipynb`` (sorted by name: 00, 1a..1f, 2a..2d, 3a..) into ``--out`` with nbclient,
leaving the source notebooks untouched, then exports every executed copy to PDF and HTML
(:mod:`tools.export`). ``--quick`` sets ``MM_QUICK=1`` for the kernels. The embedded dataset is
built first, once.

Nothing that ran is lost: a notebook whose cell raises is kept (and exported) up to that cell with
the error visible, and the series goes on with the next notebook. A claim that does not hold
(a ``✗`` line of :func:`mmhelpers.lesson.check`) does not stop its notebook. At the end the runner
prints every ``✗`` and every error, by notebook, writes them to ``<out>/summary.json``, and exits
non-zero if there was any (or an export failed).

Why not nbmake: nbmake checks that notebooks run, but writes no executed copies, and the exported
reports are made from those copies. The one piece of custom code is :class:`Kernel`: the next
notebook's kernel starts (and imports its libraries) while the current one runs, measured to save
~8 s per notebook on two cores. Running two notebooks at once was measured slower (quick series
119 s against 104 s) and is not offered. Kernels talk over IPC sockets (local files), not TCP.
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
    It listens on IPC sockets (files of this user), so nothing goes over the network and ipykernel
    has no reason to warn about unencrypted TCP.
    """

    def __init__(self, cwd: Path, quick: bool | None = None):
        from jupyter_client.manager import KernelManager

        env = dict(os.environ)
        if quick is not None:
            env["MM_QUICK"] = "1" if quick else "0"
        self.km = KernelManager(kernel_name="python3")
        if os.name != "nt":   # IPC sockets named after an absolute connection file (a relative
            import uuid       # default would be resolved from the kernel's own working folder)
            from jupyter_core.paths import jupyter_runtime_dir

            Path(jupyter_runtime_dir()).mkdir(parents=True, exist_ok=True)
            self.km.transport = "ipc"
            self.km.connection_file = str(Path(jupyter_runtime_dir()) / f"kernel-mm-{uuid.uuid4().hex[:12]}.json")
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
    one is started here. Either way it is shut down here. A cell that raises stops the notebook
    there; the executed copy is written all the same, with the error in that cell's outputs."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    out_dir = Path(out_dir)
    if out_dir.resolve() == path.parent.resolve():
        if kernel is not None:
            kernel.shutdown()
        raise ValueError(f"execute: --out {out_dir} is the notebooks' own folder; refusing to overwrite sources")
    t0 = time.perf_counter()
    nb = nbformat.read(path, as_version=4)
    try:
        kernel = kernel or Kernel(path.parent, quick)
        NotebookClient(nb, timeout=timeout, kernel_name="python3", km=kernel.km,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    except CellExecutionError:
        pass   # the error is in the cell's outputs, which are written below
    finally:
        if kernel is not None:
            kernel.shutdown()
        out_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out_dir / path.name)
    return time.perf_counter() - t0


def code_outputs(path: Path):
    """``(code cell number, output)`` for every output of an executed notebook, in order (cells
    numbered from 1)."""
    import nbformat

    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    for n, cell in enumerate(code, start=1):
        for out in cell.get("outputs", []):
            yield n, out


def findings(path: Path) -> dict:
    """What an executed notebook says went wrong: ``{"false claims": [...], "errors": [...]}``,
    the claims printed as not holding (:func:`mmhelpers.lesson.false_claims`) and every error
    output (``"code cell N: Name: message"``), in order."""
    from mmhelpers.lesson import false_claims

    claims, errors = [], []
    for n, out in code_outputs(path):
        if out.output_type == "stream" and out.name == "stdout":
            claims += false_claims(out.text)
        elif out.output_type == "error":
            errors.append(f"code cell {n}: {out.ename}: {out.evalue}".strip())
    return {"false claims": claims, "errors": errors}


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
        folder: Path | None = None) -> dict:
    """Execute the series (every notebook, whatever the others did); return
    ``{notebook name: seconds}`` plus ``"dataset"`` and ``"total"`` (wall clock).
    :func:`findings` reads what each executed copy says went wrong."""
    selected = [p for p in notebook_paths(folder) if not only or any(p.name.startswith(o) for o in only)]
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
            found = findings(Path(out_dir) / path.name)
            notes = [f"{len(v)} {k}" for k, v in found.items() if v]
            print(f"{times[path.name]:.1f} s" + (f"  ({', '.join(notes)})" if notes else ""), flush=True)
    times["total"] = time.perf_counter() - t0
    return times


def summary(out_dir: Path, names: list[str], export_failures: list[str] = ()) -> tuple[str, dict]:
    """The closing report of a run: ``(text, record)``; ``record`` maps each notebook to its
    :func:`findings` (plus ``"export failures"``), and is empty of problems when all went well."""
    record = {name: findings(Path(out_dir) / name) for name in names}
    record = {k: v for k, v in record.items() if v["false claims"] or v["errors"]}
    lines = []
    for name, found in record.items():
        lines += [f"  ✗ {Path(name).stem}: {c}" for c in found["false claims"]]
        lines += [f"  error in {Path(name).stem}, {e}" for e in found["errors"]]
    lines += [f"  export failed: {f}" for f in export_failures]
    n_claims = sum(len(v["false claims"]) for v in record.values())
    n_errors = sum(len(v["errors"]) for v in record.values())
    head = (f"series: {len(names)} notebooks ran; {n_claims} claim(s) do not hold, {n_errors} error(s), "
            f"{len(export_failures)} failed export(s)")
    return "\n".join([head] + lines), {"notebooks": record, "export failures": list(export_failures)}


def export(out_dir: Path, dest: Path) -> list[str]:
    """Export every executed copy in ``out_dir`` to ``dest`` (PDF and HTML, one by one, and the
    whole series); return what failed (the rest is written)."""
    from .export import ExportError, export_notebooks

    try:
        export_notebooks(out_dir, dest, ("pdf", "html"), "series")
    except ExportError as exc:
        return str(exc).splitlines()[1:] or [str(exc)]
    return []


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(config.project_root() / "reports" / "executed"),
                    help="folder for the executed copies (default: reports/executed)")
    ap.add_argument("--export", default=None, metavar="DIR",
                    help="then export the executed copies to DIR as PDF and HTML (default: no export)")
    ap.add_argument("--quick", action="store_true", help="quick (smoke) mode: MM_QUICK=1")
    ap.add_argument("--only", nargs="*", help="run only notebooks whose names start with these prefixes")
    ap.add_argument("--notebooks", default=None, help="folder of the notebooks (default: notebooks/)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    times = run(out, quick=True if args.quick else None, only=args.only,
                folder=Path(args.notebooks) if args.notebooks else None)
    print(json.dumps({k: round(v, 1) for k, v in times.items()}), flush=True)
    failures = export(out, Path(args.export)) if args.export else []
    text, record = summary(out, [k for k in times if k.endswith(".ipynb")], failures)
    (out / "summary.json").write_text(json.dumps(record, indent=1, ensure_ascii=False), encoding="utf-8")
    print(text, flush=True)
    return 1 if record["notebooks"] or failures else 0


if __name__ == "__main__":
    sys.exit(main())
