"""tools/claims.py: each claim of an executed notebook, identified across runs with other seeds."""

from pathlib import Path

import nbformat
from nbformat import v4

from tools import claims


def _executed(folder: Path, name: str, cells: list[list[str]]) -> None:
    """A notebook whose code cells printed ``cells`` (one list of lines per cell)."""
    folder.mkdir(parents=True, exist_ok=True)
    nb = v4.new_notebook()
    nb.cells = [v4.new_code_cell("...", outputs=[v4.new_output("stream", name="stdout", text="\n".join(lines) + "\n")])
                for lines in cells]
    nbformat.write(nb, folder / name)


def test_claims_are_matched_by_place_and_counted_over_seeds(tmp_path):
    runs = tmp_path / "claims"
    _executed(tmp_path / "executed", "1f_x.ipynb", [["✓ late fusion is ahead (0.41 points)", "table follows"],
                                                    ["✓ the heads agree", "✓ full mode claim (quick mode: not asserted)"]])
    _executed(runs / "offset-10", "1f_x.ipynb", [["✓ late fusion is ahead (0.38 points)"],
                                                 ["✗ the heads agree  <- DOES NOT HOLD in this run"]])
    kept = claims.runs(runs, tmp_path / "executed")
    assert list(kept) == [0, 10]
    frame = claims.table(kept)
    assert frame.loc[("1f_x", 1, 0), "claim"] == "late fusion is ahead (0.41 points)"   # the lowest offset's text
    assert frame.loc[("1f_x", 1, 0), ["tried", "held"]].tolist() == [2, 2]
    assert frame.loc[("1f_x", 2, 0), ["offset 0", "offset 10", "held"]].tolist() == ["✓", "✗", 1]
    assert len(frame) == 2                                    # the quick-mode line is not a claim
    doc = tmp_path / "claims.md"
    text = claims.write_doc(frame, kept, doc)
    assert "| 1f_x | 2 | 1 | 2, 2 |" in text
    assert "| 1f_x | 2 | the heads agree | ✓ | ✗ | 1/2 |" in doc.read_text(encoding="utf-8")
