"""JupyterLab in a real browser, as a learner uses it: run a notebook, move a control, export a PDF.

The server is started as ``make lab`` starts it (quick mode, on a copy of one notebook in a
temporary folder, so nothing of the project is saved over), and Playwright drives Debian's
Chromium (``/usr/bin/chromium``, installed by ``make setup``; Playwright's own browser download is
not used) headless through JupyterLab's own menus:

1. open the notebook, Run > Run All Cells, wait until every cell has run;
2. move the notebook's temperature slider (a ``lab-only`` control) and see its figure change;
3. File > Save Notebook, then read the saved notebook: every code cell ran, none has an error;
4. File > Save and Export Notebook As > PDF: a PDF arrives, with the static twin's figure and no
   widget text.

Without Chromium the test skips, saying what to install; under ``CI=true`` it fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request
from pathlib import Path

import pytest
from lab_server import make_lab
from pdf_text import pdf_text, widget_text

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
NOTEBOOK = "2d_temperature.ipynb"
SOURCE = ROOT / "notebooks" / NOTEBOOK


def _require_browser():
    why = None
    if not CHROMIUM.is_file():
        why = f"no Chromium at {CHROMIUM}: run scripts/setup_browser.sh (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            why = "playwright is not installed: pip install -e '.[dev]'"
    if why and os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but the browser test cannot run: {why}")
    if why:
        pytest.skip(why)


@pytest.fixture()
def lab(tmp_path):
    """``(base url, token, folder)`` of a JupyterLab server started by ``make lab`` on a folder
    holding a copy of :data:`NOTEBOOK`, in quick mode, with its own figures folder and workspace."""
    _require_browser()
    folder = tmp_path / "lab"
    folder.mkdir()
    shutil.copy(SOURCE, folder / NOTEBOOK)
    env = dict(os.environ, MM_QUICK="1", MM_FIGURES_DIR=str(tmp_path / "figures"))
    with make_lab(folder, tmp_path / "server.log", env,
                  f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}") as (base, token, log):
        yield base, token, folder
        log.seek(0)
        assert "without encryption" not in log.read(), "kernels of make lab talk over unencrypted TCP"


def _menu(page, top: str, *items: str) -> None:
    """Open the menu bar's ``top`` menu and click through ``items`` (Lumino menus)."""
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=top).first.click()
    for item in items:
        page.locator(".lm-Menu-itemLabel", has_text=item).filter(has_text=item).first.hover()
        page.locator(".lm-Menu-itemLabel").get_by_text(item, exact=True).first.click()


def _saved_notebook(base: str, token: str) -> dict:
    request = urllib.request.Request(f"{base}/api/contents/{NOTEBOOK}?content=1",
                                     headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["content"]


def test_a_learner_runs_moves_a_control_and_exports_a_pdf(lab, tmp_path):
    from playwright.sync_api import sync_playwright

    base, token, _ = lab
    started = time.monotonic()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
        downloads = []

        def keep(download):
            downloads.append(download)

        context.on("page", lambda pg: pg.on("download", keep))   # the export opens a new window
        page = context.new_page()
        page.goto(f"{base}/lab/tree/{NOTEBOOK}?reset&token={token}")
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
        page.wait_for_selector("#jp-main-statusbar >> text=Idle", timeout=90_000)

        # 1. Run > Run All Cells, and wait until no cell is queued or running
        _menu(page, "Run", "Run All Cells")
        page.wait_for_function(
            """() => {
                const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
                return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""", timeout=300_000, polling=500)

        # 2. the control: a slider inside a widget; its output (a figure) changes when it moves
        slider = page.locator(".jupyter-widgets.widget-slider").first
        slider.wait_for(timeout=60_000)
        box = page.locator(".widget-interact, .jupyter-widgets.widget-vbox").filter(has=slider).first
        output = box.locator(".jp-OutputArea-output img, .widget-output img").first
        output.wait_for(timeout=60_000)
        before = output.get_attribute("src")
        handle = slider.locator(".noUi-handle, [role=slider]").first
        handle.focus()
        for _ in range(3):
            handle.press("ArrowRight")
        page.wait_for_function(
            "([sel, old]) => { const img = document.querySelector(sel); return img && img.src !== old; }",
            arg=[".widget-interact .jp-OutputArea-output img, .widget-output img", before], timeout=30_000)

        # 3. save, and read what was saved: every code cell ran, none raised
        _menu(page, "File", "Save Notebook")
        page.wait_for_timeout(1500)
        nb = _saved_notebook(base, token)
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert code and all(c["execution_count"] for c in code), "a code cell did not run"
        errors = [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
        assert not errors, errors

        # 4. File > Save and Export Notebook As > PDF: the download comes from a new window
        _menu(page, "File", "Save and Export Notebook As", "PDF")
        deadline = time.monotonic() + 240
        while not downloads and time.monotonic() < deadline:
            page.wait_for_timeout(500)
        assert downloads, "no PDF arrived within 240 s"
        pdf = tmp_path / "exported.pdf"
        downloads[0].save_as(pdf)
        browser.close()
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 20_000
    text = pdf_text(pdf)
    if text is not None:
        assert "temperature" in text.lower()
    assert not widget_text(text), "widget text in the exported PDF"
    print(f"browser test: {time.monotonic() - started:.0f} s")
