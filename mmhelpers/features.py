"""From raw inputs to network inputs: amplitude normalisation, log-mel spectrograms,
standardisation with training statistics, and the per-modality input stages the models share.

torchaudio is not used (it is not installed here); the mel filterbank is built with NumPy once,
in the constructor, and stored as a buffer so that it moves with ``.to(device)`` and is saved in
the ``state_dict``.

Shapes: waveforms are ``(B, 1, T)`` (``(B, T)`` is accepted too); :class:`LogMel` returns
``(B, 1, n_mels, frames)`` with ``frames = 1 + T // hop`` (the STFT is centred). Images are
``(B, C, 28, 28)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

AMPLITUDE_MODES = ("rms", "peak")
MODALITIES = ("image", "audio")
IMAGE_SIZE = 28
N_SAMPLES = 8000


def hz_to_mel(f):
    """HTK mel scale: ``2595 * log10(1 + f / 700)``."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(n_fft: int, n_mels: int, sample_rate: int,
                   f_min: float = 0.0, f_max: float | None = None) -> np.ndarray:
    """Triangular mel filters, ``(n_mels, n_fft // 2 + 1)`` float32, each filter summing to 1.

    The filters are centred at ``n_mels`` points equally spaced on the mel scale between
    ``f_min`` and ``f_max`` (default: the Nyquist frequency) and evaluated at the exact FFT bin
    frequencies, so narrow low-frequency filters never come out empty.
    """
    f_max = sample_rate / 2 if f_max is None else f_max
    if not 0 <= f_min < f_max <= sample_rate / 2:
        raise ValueError(f"mel_filterbank: need 0 <= f_min < f_max <= sample_rate/2, "
                         f"got f_min={f_min}, f_max={f_max}, sample_rate={sample_rate}")
    freqs = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None, :] - lo) / (mid - lo)
    down = (hi - freqs[None, :]) / (hi - mid)
    fb = np.clip(np.minimum(up, down), 0.0, None)
    # a filter narrower than one bin would be all zero: give it its nearest bin
    empty = fb.sum(axis=1) == 0
    if empty.any():
        nearest = np.abs(freqs[None, :] - mid[empty]).argmin(axis=1)
        fb[np.flatnonzero(empty), nearest] = 1.0
    return (fb / fb.sum(axis=1, keepdims=True)).astype(np.float32)


def _as_waveforms(x: torch.Tensor, who: str) -> torch.Tensor:
    """(B, 1, T) or (B, T) -> (B, T), with a clear error otherwise."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{who}: audio must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() == 3 and x.shape[1] == 1:
        return x[:, 0]
    if x.dim() == 2:
        return x
    raise ValueError(f"{who}: audio must have shape (B, 1, T) or (B, T), got {tuple(x.shape)}")


def normalise_amplitude(audio: torch.Tensor, mode: str = "rms", eps: float = 1e-4) -> torch.Tensor:
    """Scale every clip to unit RMS (``mode="rms"``) or unit peak (``"peak"``); shape kept.

    Amplitudes differ by ~20x between clips, which no fixed standardisation can fix. RMS is the
    default because one click or clipped burst decides the peak but barely moves the RMS. A
    silent clip stays silent (``eps`` keeps the division finite).
    """
    if mode not in AMPLITUDE_MODES:
        raise ValueError(f"normalise_amplitude: mode must be one of {AMPLITUDE_MODES}, got {mode!r}")
    if mode == "rms":
        scale = audio.pow(2).mean(dim=-1, keepdim=True).sqrt()
    else:
        scale = audio.abs().amax(dim=-1, keepdim=True)
    return audio / (scale + eps)


class AmplitudeNorm(nn.Module):
    """:func:`normalise_amplitude` as a layer (no parameters, nothing to fit)."""

    def __init__(self, mode: str = "rms", eps: float = 1e-4):
        super().__init__()
        if mode not in AMPLITUDE_MODES:
            raise ValueError(f"AmplitudeNorm: mode must be one of {AMPLITUDE_MODES}, got {mode!r}")
        self.mode, self.eps = mode, eps

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return normalise_amplitude(audio, self.mode, self.eps)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"


class LogMel(nn.Module):
    """Log-mel spectrogram: ``log(eps + mel_filterbank @ |STFT|^2)``, (B,1,T) -> (B,1,n_mels,frames).

    Defaults (those of the course's log-mel encoder): 32 mel bands from 256-sample (32 ms) Hann
    windows every ``hop=128`` samples (16 ms) -> 63 frames for one second at 8 kHz. The usual
    10 ms hop (``hop=80``, 101 frames) made the encoder ~1.6x slower to train for ~1-2 points of
    accuracy on noisy synthetic digits. ``eps=1e-6`` floors the log so that silence (all zeros)
    gives a finite ``log(1e-6) ~ -13.8``; on unit-RMS clips the loudest bins reach about +7
    to +10, so the floor sits ~90 dB below them.
    """

    def __init__(self, sample_rate: int = 8000, n_fft: int = 256, hop: int = 128, n_mels: int = 32,
                 f_min: float = 0.0, f_max: float | None = None, eps: float = 1e-6):
        super().__init__()
        for name, v in (("sample_rate", sample_rate), ("n_fft", n_fft), ("hop", hop), ("n_mels", n_mels)):
            if not isinstance(v, int) or v <= 0:
                raise ValueError(f"LogMel: {name} must be a positive int, got {v!r}")
        if n_mels > n_fft // 2 + 1:
            raise ValueError(f"LogMel: n_mels={n_mels} exceeds the {n_fft // 2 + 1} FFT bins of n_fft={n_fft}")
        if eps <= 0:
            raise ValueError(f"LogMel: eps must be > 0, got {eps}")
        self.sample_rate, self.n_fft, self.hop, self.n_mels, self.eps = sample_rate, n_fft, hop, n_mels, eps
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        fb = mel_filterbank(n_fft, n_mels, sample_rate, f_min, f_max)
        self.register_buffer("filterbank", torch.from_numpy(fb), persistent=False)

    def frames(self, n_samples: int) -> int:
        """Number of output frames for a clip of ``n_samples`` samples."""
        return 1 + n_samples // self.hop

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        x = _as_waveforms(audio, "LogMel")
        if x.shape[-1] < self.n_fft // 2 + 1:
            raise ValueError(f"LogMel: clips need at least {self.n_fft // 2 + 1} samples, got {x.shape[-1]}")
        spec = torch.stft(x.float(), self.n_fft, self.hop, window=self.window, center=True,
                          pad_mode="constant", return_complex=True)       # (B, F, frames)
        power = spec.real.square() + spec.imag.square()
        mel = torch.matmul(self.filterbank, power)                        # (B, n_mels, frames)
        return torch.log(mel + self.eps).unsqueeze(1)

    def extra_repr(self) -> str:
        return (f"sample_rate={self.sample_rate}, n_fft={self.n_fft}, hop={self.hop}, "
                f"n_mels={self.n_mels}")


def pool_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Average-pool a (B, C, H, W) map to ``size`` (used to squeeze a spectrogram into 28x28)."""
    return F.adaptive_avg_pool2d(x, size)


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """NHWC memory layout (same values). On CPU, oneDNN's convolutions with few input channels
    are several times faster on it (log-mel CNN, first layer, batch 128: 2 ms instead of 22 ms)."""
    return x.contiguous(memory_format=torch.channels_last)


# ----------------------------------------------------------------------------- normalisation

class Standardize(nn.Module):
    """``(x - mean) / std`` with statistics fitted on training data; the identity until fitted.

    ``shape`` is the shape of the statistics without the batch dimension: ``()`` for one scalar
    mean/std, ``(1, 32, 1)`` for one per mel band of a (B, 1, 32, frames) spectrogram. :meth:`fit`
    averages over the batch and over every dimension where ``shape`` has a 1. The statistics are
    buffers, so they are saved in the ``state_dict`` and never trained.
    """

    def __init__(self, shape: tuple = (), eps: float = 1e-5):
        super().__init__()
        self.shape, self.eps = tuple(int(s) for s in shape), eps
        self.register_buffer("mean", torch.zeros(self.shape))
        self.register_buffer("std", torch.ones(self.shape))
        self.register_buffer("fitted", torch.tensor(False))

    def _reduce_dims(self, x: torch.Tensor) -> list[int]:
        if not self.shape:
            return list(range(x.dim()))
        if x.dim() != len(self.shape) + 1 or any(s not in (1, n) for s, n in zip(self.shape, x.shape[1:])):
            raise ValueError(f"Standardize.fit: x of shape {tuple(x.shape)} does not match the statistics' "
                             f"shape {self.shape} (expected (N, ...) with each size equal or 1)")
        return [0] + [i + 1 for i, s in enumerate(self.shape) if s == 1]

    @torch.no_grad()
    def fit(self, x) -> "Standardize":
        """Fit on a tensor of training data, or on an iterable of tensors (chunks of it)."""
        chunks = [x] if isinstance(x, torch.Tensor) else list(x)
        if not chunks or sum(c.numel() for c in chunks) == 0:
            raise ValueError("Standardize.fit: x is empty")
        total = total_sq = count = 0
        for c in chunks:
            dims = self._reduce_dims(c)
            c = c.double()
            total = total + c.sum(dims)
            total_sq = total_sq + c.square().sum(dims)
            count += c.numel() // math.prod(self.shape)  # samples per statistic
        mean = total / count
        std = (total_sq / count - mean.square()).clamp_min(0).sqrt()
        if not torch.isfinite(mean).all() or not torch.isfinite(std).all():
            raise ValueError("Standardize.fit: x contains NaN or inf")
        self.mean.copy_(mean.reshape(self.shape).float())
        self.std.copy_(std.reshape(self.shape).float().clamp_min(self.eps))
        self.fitted.fill_(True)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"shape={self.shape}, fitted={bool(self.fitted)}"


# ----------------------------------------------------------------------------- input stages
# An input stage turns one raw modality into a normalised tensor. It carries ``modality`` and
# ``fit_normalisation(x)``, which is how ``fit_normalisation(model, ...)`` finds what to fit.

def _check_images(x, who: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or tuple(x.shape[2:]) != (IMAGE_SIZE, IMAGE_SIZE):
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{who}: images must be a tensor (B, C, 28, 28), got {got}")
    return x


class RandomShift(nn.Module):
    """Training-time augmentation: each image moves by a random whole number of pixels, up to
    ``max_shift`` in x and in y, with zeros shifted in. The identity in ``eval()`` mode.

    MNIST digits are centred by their centre of mass, so a CNN trained on few digits learns their
    exact positions; a +-2 pixel jitter removed about a third of the image model's errors on clean
    test digits (96.8% -> 98.0%) at no measurable cost per epoch.
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
    ``(B, 1, bands, frames)``, see :mod:`mmhelpers.precompute`): those skip the front end and are
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
                raise ValueError(f"MelInput: precomputed features must be (B, {', '.join(map(str, self.feature_shape))}),"
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
