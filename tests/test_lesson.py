"""What a lesson shows: listings of the code that runs, and claims that fail when they stop holding."""

import ast
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from mmhelpers.data import PairedData
from mmhelpers.lesson import LISTING_WIDTH, check, false_claims, noise_recorded, show_source, source
from mmhelpers.models.encoders import ImageEncoder, image_cnn


def test_show_source_lists_the_running_code_highlighted_for_lab_and_pdf():
    listing = show_source(image_cnn, ImageEncoder.forward)
    text = source(image_cnn, ImageEncoder.forward)
    assert text.startswith("def image_cnn(") and "\n\ndef forward(self, images" in text   # dedented method
    assert "nn.Conv2d(in_channels, 32" in text
    assert "class=\"highlight" in listing._repr_html_() or "<span" in listing._repr_html_()
    latex = listing._repr_latex_()                      # what the PDF export reads
    assert latex.startswith("\\begin{Verbatim}[commandchars=\\\\\\{\\},fontsize=\\small]\n")
    assert latex.rstrip().endswith("\\end{Verbatim}") and "\\PY{" in latex
    with pytest.raises(TypeError, match="no source"):
        source(len)
    with pytest.raises(ValueError, match="at least one"):
        source()


def test_check_shows_a_false_claim_and_goes_on(capsys, monkeypatch):
    monkeypatch.delenv("MM_FALSE_CLAIMS", raising=False)
    check("two is more than one", 2 > 1)
    assert capsys.readouterr().out == "✓ two is more than one\n"
    check("one is more than two (1 against 2)", np.bool_(1 > 2))
    out = capsys.readouterr().out
    assert out == "✗ one is more than two (1 against 2)  <- DOES NOT HOLD in this run\n"
    assert false_claims("✓ fine\n" + out) == ["one is more than two (1 against 2)  <- DOES NOT HOLD in this run"]
    monkeypatch.setenv("MM_FALSE_CLAIMS", "more than one")          # the runner's test switch
    check("two is more than one", True)
    assert capsys.readouterr().out.startswith("✗ two is more than one")


def test_noise_recorded_says_what_the_course_files_lack(capsys):
    n = 4
    course = PairedData(torch.zeros(n, 1, 28, 28), torch.zeros(n, 1, 8000), torch.zeros(n, dtype=torch.long))
    assert not noise_recorded(course, "the severities")
    assert capsys.readouterr().out == "The course's files do not record the severities: skipped here.\n"
    course.meta.update(image_noise=np.zeros(n), audio_noise=np.zeros(n))
    assert noise_recorded(course) and capsys.readouterr().out == ""


def test_a_full_mode_claim_is_only_reported_in_quick_mode(capsys, monkeypatch):
    monkeypatch.setenv("MM_QUICK", "1")
    check("the model learned", False, full_mode_only=True)
    out = capsys.readouterr().out
    assert out == "✗ the model learned (quick mode: not asserted)\n" and false_claims(out) == []
    monkeypatch.setenv("MM_QUICK", "0")
    check("the model learned", False, full_mode_only=True)
    assert false_claims(capsys.readouterr().out) == ["the model learned  <- DOES NOT HOLD in this run"]


NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def shown_objects(path: Path) -> list[tuple[str, object]]:
    """``(expression, object)`` for every argument of ``show_source(...)`` in a notebook,
    resolved through the notebook's own import statements (imports only: nothing runs)."""
    cells = [ast.parse(c.source) for c in nbformat.read(path, as_version=4).cells
             if c.cell_type == "code" and "%" not in c.source]
    namespace: dict = {}
    for tree in cells:
        imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        exec(compile(ast.Module(imports, []), str(path), "exec"), namespace)
    shown = []
    for tree in cells:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "show_source":
                shown += [(ast.unparse(a), eval(ast.unparse(a), namespace)) for a in node.args]
    return shown


def test_every_listing_a_notebook_shows_fits_the_pdf_page_without_wrapping():
    shown = {path.name: shown_objects(path) for path in NOTEBOOKS}
    assert sum(map(len, shown.values())) >= 25          # the parse found the listings
    too_long = [f"{name}: {expr}: {line.strip()[:50]}... ({len(line)} characters)"
                for name, objects in shown.items() for expr, obj in objects
                for line in source(obj).splitlines() if len(line) > LISTING_WIDTH]
    assert not too_long, "\n".join(too_long)
