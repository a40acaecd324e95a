"""From a waveform to a log-mel spectrogram: amplitude normalisation, the mel filterbank, the
STFT. The per-modality input stages built from them are in :mod:`mmhelpers.features.inputs`.

torchaudio is not used (it is not installed here); the mel filterbank is built with NumPy once,
in the constructor, and stored as a buffer so that it moves with ``.to(device)`` and is saved in
the ``state_dict``.

Shapes: waveforms are ``(B, 1, T)`` (``(B, T)`` is accepted too); :class:`LogMel` returns
``(B, 1, n_mels, frames)`` with ``frames = 1 + T // hop`` (the STFT is centred).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.paired import AUDIO_SHAPE

AMPLITUDE_MODES = ("rms", "peak")
N_SAMPLES = AUDIO_SHAPE[-1]


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
            raise ValueError(f"LogMel: clips need at least {self.n_fft // 2 + 1} "
                             f"samples, got {x.shape[-1]}")
        spec = torch.stft(x.float(), self.n_fft, self.hop, window=self.window,
                          center=True, pad_mode="constant",
                          return_complex=True)                # (B, F, frames)
        power = spec.real.square() + spec.imag.square()
        mel = torch.matmul(self.filterbank, power)            # (B, n_mels, frames)
        return torch.log(mel + self.eps).unsqueeze(1)

    def extra_repr(self) -> str:
        return (f"sample_rate={self.sample_rate}, n_fft={self.n_fft}, hop={self.hop}, "
                f"n_mels={self.n_mels}")


def pool_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Average-pool a (B, C, H, W) map to ``size`` (used to squeeze a spectrogram into 28x28)."""
    return F.adaptive_avg_pool2d(x, size)


def griffin_lim(log_mel: torch.Tensor, front: LogMel, n_samples: int, n_iter: int = 60,
                seed: int = 0) -> torch.Tensor:
    """A waveform (B, n_samples) whose log-mel spectrogram approximates ``log_mel``
    ((B, bands, frames), or (B, 1, bands, frames) as :class:`LogMel` returns it).

    The mel power is spread back over the linear frequencies by the filterbank's
    pseudo-inverse; then Griffin-Lim (Griffin & Lim 1984) alternates ``n_iter`` times
    between a phase consistent with some waveform (inverse STFT, STFT) and the wanted
    magnitudes. Only as good as a log-mel spectrogram allows: 32 mel bands keep the
    envelope of the voice, not its harmonics, and the phase is invented.
    """
    if log_mel.dim() == 4:  # (B, 1, bands, frames), as LogMel returns it
        log_mel = log_mel[:, 0]
    power = torch.clamp(torch.exp(log_mel) - front.eps, min=0.0)
    unmel = torch.linalg.pinv(front.filterbank)
    magnitude = torch.clamp(unmel @ power, min=0.0).sqrt()        # (B, freqs, frames)
    gen = torch.Generator().manual_seed(seed)
    phase = torch.exp(2j * torch.pi * torch.rand(magnitude.shape, generator=gen))
    stft = dict(n_fft=front.n_fft, hop_length=front.hop, window=front.window,
                center=True)
    for _ in range(n_iter):
        wave = torch.istft(magnitude * phase, length=n_samples, **stft)
        spec = torch.stft(wave, pad_mode="constant", return_complex=True, **stft)
        phase = torch.exp(1j * torch.angle(spec))
    return torch.istft(magnitude * phase, length=n_samples, **stft)
