"""The training losses of the generative models of :mod:`mmhelpers.models.generative`.

Each is a callable ``loss(model, images, audio, labels)`` for the one trainer
(:func:`~mmhelpers.training.trainer.fit`); the labels are never used. Per pair, in nats:

* :func:`reconstruction` - the negative log-likelihood of what is drawn: Bernoulli for the image's
  784 pixels (binary cross-entropy), unit-variance Gaussian for the drawn audio, the scaled
  spoken word and background of :meth:`~mmhelpers.models.generative._Parts.audio_target` (half the
  squared error, up to a constant);
* :func:`gaussian_kl` - ``KL(N(mu, var) || N(0, I))``.

:class:`MVAELoss` is the product-of-experts ELBO on the pair *and* on each modality alone (MVAE's
sub-sampling): the unimodal terms are the missing-modality training that makes either view alone
give a posterior. :class:`MMVAELoss` is the mixture-of-experts ELBO: each unimodal posterior draws
both modalities. :class:`BimodalAELoss` trains the autoencoder with one modality's representation
zeroed in a third of the pairs each.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..data.paired import MODALITIES
from ..models.generative import product_of_experts


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, exp(logvar)) || N(0, I))`` per row:
    ``0.5 sum(mu^2 + var - 1 - logvar)``."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)


def sample(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``mu + sigma * eps``, the reparameterisation trick."""
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def reconstruction(model, z: torch.Tensor, images: torch.Tensor, audio: torch.Tensor,
                   modalities=MODALITIES) -> torch.Tensor:
    """Negative log-likelihood per row of ``modalities`` of the pair, drawn from
    ``z``."""
    image_logits, audio_hat = model.decode(z)
    nll = torch.zeros(len(z), device=z.device)
    if "image" in modalities:
        bce = F.binary_cross_entropy_with_logits(image_logits, images, reduction="none")
        nll = nll + bce.flatten(1).sum(1)
    if "audio" in modalities:
        nll = nll + 0.5 * (audio_hat - audio).pow(2).flatten(1).sum(1)
    return nll


def elbo(model, mu, logvar, images, audio, modalities=MODALITIES) -> torch.Tensor:
    """The negative ELBO per row for one posterior: reconstruction of ``modalities``
    plus KL."""
    z = sample(mu, logvar)
    return reconstruction(model, z, images, audio, modalities) + gaussian_kl(mu, logvar)


@dataclass(frozen=True)
class MVAELoss:
    """Negative ELBO of the product of experts on the pair and on each modality
    alone."""

    def __call__(self, model, images, audio, labels) -> torch.Tensor:
        # once: the audio encoder's input and what is drawn
        target = model.audio_target(audio)
        experts = {"image": model.posterior("image", images),
                   "audio": model.posterior("audio", audio, target)}
        total = 0.0
        for subset in (MODALITIES, ("image",), ("audio",)):
            mus = [experts[m][0] for m in subset]
            logvars = [experts[m][1] for m in subset]
            mu, logvar = product_of_experts(mus, logvars)
            total = total + elbo(model, mu, logvar, images, target, subset)
        return total.mean()


@dataclass(frozen=True)
class MMVAELoss:
    """Negative ELBO of the mixture of experts: the average over the two unimodal
    posteriors, each drawing both modalities."""

    def __call__(self, model, images, audio, labels) -> torch.Tensor:
        # once: the audio encoder's input and what is drawn
        target = model.audio_target(audio)
        terms = [elbo(model, *model.posterior("image", images), images, target),
                 elbo(model, *model.posterior("audio", audio, target), images, target)]
        return (sum(terms) / len(terms)).mean()


@dataclass(frozen=True)
class BimodalAELoss:
    """Reconstruction of both modalities from the shared code, with the image's
    representation zeroed in a third of the pairs and the audio's in another third
    (chosen anew every batch)."""

    def __call__(self, model, images, audio, labels) -> torch.Tensor:
        target = model.audio_target(audio)
        # 0: both kept, 1: no image, 2: no audio
        which = torch.randint(0, 3, (len(images),), device=images.device)
        keep = torch.stack([which != 1, which != 2], dim=1).float()
        code = model.code(images, audio, keep, target)
        return reconstruction(model, code, images, target).mean()
