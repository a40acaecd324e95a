"""Every layer of a trained encoder, pooled globally: what a fusion-point search chooses from.

The image encoder (:func:`~mmhelpers.models.encoders.image_cnn`) has three such layers: after each
of its two convolution blocks (32 and 64 channels) and its embedding (100). The log-mel encoder has
five: after each of its four convolutions (16, 32, 64, 64 channels) and its embedding (100). A
convolution's output is averaged over its positions (global average pooling), so every layer gives
one vector per pair. They are computed once per split and encoder and stored
(:mod:`mmhelpers.cache.results`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..cache.results import compute_or_load
from ..data.paired import PairedData
from ..models.encoders import ImageEncoder, LogMelEncoder


def taps(encoder: nn.Module) -> list[nn.Module]:
    """The modules whose outputs are the encoder's layers, in order."""
    if isinstance(encoder, ImageEncoder):
        kinds = (nn.MaxPool2d, nn.Linear)
    elif isinstance(encoder, LogMelEncoder):
        kinds = (nn.ReLU, nn.Linear)
    else:
        raise TypeError(f"layer taps: an ImageEncoder or a LogMelEncoder, got {type(encoder).__name__}")
    return [m for m in encoder.net if isinstance(m, kinds)]


@torch.inference_mode()
def _pooled(encoder: nn.Module, inputs: torch.Tensor, batch_size: int = 1024) -> list[np.ndarray]:
    found: list = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: found.append(out.float().flatten(2).mean(2)
                                                                        if out.dim() > 2 else out.float()))
             for m in taps(encoder)]
    per_layer: list[list] = [[] for _ in hooks]
    try:
        for start in range(0, len(inputs), batch_size):
            found.clear()
            encoder(inputs[start:start + batch_size])
            for k, out in enumerate(found):
                per_layer[k].append(out.cpu())
    finally:
        for h in hooks:
            h.remove()
    return [torch.cat(p).numpy() for p in per_layer]


def layer_outputs(image_encoder: nn.Module, audio_encoder: nn.Module, data: PairedData) -> PairedData:
    """``data`` with every pooled layer in place of its inputs, side by side: ``images`` (N, sum of
    the image layers' widths, :func:`layer_dims`), ``audio`` likewise. Computed once per split and
    pair of encoders, and stored."""
    def compute():
        image_encoder.eval(), audio_encoder.eval()
        image = np.concatenate(_pooled(image_encoder, data.images), axis=1)
        audio = np.concatenate(_pooled(audio_encoder, data.audio), axis=1)
        return {"image": image, "audio": audio}

    out = compute_or_load("layer_outputs", {"encoders": [image_encoder, audio_encoder], "data": data}, compute)
    return PairedData(torch.from_numpy(out["image"]), torch.from_numpy(out["audio"]), data.labels, data.meta,
                      data.has_labels, f"{data.name} [layer outputs]",
                      f"{data.fingerprint}|layer outputs" if data.fingerprint else "", "layer outputs")


def layer_dims(encoder: nn.Module) -> tuple[int, ...]:
    """The widths of the encoder's pooled layers (channels of a convolution, size of a linear)."""
    tapped = taps(encoder)
    dims, last = [], None
    for m in encoder.net:
        if isinstance(m, nn.Conv2d):
            last = m.out_channels
        if any(m is t for t in tapped):
            dims.append(m.out_features if isinstance(m, nn.Linear) else last)
    return tuple(dims)
