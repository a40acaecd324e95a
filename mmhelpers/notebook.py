"""The opening cell every notebook shares: ``from mmhelpers.notebook import setup; cfg = setup()``."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import html
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython import get_ipython
from IPython.display import display
from matplotlib_inline.backend_inline import set_matplotlib_formats

from . import config
from .plots import style, tables


@dataclass(frozen=True)
class Settings:
    """What the opening cell decided, for the rest of the notebook to read."""

    quick: bool
    seed: int
    device: object
    data: str
    figures: Path
    cache: Path

    def by_mode(self, full, quick):
        """``full`` in full mode, ``quick`` in quick mode (:func:`mmhelpers.config.by_mode`)."""
        return config.by_mode(full, quick, self.quick)

    def __str__(self) -> str:
        mode = "quick (smoke) mode" if self.quick else "full mode"
        return (f"{mode} | seed {self.seed} | device {self.device} | data: {self.data} | "
                f"figures: {_short(self.figures)} | cache: {_short(self.cache)}")


def _short(path: Path) -> str:
    """A path relative to the project when inside it (reports should not show this machine's paths)."""
    try:
        return str(path.relative_to(config.project_root()))
    except ValueError:
        return str(path)


def release_free_memory(*_) -> bool:
    """Hand the memory the C allocator holds free back to the system (glibc's ``malloc_trim``);
    ``False`` where the C library has no such call.

    The project runs with glibc's trimming switched off (the Makefile's ``MALLOC_MMAP_MAX_=0`` and
    ``MALLOC_TRIM_THRESHOLD_``): a training loop that frees and allocates the same tensors every
    batch then reuses them instead of asking the system again, about 1.5x faster. The cost is that
    a cell's peak stays allocated for the rest of the notebook; released after each cell, the
    speed stays inside the cell and the memory goes between cells.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


@functools.cache
def _malloc_trim():
    """The C library's ``malloc_trim``, looked up once; ``None`` where there is none."""
    return getattr(ctypes.CDLL(ctypes.util.find_library("c")), "malloc_trim", None)


def _release_memory_after_each_cell(shell) -> None:
    if release_free_memory not in shell.events.callbacks["post_run_cell"]:
        shell.events.register("post_run_cell", release_free_memory)


def setup(seed: int | None = None, quiet: bool = False) -> Settings:
    """Seed everything, set plot styles, and report the run's settings.

    Figures are rendered as PNG (for JupyterLab) *and*, in full mode, PDF (picked by the LaTeX
    exporter, so exported reports get vector graphics). Quick (smoke) mode renders PNG only:
    the second rendering of every figure was a tenth of its run time.
    """
    seed = config.seed_everything(config.training_seed() if seed is None else seed)
    threads = config.threads()
    if threads:
        torch.set_num_threads(threads)
    style.apply()
    # pdf.fonttype 3 (matplotlib's default): glyphs drawn as vector outlines. Type 42 (whole
    # TrueType fonts, easier to edit in a vector editor) spent ~0.35 s per figure subsetting the fonts
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 150, "figure.autolayout": False,
                         "pdf.fonttype": 3})
    set_matplotlib_formats(*(("png",) if config.is_quick() else ("png", "pdf")))
    pd.set_option("display.max_columns", 20)
    shell = get_ipython()
    if shell is not None:   # tables reach the exported PDF as LaTeX, not wrapped text
        tables.register_latex_tables(shell)
        _release_memory_after_each_cell(shell)
    warnings.filterwarnings("ignore", category=UserWarning, module="torch")
    warnings.filterwarnings("ignore", category=FutureWarning)
    logging.getLogger("matplotlib").setLevel(logging.WARNING)

    src = config.data_dir()
    settings = Settings(quick=config.is_quick(), seed=seed, device=config.device(),
                        data=f"course files in {src}" if src else "embedded (offline) dataset",
                        figures=config.figures_dir(), cache=config.cache_dir())
    if not quiet:
        show_settings(settings, shell is not None)
    return settings


def show_settings(settings: Settings, in_notebook: bool) -> None:
    """The run's settings for whoever runs the notebook: in a notebook as HTML only, which the
    PDF export leaves out (a printed lesson has no use for this machine's paths); elsewhere
    printed."""
    if in_notebook:
        display({"text/html": f"<small><code>{html.escape(str(settings))}</code></small>"},
                raw=True)
    else:
        print(settings)
