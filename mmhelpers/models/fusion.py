"""Fusion models: where the image and the audio meet.

* :class:`EarlyFusion` - at the input: the spectrogram becomes a second image channel.
* :class:`IntermediateFusion` - at the embeddings: concatenate, then an MLP.
* :class:`GatedFusion` - at the embeddings, weighted per sample by a learned gate.
* :class:`~mmhelpers.models.late_fusion.LateFusion` - at the outputs: a weighted combination of
  two unimodal classifiers.

All take ``(images, audio)``, return logits (B, n_classes), and have ``embed(images, audio)``
(the input of the final linear layer). Every weight is a registered module or ``nn.Parameter``,
so ``model.parameters()`` hands all of them to the optimiser.

Intermediate and gated fusion can fuse the encoders of trained models, kept frozen:
``IntermediateFusion(FrozenEncoder(image_model.encoder), FrozenEncoder(audio_model.encoder))``.
Frozen encoders give the same outputs every epoch, so
:func:`mmhelpers.training.frozen_members.train_on_frozen_members` computes them once and trains
only the fusion's own weights.
"""

from __future__ import annotations

import torch
from torch import nn

from ..features.inputs import ImageInput, MelInput
from .encoders import channels_last, image_cnn
from .frozen import FrozenEncoder


def _check_p(p: float, name: str) -> float:
    if not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {p}")
    return float(p)


def modality_dropout_mask(batch: int, p: float, device=None,
                          generator=None) -> torch.Tensor:
    """(batch, 2) float mask of kept modalities (column 0 image, column 1 audio).

    Each sample independently, with probability ``p``, loses ONE modality, chosen
    uniformly at random; never both. Kept entries are 1 and dropped ones 0 (no
    rescaling: a zero embedding is how a missing modality looks at test time too).
    """
    p = _check_p(p, "modality_dropout")
    drop = torch.rand(batch, device=device, generator=generator) < p
    which = torch.randint(0, 2, (batch,), device=device, generator=generator)
    keep = torch.ones(batch, 2, device=device)
    keep[drop, which[drop]] = 0.0
    return keep


class _TwoEncoders(nn.Module):
    """Shared plumbing: two encoders and per-sample modality dropout on their
    embeddings. When both encoders are :class:`~mmhelpers.models.frozen.FrozenEncoder`,
    ``freeze_members`` is true: only the fusion's own weights train."""

    def __init__(self, image_encoder: nn.Module, audio_encoder: nn.Module,
                 modality_dropout: float):
        super().__init__()
        for name, enc, modality in (("image_encoder", image_encoder, "image"),
                                    ("audio_encoder", audio_encoder, "audio")):
            if not hasattr(enc, "embed_dim"):
                raise TypeError(f"{type(self).__name__}: {name} needs an embed_dim "
                                "attribute")
            if getattr(enc, "modality", modality) != modality:
                raise ValueError(f"{type(self).__name__}: {name} is a {enc.modality} "
                                 f"encoder ({type(enc).__name__}); were the two encoders "
                                 "swapped?")
        self.image_encoder, self.audio_encoder = image_encoder, audio_encoder
        self.freeze_members = (isinstance(image_encoder, FrozenEncoder)
                               and isinstance(audio_encoder, FrozenEncoder))
        self.modality_dropout = _check_p(modality_dropout, "modality_dropout")
        self.last_keep = None

    def member_outputs(self, images, audio) -> tuple[torch.Tensor, torch.Tensor]:
        """What :meth:`fuse` takes: the two embeddings."""
        return self.image_encoder(images), self.audio_encoder(audio)

    def member_encoders(self) -> tuple[nn.Module, nn.Module]:
        """The two trained encoders inside the frozen wrappers."""
        return self.image_encoder.encoder, self.audio_encoder.encoder

    def from_encodings(self, e_img: torch.Tensor,
                       e_aud: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What :meth:`fuse` takes, given the member encoders' outputs: those outputs."""
        return e_img, e_aud

    def extra_repr(self) -> str:
        return f"modality_dropout={self.modality_dropout}"

    def drop_modality(self, e_img, e_aud, drop: bool = True):
        """Modality dropout: in training mode (and ``drop``), zero one of the two embeddings
        of each dropped sample (:func:`modality_dropout_mask`); in ``eval()`` the identity.
        The mask used is kept in ``self.last_keep`` ((B, 2), 1 = kept)."""
        if drop and self.training and self.modality_dropout > 0:
            keep = modality_dropout_mask(len(e_img), self.modality_dropout,
                                         e_img.device)
            e_img, e_aud = e_img * keep[:, :1], e_aud * keep[:, 1:]
            self.last_keep = keep
        else:
            self.last_keep = torch.ones(len(e_img), 2, device=e_img.device)
        return e_img, e_aud

    def forward(self, images, audio) -> torch.Tensor:
        return self.fuse(*self.member_outputs(images, audio))


class IntermediateFusion(_TwoEncoders):
    """Concatenate the two embeddings -> Linear(hidden)-ReLU -> Dropout -> Linear.

    ``modality_dropout=p``: in training mode only, each sample of a batch independently
    has probability ``p`` of having the embedding of ONE modality (image or audio,
    50/50) set to zero before concatenation, never both; the mask of the last forward
    is ``self.last_keep``. It teaches the head to classify from either modality alone.
    In ``eval()`` nothing is dropped. ``embed`` returns the hidden layer (B, hidden).
    """

    def __init__(self, image_encoder: nn.Module, audio_encoder: nn.Module,
                 hidden: int = 128, dropout: float = 0.3, modality_dropout: float = 0.0,
                 n_classes: int = 10):
        super().__init__(image_encoder, audio_encoder, modality_dropout)
        self.embed_dim = hidden
        joint = image_encoder.embed_dim + audio_encoder.embed_dim
        self.hidden = nn.Sequential(nn.Linear(joint, hidden), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout(_check_p(dropout, "dropout"))
        self.classifier = nn.Linear(hidden, n_classes)

    def fuse(self, e_img: torch.Tensor, e_aud: torch.Tensor) -> torch.Tensor:
        """Logits from the two embeddings (B, embed_dim each): the whole fusion."""
        e_img, e_aud = self.drop_modality(e_img, e_aud)  # in training, if asked for
        h = self.hidden(torch.cat([e_img, e_aud], dim=1))  # concatenate, Linear, ReLU
        return self.classifier(self.dropout(h))  # Dropout, Linear: the logits

    def embed(self, images, audio) -> torch.Tensor:
        """The hidden layer ``h`` of :meth:`fuse` (B, hidden): what is classified."""
        e_img, e_aud = self.drop_modality(*self.member_outputs(images, audio))
        return self.hidden(torch.cat([e_img, e_aud], dim=1))


class GatedFusion(_TwoEncoders):
    """A gate decides, per sample, how much each modality counts.

    ``w = softmax(gate([e_img, e_aud]))`` (B, 2);
    ``fused = w_img * proj_img(e_img) + w_aud * proj_aud(e_aud)`` with
    ``proj = Linear(hidden)-ReLU``; logits = Linear(Dropout(fused)). After each forward
    ``self.last_weights`` holds the (B, 2) weights (detached); :meth:`modality_weights`
    computes them explicitly. ``modality_dropout`` works as in
    :class:`IntermediateFusion` (on the embeddings, training only) and shows the gate
    what a dead sensor looks like. ``embed`` returns ``fused`` (B, hidden).
    """

    def __init__(self, image_encoder: nn.Module, audio_encoder: nn.Module,
                 hidden: int = 64, gate_hidden: int = 32, dropout: float = 0.3,
                 modality_dropout: float = 0.0, n_classes: int = 10):
        super().__init__(image_encoder, audio_encoder, modality_dropout)
        e_i, e_a = image_encoder.embed_dim, audio_encoder.embed_dim
        self.embed_dim = hidden
        self.proj_image = nn.Sequential(nn.Linear(e_i, hidden), nn.ReLU(inplace=True))
        self.proj_audio = nn.Sequential(nn.Linear(e_a, hidden), nn.ReLU(inplace=True))
        self.gate = nn.Sequential(nn.Linear(e_i + e_a, gate_hidden),
                                  nn.ReLU(inplace=True), nn.Linear(gate_hidden, 2))
        self.dropout = nn.Dropout(_check_p(dropout, "dropout"))
        self.classifier = nn.Linear(hidden, n_classes)
        self.last_weights = None

    def gated_sum(self, e_img, e_aud, drop: bool = True):
        """``(fused, w)``: the gate's weights ``w`` (B, 2) and the weighted sum of the two
        projected embeddings (B, hidden)."""
        e_img, e_aud = self.drop_modality(e_img, e_aud, drop)
        w = torch.softmax(self.gate(torch.cat([e_img, e_aud], dim=1)), dim=1)
        self.last_weights = w.detach()
        fused = w[:, :1] * self.proj_image(e_img) + w[:, 1:] * self.proj_audio(e_aud)
        return fused, w

    def embed(self, images, audio) -> torch.Tensor:
        return self.gated_sum(*self.member_outputs(images, audio))[0]

    def fuse(self, e_img: torch.Tensor, e_aud: torch.Tensor) -> torch.Tensor:
        """Logits from the two embeddings (B, embed_dim each)."""
        return self.classifier(self.dropout(self.gated_sum(e_img, e_aud)[0]))

    @torch.no_grad()
    def modality_weights(self, images, audio) -> torch.Tensor:
        """The gate's (B, 2) weights [image, audio] for a batch, without modality dropout
        (call ``model.eval()`` first so that batch norms use their running statistics)."""
        return self.gated_sum(*self.member_outputs(images, audio), drop=False)[1]


class EarlyFusion(nn.Module):
    """Fuse at the input: a 2-channel "image" [digit image, log-mel spectrogram
    squeezed to 28x28] through one shared CNN (``image_cnn`` with 2 input channels),
    then ReLU -> Linear(n_classes).

    The spectrogram has 28 mel bands (rows) and is average-pooled over time to 28
    columns; both channels are standardised with training statistics (image: one
    scalar; spectrogram: per band).

    Assumption (that does NOT hold here): the channels are spatially aligned - pixel
    (i, j) of the image and bin (i, j) of the spectrogram describe the same thing, as
    the colour channels of a photo do. Here rows of the spectrogram are frequencies
    and columns are time, unrelated to the image's rows and columns, so the first
    convolution mixes unrelated neighbours. It is the baseline that shows why fusion
    usually happens later.
    """

    def __init__(self, embed_dim: int = 100, dropout: float = 0.25, hop: int = 128,
                 n_classes: int = 10):
        super().__init__()
        self.embed_dim = embed_dim
        self.image_input = ImageInput()
        self.audio_input = MelInput(n_mels=28, hop=hop, size=(28, 28))
        self.net = image_cnn(2, embed_dim, dropout)
        self.net.to(memory_format=torch.channels_last)
        self.act = nn.ReLU()
        self.classifier = nn.Linear(embed_dim, n_classes)

    def embed(self, images, audio) -> torch.Tensor:
        x = torch.cat([self.image_input(images), self.audio_input(audio)], dim=1)
        return self.act(self.net(channels_last(x)))

    def forward(self, images, audio) -> torch.Tensor:
        return self.classifier(self.embed(images, audio))
