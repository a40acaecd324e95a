"""Tables as a reader sees them: pandas' own HTML in JupyterLab, a LaTeX table in the PDF, and
the one Markdown table writer (:func:`markdown_table`: notebooks' Markdown cells, the tools' reports).

A DataFrame's plain-text form wraps and breaks in an exported PDF. :func:`latex_table` gives
the exporter a booktabs table instead (pandas' ``Styler.to_latex``), shrunk to the page width
when it is wider; :func:`register_latex_tables` makes every DataFrame a notebook displays carry
it (the opening cell calls it).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .. import config

MAX_DECIMALS = 4
TABLE_PT = 9           # tables are set in \small (9 pt with the report's 10 pt text)
SMALLEST_SCALE = round(7 / TABLE_PT, 3)   # never shrunk below 7 pt when printed


def decimals(values, max_decimals: int = MAX_DECIMALS) -> int:
    """The fewest decimals (at most ``max_decimals``) that show every finite value of a
    float column as it is: 2 for [98.94, 0.5], 0 for [1.0, 12.0]."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    for d in range(max_decimals + 1):
        # rtol: a float32 value (97.699997) shows as what it stands for (97.7)
        if np.allclose(np.round(finite, d), finite, rtol=1e-6, atol=10.0 ** -(max_decimals + 2)):
            return d
    return max_decimals


def latex_table(table: pd.DataFrame | pd.Series) -> str:
    """``table`` as a centred booktabs ``tabular``, special characters escaped; float columns
    with the fewest decimals that show them (:func:`decimals`); a table wider than the text is
    scaled to fit, never below ``SMALLEST_SCALE``."""
    frame = table.to_frame() if isinstance(table, pd.Series) else table
    styler = frame.style.format(escape="latex", na_rep="--")
    for column in frame.columns:
        floats = [v for v in frame[column] if isinstance(v, (float, np.floating))]
        if floats:   # a float column, or floats among the strings of an object column
            d = decimals(floats)
            styler = styler.format(lambda v, d=d: f"{v:.{d}f}" if isinstance(
                v, (float, np.floating)) else v, escape="latex", na_rep="--", subset=[column])
    styler = styler.format_index(escape="latex", axis=0).format_index(escape="latex", axis=1)
    for level in range(frame.index.nlevels):     # float index levels (e.g. a temperature)
        values = frame.index.get_level_values(level)
        if pd.api.types.is_float_dtype(values):
            d = decimals(values)
            styler = styler.format_index(lambda v, d=d: "--" if pd.isna(v) else f"{v:.{d}f}",
                                         axis=0, level=level)
    body = styler.to_latex(hrules=True, multirow_align="naive",   # needs no multirow package
                           column_format="l" * frame.index.nlevels + "r" * frame.shape[1])
    return ("\\begin{center}\\small\n"
            f"\\adjustbox{{max width=\\linewidth, min width={SMALLEST_SCALE}\\width}}{{%\n"
            f"{body}}}\n\\end{{center}}\n")


def register_latex_tables(shell) -> None:
    """Make ``shell`` (an IPython shell) display every DataFrame and Series with a LaTeX
    form as well, which the PDF exporter prefers to the wrapped plain text."""
    formatter = shell.display_formatter.formatters["text/latex"]
    formatter.for_type(pd.DataFrame, latex_table)
    formatter.for_type(pd.Series, latex_table)


def _shown_len(text: str) -> int:
    """Rough printed width of Markdown with LaTeX: a command counts as two characters, markup as none."""
    return len(re.sub(r"[${}^_\\]", "", re.sub(r"\\[a-zA-Z]+", "xx", text)))


def markdown_table(headers, rows, fmt: str = "{:.3g}") -> str:
    """A Markdown table (floats through ``fmt``) for ``IPython.display.Markdown``.

    The separator's dashes follow each column's longest entry: pandoc sizes the columns of wide
    tables by them in the PDF export.
    """
    cell = lambda v: fmt.format(v) if isinstance(v, (float, np.floating)) else str(v)  # noqa: E731
    body = [[cell(v) for v in row] for row in rows]
    widths = [2 + max(6, *(_shown_len(c) for c in [str(h), *(r[i] for r in body)])) for i, h in enumerate(headers)]
    lines = ["| " + " | ".join(map(str, headers)) + " |", "|" + "|".join("-" * w for w in widths) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])


def _output_path(name: str, suffix: str, quick: bool | None) -> Path:
    if not name or Path(name).name != name or Path(name).suffix:
        raise ValueError(f"save: name must be a bare file stem like '1f_results', got {name!r}")
    out = config.figures_dir(quick)
    out.mkdir(parents=True, exist_ok=True)
    return out / f"{name}{suffix}"


def save_table(table, name: str, quick: bool | None = None, digits: int = 2) -> None:
    """Save a DataFrame as a Markdown table ``<figures>/<name>.md``, its index as the first
    column (for the README and the report, ``tools/report.py``). Returns nothing, so that a
    cell ending with it displays nothing."""
    path = _output_path(name, ".md", quick)
    head = [str(table.index.name or "")] + [str(c) for c in table.columns]
    rows = [[str(i), *r] for i, r in zip(table.index, table.itertuples(index=False))]
    path.write_text(markdown_table(head, rows, f"{{:.{digits}f}}") + "\n")


def save_values(values: dict, name: str, quick: bool | None = None) -> None:
    """Save a notebook's headline numbers as ``<figures>/<name>.json`` (numbers and short
    strings, by name), for the report (``tools/report.py``): no number is typed twice.
    Returns nothing, so that a cell ending with it displays nothing."""
    path = _output_path(name, ".json", quick)

    def plain(v):
        if isinstance(v, (np.integer, np.floating, np.bool_)):
            return v.item()
        if isinstance(v, (int, float, str, bool)):
            return v
        raise TypeError(f"save_values({name!r}): values must be numbers or strings, got {type(v).__name__}")

    path.write_text(json.dumps({str(k): plain(v) for k, v in values.items()}, indent=1,
                               ensure_ascii=False) + "\n")

