"""tools.export: a real PDF (xelatex) and HTML export of small generated notebooks.

The notebooks carry ready-made outputs (no kernel is started). Without xelatex the PDF tests
are skipped locally, but fail under CI=true, where TeX is installed on purpose.
"""

from __future__ import annotations

import base64
import io
import os

import nbformat
import pytest
from lab_server import make_lab, unactivated_env
from nbformat import v4
from pdf_text import pdf_text

from tools import export, report_copy

SECRET = "SETUP_SECRET_MARKER"      # source of a setup-tagged cell: never shown
SPAM = "STDERR_SPAM_MARKER"         # a stderr stream: dropped
WIDGET = "WIDGET_PROGRESS_MARKER"   # a tqdm widget output: dropped
HIDDEN = "HIDDEN_CELL_MARKER"       # a remove-cell cell: dropped
MUTED = "REMOVED_OUTPUT_MARKER"     # output of a remove-output cell: dropped
ABSENT = (SECRET, SPAM, WIDGET, HIDDEN, MUTED)


def _figure_output():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 2.5))
    ax.plot([0, 1, 2], [2, 1, 3])
    ax.set_title("curve")
    data = {"text/plain": "<Figure>"}
    for fmt, mime in (("png", "image/png"), ("pdf", "application/pdf")):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt)
        data[mime] = base64.b64encode(buf.getvalue()).decode()
    plt.close(fig)
    return v4.new_output("display_data", data=data)


def make_notebook(path, title="1a. Demo notebook", unicode=True):
    nb = v4.new_notebook(metadata={"authors": [{"name": "Ada Lovelace"}],
                                   "kernelspec": {"name": "python3", "display_name": "Python 3",
                                                  "language": "python"}})
    extra = " Accuracy ≈ 97 % ✓ with α = 0.5." if unicode else ""
    nb.cells = [
        v4.new_markdown_cell(f"# {title}\n\nThe loss $\\mathcal{{L}} = -\\frac{{1}}{{N}}\\sum_i "
                             f"\\log p(y_i \\mid x_i)$ and\n\n$$z = W x + b.$$" + extra),
        v4.new_code_cell(f"{SECRET} = 1\ncfg = setup()", metadata={"tags": ["setup"]},
                         execution_count=1, outputs=[
                             v4.new_output("stream", name="stdout", text="VisibleSetupOutput\n"),
                             v4.new_output("stream", name="stderr", text=f"UserWarning: {SPAM}\n")]),
        v4.new_code_cell("history = train(model, loader, epochs=10, optimizer=torch.optim.Adam("
                         "model.parameters(), lr=1e-3), scheduler=None, device=cfg.device)",
                         execution_count=2, outputs=[v4.new_output("display_data", data={
                             report_copy.WIDGET_MIME: {"model_id": "x", "version_major": 2,
                                                  "version_minor": 0},
                             "text/plain": f"{WIDGET} 100%"})]),
        v4.new_code_cell("plot(history)", execution_count=3, outputs=[_figure_output()]),
        v4.new_code_cell(f"{HIDDEN} = 1", metadata={"tags": ["remove-cell"]}, execution_count=4),
        v4.new_code_cell("x = 42\nx", metadata={"tags": ["remove-output"]}, execution_count=5,
                         outputs=[v4.new_output("execute_result", data={"text/plain": MUTED},
                                                execution_count=5)]),
    ]
    nbformat.write(nb, path)
    return path


def _require_pdf():
    ok, why = export.pdf_available()
    if not ok:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but PDF export is unavailable: {why}")
        pytest.skip(f"PDF export unavailable: {why}")


def test_clean_copy_title_merge(tmp_path):
    src = make_notebook(tmp_path / "1a_demo.ipynb")
    nb = nbformat.read(src, as_version=4)
    clean = report_copy.clean_notebook(nb)
    outputs = [o for c in clean.cells if c.cell_type == "code" for o in c.outputs]
    assert not any(o.get("name") == "stderr" or report_copy.WIDGET_MIME in o.get("data", {}) for o in outputs)
    muted = clean.cells[5]
    assert muted.outputs == [] and muted.execution_count == 5  # still looks run
    assert nb.cells[1].outputs[1].name == "stderr"  # the original is untouched
    title = report_copy._take_title(clean, "1a_demo")
    assert title == "1a. Demo notebook" and not clean.cells[0].source.startswith("#")
    assert report_copy._authors({"authors": "A, B and C"}) == ["A", "B", "C"]
    b = make_notebook(tmp_path / "1b_demo.ipynb", title="1b. Second")
    parts = [report_copy.prepare(p, print) for p in (src, b)]
    merged, meta = report_copy.merge_notebooks(parts, "Series")
    heads = [c.source for c in merged.cells if c.cell_type == "markdown" and c.source.startswith("# ")]
    assert heads == ["# 1a. Demo notebook", "# 1b. Second"] and meta["toc"]
    assert len({c.id for c in merged.cells}) == len(merged.cells)
    names = ["10a.ipynb", "2b.ipynb", "00_data.ipynb", "1a.ipynb"]
    for n in names:
        (tmp_path / "dir").mkdir(exist_ok=True)
        (tmp_path / "dir" / n).write_text("{}")
    assert [p.name for p in export.find_notebooks(tmp_path / "dir")] == [
        "00_data.ipynb", "1a.ipynb", "2b.ipynb", "10a.ipynb"]


def test_html_export_and_cli(tmp_path, capsys):
    src_dir = tmp_path / "nbs"
    src_dir.mkdir()
    a = make_notebook(src_dir / "1a_demo.ipynb")
    make_notebook(src_dir / "1b_demo.ipynb", title="1b. Second")
    before = {p.name: p.read_bytes() for p in src_dir.iterdir()}
    assert export.main([str(src_dir), "--out", str(tmp_path / "out"), "--formats", "html"]) == 0
    assert {p.name: p.read_bytes() for p in src_dir.iterdir()} == before  # sources untouched
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "1a_demo.html", "1b_demo.html", "series.html"]
    html = (tmp_path / "out" / "1a_demo.html").read_text()
    assert "<title>1a. Demo notebook</title>" in html and "VisibleSetupOutput" in html
    assert "data:image/png;base64" in html
    for marker in ABSENT:
        assert marker not in html, marker
    assert "1b. Second" in (tmp_path / "out" / "series.html").read_text()
    assert export.main([str(a), "--out", str(tmp_path / "o2"), "--formats", "html"]) == 0
    assert [p.name for p in (tmp_path / "o2").iterdir()] == ["1a_demo.html"]  # no series of one


def test_pdf_unavailable_still_writes_html(tmp_path, monkeypatch, capsys):
    src = make_notebook(tmp_path / "1a_demo.ipynb")
    monkeypatch.setattr(export, "pdf_available", lambda: (False, "xelatex not found; install X"))
    written = export.export_notebooks([src], tmp_path / "out", combined=None)
    assert [p.name for p in written] == ["1a_demo.html"]
    assert "PDF skipped: xelatex not found; install X" in capsys.readouterr().out
    with pytest.raises(export.ExportError, match="unavailable"):
        export.export_notebooks([src], tmp_path / "out", combined=None, require_pdf=True)


def test_pdf_export(tmp_path, capsys):
    _require_pdf()
    src = make_notebook(tmp_path / "1a_demo.ipynb")
    out = tmp_path / "reports"
    written = export.export_notebooks([src], out, formats=("pdf",), combined=None, keep_tex=True)
    pdf = out / "1a_demo.pdf"
    assert written == [pdf] and pdf.read_bytes()[:5] == b"%PDF-"
    tex = (out / "1a_demo.tex").read_text(encoding="utf-8")
    assert "\\title{1a. Demo notebook}" in tex and "Ada Lovelace" in tex
    assert "VisibleSetupOutput" in tex
    figures = [ln for ln in tex.splitlines() if "adjustimage" in ln and "output_" in ln]
    assert figures and all(".pdf}" in ln for ln in figures)  # the vector output, not the PNG
    text = pdf_text(pdf)
    for marker in ABSENT:
        assert marker not in tex, marker
        assert text is None or marker not in text, marker
    if text is not None:
        assert "Demo notebook" in text and "VisibleSetupOutput" in text
    if export._has_fallback_fonts():  # α, ≈, ✓ come from DejaVu instead of being dropped
        assert "left out" not in capsys.readouterr().out


def _tall_figure_output(dpi):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return v4.new_output("display_data", data={"image/png": base64.b64encode(buf.getvalue())
                                               .decode(), "text/plain": "<Figure>"})


def test_a_tall_figure_leaves_no_half_empty_page(tmp_path):
    """A figure that no longer fits under its code floats to the next page and the text after
    it fills this one (instead of dragging its code along and leaving the page half empty);
    two such figures keep their order."""
    _require_pdf()
    from pypdf import PdfReader

    filler = " ".join(["Some words that fill the page before the figure."] * 50)
    nb = v4.new_notebook(cells=[
        v4.new_markdown_cell("# 9y. Page layout\n\n" + filler[: len(filler) // 2]),
        v4.new_code_cell("plot_it()", execution_count=1,
                         outputs=[_tall_figure_output(50), _tall_figure_output(40)]),
        v4.new_markdown_cell("AFTERFIGURE " + filler)])
    nbformat.write(nb, tmp_path / "9y_layout.ipynb")
    export.export_notebooks([tmp_path / "9y_layout.ipynb"], tmp_path / "out", formats=("pdf",),
                            combined=None)
    pages = PdfReader(tmp_path / "out" / "9y_layout.pdf").pages
    assert "plot_it" in pages[0].extract_text() and "AFTERFIGURE" in pages[0].extract_text()
    widths = [image.image.width for page in pages for image in page.images]   # in page order
    assert not pages[0].images and widths == [250, 200]


@pytest.mark.slow
def test_combined_pdf(tmp_path):
    _require_pdf()
    for name, title in (("1a_x.ipynb", "1a. First"), ("1b_y.ipynb", "1b. Second")):
        make_notebook(tmp_path / name, title=title, unicode=False)
    written = export.export_notebooks([tmp_path], tmp_path / "out", formats=("pdf",),
                                      title="The series", keep_tex=True)
    assert [p.name for p in written] == ["1a_x.pdf", "1b_y.pdf", "series.pdf"]
    tex = (tmp_path / "out" / "series.tex").read_text(encoding="utf-8")
    assert "\\tableofcontents" in tex and "\\title{The series}" in tex
    assert tex.index("1a. First") < tex.index("1b. Second")


LESSON = [
    "from mmhelpers.notebook import setup\ncfg = setup(quiet=True)",
    "import pandas as pd\n"
    "columns = {f'a long column name {i} (%)': [98.9412 + i, 97.5]\n"
    "           for i in range(9)}\n"
    "pd.DataFrame(columns, index=['late_fusion', 'intermediate fusion'])",
    "parts = {'train': pd.DataFrame({'x': [1.5, 2.0]}),\n"
    "         'test': pd.DataFrame({'x': [3.0, 4.25]})}\n"
    "pd.concat(parts)   # a MultiIndex",
    "import numpy as np\nfrom IPython.display import Audio\n"
    "Audio(np.sin(np.linspace(0, 2000, 8000)), rate=8000)",
    "import matplotlib.pyplot as plt\nfrom mmhelpers.plots import figures as plots\n"
    "fig, ax = plt.subplots(figsize=(4, 2.5))\nax.plot([0, 1], [1, 0])\n"
    "plots.savefig(fig, 'lesson_probe')\nplt.show()",
]


@pytest.fixture(scope="module")
def lesson(tmp_path_factory):
    """A small notebook as the series writes them, executed in a real kernel: a wide
    DataFrame, an Audio object and a saved figure."""
    from nbclient import NotebookClient

    folder = tmp_path_factory.mktemp("lesson")
    nb = v4.new_notebook(cells=[v4.new_markdown_cell("# 9z. Lesson probe")]
                         + [v4.new_code_cell(src) for src in LESSON],
                         metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                  "language": "python"}})
    env = {"MM_FIGURES_DIR": str(folder / "figures"), "MM_QUICK": "0"}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        NotebookClient(nb, timeout=180, kernel_name="python3").execute()
    path = folder / "9z_lesson.ipynb"
    nbformat.write(nb, path)
    return path


def test_a_lesson_exports_tables_as_latex_and_no_object_reprs(lesson, tmp_path):
    _require_pdf()
    out = tmp_path / "reports"
    export.export_notebooks([lesson], out, formats=("pdf",), combined=None, keep_tex=True)
    tex = (out / "9z_lesson.tex").read_text(encoding="utf-8")
    assert "\\toprule" in tex and "late\\_fusion" in tex        # the table, as LaTeX
    assert "[audio player: open the notebook to listen]" in tex
    text = pdf_text(out / "9z_lesson.pdf")
    if text is not None:
        assert "<IPython" not in text and "↪" not in text
        assert "a long column name 8 (%)" in " ".join(text.split())


def test_the_server_make_lab_starts_exports_pdf(lesson, tmp_path):
    """JupyterLab's File > Save and Export Notebook As > PDF: the server `make lab` starts,
    asked for a PDF, with no activated environment and no pandoc on PATH."""
    import urllib.request

    _require_pdf()
    with make_lab(lesson.parent, tmp_path / "server.log", unactivated_env()) as (base, token, _):
        auth = {"Authorization": f"token {token}"}
        request = urllib.request.Request(f"{base}/nbconvert/pdf/{lesson.name}?download=true",
                                         headers=auth)
        with urllib.request.urlopen(request, timeout=300) as response:
            body = response.read()
        assert body[:5] == b"%PDF-" and len(body) > 10_000
