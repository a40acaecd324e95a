"""Which modality a fusion model really uses, measured from outside the model.

Each measure takes a fusion model with frozen members and its members' outputs on the same
pairs (:func:`~mmhelpers.training.frozen_members.member_outputs`), so the two modalities can be
swapped between pairs, averaged over, or replaced, without running the encoders again:

* :func:`emap_accuracy` - EMAP (Hessel & Lee 2020): the accuracy of the model's best *additive*
  approximation ``f(x1, .) + f(., x2) - f(., .)``, the expectations taken over the pairs. If it
  barely drops, the model does not use cross-modal interactions.
* :func:`perceptual_drop` - the perceptual score (Gat et al. 2021): how much the accuracy drops
  when one modality is permuted across the pairs (averaged over permutations).
* :func:`shapley_values` - exact two-player Shapley values of the modalities, the value of a set
  of modalities being the accuracy with the others replaced by their training mean.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import config
from ..cache.results import compute_or_load
from ..data.paired import PairedData
from ..training.frozen_members import member_outputs


@torch.inference_mode()
def fused_logits(
    model, a: torch.Tensor, b: torch.Tensor, batch_size: int = 4096
) -> torch.Tensor:
    """``model.fuse(a, b)`` in eval mode, in batches (a, b: the members' outputs, row-aligned)."""
    model.eval()
    return torch.cat(
        [
            model.fuse(a[i : i + batch_size], b[i : i + batch_size]).float()
            for i in range(0, len(a), batch_size)
        ]
    )


def accuracy(logits: torch.Tensor, labels) -> float:
    """Share (%) of rows whose largest logit is the label."""
    return 100 * float((logits.argmax(1) == torch.as_tensor(labels)).float().mean())


@torch.inference_mode()
def emap_logits(model, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """EMAP's additive projection of ``model`` on the N pairs ``(a_i, b_i)``:
    ``mean_j f(a_i, b_j) + mean_j f(a_j, b_i) - mean_jk f(a_j, b_k)``,
    from all N x N pairings."""
    n = len(a)
    grid = torch.stack(
        [fused_logits(model, a[i].expand(n, *a.shape[1:]), b) for i in range(n)]
    )  # (i: a, j: b)
    return grid.mean(1) + grid.mean(0) - grid.mean((0, 1))


def emap_accuracy(model, a: torch.Tensor, b: torch.Tensor, labels) -> float:
    """The accuracy (%) of :func:`emap_logits`."""
    return accuracy(emap_logits(model, a, b), labels)


def perceptual_drop(
    model,
    a: torch.Tensor,
    b: torch.Tensor,
    labels,
    permutations: int = 5,
    seed: int = config.SEED,
) -> dict:
    """Accuracy (%) minus the accuracy with the image (or the audio) of the pairs
    shuffled, averaged over ``permutations`` shuffles: ``{"image": drop,
    "audio": drop}``."""
    full = accuracy(fused_logits(model, a, b), labels)
    rng = np.random.default_rng(seed)
    drops = {"image": [], "audio": []}
    for _ in range(permutations):
        perm = torch.from_numpy(rng.permutation(len(a)))
        drops["image"].append(full - accuracy(fused_logits(model, a[perm], b), labels))
        drops["audio"].append(full - accuracy(fused_logits(model, a, b[perm]), labels))
    return {k: float(np.mean(v)) for k, v in drops.items()}


def coalition_values(
    model,
    a: torch.Tensor,
    b: torch.Tensor,
    labels,
    a_mean: torch.Tensor,
    b_mean: torch.Tensor,
) -> dict:
    """The accuracy (%) of each set of modalities, the missing ones replaced by
    ``a_mean`` / ``b_mean`` (the members' outputs for the training mean input):
    keys ``()``, ``("image",)``, ``("audio",)``, ``("image", "audio")``."""
    fill_a, fill_b = a_mean.expand_as(a), b_mean.expand_as(b)
    return {
        (): accuracy(fused_logits(model, fill_a, fill_b), labels),
        ("image",): accuracy(fused_logits(model, a, fill_b), labels),
        ("audio",): accuracy(fused_logits(model, fill_a, b), labels),
        ("image", "audio"): accuracy(fused_logits(model, a, b), labels),
    }


def shapley_values(values: dict) -> dict:
    """Exact Shapley values of two players from :func:`coalition_values`:
    each modality's marginal gain averaged over the two orders. They sum to
    ``v(both) - v(none)``."""
    v, both = values, values[("image", "audio")]
    return {"image": 0.5 * ((v[("image",)] - v[()]) + (both - v[("audio",)])),
            "audio": 0.5 * ((v[("audio",)] - v[()]) + (both - v[("image",)]))}


def outputs(model, data: PairedData) -> tuple[torch.Tensor, torch.Tensor]:
    """The members' outputs on ``data`` (what ``model.fuse`` takes), computed once and stored."""
    out = member_outputs(model, data)
    return out.images, out.audio


def mean_outputs(model, means: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """The members' outputs (1, ...) for the training mean image and waveform (``means``:
    :func:`~mmhelpers.analysis.robustness.training_means`)."""
    mean_pair = PairedData(
        means["image"][None],
        means["audio"][None],
        torch.zeros(1, dtype=torch.long),
        name="training means",
    )
    return outputs(model, mean_pair)


def measures(model, data: PairedData, means: dict, permutations: int = 5) -> dict:
    """Every measure of this module for one fusion model on ``data`` (all in %): its accuracy,
    EMAP's, the perceptual drops and the Shapley values of both modalities; stored, so that a
    re-run reads them (:func:`~mmhelpers.cache.results.compute_or_load`)."""
    spec = {"model": model, "data": data, "means": means, "permutations": permutations}
    return compute_or_load("contribution", spec, lambda: _measures(model, data, means, permutations))


def _measures(model, data: PairedData, means: dict, permutations: int) -> dict:
    a, b = outputs(model, data)
    fill_a, fill_b = mean_outputs(model, means)
    values = coalition_values(model, a, b, data.labels, fill_a, fill_b)
    drop, phi = (
        perceptual_drop(model, a, b, data.labels, permutations),
        shapley_values(values),
    )
    return {
        "accuracy": values[("image", "audio")],
        "EMAP accuracy": emap_accuracy(model, a, b, data.labels),
        "drop, image permuted": drop["image"],
        "drop, audio permuted": drop["audio"],
        "Shapley, image": phi["image"],
        "Shapley, audio": phi["audio"],
        "neither (means)": values[()],
    }
