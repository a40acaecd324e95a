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

import copy
import inspect

import torch
from torch import nn

from .features import MODALITIES, N_SAMPLES, AmplitudeNorm, Standardize, channels_last  # noqa: F401
from .inputs import ImageInput, MelInput


# ----------------------------------------------------------------------------- encoders

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
        self.net.to(memory_format=torch.channels_last)  # see features.channels_last

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
    ``hidden``, ``modality_dropout``). ``"late"`` takes ``image_model``/``audio_model`` (e.g.
    already trained unimodal classifiers; fresh ones when left out) plus ``combine``,
    ``weighting``, ``weights``, ``per_class``, ``freeze_members``. ``"intermediate"`` and
    ``"gated"`` also take ``image_model``/``audio_model``: trained unimodal classifiers whose
    encoders are *copied* in as a warm start (the originals are left untouched).
    """
    from . import fusion

    if name not in MODEL_NAMES:
        raise ValueError(f"build: unknown model name {name!r}; choose one of {MODEL_NAMES}")
    takes_audio = name in ("intermediate", "late", "gated")
    if audio is not None and not takes_audio:
        raise ValueError(f"build({name!r}): the audio argument only applies to 'intermediate', 'late', 'gated'")
    kind = audio or "mel"
    cls = {"intermediate": fusion.IntermediateFusion, "gated": fusion.GatedFusion,
           "early": fusion.EarlyFusion, "late": fusion.LateFusion}.get(name, UnimodalClassifier)
    skip = {"self", "encoder", "modality", "image_encoder", "audio_encoder", "embed_dim"}
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p not in skip]
    if name in ("intermediate", "gated"):
        accepted += ["image_model", "audio_model"]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise TypeError(f"build({name!r}): unexpected argument(s) {unknown}; accepted: "
                        f"{sorted(accepted + ['embed_dim'] + ['audio'] * takes_audio)}")
    if name == "image":
        return UnimodalClassifier(ImageEncoder(embed_dim), "image", **kwargs)
    if name in ("audio_raw", "audio_mel"):
        return UnimodalClassifier(audio_encoder(name.split("_")[1], embed_dim), "audio", **kwargs)
    if name == "early":
        return cls(embed_dim=embed_dim, **kwargs)
    image_model, audio_model = kwargs.pop("image_model", None), kwargs.pop("audio_model", None)
    if name == "late":
        return cls(image_model or build("image", embed_dim), audio_model or build(f"audio_{kind}", embed_dim),
                   **kwargs)
    # intermediate / gated: warm-start from trained unimodal classifiers (copies of their encoders)
    image_enc = _trainable_copy(image_model.encoder) if image_model is not None else ImageEncoder(embed_dim)
    audio_enc = _trainable_copy(audio_model.encoder) if audio_model is not None else audio_encoder(kind, embed_dim)
    return cls(image_enc, audio_enc, **kwargs)


def _trainable_copy(module: nn.Module) -> nn.Module:
    """A deep copy with every parameter trainable (the original may be frozen inside a LateFusion)."""
    module = copy.deepcopy(module)
    for p in module.parameters():
        p.requires_grad_(True)
    return module.train()


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
