"""Run a function on chunks of work, each chunk in a brand-new Python process.

The speech engine keeps process-global state that changes its output, so a reproducible build
speaks every chunk in a process that has never spoken before. Each chunk runs as

    python -m mmhelpers.embedded.fresh_processes JOB RESULT

a new interpreter that imports only this package and the function's module. Arguments and
results travel through pickle files in a private temporary folder. Unlike ``multiprocessing``'s
spawn and forkserver start methods, the child never imports the caller's ``__main__``, so a plain
script without an ``if __name__ == "__main__":`` guard, a notebook, ``python -c``, a test or a
thread can all build data (a forkserver child re-ran the caller's script, which started another
pool, and the build hung).

A chunk that fails stops the whole run at once: the other processes are killed and the error is
raised here, of the worker's own type where possible, naming the chunk and carrying the worker's
traceback. Nothing is ever retried.
"""

from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable, Iterator, Sequence

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
POLL_SECONDS = 0.02
#: exception types re-raised as themselves; any other becomes a RuntimeError with the same text
RERAISED = (ValueError, TypeError, RuntimeError, OSError)


class ChunkFailed(RuntimeError):
    """A chunk's process ended without a result (killed, crashed, or its error could not be rebuilt)."""


def _target(function: Callable) -> str:
    """``module:qualname`` of a module-level function; a module run with ``python -m`` is named as
    imported (its ``__spec__``), since a new process can import it by that name."""
    module = function.__module__
    if module == "__main__":
        spec = getattr(sys.modules["__main__"], "__spec__", None)
        module = spec.name if spec is not None else module
    name = f"{module}:{function.__qualname__}"
    if "<" in name or module == "__main__":
        raise ValueError(f"fresh_processes: {name} must be a module-level function of an importable module")
    return name


def _resolve(name: str) -> Callable:
    module, _, qualname = name.partition(":")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _environment() -> dict:
    """The caller's environment, with this package's folder first on ``PYTHONPATH`` so that the
    child imports the very same package whatever its current directory or install mode."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


class FreshProcesses:
    """``function(*args)`` for each ``args`` in ``jobs``, each in its own new process, at most
    ``workers`` at a time; iterate to get the results in job order.

    The first ``workers`` processes start when the ``with`` block is entered, so the caller can do
    other work while they run. Leaving the block (normally or by an error) kills what still runs
    and removes the temporary folder. ``labels[k]`` names chunk ``k`` in error messages.
    """

    def __init__(self, function: Callable, jobs: Sequence[tuple], workers: int = 2,
                 labels: Sequence[str] | None = None):
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise ValueError(f"fresh_processes: workers must be an integer >= 1, got {workers!r}")
        self.target, self.jobs, self.workers = _target(function), list(jobs), workers
        n = len(self.jobs)
        self.labels = list(labels) if labels is not None else [f"chunk {k + 1} of {n}" for k in range(n)]
        if len(self.labels) != n:
            raise ValueError(f"fresh_processes: {len(self.labels)} labels for {n} jobs")
        self._todo = list(range(n))[::-1]
        self._running: dict[int, tuple[subprocess.Popen, Path]] = {}
        self._done: dict[int, object] = {}
        self._folder: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> "FreshProcesses":
        self._folder = tempfile.TemporaryDirectory(prefix="mm-fresh-")
        self._fill()
        return self

    def __exit__(self, *exc) -> None:
        for proc, _ in self._running.values():
            proc.kill()
            proc.wait()
        self._running.clear()
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def _path(self, k: int, kind: str) -> Path:
        return Path(self._folder.name) / f"{kind}-{k}"

    def _fill(self) -> None:
        env = _environment()
        while self._todo and len(self._running) < self.workers:
            k = self._todo.pop()
            job, result, log = (self._path(k, kind) for kind in ("job", "result", "stderr"))
            job.write_bytes(pickle.dumps((self.target, tuple(self.jobs[k])), protocol=pickle.HIGHEST_PROTOCOL))
            with open(log, "wb") as stderr:
                proc = subprocess.Popen([sys.executable, "-m", __name__, str(job), str(result)], env=env,
                                        stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)
            self._running[k] = (proc, result)

    def _collect(self, k: int, proc: subprocess.Popen, result: Path) -> None:
        if not result.is_file():
            log = self._path(k, "stderr").read_text(errors="replace").strip()[-3000:]
            raise ChunkFailed(f"{self.labels[k]} failed: its process ended with exit code {proc.returncode} and "
                              f"no result (the function {self.target}); its output:\n{log or '(none)'}")
        status, payload = pickle.loads(result.read_bytes())
        result.unlink()
        if status == "ok":
            self._done[k] = payload
            return
        kind, message, trace = payload
        text = f"{self.labels[k]} failed in its worker process ({self.target}): {message}\n{trace}"
        error = _resolve(kind) if kind.split(":")[0] in sys.modules else None
        if isinstance(error, type) and issubclass(error, RERAISED):
            try:
                same_kind = error(text)
            except Exception:  # noqa: BLE001 - an exception class that takes other arguments
                same_kind = None
            if same_kind is not None:
                raise same_kind
        raise ChunkFailed(text)

    def __iter__(self) -> Iterator:
        for k in range(len(self.jobs)):
            while k not in self._done:
                finished = [(j, p, r) for j, (p, r) in self._running.items() if p.poll() is not None]
                if not finished:
                    time.sleep(POLL_SECONDS)
                    continue
                for j, proc, result in finished:
                    del self._running[j]
                    self._collect(j, proc, result)
                self._fill()
            yield self._done.pop(k)


def run(function: Callable, jobs: Sequence[tuple], workers: int = 2,
        labels: Sequence[str] | None = None) -> list:
    """``[function(*args) for args in jobs]``, each call in a new process, ``workers`` at a time."""
    with FreshProcesses(function, jobs, workers, labels) as chunks:
        return list(chunks)


def _child(job: str, result: str) -> int:
    """The worker: load the job, call the function, write ``("ok", value)`` or ``("error", ...)``."""
    target, args = pickle.loads(Path(job).read_bytes())
    try:
        outcome = ("ok", _resolve(target)(*args))
        code = 0
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
        kind = f"{type(exc).__module__}:{type(exc).__qualname__}"
        outcome = ("error", (kind, f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        code = 1
    partial = Path(result + ".partial")
    partial.write_bytes(pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))
    partial.replace(result)  # the parent sees a result only once it is complete
    return code


if __name__ == "__main__":
    raise SystemExit(_child(*sys.argv[1:3]))
