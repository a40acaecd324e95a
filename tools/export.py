"""Export executed notebooks to PDF (nbconvert's LaTeX exporter + xelatex) and HTML.

    python -m tools.export notebooks/ --out reports --formats pdf html --combined series

Writes ``<out>/<stem>.pdf`` and ``.html`` per notebook, and ``<out>/series.pdf``/``.html``: the
notebooks merged in order into one (one title page, one table of contents). A cleaned *copy*
is exported; sources are only read and nothing is written outside ``out``. In that copy, cells
tagged ``setup``/``remove-input`` lose their input, ``remove-output`` their outputs and
``remove-cell`` everything; stderr streams and tqdm widgets are dropped; figures are vector PDF
where the cell also emitted ``application/pdf``; the title is metadata ``title``, else the first
``# heading`` (not printed twice), and ``authors`` come from metadata. Without xelatex or pandoc
(``scripts/setup_export.sh`` installs them) PDF is skipped with a one-line reason; HTML is
still written. The LaTeX layout is ``templates/mmreport.tex.j2``; the cleaned copy is made by
:mod:`tools.report_copy`.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path
from unittest import mock

from mmhelpers import config

from .report_copy import REMOVE_CELL_TAGS, REMOVE_INPUT_TAGS, SERIES_TITLE, merge_notebooks, prepare

FORMATS = ("pdf", "html")
TEMPLATES = Path(__file__).resolve().parent / "templates"
TEX_PACKAGES = "texlive-xetex texlive-fonts-recommended texlive-plain-generic"
# LaTeX packages nbconvert's template loads that a bare TeX install may lack.
_STY = ("tcolorbox.sty", "adjustbox.sty", "titling.sty", "upquote.sty", "eurosym.sty",
        "ucs.sty", "mathrsfs.sty", "soul.sty", "unicode-math.sty", "pgf.sty", "enumitem.sty")
INSTALL_HINT = (f"run scripts/setup_export.sh, or install XeLaTeX (Debian/Ubuntu: sudo apt-get "
                f"install --no-install-recommends {TEX_PACKAGES}; macOS: MacTeX; Windows: MiKTeX) "
                f"and pandoc (pip install pypandoc_binary)")


class ExportError(RuntimeError):
    """An export could not be done; the message says why and what to install or fix."""


def pandoc_path() -> str | None:
    """pandoc on PATH, else the binary inside the ``pypandoc_binary`` wheel, else ``None``."""
    found = shutil.which("pandoc")
    if found:
        return found
    spec = importlib.util.find_spec("pypandoc")  # locates the package without importing it
    if spec and spec.origin:
        exe = Path(spec.origin).parent / "files" / ("pandoc.exe" if os.name == "nt" else "pandoc")
        if exe.is_file() and os.access(exe, os.X_OK):
            return str(exe)
    return None


def pdf_available() -> tuple[bool, str]:
    """Whether PDF export can run here, and why not (with what to install)."""
    xelatex = shutil.which("xelatex")
    if not xelatex:
        return False, f"xelatex not found; {INSTALL_HINT}"
    pandoc = pandoc_path()
    if not pandoc:
        return False, "pandoc not found; pip install pypandoc_binary (or apt-get install pandoc)"
    kpsewhich = shutil.which("kpsewhich")
    if kpsewhich:
        out = subprocess.run([kpsewhich, *_STY], capture_output=True, text=True).stdout
        found = {Path(line.strip()).name for line in out.splitlines()}
        missing = [s for s in _STY if s not in found]
        if missing:
            return False, (f"LaTeX packages missing ({', '.join(missing)}); Debian/Ubuntu: apt-get "
                           f"install texlive-latex-extra texlive-latex-recommended {TEX_PACKAGES}; "
                           f"TeX Live: tlmgr install the missing packages")
    return True, f"xelatex: {xelatex}; pandoc: {pandoc}"


def _pandoc_on_path():
    """A context that puts the wheel's pandoc on PATH (for nbconvert) if none is there."""
    exe, path = pandoc_path(), os.environ.get("PATH", "")
    if exe and not shutil.which("pandoc"):
        path = str(Path(exe).parent) + os.pathsep + path
    return mock.patch.dict(os.environ, {"PATH": path})


def _config(latex_runs: int = 2):
    from traitlets.config import Config

    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_input_tags = set(REMOVE_INPUT_TAGS)
    c.TagRemovePreprocessor.remove_cell_tags = set(REMOVE_CELL_TAGS)
    c.TemplateExporter.extra_template_paths = [str(TEMPLATES)]
    c.PDFExporter.template_file = "mmreport.tex.j2"
    c.PDFExporter.latex_count = latex_runs
    c.PDFExporter.raw_mimetypes = ["text/latex", ""]  # its default ('application/pdf') drops raw LaTeX
    c.HTMLExporter.embed_images = True
    return c


def _pdf_exporter(latex_runs: int):
    from nbconvert import PDFExporter
    from nbconvert.exporters.pdf import LatexFailed

    class _Exporter(PDFExporter):
        """nbconvert's PDF exporter, keeping the last .tex and .log for errors and --keep-tex."""

        tex_source = latex_log = ""

        def run_latex(self, filename, raise_on_failure=LatexFailed):
            self.tex_source = Path(filename).read_text(encoding="utf-8")
            try:
                return super().run_latex(filename, raise_on_failure)
            finally:
                log = Path(filename).with_suffix(".log")
                self.latex_log = log.read_text("utf-8", "replace") if log.is_file() else ""

        def run_bib(self, filename, raise_on_failure=False):
            return False  # the notebooks cite nothing: skip bibtex (and its "problems" warning)

    return _Exporter(config=_config(latex_runs))


def _latex_errors(log: str) -> str:
    lines = log.splitlines()
    errs = [ln + next((" " + x.strip() for x in lines[i + 1:i + 8] if x.startswith("l.")), "")
            for i, ln in enumerate(lines) if ln.startswith("!")]
    return "; ".join(dict.fromkeys(errs)) or "no '!' error in the log"


def _export_one(fmt: str, nb, meta: dict, dest: Path, keep_tex: bool, say) -> None:
    resources = {"metadata": {"name": dest.stem, "path": meta["path"]}, "mm": meta}
    if fmt == "html":
        from nbconvert import HTMLExporter
        from nbformat.v4 import new_markdown_cell

        # HTML shows no title block: the title (and authors) open the page as a heading.
        head = f"# {meta['title']}" + (f"\n\n*{', '.join(meta['authors'])}*" if meta["authors"] else "")
        nb = copy.copy(nb)
        nb.cells = [new_markdown_cell(head)] + nb.cells
        html, _ = HTMLExporter(config=_config(), template_name="lab").from_notebook_node(
            nb, resources=resources)
        dest.write_text(html, encoding="utf-8")
        return
    from nbconvert.exporters.pdf import LatexFailed

    lost, fallback = [], None
    for _ in range(2):  # a second pass only to take glyphs Latin Modern lacks from DejaVu
        resources["mm"] = {**meta, "fallback": fallback}
        exporter = _pdf_exporter(3 if meta["toc"] else 2)
        try:
            pdf, _ = exporter.from_notebook_node(nb, resources=copy.deepcopy(resources))
        except LatexFailed:
            dest.unlink(missing_ok=True)  # no stale PDF from an earlier run
            dest.with_suffix(".tex").write_text(exporter.tex_source, encoding="utf-8")
            dest.with_suffix(".log").write_text(exporter.latex_log, encoding="utf-8")
            raise ExportError(f"xelatex failed for {dest.name}: {_latex_errors(exporter.latex_log)}"
                              f" (see {dest.with_suffix('.tex')} and .log)") from None
        lost = sorted(set(re.findall(r"Missing character: There is no (.) ", exporter.latex_log)))
        if fallback or not lost or not _has_fallback_fonts():
            break
        fallback = [(ch, f"{ord(ch):X}") for ch in lost]
    dest.write_bytes(pdf)
    dest.with_suffix(".log").unlink(missing_ok=True)  # left by an earlier failure
    if keep_tex:
        dest.with_suffix(".tex").write_text(exporter.tex_source, encoding="utf-8")
    else:
        dest.with_suffix(".tex").unlink(missing_ok=True)
    if lost:
        say(f"warning: {dest.name}: characters no installed font has, left out: {' '.join(lost)}")


def font_families() -> set[str]:
    """The font families fontconfig knows (``fc-list``), empty where it is not installed."""
    fc_list = shutil.which("fc-list")
    if not fc_list:
        return set()
    out = subprocess.run([fc_list, ":", "family"], capture_output=True, text=True).stdout
    return {f.strip() for line in out.splitlines() for f in line.split(",")}


def _has_fallback_fonts() -> bool:
    return {"DejaVu Sans", "DejaVu Sans Mono"} <= font_families()


def _natural(path: Path):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def find_notebooks(paths) -> list[Path]:
    """Notebook files from files and directories (a directory's ``*.ipynb``, natural order)."""
    found: list[Path] = []
    for p in map(Path, [paths] if isinstance(paths, (str, Path)) else paths):
        if p.is_dir():
            found += sorted((q for q in p.glob("*.ipynb") if not q.name.startswith(".")), key=_natural)
        elif p.suffix == ".ipynb" and p.is_file():
            found.append(p)
        else:
            raise ExportError(f"not a notebook (.ipynb) or a directory: {p}")
    return list(dict.fromkeys(q.resolve() for q in found))


def export_notebooks(paths, out_dir=None, formats=FORMATS, combined: str | None = "series", *,
                     title: str | None = None, keep_tex: bool = False, require_pdf: bool = False,
                     quiet: bool = False) -> list[Path]:
    """Export notebooks to ``out_dir`` (default ``<project>/reports``); return the written paths.

    ``combined``: file stem of the merged series (``None``: none; needs two or more notebooks).
    ``title``: the series' title. Without xelatex/pandoc, PDF is skipped with a one-line
    reason (``require_pdf=True``: raise instead). Failed exports are reported, the rest are
    still written, then :class:`ExportError` is raised (with ``.written``).
    """
    say = (lambda msg: None) if quiet else (lambda msg: print(msg, flush=True))
    formats = list(dict.fromkeys(formats))
    if not formats or set(formats) - set(FORMATS):
        raise ExportError(f"formats must be among {FORMATS}, got {formats}")
    notebooks = find_notebooks(paths)
    if not notebooks:
        raise ExportError(f"no notebooks found in {paths}")
    out = Path(out_dir) if out_dir else config.project_root() / "reports"
    stems = [p.stem for p in notebooks]
    if combined and (Path(combined).name != combined or "." in combined):
        raise ExportError(f"combined must be a bare file stem like 'series', got {combined!r}")
    combined = combined if combined and len(notebooks) > 1 else None
    clash = {s for s in stems + [combined] if s and (stems + [combined]).count(s) > 1}
    if clash:
        raise ExportError(f"two exports would share the name(s) {sorted(clash)} in {out}")
    if "pdf" in formats:
        ok, why = pdf_available()
        if not ok and require_pdf:
            raise ExportError(f"PDF export unavailable: {why}")
        if not ok:
            say(f"PDF skipped: {why}")
            formats.remove("pdf")
    out.mkdir(parents=True, exist_ok=True)
    parts = [prepare(p, say) for p in notebooks]
    jobs = list(zip(stems, parts))
    if combined:
        jobs.append((combined, merge_notebooks(parts, title or SERIES_TITLE)))
    written, failures = [], []
    with _pandoc_on_path(), warnings.catch_warnings():
        # an HTML-only output (the opening cell's settings) is meant for JupyterLab alone
        warnings.filterwarnings("ignore", message=r"Your element with mimetype\(s\) dict_keys\(\['text/html'\]\)")
        for stem, (nb, meta) in jobs:
            for fmt in formats:
                dest = out / f"{stem}.{fmt}"  # .pdf/.html (.tex/.log): never a source .ipynb
                start = time.perf_counter()
                try:
                    _export_one(fmt, nb, meta, dest, keep_tex, say)
                except ExportError as exc:
                    failures.append(str(exc))
                    say(f"FAILED {exc}")
                    continue
                written.append(dest)
                say(f"{fmt:4s} {dest}  ({time.perf_counter() - start:.1f} s)")
    if failures:
        err = ExportError(f"{len(failures)} export(s) failed:\n" + "\n".join(failures))
        err.written = written
        raise err
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.export", description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="+", help="notebooks or directories of notebooks (executed)")
    ap.add_argument("--out", default=None, help="output directory (default: <project>/reports)")
    ap.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    ap.add_argument("--combined", default="series", help="stem of the merged series file ('' = none)")
    ap.add_argument("--title", default=None, help=f"title of the combined file ({SERIES_TITLE!r})")
    ap.add_argument("--keep-tex", action="store_true", help="also write the .tex next to each PDF")
    ap.add_argument("--require-pdf", action="store_true", help="fail (exit 2) when PDF is unavailable")
    args = ap.parse_args(argv)
    try:
        export_notebooks(args.paths, args.out, args.formats, args.combined or None, title=args.title,
                         keep_tex=args.keep_tex, require_pdf=args.require_pdf)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if str(exc).startswith("PDF export unavailable") else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
