"""The series runner (tools/run_series.py): order, fresh kernels, failures, and the thread setting."""

from pathlib import Path

import nbformat
import pytest
from nbformat import v4

from mmhelpers import config
from tools import run_series as series


def _nb(folder: Path, name: str, code: str) -> Path:
    nb = v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                  "language": "python"}})
    nb.cells = [v4.new_code_cell(code)]
    path = folder / name
    nbformat.write(nb, path)
    return path


def test_threads_setting(monkeypatch):
    monkeypatch.delenv("MM_THREADS", raising=False)
    assert config.threads() is None
    monkeypatch.setenv("MM_THREADS", "1")
    assert config.threads() == 1
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("MM_THREADS", bad)
        with pytest.raises(ValueError, match="MM_THREADS"):
            config.threads()


def _kernels() -> list:
    import psutil

    return [p for p in psutil.Process().children(recursive=True) if "ipykernel" in " ".join(p.cmdline())]


def test_serial_run_starts_each_kernel_ahead_and_keeps_notebooks_apart(tmp_path, monkeypatch):
    """Each notebook gets a fresh kernel, started (with :data:`series.PRELOAD` imported) while the
    previous notebook ran; no state crosses over, counts start at 1, and no kernel is left behind."""
    src, out, log = tmp_path / "nb", tmp_path / "out", tmp_path / "log.txt"
    src.mkdir()
    _nb(src, "1a_x.ipynb", f"import time, pathlib\nleft_behind = 1\ntime.sleep(3)\n"
                           f"pathlib.Path({str(log)!r}).write_text(str(time.time()))")
    _nb(src, "1b_y.ipynb", f"import os, sys, pathlib, psutil\nassert 'left_behind' not in globals()\n"
                           f"assert 'torch' in sys.modules and os.environ['MM_QUICK'] == '1'\n"
                           f"assert psutil.Process().create_time() < float(pathlib.Path({str(log)!r}).read_text())")
    monkeypatch.setattr(series, "notebook_paths", lambda folder=None: sorted(src.glob("*.ipynb")))
    monkeypatch.setattr(series, "prepare_data", lambda quick=None, verbose=True: 0.0)
    times = series.run(out, quick=True, verbose=False)
    assert set(times) == {"dataset", "1a_x.ipynb", "1b_y.ipynb", "total"}
    for name in ("1a_x.ipynb", "1b_y.ipynb"):
        cell = nbformat.read(out / name, as_version=4).cells[0]
        assert cell.execution_count == 1 and not [o for o in cell.outputs if o.output_type == "error"]
    assert not _kernels()


def test_a_failing_notebook_stops_the_serial_run_and_its_spare_kernel(tmp_path, monkeypatch):
    src = tmp_path / "nb"
    src.mkdir()
    _nb(src, "1a_bad.ipynb", "raise RuntimeError('broken on purpose')")
    _nb(src, "1b_never.ipynb", "raise AssertionError('ran after a failure')")
    monkeypatch.setattr(series, "notebook_paths", lambda folder=None: sorted(src.glob("*.ipynb")))
    monkeypatch.setattr(series, "prepare_data", lambda quick=None, verbose=True: 0.0)
    with pytest.raises(Exception, match="broken on purpose"):
        series.run(tmp_path / "out", quick=True, verbose=False)
    assert not (tmp_path / "out" / "1b_never.ipynb").exists()
    assert not _kernels()


def test_execute_refuses_to_write_into_the_notebooks_folder(tmp_path):
    path = _nb(tmp_path, "1a_x.ipynb", "1 + 1")
    before = path.read_bytes()
    with pytest.raises(ValueError, match="refusing to overwrite sources"):
        series.execute(path, tmp_path)
    assert path.read_bytes() == before and not _kernels()
