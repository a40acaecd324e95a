"""The encoders: image CNN, raw-waveform CNN and log-mel CNN, each (B, ...) -> (B, embed_dim).

:class:`~mmhelpers.models.classifier.UnimodalClassifier` puts a classifier on top of one,
the fusion models (:mod:`mmhelpers.models.fusion`) combine two. ``images`` are (B, 1, 28, 28) in [0, 1];
``audio`` is (B, 1, 8000) raw waveform.

Written as a course writes them. Speed on the 2-core course CPU still shapes the choices: convolutions
that feed a batch norm have no bias (the norm's shift replaces it), the audio encoders downsample
early, no layer is much wider than it needs to be, and 2-D feature maps use the channels-last layout.
"""

from __future__ import annotations

import torch
from torch import nn

from ..features.inputs import ImageInput, MelInput
from ..features.logmel import N_SAMPLES, AmplitudeNorm


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """The same values in NHWC memory layout, which a CPU's convolutions read fastest
    (``docs/history.md``)."""
    return x.contiguous(memory_format=torch.channels_last)


def image_cnn(in_channels: int = 1, embed_dim: int = 100,
              dropout: float = 0.25) -> nn.Sequential:
    """The course practical's image CNN, with its batch norms actually used:
    Conv(32)-BN-ReLU-MaxPool2-Conv(64)-BN-ReLU-MaxPool2-Dropout-Flatten-Linear.
    A convolution followed by a batch norm needs no bias: the norm's shift
    replaces it."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(32), nn.ReLU(),
        nn.MaxPool2d(2),                                 # 28x28 -> 14x14
        nn.Conv2d(32, 64, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(64), nn.ReLU(),
        nn.MaxPool2d(2),                                 # 14x14 -> 7x7
        nn.Dropout(dropout), nn.Flatten(), nn.Linear(64 * 7 * 7, embed_dim))


class ImageEncoder(nn.Module):
    """(B, 1, 28, 28) images -> (B, embed_dim): standardise, then image_cnn."""

    modality = "image"

    def __init__(self, embed_dim: int = 100, dropout: float = 0.25):
        super().__init__()
        self.embed_dim = embed_dim
        self.input = ImageInput()
        self.net = image_cnn(1, embed_dim, dropout)
        self.net.to(memory_format=torch.channels_last)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(channels_last(self.input(images)))

    def fit_normalisation(self, images: torch.Tensor) -> "ImageEncoder":
        self.input.fit_normalisation(images)
        return self


class RawAudioEncoder(nn.Module):
    """(B, 1, 8000) waveform -> (B, embed_dim) with 1-D convolutions over time.

    Per-clip RMS normalisation (clip loudness varies a lot), then
    Conv1d(32, first_kernel, first_stride)-BN-ReLU-MaxPool4-Conv1d(64, 7, 2)-BN-ReLU-
    MaxPool4-Dropout-Flatten-Linear. The course uses a 7-sample kernel every 2
    samples (-> Linear(7936, 100)); the default here is a 16-sample (2 ms) kernel
    every 8 samples (-> Linear(1920, 100)): every later activation is 4x smaller.
    """

    modality = "audio"

    def __init__(self, embed_dim: int = 100, dropout: float = 0.2,
                 first_kernel: int = 16, first_stride: int = 8,
                 n_samples: int = N_SAMPLES):
        super().__init__()
        self.embed_dim = embed_dim
        self.amplitude = AmplitudeNorm("rms")
        self.features = nn.Sequential(
            nn.Conv1d(1, 32, first_kernel, stride=first_stride, bias=False),
            nn.BatchNorm1d(32), nn.ReLU(), nn.MaxPool1d(4),
            nn.Conv1d(32, 64, kernel_size=7, stride=2, bias=False),
            nn.BatchNorm1d(64), nn.ReLU(), nn.MaxPool1d(4))
        length = _raw_length(n_samples, first_kernel, first_stride)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Flatten(),
                                  nn.Linear(64 * length, embed_dim))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        if audio.dim() != 3 or audio.shape[1] != 1:
            raise ValueError("RawAudioEncoder: audio must be (B, 1, T), "
                             f"got {tuple(audio.shape)}")
        return self.head(self.features(self.amplitude(audio)))


def _raw_length(n_samples: int, first_kernel: int, first_stride: int) -> int:
    """Time steps left after the raw-audio CNN's two convolutions and two pools."""
    length = ((n_samples - first_kernel) // first_stride + 1) // 4   # after conv 1 and pool 1
    length = ((length - 7) // 2 + 1) // 4                             # after conv 2 and pool 2
    if first_kernel < 1 or first_stride < 1 or length < 1:
        raise ValueError(f"raw-audio CNN: first_kernel={first_kernel}, first_stride={first_stride} "
                         f"leave nothing of {n_samples} samples")
    return length


def conv_bn_relu(cin: int, cout: int, stride: int) -> list[nn.Module]:
    """A 3x3 convolution (padding 1, no bias: the norm shifts), BatchNorm, ReLU."""
    return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True)]


class LogMelEncoder(nn.Module):
    """(B, 1, 8000) waveform -> (B, embed_dim): a log-mel spectrogram, a small 2-D CNN.

    :class:`MelInput` (RMS normalisation, 32 mel bands x 63 frames of 16 ms, per-band
    standardisation), then three stride-2 3x3 convolutions (16, 32, 64 channels;
    32x63 -> 4x8), one stride-1 convolution (64), a max over time (a digit is one word
    wherever it sits in the clip) keeping the 4 frequency rows, Dropout and
    Linear(256, embed_dim). Striding from the first layer keeps it small: a stride-1
    first layer at full resolution would cost more than the whole rest of the network.
    """

    modality = "audio"

    def __init__(self, embed_dim: int = 100, dropout: float = 0.2, n_mels: int = 32,
                 hop: int = 128, channels: tuple = (16, 32, 64)):
        super().__init__()
        self.embed_dim = embed_dim
        self.input = MelInput(n_mels=n_mels, hop=hop)
        if len(channels) != 3:
            raise ValueError(
                f"LogMelEncoder: channels must be three numbers, got {channels}")
        c1, c2, c3 = channels
        rows = n_mels
        for _ in range(3):
            rows = (rows - 1) // 2 + 1
        self.net = nn.Sequential(
            *conv_bn_relu(1, c1, 2), *conv_bn_relu(c1, c2, 2), *conv_bn_relu(c2, c3, 2),
            *conv_bn_relu(c3, c3, 1), nn.AdaptiveMaxPool2d((rows, 1)),
            nn.Dropout(dropout), nn.Flatten(), nn.Linear(c3 * rows, embed_dim))
        self.net.to(memory_format=torch.channels_last)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.net(channels_last(self.input(audio)))

    def fit_normalisation(self, audio: torch.Tensor) -> "LogMelEncoder":
        self.input.fit_normalisation(audio)
        return self
