"""The unimodal classifier, and the helpers every model shares: normalisation fitting, parameter counts.

Every classifier has the same interface, so one trainer serves them all::

    logits = model(images, audio)      # (B, 10); a unimodal model ignores the other input
    z = model.embed(images, audio)     # (B, model.embed_dim): the input of the final nn.Linear

``images`` are (B, 1, 28, 28) in [0, 1]; ``audio`` is (B, 1, 8000) raw waveform. Normalisation
statistics come from *training* data only: ``fit_normalisation(model, train_images, train_audio)``
fits every :class:`~mmhelpers.features.standardize.Standardize` inside a model (a fresh one is the
identity). The encoders are in :mod:`mmhelpers.models.encoders`, the fusion models in
:mod:`mmhelpers.models.fusion`.
"""

from __future__ import annotations

import inspect
import os

import torch
from torch import nn

from ..data.paired import MODALITIES
from ..features.standardize import Standardize

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


# ----------------------------------------------------------------------------- helpers

@torch.no_grad()
def fit_normalisation(model: nn.Module, images: torch.Tensor | None = None,
                      audio: torch.Tensor | None = None, refit: bool = True) -> list[str]:
    """Fit every normalisation inside ``model`` on TRAINING ``images`` / ``audio``.

    Walks the modules; each encoder or input stage that declares a ``modality`` and a
    ``fit_normalisation`` method gets the matching tensor (once: its sub-modules are then
    skipped). ``refit=False`` leaves alone a stage that is fitted already (e.g. the encoders of
    trained models inside a fusion). Returns the names of what was fitted, e.g.
    ``["encoder (audio)"]``. Raises ``ValueError`` when the model needs a modality that was not given.
    """
    given = {"image": images, "audio": audio}
    done, fitted = set(), []
    for name, module in model.named_modules():
        if id(module) in done or getattr(module, "modality", None) not in MODALITIES \
                or not callable(getattr(module, "fit_normalisation", None)):
            continue
        if not refit and _is_fitted(module):
            done.update(id(m) for m in module.modules())
            continue
        x = given[module.modality]
        if x is None:
            raise ValueError(f"fit_normalisation: {name or type(module).__name__} needs "
                             f"{'images' if module.modality == 'image' else 'audio'} (training data), got None")
        module.fit_normalisation(x)
        done.update(id(m) for m in module.modules())
        fitted.append(f"{name or type(module).__name__} ({module.modality})")
    return fitted


def _is_fitted(module: nn.Module) -> bool:
    norms = [m for m in module.modules() if isinstance(m, Standardize)]
    return bool(norms) and all(bool(m.fitted) for m in norms)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def layer_text(module: nn.Module) -> str:
    """A layer as its repr shows it; a PyTorch layer as one would write it, its required
    arguments by position and only the keywords that differ from their defaults:
    ``Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)`` ->
    ``Conv2d(1, 32, 3, padding=1, bias=False)``."""
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return f"{type(module).__name__}({module.num_features})"
    if not type(module).__module__.startswith("torch."):
        return repr(module)
    try:
        signature = inspect.signature(type(module)).parameters
    except (TypeError, ValueError):
        signature = {}
    required = {k for k, p in signature.items() if p.default is inspect.Parameter.empty}
    defaults = {k: _squeeze(repr(p.default)) for k, p in signature.items() if k not in required}
    kept = []
    for item in _top_level_items(module.extra_repr()):
        key, eq, value = item.partition("=")
        if not eq:
            kept.append(item)
        elif key in required:
            kept.append(_squeeze(value))
        elif defaults.get(key, object()) != _squeeze(value):
            kept.append(f"{key}={_squeeze(value)}")
    return f"{type(module).__name__}({', '.join(kept)})"


def _top_level_items(text: str) -> list[str]:
    """``"1, 32, kernel_size=(3, 3)"`` -> ``["1", "32", "kernel_size=(3, 3)"]``."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
    tail = text[start:].strip()
    return items + [tail] if tail else items


def _squeeze(value: str) -> str:
    """A tuple of equal numbers as that number: ``"(3, 3)"``, ``"(3,)"`` -> ``"3"``."""
    parts = value.strip("()").rstrip(",").split(", ")
    return parts[0] if value.startswith("(") and len(set(parts)) == 1 else value


def describe(model: nn.Module) -> str:
    """A short text for notebooks: parameter counts, then every layer (its arguments that differ
    from the defaults) with its own parameter count, under the sub-module that holds it."""
    lines = [f"{type(model).__name__}: {count_parameters(model):,} trainable parameters "
             f"({count_parameters(model, False):,} in all)"]
    leaves = [(n, m) for n, m in model.named_modules() if not list(m.children())]
    groups: dict[str, list] = {}
    for n, m in leaves:
        groups.setdefault(n.split(".")[0] if "." in n else "", []).append((n.split("."), m))
    rows = []   # (indent, name, layer)
    for top, members in groups.items():
        shared = os.path.commonprefix([path[:-1] for path, _ in members])   # of lists
        if top:
            rows.append((0, ".".join(shared) + ":", None))
        rows += [(2 if top else 0, ".".join(path[len(shared):]), m) for path, m in members]
    width = max(indent + len(name) for indent, name, m in rows if m is not None)
    for indent, name, m in rows:
        if m is None:
            lines.append(" " * indent + name)
            continue
        own = sum(p.numel() for p in m.parameters())
        lines.append(f"{' ' * indent}{name:<{width - indent}}  {layer_text(m)}"
                     + (f"  [{own:,}]" if own else ""))
    return "\n".join(lines)
