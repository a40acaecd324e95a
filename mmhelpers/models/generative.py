"""Generative models of both modalities: a multimodal VAE and the bimodal autoencoder (notebook 4c).

Both read a pair as an image (28x28 pixels in [0, 1]) and a clip, and learn, without labels, a
latent code from which both are drawn again. Each modality is seen, and drawn, in one form:
the image's 784 pixels, and the clip as its spoken word and background
(:mod:`mmhelpers.features.spoken_word`; :meth:`_Parts.audio_target`): the 32 x 32 log-mel excess
of the word over the background and the 32 bands' background level, scaled to about unit spread.
Drawing the whole spectrogram instead spends the model on the background and on where the word
sits, and its audio code barely knows the digit. Cut out where it was spoken, the word no longer
needs a convolution to be found, so encoders and decoders are MLPs (two hidden layers): cheap
enough for the many epochs a VAE needs on a CPU, where the series' convolutional encoders
managed a few epochs and a code at chance.

* :class:`MultimodalVAE` - one Gaussian posterior per modality, ``q(z | image)`` and
  ``q(z | audio)``, combined into a joint one in one of two ways:

  - ``"poe"``, a **product of experts** (MVAE, Wu & Goodman 2018): the joint Gaussian is the
    product of the unimodal ones and the prior ``N(0, I)``: precisions add, and the mean is the
    precision-weighted mean (:func:`product_of_experts`);
  - ``"moe"``, a **mixture of experts** (MMVAE, Shi et al. 2019): the joint posterior is the
    average of the unimodal ones, so every unimodal posterior alone has to explain both modalities.

  The losses are in :mod:`mmhelpers.training.generative`.
* :class:`BimodalAutoencoder` - Ngiam et al. (2011): two encoders, one shared code, two decoders,
  deterministic; trained with one modality's input sometimes zeroed, so that one modality alone
  gives a code.

Translation is ``decode(encode(one modality))``: :meth:`_Parts.translate`.
"""

from __future__ import annotations

import torch
from torch import nn

from ..features.inputs import MelInput
from ..features.logmel import N_SAMPLES
from ..features.spoken_word import WORD_FRAMES, background, placed, spoken_word

IMAGE_PIXELS = 28 * 28
#: the scales of the drawn audio, rounded statistics of the embedded training clips: the word's
#: excess over the background (mean 3.2, spread 5.5) and the background's level (-1.8, spread 6.7)
WORD_SCALE, FLOOR_MEAN, FLOOR_SCALE = 5.0, -2.0, 7.0


def mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    """Two hidden ReLU layers of width ``hidden``."""
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, n_out))


def product_of_experts(mus, logvars) -> tuple[torch.Tensor, torch.Tensor]:
    """The product of Gaussian experts ``N(mu_k, exp(logvar_k))`` and the prior
    ``N(0, 1)``: precision ``1 + sum_k 1/var_k``, mean ``sum_k mu_k/var_k`` over that
    precision."""
    precisions = [torch.exp(-lv) for lv in logvars]
    precision = 1.0 + sum(precisions)
    mu = sum(m * p for m, p in zip(mus, precisions)) / precision
    return mu, -torch.log(precision)


class SpokenWordInput(MelInput):
    """The clip as the generative models see and draw it, (B, 1, bands, WORD_FRAMES + 1): the
    spoken word's log-mel excess over the background, then the background, both scaled.

    It is the model's one log-mel front end (a :class:`MelInput`), so training computes it once
    per split (:func:`~mmhelpers.features.precompute.for_model`) instead of in every batch (a
    fifth of a training step); precomputed ones pass through."""

    @property
    def feature_shape(self) -> tuple[int, int, int]:
        return (1, self.logmel.n_mels, WORD_FRAMES + 1)

    @property
    def config(self) -> dict:
        return dict(super().config, drawn=["spoken word", WORD_FRAMES, WORD_SCALE, "background", FLOOR_MEAN,
                                           FLOOR_SCALE])

    def features(self, audio: torch.Tensor) -> torch.Tensor:
        if audio.dim() == 4:                     # precomputed: checked and passed through
            return super().features(audio)
        log_mel = super().features(audio)
        word = spoken_word(log_mel, WORD_FRAMES) / WORD_SCALE
        return torch.cat([word, (background(log_mel) - FLOOR_MEAN) / FLOOR_SCALE], dim=3)


class _Parts(nn.Module):
    """Encoders of the two modalities (MLPs to ``code_out``) and their decoders (MLPs). The clip
    is seen as ``audio_input`` makes it (:class:`SpokenWordInput`)."""

    def __init__(self, latent: int, hidden: int, code_out: int):
        super().__init__()
        self.audio_input = SpokenWordInput()
        self.audio_shape = self.audio_input.feature_shape  # the word's frames, then the background
        bands, self.frames = self.audio_shape[1], self.audio_input.logmel.frames(N_SAMPLES)
        audio_size = bands * (WORD_FRAMES + 1)
        self.image_encoder = mlp(IMAGE_PIXELS, hidden, code_out)
        self.audio_encoder = mlp(audio_size, hidden, code_out)
        self.image_decoder = mlp(latent, hidden, IMAGE_PIXELS)
        self.audio_decoder = mlp(latent, hidden, audio_size)

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        return self.image_encoder(images.flatten(1))

    def encode_audio(self, audio: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        """The audio encoder on :meth:`audio_target` of ``audio``; ``target``: that target, when the
        caller has it already (a loss needs it as the reconstruction target too)."""
        target = self.audio_target(audio) if target is None else target
        return self.audio_encoder(target.flatten(1))

    def audio_target(self, audio: torch.Tensor) -> torch.Tensor:
        """What the model draws of a clip, (B, 1, bands, WORD_FRAMES + 1): the spoken
        word's excess over the background, then the background, both scaled
        (:class:`SpokenWordInput`)."""
        return self.audio_input.features(audio)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(image logits (B, 1, 28, 28), audio as in audio_target (B, 1, bands, WORD_FRAMES + 1))``."""
        return (self.image_decoder(z).view(-1, 1, 28, 28),
                self.audio_decoder(z).view(-1, *self.audio_shape))

    def clip(self, drawn: torch.Tensor) -> torch.Tensor:
        """Drawn audio as a clip's log-mel spectrogram (B, 1, bands, frames): the background
        everywhere, the word (its negative excess cut to 0) in the middle."""
        word = drawn[..., :WORD_FRAMES].clamp(min=0.0) * WORD_SCALE
        floor = drawn[..., WORD_FRAMES:] * FLOOR_SCALE + FLOOR_MEAN
        return placed(word, floor, self.frames)

    def translate(self, source: str, x: torch.Tensor) -> torch.Tensor:
        """Draw the other modality from ``x`` of modality ``source`` (the code of ``x`` alone): an
        image in [0, 1] (B, 1, 28, 28) from audio, a clip's log-mel spectrogram from an image."""
        image_logits, audio = self.decode(self.unimodal(source, x)[0])
        return self.clip(audio) if source == "image" else torch.sigmoid(image_logits)

    def forward(self, images: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """The code of the pair, :meth:`encode` (so that the series' tools can call the model on pairs)."""
        return self.encode(images, audio)


class MultimodalVAE(_Parts):
    """A VAE over both modalities with a ``"poe"`` or ``"moe"`` joint posterior (module docstring)."""

    def __init__(self, combine: str = "poe", latent: int = 20, hidden: int = 128):
        if combine not in ("poe", "moe"):
            raise ValueError(f"MultimodalVAE: combine must be 'poe' or 'moe', got {combine!r}")
        super().__init__(latent, hidden, 2 * latent)
        self.combine, self.latent = combine, latent

    def extra_repr(self) -> str:
        return f"combine={self.combine!r}, latent={self.latent}"

    def posterior(self, modality: str, x: torch.Tensor,
                  target: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``q(z | x)`` of one modality: ``(mean, log-variance)``; ``x`` raw (image or waveform),
        ``target`` as in :meth:`encode_audio`."""
        out = self.encode_image(x) if modality == "image" else self.encode_audio(x, target)
        mu, logvar = out.chunk(2, dim=1)
        return mu, logvar.clamp(-8.0, 8.0)

    def unimodal(self, modality: str, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The posterior given one modality alone: its expert times the prior for
        ``"poe"``, the expert itself for ``"moe"``."""
        mu, logvar = self.posterior(modality, x)
        return product_of_experts([mu], [logvar]) if self.combine == "poe" else (mu, logvar)

    def encode(self, images: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """The mean of the joint posterior (B, latent): the product, or the mixture's mean."""
        (mi, li), (ma, la) = self.posterior("image", images), self.posterior("audio", audio)
        return product_of_experts([mi, ma], [li, la])[0] if self.combine == "poe" else (mi + ma) / 2

class BimodalAutoencoder(_Parts):
    """Ngiam et al.'s bimodal deep autoencoder: ``code = Linear(concat(h_image, h_audio))``, both
    modalities decoded from it. A missing modality is a zero *input*, as in the paper: its encoder
    still runs, on zeros (``keep``)."""

    def __init__(self, latent: int = 20, hidden: int = 128):
        super().__init__(latent, hidden, hidden // 2)
        self.shared = nn.Sequential(nn.ReLU(), nn.Linear(hidden, latent))
        self.latent = latent

    def extra_repr(self) -> str:
        return f"latent={self.latent}"

    def code(self, images: torch.Tensor, audio: torch.Tensor, keep: torch.Tensor | None = None,
             target: torch.Tensor | None = None) -> torch.Tensor:
        """The shared code; ``keep`` (B, 2) zeroes the image (column 0) or the audio as the
        encoder sees it (column 1, :meth:`audio_target`) where it is 0; ``target`` as in
        :meth:`encode_audio`."""
        target = self.audio_target(audio) if target is None else target
        if keep is not None:
            images = images * keep[:, 0].view(-1, 1, 1, 1)
            target = target * keep[:, 1].view(-1, 1, 1, 1)
        h_image, h_audio = self.encode_image(images), self.encode_audio(audio, target)
        return self.shared(torch.cat([h_image, h_audio], dim=1))

    def encode(self, images: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        return self.code(images, audio)

    def unimodal(self, modality: str, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        """The code from one modality alone (the other's input zeroed), as ``(code, None)``."""
        if modality == "image":
            silence = torch.zeros(len(x), *self.audio_shape, device=x.device)
            return self.code(x, None, target=silence), None
        blank = torch.zeros(len(x), 1, 28, 28, device=x.device)
        return self.code(blank, x), None
