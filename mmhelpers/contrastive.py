"""Contrastive audio-image alignment (notebook 3b): the Problem 2 losses put to work.

An image encoder and a log-mel audio encoder (those of 1a/1b) each get a projection head; the
pair ``(image_i, audio_i)`` is the positive and every other embedding in the batch a negative
(:func:`mmhelpers.losses.nt_xent` / :func:`~mmhelpers.losses.nt_logistic`, eq. (1) / (5)). No label
is used for training. The learned spaces are then judged by retrieval, linear probes and image
prototypes (:mod:`mmhelpers.retrieval`, whose functions are re-exported here).
"""

from __future__ import annotations

import time
from functools import partial

import numpy as np
import torch
from torch import nn

from . import cache, config, losses, models, precompute, train
from .data import PairedData, PairedLoader
from .retrieval import embed, linear_probe, prototype_accuracy, recall_at_k, run_scores, scores  # noqa: F401

#: the batch losses compared: eq. (1), eq. (5) as written (negatives summed), and eq. (5) with
#: the negative terms averaged, which balances the one positive against the 2N - 2 negatives
LOSSES = {"nt_xent": losses.nt_xent, "nt_logistic": losses.nt_logistic,
          "nt_logistic_mean": partial(losses.nt_logistic, negatives="mean")}
#: temperatures (full, quick)
TAUS = ((0.05, 0.1, 0.3, 1.0), (0.1, 1.0))
#: training pairs, test pairs and epochs per run (full, quick)
SIZES = (dict(n_train=1500, n_test=2000, epochs=6), dict(n_train=800, n_test=400, epochs=1))
FIT = dict(batch_size=256, lr=3e-3)
EMBED_DIM, PROJ_DIM = 64, 32
VERSION = 2


def taus(quick: bool | None = None) -> tuple:
    return TAUS[config.is_quick(quick)]


def sizes(quick: bool | None = None) -> dict:
    return dict(SIZES[config.is_quick(quick)])


class AlignmentModel(nn.Module):
    """Two encoders, each followed by a projection head Linear-BatchNorm-ReLU-Linear (SimCLR's g).

    ``forward(images, audio)`` returns the projections ``(z_img, z_aud)`` the loss compares;
    ``represent`` returns the encoder outputs ``h`` (what a linear probe reads, as in SimCLR).
    The batch norm matters: without it, a few short runs collapsed to one constant projection
    (the loss stuck at ``log(2N - 1)``, every similarity equal).
    """

    def __init__(self, embed_dim: int = EMBED_DIM, proj_dim: int = PROJ_DIM):
        super().__init__()
        self.image_encoder = models.ImageEncoder(embed_dim)
        self.audio_encoder = models.LogMelEncoder(embed_dim)
        head = lambda: nn.Sequential(nn.Linear(embed_dim, embed_dim), nn.BatchNorm1d(embed_dim),  # noqa: E731
                                     nn.ReLU(), nn.Linear(embed_dim, proj_dim))
        self.image_head, self.audio_head = head(), head()

    def represent(self, images, audio) -> tuple[torch.Tensor, torch.Tensor]:
        return self.image_encoder(images), self.audio_encoder(audio)

    def forward(self, images, audio) -> tuple[torch.Tensor, torch.Tensor]:
        h_img, h_aud = self.represent(images, audio)
        return self.image_head(h_img), self.audio_head(h_aud)


# ----------------------------------------------------------------------------- data

def _subset(data: PairedData, n: int, seed: int) -> PairedData:
    idx = np.random.default_rng(seed).choice(len(data), min(n, len(data)), replace=False)
    return data[np.sort(idx)]


def pairs(data: PairedData, split: str, n: int, clean: bool = True,
          seed: int = config.SEED) -> tuple[PairedData, bool]:
    """A fixed subset of ``n`` pairs of ``data`` (``split`` "train" or "test"), as *clean* views
    when ``clean`` and available; returns ``(pairs, whether they are clean)``.

    The embedded dataset keeps every pair before noise (:func:`mmhelpers.embedded.load`); the
    course's files (``MM_DATA``) do not, so their noisy pairs are used as given (``False``).
    """
    sub = _subset(data, n, seed)
    if not clean or config.data_dir() is not None or "index" not in sub.meta:
        return sub, False
    from . import embedded

    return embedded.load(split, clean=True)[sub.meta["index"]], True


# ----------------------------------------------------------------------------- training

def fit(model: AlignmentModel, data: PairedData, loss: str, tau: float, epochs: int, batch_size: int,
        lr: float, seed: int = config.SEED, progress: bool = True) -> list[dict]:
    """Adam with a one-cycle schedule on ``LOSSES[loss](z_img, z_aud, tau)``; per-epoch mean loss."""
    if loss not in LOSSES:
        raise ValueError(f"fit: loss must be one of {tuple(LOSSES)}, got {loss!r}")
    config.seed_everything(seed)
    device = config.device()
    model.to(device).train()
    loader = PairedLoader(data, min(batch_size, len(data)), shuffle=True, seed=seed, drop_last=True)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * len(loader), pct_start=0.15)
    history = []
    for epoch in range(1, epochs + 1):
        t0, total = time.perf_counter(), 0.0
        for images, audio, _ in loader:  # the labels are never used
            value = LOSSES[loss](*model(images.to(device), audio.to(device)), tau)
            opt.zero_grad(set_to_none=True)
            value.backward()
            opt.step()
            sched.step()
            total += value.item()
        history.append({"epoch": epoch, "loss": total / len(loader), "seconds": time.perf_counter() - t0})
    if progress:
        print(f"{loss}, tau={tau:g}: {epochs} epoch(s), loss {history[0]['loss']:.3f} -> {history[-1]['loss']:.3f} "
              f"({sum(h['seconds'] for h in history):.1f} s)", flush=True)
    model.eval()
    return history


def train_or_load(loss: str, tau: float, data: PairedData, epochs: int, batch_size: int = FIT["batch_size"],
                  lr: float = FIT["lr"], seed: int = config.SEED, retrain: bool | None = None,
                  progress: bool = True) -> tuple[AlignmentModel, list[dict]]:
    """A trained :class:`AlignmentModel` for one ``(loss, tau)``: from the cache under
    ``<cache>/contrastive`` when this exact run was done before, else trained (then cached).
    ``tau=None`` returns the untrained model (normalisation fitted): the baseline."""
    config.seed_everything(seed)
    model = AlignmentModel()
    if tau is None:
        models.fit_normalisation(model, data.images, data.audio)
        return model.to(config.device()).eval(), []
    spec = {"loss": loss, "tau": float(tau), "epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed,
            "dims": (EMBED_DIM, PROJ_DIM), "arch": train.architecture(model), "data": data.fingerprint, "v": VERSION}
    path = config.cache_dir() / "contrastive" / f"{loss}-tau{tau:g}-{cache.key(spec)}.pt"
    retrain = config.force_retrain() if retrain is None else retrain
    if path.is_file() and not retrain:
        try:
            blob = train.load_checkpoint(path, model, weights_only=True)
            return model.to(config.device()).eval(), blob["history"]
        except Exception as exc:  # corrupt or incompatible (model untouched): train again
            print(f"cached run {path.name} unusable ({type(exc).__name__}); training again")
    (feats,) = precompute.for_model(model, data)  # the log-mel spectrograms once, not every epoch
    models.fit_normalisation(model, feats.images, feats.audio)  # a cached state holds the statistics
    history = fit(model, feats, loss, tau, epochs, batch_size, lr, seed, progress)
    train.save_atomic(path, {"state_dict": {k: v.cpu() for k, v in model.state_dict().items()}, "history": history})
    return model, history


def grid(train_data: PairedData, test_data: PairedData, loss_names=tuple(LOSSES), tau_values=None,
         epochs: int | None = None, seed: int = config.SEED, progress: bool = True):
    """Train-or-load every ``(loss, tau)`` and score it; plus the untrained baseline.

    Returns ``(table, trained)``: a DataFrame indexed by ``(loss, tau)`` with every metric of
    :func:`scores` and the training seconds, and ``{(loss, tau): model}``.
    """
    import pandas as pd

    tau_values = taus() if tau_values is None else tau_values
    epochs = sizes()["epochs"] if epochs is None else epochs
    runs = [("untrained", None)] + [(loss, t) for loss in loss_names for t in tau_values]
    rows, trained = {}, {}
    for loss, t in runs:
        model, history = train_or_load(loss, t, train_data, epochs, seed=seed, progress=progress)
        row = dict(run_scores(model, train_data, test_data))
        row["train seconds"] = sum(h["seconds"] for h in history)
        row["final loss"] = history[-1]["loss"] if history else np.nan
        rows[(loss, np.nan if t is None else t)] = row
        trained[(loss, t)] = model
    table = pd.DataFrame(rows).T
    table.index.names = ["loss", "tau"]
    return table.round(2), trained


def views_table(loss: str, tau: float, train_views: dict, test_views: dict, epochs: int | None = None,
                seed: int = config.SEED, progress: bool = True,
                metrics=("R@1 aud→img", "probe audio", "audio by image prototype")):
    """One ``(loss, tau)`` trained on each training view (e.g. ``{"clean": ..., "noisy": ...}``,
    the same pairs) and scored on each test view: which pairs make a good positive?"""
    import pandas as pd

    epochs = sizes()["epochs"] if epochs is None else epochs
    rows = {}
    for tr_name, tr in train_views.items():
        model, _ = train_or_load(loss, tau, tr, epochs, seed=seed, progress=progress)
        for te_name, te in test_views.items():
            row = run_scores(model, tr, te)
            rows[(f"trained on {tr_name}", f"tested on {te_name}")] = {m: row[m] for m in metrics}
    return pd.DataFrame(rows).T.round(1)


# ----------------------------------------------------------------------------- figures

def plot_grid(table, metrics=("R@1 aud→img", "probe audio", "audio by image prototype")):
    """Each metric against the temperature (log scale), one line per loss; the untrained
    baseline as a dotted line."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(metrics), figsize=(4.3 * len(metrics), 3.6), squeeze=False)
    trained = table.drop(index="untrained", level="loss", errors="ignore")
    for ax, metric in zip(axes.flat, metrics):
        for i, (loss, part) in enumerate(trained.groupby(level="loss", sort=False)):
            taus_ = part.index.get_level_values("tau")
            ax.plot(taus_, part[metric], "o-", color=f"C{i}", label=loss)
        if "untrained" in table.index.get_level_values("loss"):
            ax.axhline(table.loc["untrained", metric].iloc[0], color="grey", ls=":", label="untrained")
        ax.set(xscale="log", xlabel="temperature τ", ylabel="%", title=metric)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_similarity(models_: dict, data: PairedData, per_class: int = 8):
    """Cosine similarities image (rows) x audio (columns) of a few test pairs sorted by digit,
    one heatmap per model: a trained alignment shows bright diagonal blocks."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    y = data.labels.numpy()
    groups = [np.flatnonzero(y == c)[:per_class] for c in np.unique(y)]
    sub = data[np.concatenate(groups)]
    sizes_ = np.array([len(g) for g in groups])
    ticks = np.cumsum(sizes_) - sizes_ / 2
    fig, axes = plt.subplots(1, len(models_), figsize=(4.2 * len(models_), 4), squeeze=False)
    for ax, (name, model) in zip(axes.flat, models_.items()):
        e = embed(model, sub)
        sns.heatmap(e["z_img"] @ e["z_aud"].T, ax=ax, cmap="RdBu_r", vmin=-1, vmax=1, cbar=False,
                    square=True, xticklabels=False, yticklabels=False, rasterized=True)
        ax.set_xticks(ticks, np.unique(y))
        ax.set_yticks(ticks, np.unique(y))
        ax.set(title=name, xlabel="audio (by digit)", ylabel="image (by digit)")
    fig.tight_layout()
    return fig
