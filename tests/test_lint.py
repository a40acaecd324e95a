"""Lint: the package, the tools and the tests with ruff (pyproject.toml); the notebooks with ruff at the
printed page's width (notebooks/ruff.toml: 86 columns, no unused import), and no notebook code cell
longer than the series' limit."""

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: the longest code cell a notebook may hold (lines)
MAX_CELL_LINES = 20
PAGE_COLUMNS = 86


def ruff(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if exe is None:
        pytest.fail("ruff is not installed: `make setup` installs the dev dependencies")
    return subprocess.run([exe, "check", "--no-cache", *args], cwd=ROOT, capture_output=True, text=True)


def test_the_package_tools_and_tests_pass_ruff():
    done = ruff("mmhelpers", "tools", "tests")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_notebooks_pass_ruff_at_the_page_width():
    done = ruff("notebooks")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_notebook_lint_is_at_the_page_width():
    """notebooks/ruff.toml is the one that applies, and it holds the page's width."""
    config = (ROOT / "notebooks" / "ruff.toml").read_text()
    assert f"line-length = {PAGE_COLUMNS}" in config
    done = ruff("--show-settings", "notebooks/00_data.ipynb")
    assert f"line_length = {PAGE_COLUMNS}" in done.stdout.replace("linter.line_length", "line_length")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_code_cell_is_longer_than_the_limit(path):
    nb = nbformat.read(path, as_version=4)
    long = {i: len(c.source.splitlines()) for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and len(c.source.splitlines()) > MAX_CELL_LINES}
    assert not long, f"{path.name}: code cells over {MAX_CELL_LINES} lines (cell index: lines): {long}"


def _listed(path: Path):
    """``(expression, object)`` for every argument of a ``show_source(...)`` call in the notebook,
    evaluated after the notebook's own import lines."""
    import ast

    cells = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    names: dict = {}
    for source in cells:   # the notebook's imports: the package's modules and names
        for node in ast.parse(source).body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                exec(ast.unparse(node), names)
    for source in cells:
        if "show_source(" not in source:
            continue
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "show_source":
                for arg in node.args:
                    expression = ast.unparse(arg)
                    try:
                        yield expression, eval(expression, names)
                    except NameError:   # defined in the notebook itself: ruff sees that code
                        continue


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_listing_a_notebook_shows_fits_the_page(path):
    """What ``show_source`` lists prints at 9 pt, where 88 columns fit the page: no line of the
    package code a lesson shows may be longer (it would wrap with a continuation mark)."""
    from mmhelpers.lesson import source

    long = {expression: max(len(line) for line in source(obj).splitlines())
            for expression, obj in _listed(path)
            if max(len(line) for line in source(obj).splitlines()) > PAGE_COLUMNS + 2}
    assert not long, f"{path.name}: listings wider than the page (columns): {long}"
