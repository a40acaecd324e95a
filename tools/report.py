"""The model-answer report in the exam's form: ``python -m tools.report [--figures DIR] [--out PDF]``.

``tools/templates/report.md`` is the report: the course template's parts (introduction, dataset, data
pipeline, architecture, training dynamics, evaluation, implementation challenges, comparison with
existing solutions, future directions, conclusions) with each exam part answered, and references. It
holds no result typed by hand: every number, table and figure is one the executed series wrote into the
figures folder (``savefig``, ``tables.save_table``, ``tables.save_values``), inserted where the template
says ``<< v("1a_values", "test accuracy (%)", "{:.1f}") >>``, ``<< table("1f_results", [columns]) >>`` or
``<< fig("1a_curves") >>``. A missing file or key stops the build with its name. pandoc and xelatex
turn the Markdown into ``reports/report.pdf``; ``make all`` and ``make export`` build it after the series.

The exam allows 8 pages before the references; :func:`pages_before_references` counts them, and the
build fails when there are more.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import jinja2
from pypdf import PdfReader

from mmhelpers import config
from mmhelpers.plots import style
from mmhelpers.plots.tables import markdown_table
from tools.export import font_families, pandoc_path, pdf_available

TEMPLATE = Path(__file__).parent / "templates" / "report.md"
#: the course's name, on the front page
COURSE = "Multimodal deep learning"
MAX_PAGES = 8
#: the template's text width in inches: a letter page (8.5 in) less two 1.8 cm margins
TEXT_WIDTH = 8.5 - 2 * 1.8 / 2.54
REFERENCES = "References"


class ReportError(RuntimeError):
    """The report cannot be built: the message names what is missing."""


class Results:
    """What the executed series wrote into ``figures``: values, tables and figures, by name."""

    def __init__(self, figures: Path):
        self.figures = Path(figures)

    def _file(self, name: str, suffix: str) -> Path:
        path = self.figures / f"{name}{suffix}"
        if not path.is_file():
            raise ReportError(f"{path} is missing: run the series in full mode first (make all)")
        return path

    def v(self, name: str, key: str, fmt: str = "{}") -> str:
        """One value that a notebook saved with ``tables.save_values(..., name)``."""
        values = json.loads(self._file(name, ".json").read_text())
        if key not in values:
            raise ReportError(f"{name}.json has no value {key!r}; it has {sorted(values)}")
        return fmt.format(values[key])

    def _rows(self, name: str) -> list[list[str]]:
        return [[c.strip() for c in line.strip().strip("|").split("|")]
                for line in self._file(name, ".md").read_text().splitlines()
                if line.strip() and not set(line.strip()) <= set("|-: ")]

    def cell(self, name: str, row: str, column: str) -> str:
        """One entry of a saved table, as the table prints it."""
        head, *rows = self._rows(name)
        found = [r for r in rows if r[0] == row]
        if column not in head or not found:
            raise ReportError(f"{name}.md has no entry ({row!r}, {column!r}); rows "
                              f"{[r[0] for r in rows]}, columns {head[1:]}")
        return found[0][head.index(column)]

    def table(self, name: str, columns: list[str] | None = None) -> str:
        """A table a notebook saved with ``tables.save_table(..., name)``, with ``columns`` only
        (and the index) when given."""
        head, *rows = self._rows(name)
        keep = list(range(len(head)))
        if columns is not None:
            unknown = [c for c in columns if c not in head]
            if unknown:
                raise ReportError(f"{name}.md has no column {unknown}; it has {head[1:]}")
            keep = [0] + [head.index(c) for c in columns]
        return markdown_table([head[i] for i in keep], [[r[i] for i in keep] for r in rows])

    def width(self, name: str, wanted: int) -> int:
        """The width (% of the text width) to print figure ``name`` at: ``wanted``, or more where
        its smallest text would print under ``style.MIN_PRINT_PT`` (read from the figure's
        PDF: page width and font sizes); refuses a figure that would need more than the page."""
        pdf = self._file(name, ".pdf")
        page = PdfReader(pdf).pages[0]
        sizes = []

        def visit(text, cm, tm, font, size):
            if text.strip():
                sizes.append(size * math.hypot(tm[0], tm[1]) * math.hypot(cm[0], cm[1]))

        page.extract_text(visitor_text=visit)
        inches = float(page.mediabox.width) / 72
        needed = math.ceil(100 * style.MIN_PRINT_PT / min(sizes, default=99) * inches / TEXT_WIDTH)
        if needed > 100:
            raise ReportError(f"{pdf} is too wide for the report: its text would print under "
                              f"{style.MIN_PRINT_PT} pt even at the full text width")
        return max(wanted, needed)

    def fig(self, name: str) -> str:
        """The path of a figure a notebook saved with ``savefig`` (the PDF, vector, where there
        is one)."""
        pdf = self.figures / f"{name}.pdf"
        return str(pdf if pdf.is_file() else self._file(name, ".png"))


def render(results: Results, data: str | None = None) -> str:
    """The report's Markdown, every placeholder filled from ``results``."""
    env = jinja2.Environment(variable_start_string="<<", variable_end_string=">>",
                             block_start_string="<%", block_end_string="%>",
                             comment_start_string="<#", comment_end_string="#>",
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    template = env.from_string(TEMPLATE.read_text())
    data = data or results.v("00_values", "data")
    return template.render(v=results.v, table=results.table, fig=results.fig,
                           width=results.width, cell=results.cell, course=COURSE,
                           data=data, built=date.today().isoformat())


def _fonts() -> list[str]:
    """DejaVu for the symbols the tables carry (τ, →, ±), where it is installed."""
    # fontspec: pandoc's template would load lmodern, which TeX Live's xetex set may lack
    fonts = ["-V", "fontfamily=fontspec"]
    if "DejaVu Serif" in font_families():
        fonts += ["-V", "mainfont=DejaVu Serif", "-V", "sansfont=DejaVu Sans",
                  "-V", "monofont=DejaVu Sans Mono"]
    return fonts


def pages_before_references(pdf: Path) -> tuple[int, int]:
    """``(pages before the references, all pages)``, not counting the front page (title, course,
    date and nothing else): the page on which the references heading stands is the first not
    counted."""
    pages = [page.extract_text() or "" for page in PdfReader(pdf).pages]
    starts = [i for i, text in enumerate(pages) if REFERENCES in text.splitlines()[:3]]
    if not starts:
        raise ReportError(f"{pdf}: no page starts with the heading {REFERENCES!r}")
    return starts[-1] - 1, len(pages) - 1


def build(figures: Path, out: Path, keep_markdown: bool = True) -> tuple[Path, int, int]:
    """Render the report and typeset it to ``out`` (PDF); the Markdown is kept beside it.
    Returns ``(out, pages before the references, pages after the front page)``."""
    ok, why = pdf_available()
    if not ok:
        raise ReportError(f"cannot typeset the report: {why}")
    text = render(Results(figures))
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        md = Path(tmp) / "report.md"
        md.write_text(text)
        done = subprocess.run([pandoc_path(), str(md), "-o", str(out), "--pdf-engine=xelatex",
                               "--resource-path", str(figures), *_fonts()],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise ReportError(f"pandoc failed for {out.name}:\n{done.stderr[-3000:]}")
        if keep_markdown:
            shutil.copy(md, out.with_suffix(".md"))
    body, total = pages_before_references(out)
    if body > MAX_PAGES:
        raise ReportError(f"{out}: {body} pages before the references, the exam allows {MAX_PAGES}")
    return out, body, total


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--figures", type=Path, default=config.figures_dir(quick=False),
                    help="where the executed series saved its figures, tables and values")
    ap.add_argument("--out", type=Path, default=config.project_root() / "reports" / "report.pdf")
    args = ap.parse_args(argv)
    try:
        pdf, body, total = build(args.figures, args.out)
    except ReportError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 1
    print(f"report: {pdf} ({body} pages before the references, {total} after the front page)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
