"""The encoders: image CNN, raw-waveform CNN and log-mel CNN, each (B, ...) -> (B, embed_dim).

:class:`~mmhelpers.models.classifier.UnimodalClassifier` puts a classifier on top of one,
the fusion models (:mod:`mmhelpers.models.fusion`) combine two. ``images`` are (B, 1, 28, 28) in [0, 1];
``audio`` is (B, 1, 8000) raw waveform.

Speed on the 2-core course CPU is a design goal (the series trains ~15 models): convolutions that
feed a batch norm have no bias (the norm's shift replaces it, and a bias before a norm would get a
zero gradient), the audio encoders downsample early, no layer is much wider than it needs to be,
and where two orders or layouts compute the same function the faster one is used (tests check
that they are the same function).
"""

from __future__ import annotations

import torch
from torch import nn

from ..features.inputs import ImageInput, MelInput
from ..features.logmel import N_SAMPLES, AmplitudeNorm


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """NHWC memory layout (same values). On CPU, oneDNN's convolutions with few input channels
    are several times faster on it (log-mel CNN, first layer, batch 128: 2 ms instead of 22 ms)."""
    return x.contiguous(memory_format=torch.channels_last)


def image_cnn(in_channels: int = 1, embed_dim: int = 100, dropout: float = 0.25) -> nn.Sequential:
    """The course practical's image CNN, with its batch norms actually used:
    Conv(32)-BN-MaxPool2-ReLU-Conv(64)-BN-MaxPool2-ReLU-Dropout-Flatten-Linear(3136, embed_dim).

    The course writes ReLU before the pooling. Max-pooling and ReLU commute (both are monotone), so
    this is the same function with the same gradients; pooling first leaves the ReLU a quarter of
    the elements (training step, batch 128: ~12% faster)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.MaxPool2d(2),
        nn.ReLU(inplace=True),
        nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.MaxPool2d(2),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout), nn.Flatten(), nn.Linear(64 * 7 * 7, embed_dim))


class ImageEncoder(nn.Module):
    """(B, 1, 28, 28) images -> (B, embed_dim): standardise, then :func:`image_cnn`."""

    modality = "image"

    def __init__(self, embed_dim: int = 100, dropout: float = 0.25):
        super().__init__()
        self.embed_dim = embed_dim
        self.input = ImageInput()
        self.net = image_cnn(1, embed_dim, dropout).to(memory_format=torch.channels_last)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(channels_last(self.input(images)))

    def fit_normalisation(self, images: torch.Tensor) -> "ImageEncoder":
        self.input.fit_normalisation(images)
        return self


def _conv_time(cin: int, cout: int, kernel: int, stride: int, pool: int) -> list[nn.Module]:
    """Conv1d(kernel, stride)-BatchNorm1d-ReLU-MaxPool1d(pool) over time, computed on a (B, C, 1, T)
    map as Conv2d((1, kernel), (1, stride))-BatchNorm2d-MaxPool2d((1, pool))-ReLU: see
    :class:`TimeAsWidth`; pooling before the ReLU is the same function (:func:`image_cnn`)."""
    return [nn.Conv2d(cin, cout, (1, kernel), (1, stride), bias=False), nn.BatchNorm2d(cout),
            nn.MaxPool2d((1, pool)), nn.ReLU(inplace=True)]


class TimeAsWidth(nn.Module):
    """(B, C, T) -> (B, C, 1, T) in channels-last layout: a sequence as an image one row high.

    A 1-D CNN computes the same function on this view with 2-D layers of height 1, and on the
    course CPU oneDNN's channels-last 2-D convolutions, batch norms and max pools are faster than
    the 1-D ones (raw-audio training step, batch 128: ~50 ms instead of ~70 ms; ``MaxPool1d`` alone
    took 8 ms of it). ``Flatten`` then reads (C, 1, T) in the same order as (C, T).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channels_last(x.unsqueeze(2))


class SamplesToChannels(nn.Module):
    """(B, 1, T) -> (B, n, T // n): consecutive blocks of ``n`` samples become ``n`` channels.

    ``Conv1d(1, C, kernel=m*n, stride=n)`` on the waveform equals ``Conv1d(n, C, kernel=m)`` on
    this view. The second form is used because oneDNN computes the first form's weight gradient
    with a GEMM fallback for kernels longer than ~14 samples, which on two threads took ~0.4 s
    per batch instead of ~20 ms.
    """

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        b, _, t = audio.shape
        return audio[..., : t - t % self.n].reshape(b, t // self.n, self.n).transpose(1, 2).contiguous()

    def extra_repr(self) -> str:
        return f"n={self.n}"


class RawAudioEncoder(nn.Module):
    """(B, 1, 8000) waveform -> (B, embed_dim), straight from the samples.

    Per-clip RMS normalisation, then Conv1d(32, k=first_kernel, s=first_stride)-BN-ReLU-MaxPool4-
    Conv1d(64, k7, s2)-BN-ReLU-MaxPool4-Dropout-Flatten-Linear. The course uses ``first_kernel=7,
    first_stride=2`` (-> Linear(7936, 100)). The default here is a 16-sample (2 ms) kernel every
    8 samples (-> Linear(1920, 100)): every later activation is 4x smaller, an epoch trains ~4x
    faster, and on noisy synthetic digits it was more accurate, not less. When the kernel is a
    multiple of the stride the first layer runs as :class:`SamplesToChannels` + Conv1d (the same
    function, computed faster). Every Conv1d/BatchNorm1d/MaxPool1d runs as its 2-D twin on a map one
    row high (:class:`TimeAsWidth`): again the same function, computed faster.
    """

    modality = "audio"

    def __init__(self, embed_dim: int = 100, dropout: float = 0.2, first_kernel: int = 16,
                 first_stride: int = 8, n_samples: int = N_SAMPLES):
        super().__init__()
        length = ((n_samples - first_kernel) // first_stride + 1) // 4   # after conv 1 and pool 1
        length = ((length - 7) // 2 + 1) // 4                             # after conv 2 and pool 2
        if first_kernel < 1 or first_stride < 1 or length < 1:
            raise ValueError(f"RawAudioEncoder: first_kernel={first_kernel}, first_stride={first_stride} "
                             f"leave nothing of {n_samples} samples")
        self.embed_dim = embed_dim
        self.amplitude = AmplitudeNorm("rms")
        if first_stride > 1 and first_kernel % first_stride == 0:
            first = [SamplesToChannels(first_stride), TimeAsWidth(),
                     *_conv_time(first_stride, 32, first_kernel // first_stride, 1, 4)]
        else:
            first = [TimeAsWidth(), *_conv_time(1, 32, first_kernel, first_stride, 4)]
        self.features = nn.Sequential(*first, *_conv_time(32, 64, 7, 2, 4))
        self.features.to(memory_format=torch.channels_last)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Flatten(), nn.Linear(64 * length, embed_dim))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        if audio.dim() != 3 or audio.shape[1] != 1:
            raise ValueError(f"RawAudioEncoder: audio must be (B, 1, T), got {tuple(audio.shape)}")
        return self.head(self.features(self.amplitude(audio)))

    def fit_normalisation(self, audio: torch.Tensor) -> "RawAudioEncoder":
        """Nothing to fit: the per-clip RMS normalisation needs no statistics."""
        return self


def _conv2d(cin: int, cout: int, stride: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class LogMelEncoder(nn.Module):
    """(B, 1, 8000) waveform -> (B, embed_dim) through a log-mel spectrogram and a small 2-D CNN.

    :class:`MelInput` (RMS normalisation, 32 mel bands x 63 frames of 16 ms, per-band
    standardisation), then three stride-2 3x3 convolutions (16, 32, 64 channels; 32x63 -> 4x8),
    one stride-1 convolution (64), a max over time (a digit is one word wherever it sits in the
    clip) keeping the 4 frequency rows, Dropout and Linear(256, embed_dim). Striding from the
    first layer is what makes it fast: a stride-1 first layer at full resolution costs more than
    the whole rest of the network on a CPU. ``n_mels=40`` was ~1 point more accurate on noisy
    synthetic digits and ~20% slower; ``hop=160`` was faster but ~2 points worse.
    """

    modality = "audio"

    def __init__(self, embed_dim: int = 100, dropout: float = 0.2, n_mels: int = 32, hop: int = 128,
                 channels: tuple = (16, 32, 64)):
        super().__init__()
        self.embed_dim = embed_dim
        self.input = MelInput(n_mels=n_mels, hop=hop)
        if len(channels) != 3:
            raise ValueError(f"LogMelEncoder: channels must be three numbers, got {channels}")
        c1, c2, c3 = channels
        rows = n_mels
        for _ in range(3):
            rows = (rows - 1) // 2 + 1
        self.net = nn.Sequential(*_conv2d(1, c1, 2), *_conv2d(c1, c2, 2), *_conv2d(c2, c3, 2),
                                 *_conv2d(c3, c3, 1), nn.AdaptiveMaxPool2d((rows, 1)),
                                 nn.Dropout(dropout), nn.Flatten(), nn.Linear(c3 * rows, embed_dim))
        self.net.to(memory_format=torch.channels_last)  # see channels_last

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.net(channels_last(self.input(audio)))

    def fit_normalisation(self, audio: torch.Tensor) -> "LogMelEncoder":
        self.input.fit_normalisation(audio)
        return self
