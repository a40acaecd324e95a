"""Judging a contrastive alignment (notebook 3d): every (loss, temperature) run of
:mod:`mmhelpers.training.contrastive` scored by retrieval, linear probes and image prototypes
(:mod:`.retrieval`), in one table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.paired import PairedData
from ..training.catalogue import trained
from ..training.contrastive import LOSSES, grid_taus, untrained_alignment
from .retrieval import run_scores


def grid(train_data: PairedData, test_data: PairedData, taus_by_loss: dict | None = None,
         seed: int | None = None, progress: bool = True):
    """Train-or-load every ``(loss, tau)`` of ``taus_by_loss`` (``{loss: temperatures}``; default
    :func:`~mmhelpers.training.contrastive.grid_taus`, 3d's grid) and score it; plus the untrained
    baseline.

    Returns ``(table, trained)``: a DataFrame indexed by ``(loss, tau)`` with every metric of
    :func:`scores` and the training seconds, and ``{(loss, tau): model}``.
    """
    taus_by_loss = grid_taus() if taus_by_loss is None else taus_by_loss
    unknown = sorted(set(taus_by_loss) - set(LOSSES))
    if unknown:
        raise ValueError(f"grid: taus_by_loss names unknown losses {unknown}; known: {sorted(LOSSES)}")
    runs = [("untrained", None)] + [(loss, t) for loss, values in taus_by_loss.items() for t in values]
    rows, models = {}, {}
    for loss, t in runs:
        if t is None:
            model, history = untrained_alignment(train_data, seed), None
        else:
            model, history = trained("contrastive", train_data, seed, loss=loss, tau=t, progress=progress)
        row = dict(run_scores(model, train_data, test_data))
        row["train seconds"] = history.seconds if history else 0.0
        row["final loss"] = history.epochs[-1]["train_loss"] if history else np.nan
        rows[(loss, np.nan if t is None else t)] = row
        models[(loss, t)] = model
    table = pd.DataFrame(rows).T
    table.index.names = ["loss", "tau"]
    return table.round(2), models


def views_table(loss: str, tau: float, train_views: dict, test_views: dict,
                seed: int | None = None, progress: bool = True,
                metrics=("R@1 aud→img", "probe audio", "audio by image prototype")):
    """One ``(loss, tau)`` trained on each training view (e.g. ``{"clean": ..., "noisy": ...}``,
    the same pairs) and scored on each test view: which pairs make a good positive?"""
    rows = {}
    for tr_name, tr in train_views.items():
        model, _ = trained("contrastive", tr, seed, loss=loss, tau=tau, progress=progress)
        for te_name, te in test_views.items():
            row = run_scores(model, tr, te)
            rows[(f"trained on {tr_name}", f"tested on {te_name}")] = {m: row[m] for m in metrics}
    return pd.DataFrame(rows).T.round(1)
