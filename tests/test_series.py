"""The series runner: order, prerequisites, parallel execution, and the thread setting."""

import json
from pathlib import Path

import nbformat
import pytest
from nbformat import v4

from mmhelpers import config, series


def _nb(folder: Path, name: str, code: str) -> Path:
    nb = v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                  "language": "python"}})
    nb.cells = [v4.new_code_cell(code)]
    path = folder / name
    nbformat.write(nb, path)
    return path


def test_needs_follow_the_table_and_only_selected_notebooks():
    names = ["00_data", "1a_image", "1b_audio", "1c_compare", "1e_fusion", "1f_late", "3a_robust"]
    paths = [Path(f"{n}.ipynb") for n in names]
    assert series._needs(Path("1c_compare.ipynb"), paths) == {"1a_image.ipynb", "1b_audio.ipynb"}
    assert series._needs(Path("3a_robust.ipynb"), paths) == {"1f_late.ipynb"}
    assert series._needs(Path("1c_compare.ipynb"), paths[3:]) == set()   # 1a, 1b not selected: no wait
    assert series._needs(Path("2a_x.ipynb"), paths) == set()


def test_parallel_run_respects_prerequisites_and_writes_copies(tmp_path, monkeypatch):
    src, out, log = tmp_path / "nb", tmp_path / "out", tmp_path / "log.txt"
    src.mkdir()
    # 1a finishes only after 1b has written its line, and then 8 s later: no race on kernel start-up
    # times, and a 1c started as soon as a slot is free (ignoring that it needs 1a) fails its check
    write = ("import os, time, pathlib; log = pathlib.Path({log!r}); t = time.time()\n"
             "while {wait!r} and {wait!r} not in (log.read_text() if log.exists() else '') and time.time() - t < 120:\n"
             "    time.sleep(0.05)\n"
             "time.sleep({hold})\n"
             "assert {need!r} in (log.read_text() if log.exists() else ''), 'started before {need} finished'\n"
             "with open(log, 'a') as f: f.write('{n} ' + os.environ['MM_THREADS'] + '\\n')")
    for name, wait, hold, need in (("1a_x.ipynb", "1b", 8.0, ""), ("1b_y.ipynb", "", 0.0, ""),
                                   ("1c_z.ipynb", "", 0.0, "1a")):
        _nb(src, name, write.format(wait=wait, hold=hold, need=need, log=str(log), n=name[:2]))
    monkeypatch.setattr(series, "notebook_paths", lambda folder=None: sorted(src.glob("*.ipynb")))
    monkeypatch.setattr(series, "prepare_data", lambda quick=None, verbose=True: 0.0)
    times = series.run(out, quick=True, verbose=False, jobs=2)
    order = [line.split() for line in log.read_text().splitlines()]
    assert [n for n, _ in order] == ["1b", "1a", "1c"]      # 1c waited for 1a although a slot was free
    assert {t for _, t in order} == {"1"}                    # one torch thread per kernel
    assert sorted(p.name for p in out.iterdir()) == ["1a_x.ipynb", "1b_y.ipynb", "1c_z.ipynb"]
    assert set(times) == {"dataset", "1a_x.ipynb", "1b_y.ipynb", "1c_z.ipynb", "total"}
    assert json.loads(json.dumps(times))                     # plain numbers


def test_a_failing_notebook_stops_the_parallel_run(tmp_path, monkeypatch):
    src = tmp_path / "nb"
    src.mkdir()
    _nb(src, "1a_bad.ipynb", "raise RuntimeError('broken on purpose')")
    monkeypatch.setattr(series, "notebook_paths", lambda folder=None: sorted(src.glob("*.ipynb")))
    monkeypatch.setattr(series, "prepare_data", lambda quick=None, verbose=True: 0.0)
    with pytest.raises(RuntimeError, match="1a_bad.ipynb failed"):
        series.run(tmp_path / "out", quick=True, verbose=False, jobs=2)


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
