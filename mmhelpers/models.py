"""The unimodal classifier, the model factory and normalisation fitting.

Every classifier has the same interface, so one trainer serves them all::

    logits = model(images, audio)      # (B, 10); a unimodal model ignores the other input
    z = model.embed(images, audio)     # (B, model.embed_dim): the input of the final nn.Linear

``images`` are (B, 1, 28, 28) in [0, 1]; ``audio`` is (B, 1, 8000) raw waveform. Normalisation
statistics come from *training* data only: ``fit_normalisation(model, train_images, train_audio)``
fits every :class:`Standardize` inside a model (a fresh one is the identity). The fusion models
live in :mod:`mmhelpers.fusion`; ``models.IntermediateFusion`` etc. are re-exported lazily. The
encoders live in :mod:`mmhelpers.encoders` and are re-exported here (``models.ImageEncoder``).
"""

from __future__ import annotations

import copy
import inspect

import torch
from torch import nn

from .encoders import (ImageEncoder, LogMelEncoder, RawAudioEncoder, SamplesToChannels,  # noqa: F401
                       TimeAsWidth, image_cnn)
from .features import MODALITIES, Standardize  # noqa: F401


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

    def head(self, encoding: torch.Tensor) -> torch.Tensor:
        """Logits from the encoder's output (what ``forward`` computes after the encoder)."""
        return self.classifier(self.act(encoding))

    def forward(self, images, audio) -> torch.Tensor:
        return self.head(self.encoder(_pick(images, audio, self.modality, type(self).__name__)))


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
    encoders are used frozen (``freeze_members=True``) or *copied* in as a warm start for
    fine-tuning (the originals are left untouched).
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
    # intermediate / gated: the encoders of trained unimodal classifiers, frozen (shared) or copied to fine-tune
    use = (lambda enc: enc) if kwargs.get("freeze_members") else _trainable_copy
    image_enc = use(image_model.encoder) if image_model is not None else ImageEncoder(embed_dim)
    audio_enc = use(audio_model.encoder) if audio_model is not None else audio_encoder(kind, embed_dim)
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
