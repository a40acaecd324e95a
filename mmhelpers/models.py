"""Encoders, the unimodal classifier, the model factory and normalisation fitting.

Every classifier has the same interface, so one trainer serves them all::

    logits = model(images, audio)      # (B, 10); a unimodal model ignores the other input
    z = model.embed(images, audio)     # (B, model.embed_dim): the input of the final nn.Linear

``images`` are (B, 1, 28, 28) in [0, 1]; ``audio`` is (B, 1, 8000) raw waveform. Normalisation
statistics come from *training* data only: ``fit_normalisation(model, train_images, train_audio)``
fits every :class:`Standardize` inside a model (a fresh one is the identity). The fusion models
live in :mod:`mmhelpers.fusion`; ``models.IntermediateFusion`` etc. are re-exported lazily.

Speed on the 2-core course CPU is a design goal (the series trains ~15 models): convolutions that
feed a batch norm have no bias (the norm's shift replaces it, and a bias before a norm would get a
zero gradient), the audio encoders downsample early, and no layer is much wider than it needs to be.
"""

from __future__ import annotations

import inspect
import math

import torch
from torch import nn

from .features import AmplitudeNorm, LogMel, pool_to

MODALITIES = ("image", "audio")
IMAGE_SIZE = 28
N_SAMPLES = 8000


class Standardize(nn.Module):
    """``(x - mean) / std`` with statistics fitted on training data; the identity until fitted.

    ``shape`` is the shape of the statistics without the batch dimension: ``()`` for one scalar
    mean/std, ``(1, 40, 1)`` for one per mel band of a (B, 1, 40, frames) spectrogram. :meth:`fit`
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


class ImageInput(nn.Module):
    """Images -> standardised images (one scalar mean/std over all training pixels)."""

    modality = "image"

    def __init__(self):
        super().__init__()
        self.norm = Standardize(())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.norm(_check_images(images, type(self).__name__))

    def fit_normalisation(self, images: torch.Tensor) -> "ImageInput":
        self.norm.fit(_check_images(images, "fit_normalisation").float())
        return self


class MelInput(nn.Module):
    """Waveform -> per-clip RMS normalisation -> log-mel -> (optional pooling to ``size``) ->
    standardised per mel band (statistics over training clips and frames)."""

    modality = "audio"

    def __init__(self, n_mels: int = 40, hop: int = 128, n_fft: int = 256, size: tuple | None = None):
        super().__init__()
        self.amplitude = AmplitudeNorm("rms")
        self.logmel = LogMel(n_fft=n_fft, hop=hop, n_mels=n_mels)
        self.size = None if size is None else tuple(size)
        bands = n_mels if size is None else self.size[0]
        self.norm = Standardize((1, bands, 1))

    def features(self, audio: torch.Tensor) -> torch.Tensor:
        """Un-standardised log-mel features, (B, 1, bands, frames)."""
        x = self.logmel(self.amplitude(audio))
        return x if self.size is None else pool_to(x, self.size)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.norm(self.features(audio))

    @torch.no_grad()
    def fit_normalisation(self, audio: torch.Tensor, chunk: int = 2048) -> "MelInput":
        if not isinstance(audio, torch.Tensor) or audio.dim() not in (2, 3):
            raise ValueError(f"fit_normalisation: audio must be a tensor (N, 1, T), got "
                             f"{tuple(audio.shape) if isinstance(audio, torch.Tensor) else type(audio).__name__}")
        device = self.norm.mean.device
        self.norm.fit(self.features(c.to(device).float()) for c in audio.split(chunk))
        return self


# ----------------------------------------------------------------------------- encoders

def channels_last(x: torch.Tensor) -> torch.Tensor:
    """NHWC memory layout (same values). On CPU, oneDNN's convolutions with few input channels
    are several times faster on it: for the log-mel CNN's first layer 2 ms instead of 22 ms."""
    return x.contiguous(memory_format=torch.channels_last)


def image_cnn(in_channels: int = 1, embed_dim: int = 100, dropout: float = 0.25) -> nn.Sequential:
    """The course practical's image CNN, with its batch norms actually used:
    Conv(32)-BN-ReLU-MaxPool2-Conv(64)-BN-ReLU-MaxPool2-Dropout-Flatten-Linear(3136, embed_dim)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Dropout(dropout), nn.Flatten(), nn.Linear(64 * 7 * 7, embed_dim))


class ImageEncoder(nn.Module):
    """(B, 1, 28, 28) images -> (B, embed_dim): standardise, then :func:`image_cnn`."""

    modality = "image"

    def __init__(self, embed_dim: int = 100, dropout: float = 0.25):
        super().__init__()
        self.embed_dim = embed_dim
        self.input = ImageInput()
        self.net = image_cnn(1, embed_dim, dropout)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(self.input(images))

    def fit_normalisation(self, images: torch.Tensor) -> "ImageEncoder":
        self.input.fit_normalisation(images)
        return self


def _conv1d(cin: int, cout: int, kernel: int, stride: int) -> list[nn.Module]:
    return [nn.Conv1d(cin, cout, kernel, stride, bias=False), nn.BatchNorm1d(cout), nn.ReLU(inplace=True)]


class RawAudioEncoder(nn.Module):
    """(B, 1, 8000) waveform -> (B, embed_dim), straight from the samples.

    Per-clip RMS normalisation, then Conv1d(32, k=first_kernel, s=first_stride)-BN-ReLU-MaxPool4-
    Conv1d(64, k7, s2)-BN-ReLU-MaxPool4-Dropout-Flatten-Linear. The course uses ``first_kernel=7,
    first_stride=2`` (-> Linear(7936, 100)); the default here, a stride-4 first layer with an
    8-sample kernel (-> Linear(3904, 100)), halves every later activation, trains ~2x faster and
    was at least as accurate on noisy synthetic digits (see the README's model notes).
    """

    modality = "audio"

    def __init__(self, embed_dim: int = 100, dropout: float = 0.2, first_kernel: int = 8,
                 first_stride: int = 4, n_samples: int = N_SAMPLES):
        super().__init__()
        self.embed_dim = embed_dim
        self.amplitude = AmplitudeNorm("rms")
        self.features = nn.Sequential(*_conv1d(1, 32, first_kernel, first_stride), nn.MaxPool1d(4),
                                      *_conv1d(32, 64, 7, 2), nn.MaxPool1d(4))
        with torch.no_grad():
            flat = self.features(torch.zeros(2, 1, n_samples)).flatten(1).shape[1]
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Flatten(), nn.Linear(flat, embed_dim))

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

    :class:`MelInput` (RMS normalisation, 40 mel bands x 63 frames of 16 ms, per-band
    standardisation), then three stride-2 3x3 convolutions (16, 32, 64 channels; 40x63 -> 5x8),
    one stride-1 convolution (64), a max over time (a digit is one word wherever it sits in the
    clip) keeping the 5 frequency rows, Dropout and Linear(320, embed_dim). Striding from the
    first layer is what makes it fast: a stride-1 first layer at full resolution costs more than
    the whole rest of the network on a CPU.
    """

    modality = "audio"

    def __init__(self, embed_dim: int = 100, dropout: float = 0.2, n_mels: int = 40, hop: int = 128,
                 channels: tuple = (16, 32, 64)):
        super().__init__()
        self.embed_dim = embed_dim
        self.input = MelInput(n_mels=n_mels, hop=hop)
        c1, c2, c3 = channels
        rows = n_mels
        for _ in range(3):
            rows = (rows - 1) // 2 + 1
        self.net = nn.Sequential(*_conv2d(1, c1, 2), *_conv2d(c1, c2, 2), *_conv2d(c2, c3, 2),
                                 *_conv2d(c3, c3, 1), nn.AdaptiveMaxPool2d((rows, 1)),
                                 nn.Dropout(dropout), nn.Flatten(), nn.Linear(c3 * rows, embed_dim))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.net(channels_last(self.input(audio)))

    def fit_normalisation(self, audio: torch.Tensor) -> "LogMelEncoder":
        self.input.fit_normalisation(audio)
        return self


# ----------------------------------------------------------------------------- classifiers

def _pick(images, audio, modality: str, who: str) -> torch.Tensor:
    x = images if modality == "image" else audio
    if x is None:
        raise ValueError(f"{who}: the {modality} input is None but this model uses it")
    return x


class UnimodalClassifier(nn.Module):
    """``encoder`` on one modality -> ReLU -> Linear(embed_dim, n_classes); ignores the other input
    (which may be ``None``). ``embed`` returns the ReLU'd encoder output."""

    def __init__(self, encoder: nn.Module, modality: str, n_classes: int = 10):
        super().__init__()
        if modality not in MODALITIES:
            raise ValueError(f"UnimodalClassifier: modality must be one of {MODALITIES}, got {modality!r}")
        if not hasattr(encoder, "embed_dim"):
            raise TypeError("UnimodalClassifier: encoder needs an embed_dim attribute")
        self.modality, self.embed_dim = modality, encoder.embed_dim
        self.encoder = encoder
        self.act = nn.ReLU()
        self.classifier = nn.Linear(encoder.embed_dim, n_classes)

    def embed(self, images, audio) -> torch.Tensor:
        return self.act(self.encoder(_pick(images, audio, self.modality, type(self).__name__)))

    def forward(self, images, audio) -> torch.Tensor:
        return self.classifier(self.embed(images, audio))


# ----------------------------------------------------------------------------- factory & helpers

MODEL_NAMES = ("image", "audio_raw", "audio_mel", "intermediate", "late", "early", "gated")
AUDIO_ENCODERS = {"mel": LogMelEncoder, "raw": RawAudioEncoder}
_FUSION = ("IntermediateFusion", "LateFusion", "EarlyFusion", "GatedFusion")


def __getattr__(name):  # PEP 562: models.IntermediateFusion etc. without a circular import
    if name in _FUSION:
        from . import fusion

        return getattr(fusion, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def audio_encoder(kind: str = "mel", embed_dim: int = 100) -> nn.Module:
    """A fresh audio encoder: ``"mel"`` (:class:`LogMelEncoder`) or ``"raw"`` (:class:`RawAudioEncoder`)."""
    if kind not in AUDIO_ENCODERS:
        raise ValueError(f"audio must be one of {tuple(AUDIO_ENCODERS)}, got {kind!r}")
    return AUDIO_ENCODERS[kind](embed_dim=embed_dim)


def build(name: str, embed_dim: int = 100, audio: str | None = None, **kwargs) -> nn.Module:
    """A fresh model by name (one of :data:`MODEL_NAMES`).

    ``embed_dim`` sizes the encoders; ``audio`` ("mel" default, or "raw") picks the audio encoder
    of the fusion models; other keyword arguments go to the model class (e.g. ``n_classes``,
    ``hidden``, ``modality_dropout``; for ``"late"``: ``image_model``/``audio_model`` - already
    trained unimodal classifiers - plus ``combine``, ``weighting``, ``freeze_members``...).
    """
    from . import fusion

    if name not in MODEL_NAMES:
        raise ValueError(f"build: unknown model name {name!r}; choose one of {MODEL_NAMES}")
    if audio is not None and name in ("image", "audio_raw", "audio_mel", "early"):
        raise ValueError(f"build({name!r}): the audio argument only applies to fusion models "
                         f"'intermediate', 'late', 'gated'")
    kind = audio or "mel"
    if name == "late":
        kwargs.setdefault("image_model", None)
        kwargs.setdefault("audio_model", None)
    factories = {
        "image": (UnimodalClassifier, lambda kw: UnimodalClassifier(ImageEncoder(embed_dim), "image", **kw)),
        "audio_raw": (UnimodalClassifier, lambda kw: UnimodalClassifier(RawAudioEncoder(embed_dim), "audio", **kw)),
        "audio_mel": (UnimodalClassifier, lambda kw: UnimodalClassifier(LogMelEncoder(embed_dim), "audio", **kw)),
        "intermediate": (fusion.IntermediateFusion, lambda kw: fusion.IntermediateFusion(
            ImageEncoder(embed_dim), audio_encoder(kind, embed_dim), **kw)),
        "gated": (fusion.GatedFusion, lambda kw: fusion.GatedFusion(
            ImageEncoder(embed_dim), audio_encoder(kind, embed_dim), **kw)),
        "early": (fusion.EarlyFusion, lambda kw: fusion.EarlyFusion(embed_dim=embed_dim, **kw)),
        "late": (fusion.LateFusion, lambda kw: fusion.LateFusion(**{
            **kw, "image_model": kw["image_model"] or build("image", embed_dim),
            "audio_model": kw["audio_model"] or build(f"audio_{kind}", embed_dim)})),
    }
    cls, make = factories[name]
    fixed = {"self", "encoder", "modality", "image_encoder", "audio_encoder", "embed_dim"}
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p not in fixed]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise TypeError(f"build({name!r}): unexpected argument(s) {unknown}; accepted: "
                        f"{sorted(accepted + ['embed_dim'] + (['audio'] if name in ('intermediate', 'late', 'gated') else []))}")
    return make(kwargs)


@torch.no_grad()
def fit_normalisation(model: nn.Module, images: torch.Tensor | None = None,
                      audio: torch.Tensor | None = None) -> list[str]:
    """Fit every normalisation inside ``model`` on TRAINING ``images`` / ``audio``.

    Walks the modules; each encoder or input stage that declares a ``modality`` and a
    ``fit_normalisation`` method gets the matching tensor (once: its sub-modules are then
    skipped). Returns the names of what was fitted, e.g. ``["encoder (audio)"]``. Raises
    ``ValueError`` when the model needs a modality that was not given.
    """
    given = {"image": images, "audio": audio}
    done, fitted = set(), []
    for name, module in model.named_modules():
        if id(module) in done or getattr(module, "modality", None) not in MODALITIES \
                or not callable(getattr(module, "fit_normalisation", None)):
            continue
        x = given[module.modality]
        if x is None:
            raise ValueError(f"fit_normalisation: {name or type(module).__name__} needs "
                             f"{'images' if module.modality == 'image' else 'audio'} (training data), got None")
        module.fit_normalisation(x)
        done.update(id(m) for m in module.modules())
        fitted.append(f"{name or type(module).__name__} ({module.modality})")
    return fitted


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def describe(model: nn.Module) -> str:
    """A short text for notebooks: parameter counts, then every layer with its own parameter count."""
    lines = [f"{type(model).__name__}: {count_parameters(model):,} trainable parameters "
             f"({count_parameters(model, False):,} in all)"]
    leaves = [(n, m) for n, m in model.named_modules() if not list(m.children())]
    width = max((len(n) for n, _ in leaves), default=0)
    for n, m in leaves:
        own = sum(p.numel() for p in m.parameters())
        text = f"{type(m).__name__}({m.num_features})" if isinstance(m, nn.modules.batchnorm._BatchNorm) else repr(m)
        lines.append(f"  {n:<{width}}  {text}" + (f"  [{own:,}]" if own else ""))
    return "\n".join(lines)
