"""The model-answer report: every placeholder filled from what the series saved, a clear error for
anything missing, and, built from the full-mode results in figures/, at most 8 pages before the
references with the course template's parts."""

import json
import shutil

import pytest

from mmhelpers import config
from tools import report
from tools.export import pdf_available

#: the course template's parts, as the report's section headings
PARTS = ("Introduction", "Dataset analysis and preparation", "Data pipeline", "Network architecture",
         "Training dynamics and performance", "Evaluation and metrics",
         "Implementation challenges and solutions", "Comparison with existing solutions",
         "Future directions", "Conclusions")


def test_a_value_a_table_and_a_figure_come_from_the_files_the_series_wrote(tmp_path):
    (tmp_path / "1a_values.json").write_text(json.dumps({"test accuracy (%)": 78.9712}))
    (tmp_path / "t.md").write_text("|  | overall | image_noisy |\n|---|---|---|\n| image | 78.97 | 40.66 |\n")
    (tmp_path / "f.png").write_bytes(b"png")
    results = report.Results(tmp_path)
    assert results.v("1a_values", "test accuracy (%)", "{:.1f}") == "79.0"
    assert "| image | 40.66 |" in results.table("t", ["image_noisy"])
    assert results.fig("f").endswith("f.png")
    (tmp_path / "f.pdf").write_bytes(b"pdf")
    assert results.fig("f").endswith("f.pdf")                 # the vector version when there is one


def test_anything_missing_is_named(tmp_path):
    results = report.Results(tmp_path)
    with pytest.raises(report.ReportError, match="1a_values.json is missing"):
        results.v("1a_values", "test accuracy (%)")
    (tmp_path / "1a_values.json").write_text(json.dumps({"epochs": 8}))
    with pytest.raises(report.ReportError, match="no value 'kept epoch'"):
        results.v("1a_values", "kept epoch")
    (tmp_path / "t.md").write_text("|  | overall |\n|---|---|\n| image | 78.97 |\n")
    with pytest.raises(report.ReportError, match=r"no column \['audio_noisy'\]"):
        results.table("t", ["audio_noisy"])


def test_the_template_renders_from_the_full_mode_results_with_every_part():
    figures = config.figures_dir(quick=False)
    text = report.render(report.Results(figures))
    assert "<<" not in text and ">>" not in text
    headings = [line[2:].strip() for line in text.splitlines() if line.startswith("# ")]
    assert [h for h in headings if h in PARTS] == list(PARTS)
    assert report.COURSE in text


def test_the_report_fits_the_exams_page_limit(tmp_path):
    ok, why = pdf_available()
    if not ok:
        pytest.skip(why)
    if shutil.which("xelatex") is None:
        pytest.skip("xelatex not installed")
    pdf, body, total = report.build(config.figures_dir(quick=False), tmp_path / "report.pdf")
    assert (body, total) == report.pages_before_references(pdf)
    assert 1 <= body <= report.MAX_PAGES and total > body
    assert (tmp_path / "report.md").is_file()


def test_a_figure_prints_wide_enough_for_its_smallest_text(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for name, (inches, points) in {"wide": (report.TEXT_WIDTH, 8), "small": (3.0, 10)}.items():
        fig = plt.figure(figsize=(inches, 2))
        fig.text(0.1, 0.5, "tick", fontsize=points)
        fig.savefig(tmp_path / f"{name}.pdf")
        plt.close(fig)
    results = report.Results(tmp_path)
    assert results.width("wide", 50) == 88          # 7 pt / 8 pt of the full text width
    assert results.width("small", 50) == 50         # legible at 30%: as asked
    (tmp_path / "t.md").write_text("|  | overall |\n|---|---|\n| late fusion | 98.98 |\n")
    assert results.cell("t", "late fusion", "overall") == "98.98"
    with pytest.raises(report.ReportError, match="no entry"):
        results.cell("t", "early fusion", "overall")
