"""Figures: the one save helper, and the plots the notebooks share."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from . import config


def savefig(fig, name: str, quick: bool | None = None) -> Path:
    """Save ``fig`` as ``<figures>/<name>.png`` and ``.pdf``; return the PNG path.

    ``name`` is a bare file stem such as ``"1a_curves"`` (no directory, no extension).
    """
    if not name or Path(name).name != name or Path(name).suffix in {".png", ".pdf"}:
        raise ValueError(f"savefig: name must be a bare file stem like '1a_curves', got {name!r}")
    out = config.figures_dir(quick)
    out.mkdir(parents=True, exist_ok=True)
    png = out / f"{name}.png"
    fig.savefig(png, bbox_inches="tight", dpi=150)
    fig.savefig(out / f"{name}.pdf", bbox_inches="tight")
    return png


def close(fig) -> None:
    plt.close(fig)
