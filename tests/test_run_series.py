"""The series runner (tools/run_series.py): order, fresh kernels, failures, and the thread setting."""

import json
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


def test_a_failing_notebook_is_kept_and_the_series_goes_on(tmp_path, monkeypatch):
    """A notebook whose cell raises is written up to that cell, with the error visible; the next
    notebook still runs, and no kernel is left behind."""
    src = tmp_path / "nb"
    src.mkdir()
    _nb(src, "1a_bad.ipynb", "print('before')\nraise RuntimeError('broken on purpose')")
    _nb(src, "1b_next.ipynb", "print('ran after a failure')")
    monkeypatch.setattr(series, "prepare_data", lambda quick=None, verbose=True: 0.0)
    out = tmp_path / "out"
    series.run(out, quick=True, verbose=False, folder=src)
    bad = nbformat.read(out / "1a_bad.ipynb", as_version=4).cells[0].outputs
    assert bad[0].text == "before\n" and bad[-1].output_type == "error"
    assert series.findings(out / "1a_bad.ipynb") == {
        "false claims": [], "errors": ["code cell 1: RuntimeError: broken on purpose"]}
    assert nbformat.read(out / "1b_next.ipynb", as_version=4).cells[0].outputs[0].text == "ran after a failure\n"
    assert not _kernels()


CLAIMS = ("from mmhelpers.lesson import check\n"
          "check('two is more than one', 2 > 1)\n"
          "check('the fusion wins by 0.4 points', True)\n"
          "check('the model learned', False, full_mode_only=True)")


def test_the_runner_exports_everything_then_names_each_false_claim_and_error(tmp_path, monkeypatch, capsys):
    """``make all``'s runner with a claim forced false (``MM_FALSE_CLAIMS``) and a notebook that
    raises: every notebook is exported, the summary names the claim and the error, exit code 1.
    A full-mode claim that is false in quick mode is shown but not counted."""
    src, out, reports = tmp_path / "nb", tmp_path / "out", tmp_path / "reports"
    src.mkdir()
    _nb(src, "1a_claims.ipynb", CLAIMS)
    _nb(src, "1b_error.ipynb", "x = 1\nraise ValueError('bad input on purpose')")
    monkeypatch.setattr(series, "prepare_data", lambda quick=None, verbose=True: 0.0)
    monkeypatch.setenv("MM_FALSE_CLAIMS", "wins by")
    from tools.export import pdf_available

    formats = ("pdf", "html") if pdf_available()[0] else ("html",)
    code = series.main(["--quick", "--notebooks", str(src), "--out", str(out), "--export", str(reports)])
    text = capsys.readouterr().out
    assert code == 1
    assert "2 notebooks ran; 1 claim(s) do not hold, 1 error(s), 0 failed export(s)" in text
    assert "✗ 1a_claims: the fusion wins by 0.4 points" in text
    assert "error in 1b_error, code cell 1: ValueError: bad input on purpose" in text
    assert "the model learned" not in text.split("series:")[-1]          # quick mode: not asserted
    for stem in ("1a_claims", "1b_error", "series"):
        for fmt in formats:
            assert (reports / f"{stem}.{fmt}").stat().st_size > 1000, (stem, fmt)
    record = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert record["notebooks"]["1a_claims.ipynb"]["false claims"] == [
        "the fusion wins by 0.4 points  <- DOES NOT HOLD in this run"]
    monkeypatch.delenv("MM_FALSE_CLAIMS")
    assert series.main(["--quick", "--notebooks", str(src), "--out", str(out), "--only", "1a"]) == 0


def test_execute_refuses_to_write_into_the_notebooks_folder(tmp_path):
    path = _nb(tmp_path, "1a_x.ipynb", "1 + 1")
    before = path.read_bytes()
    with pytest.raises(ValueError, match="refusing to overwrite sources"):
        series.execute(path, tmp_path)
    assert path.read_bytes() == before and not _kernels()
