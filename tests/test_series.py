"""Every notebook of the series, in quick mode, as `make test` (CI) runs it.

The series runner (``tools/run_series.py``, what ``make all`` uses) executes every notebook in a
fresh kernel into a temporary folder, once per test session. Then, per notebook:

* it ran to the end, with no error output and no claim printed as not holding (a claim asserted
  in quick mode that fails is a ✗ line, and fails here);
* plain ``jupyter nbconvert --to pdf`` exports the executed copy, as JupyterLab's
  File > Save and Export Notebook As > PDF does (the environment's own nbconvert configuration,
  installed by ``make setup``, and no help from the project's export tool), with no widget text.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from lab_server import unactivated_env
from pdf_text import pdf_text, widget_text

from tools.run_series import findings, notebook_paths

ROOT = Path(__file__).resolve().parents[1]
NAMES = [p.name for p in notebook_paths()]

pytestmark = pytest.mark.notebooks


@pytest.fixture(scope="session")
def quick_series(tmp_path_factory) -> Path:
    """The folder of executed copies of every notebook, run by the series runner in quick mode."""
    out = tmp_path_factory.mktemp("quick-series")
    proc = subprocess.run([sys.executable, "-m", "tools.run_series", "--quick", "--out", str(out)], cwd=ROOT,
                          env=dict(os.environ, MM_QUICK="1"), capture_output=True, text=True, timeout=3600)
    missing = [n for n in NAMES if not (out / n).is_file()]
    assert not missing, f"not executed: {missing}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return out


@pytest.mark.parametrize("name", NAMES)
def test_the_notebook_runs_and_every_claim_holds(quick_series, name):
    assert findings(quick_series / name) == {"false claims": [], "errors": []}


def _plain_nbconvert_pdf(notebook: Path, out: Path) -> subprocess.CompletedProcess:
    """``jupyter nbconvert --to pdf`` of this environment, started as a user starts it: the
    environment not activated (no VIRTUAL_ENV), no pandoc on PATH."""
    jupyter = Path(sys.prefix) / "bin" / "jupyter"
    return subprocess.run([str(jupyter), "nbconvert", "--to", "pdf", str(notebook), "--output-dir", str(out)],
                          env=unactivated_env(), capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("name", NAMES)
def test_plain_nbconvert_exports_the_executed_notebook_to_pdf(quick_series, name, tmp_path):
    from tools.export import pdf_available

    ok, why = pdf_available()
    if not ok:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but PDF export is unavailable: {why}")
        pytest.skip(f"PDF export unavailable: {why}")
    proc = _plain_nbconvert_pdf(quick_series / name, tmp_path)
    pdf = tmp_path / name.replace(".ipynb", ".pdf")
    assert proc.returncode == 0 and pdf.is_file(), proc.stderr[-3000:]
    assert not widget_text(pdf_text(pdf)), "widget text in the PDF"
