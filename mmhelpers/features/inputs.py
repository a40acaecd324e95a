"""Input stages: each turns one raw modality into the normalised tensor an encoder reads.

An input stage carries ``modality`` and ``fit_normalisation(x)``, which is how
:func:`mmhelpers.models.classifier.fit_normalisation` finds what to fit on the training split. The signal
processing they use (log-mel, amplitude normalisation, :class:`Standardize`) is in
:mod:`.logmel` and :mod:`.standardize`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..data.paired import IMAGE_SHAPE
from .logmel import N_SAMPLES, AmplitudeNorm, LogMel, pool_to
from .standardize import Standardize

IMAGE_SIZE = IMAGE_SHAPE[-1]


def _check_images(x, who: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or tuple(x.shape[2:]) != (IMAGE_SIZE, IMAGE_SIZE):
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{who}: images must be a tensor (B, C, 28, 28), got {got}")
    return x


class RandomShift(nn.Module):
    """Training-time augmentation: each image moves by a random whole number of pixels, up to
    ``max_shift`` in x and in y, with zeros shifted in. The identity in ``eval()`` mode.

    MNIST digits are centred by their centre of mass, so a CNN trained on few digits learns their
    exact positions; the jitter teaches it that a digit is the same a pixel or two away.
    """

    def __init__(self, max_shift: int = 2):
        super().__init__()
        if max_shift < 0:
            raise ValueError(f"RandomShift: max_shift must be >= 0, got {max_shift}")
        self.max_shift = int(max_shift)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.max_shift
        if not self.training or k == 0:
            return x
        b, c, h, w = x.shape
        padded = F.pad(x, (k, k, k, k))
        dy, dx = (torch.randint(0, 2 * k + 1, (b,), device=x.device) for _ in range(2))
        rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
        cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
        batch = torch.arange(b, device=x.device)[:, None, None, None]
        chan = torch.arange(c, device=x.device)[None, :, None, None]
        return padded[batch, chan, rows, cols]

    def extra_repr(self) -> str:
        return f"max_shift={self.max_shift}"


class ImageInput(nn.Module):
    """Images -> (training mode only: a :class:`RandomShift` of up to ``max_shift`` pixels, black
    shifted in) -> standardised images (one scalar mean/std over all training pixels)."""

    modality = "image"

    def __init__(self, max_shift: int = 2):
        super().__init__()
        self.norm = Standardize(())
        self.shift = RandomShift(max_shift)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.norm(self.shift(_check_images(images, type(self).__name__)))

    def fit_normalisation(self, images: torch.Tensor) -> "ImageInput":
        self.norm.fit(_check_images(images, "fit_normalisation").float())
        return self


class MelInput(nn.Module):
    """Waveform -> per-clip RMS normalisation -> log-mel -> (optional pooling to ``size``) ->
    standardised per mel band (statistics over training clips and frames).

    It also accepts its own features precomputed (:meth:`features` of whole clips, shape
    ``(B, 1, bands, frames)``, see :mod:`mmhelpers.features.precompute`): those skip the front end and are
    only standardised, so training does not recompute the same spectrogram every epoch.
    """

    modality = "audio"

    def __init__(self, n_mels: int = 32, hop: int = 128, n_fft: int = 256, size: tuple | None = None):
        super().__init__()
        self.amplitude = AmplitudeNorm("rms")
        self.logmel = LogMel(n_fft=n_fft, hop=hop, n_mels=n_mels)
        self.size = None if size is None else tuple(size)
        bands = n_mels if size is None else self.size[0]
        self.norm = Standardize((1, bands, 1))

    @property
    def feature_shape(self) -> tuple[int, int, int]:
        """Shape of one clip's features, ``(1, bands, frames)`` for a clip of N_SAMPLES samples."""
        return (1, *self.size) if self.size is not None else (1, self.logmel.n_mels, self.logmel.frames(N_SAMPLES))

    @property
    def config(self) -> dict:
        """Everything that determines :meth:`features` (two inputs with equal configs compute the same)."""
        return {"n_mels": self.logmel.n_mels, "hop": self.logmel.hop, "n_fft": self.logmel.n_fft,
                "eps": self.logmel.eps, "sample_rate": self.logmel.sample_rate, "size": self.size,
                "amplitude": self.amplitude.mode, "n_samples": N_SAMPLES}

    def features(self, audio: torch.Tensor) -> torch.Tensor:
        """Un-standardised log-mel features, (B, 1, bands, frames); precomputed ones pass through."""
        if audio.dim() == 4:
            if tuple(audio.shape[1:]) != self.feature_shape:
                shape = ", ".join(map(str, self.feature_shape))
                raise ValueError(f"MelInput: precomputed features must be (B, {shape}),"
                                 f" got {tuple(audio.shape)}")
            return audio
        x = self.logmel(self.amplitude(audio))
        return x if self.size is None else pool_to(x, self.size)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.norm(self.features(audio))

    @torch.no_grad()
    def fit_normalisation(self, audio: torch.Tensor, chunk: int = 2048) -> "MelInput":
        """Fit the per-band statistics on TRAINING audio: waveforms (N, 1, T) or precomputed features."""
        if not isinstance(audio, torch.Tensor) or audio.dim() not in (2, 3, 4):
            raise ValueError(f"fit_normalisation: audio must be a tensor (N, 1, T) or precomputed features "
                             f"(N, {', '.join(map(str, self.feature_shape))}), got "
                             f"{tuple(audio.shape) if isinstance(audio, torch.Tensor) else type(audio).__name__}")
        device = self.norm.mean.device
        self.norm.fit(self.features(c.to(device).float()) for c in audio.split(chunk))
        return self
