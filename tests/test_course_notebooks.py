"""The notebooks that use the embedded dataset's noise metadata also run on the course's files.

The course's files (``MM_DATA``) record no scenario, severity or clean version per pair; notebooks 00, 1a,
1c, 1f and 3a-3c read those for the embedded dataset and must skip, not crash, without them. Course-layout
files are written from the quick embedded data; the notebooks run in quick mode with private caches and
figure folders (nothing in the project is written).
"""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import torch

from mmhelpers.data import load_pairs

NOTEBOOKS = ("00", "1a", "1c", "1f", "3a", "3b", "3c")


def write_course_files(root):
    root.mkdir()
    for split, prefix in (("train", "training"), ("test", "test")):
        d = load_pairs(split, quick=True)
        for modality, tensor in (("images", d.images), ("audio", d.audio * 10)):  # course audio: +-2..35
            torch.save(tensor.clone(), root / f"{prefix}_{modality}.pth")
            torch.save(d.labels.clone(), root / f"{prefix}_{modality}_labels.pth")


def test_notebooks_run_on_course_files(tmp_path):
    write_course_files(tmp_path / "course")
    env = dict(os.environ, MM_DATA=str(tmp_path / "course"), MM_CACHE_DIR=str(tmp_path / "cache"),
               MM_FIGURES_DIR=str(tmp_path / "figures"))
    out = subprocess.run([sys.executable, "-m", "tools.run_series", "--quick", "--out",
                          str(tmp_path / "out"), "--only", *NOTEBOOKS], env=env, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    nb = nbformat.read(tmp_path / "out" / "1f_late_fusion.ipynb", as_version=4)
    text = " ".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "The course's files do not record which view of each pair is cleaner" in text
    banner = nb.cells[1].outputs[0]       # the run's settings: HTML in the Lab, out of the PDF
    assert "course files in" in banner["data"]["text/html"]
