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
give a posterior. :class:`MMVAELoss` is the mixture-of-experts bound of Shi et al. (2019) as their
code trains MNIST-SVHN (``--obj dreg --looser --K 30``): for each expert ``m``, ``K`` draws
``z ~ q_m``, importance weights ``p(x, z) / q_mix(z)`` against the mixture of the experts, their
log-mean per expert (the "looser", stratified bound), averaged over the experts, with the DReG
gradient estimator (:func:`dreg`). :func:`naive_moe_bound` is the bound it replaces, each expert's
own ELBO (the KL to the prior in place of ``log q_mix``); it is lower by
``(1/M) sum_m KL(q_m || q_mix)``. :class:`BimodalAELoss` trains the autoencoder with one modality's
*input* zeroed in a third of the pairs each (Ngiam et al. 2011).
"""

from __future__ import annotations

import math
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
                   modalities=MODALITIES, weights=None) -> torch.Tensor:
    """Negative log-likelihood per row of ``modalities`` of the pair, drawn from
    ``z``; ``weights``: a factor per modality (default 1)."""
    weights = weights or {}
    image_logits, audio_hat = model.decode(z)
    nll = torch.zeros(len(z), device=z.device)
    if "image" in modalities:
        bce = F.binary_cross_entropy_with_logits(image_logits, images, reduction="none")
        nll = nll + weights.get("image", 1.0) * bce.flatten(1).sum(1)
    if "audio" in modalities:
        squared = 0.5 * (audio_hat - audio).pow(2).flatten(1).sum(1)
        nll = nll + weights.get("audio", 1.0) * squared
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


def log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``log N(z; mu, diag(exp(logvar)))``, summed over the last dimension."""
    return -0.5 * ((z - mu).pow(2) / logvar.exp() + logvar + math.log(2 * math.pi)).sum(-1)


def log_mixture(z: torch.Tensor, experts) -> torch.Tensor:
    """``log q_mix(z) = log (1/M) sum_m q_m(z)`` for Gaussian experts ``[(mu, logvar),
    ...]``."""
    logs = torch.stack([log_normal(z, mu, logvar) for mu, logvar in experts])
    return torch.logsumexp(logs, 0) - math.log(len(experts))


def dreg(log_w: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """The importance-weighted bound ``log (1/K) sum_k w_k`` per column of ``log_w`` (K,
    B), with the doubly reparameterised gradient (Tucker et al. 2019): the decoder's
    gradient weighs each draw by its normalised weight ``w~_k``, the encoder's by
    ``w~_k^2`` through ``z`` (a hook on ``z``; ``log_w`` must not reach the encoder's
    parameters except through ``z``)."""
    weights = torch.softmax(log_w, 0).detach()
    if z.requires_grad:
        z.register_hook(lambda grad: weights.unsqueeze(-1) * grad)
    surrogate = (weights * log_w).sum(0)            # its gradient is DReG's
    bound = torch.logsumexp(log_w, 0) - math.log(len(log_w))
    return bound.detach() + surrogate - surrogate.detach()


def stratified_bound(model, experts, images, target, particles: int = 1,
                     weights=None) -> torch.Tensor:
    """Per pair, Shi et al.'s bound for the mixture of ``experts`` ``[(mu, logvar),
    ...]``: ``(1/M) sum_m log (1/K) sum_k p(x, z_mk) / q_mix(z_mk)`` with ``z_mk ~
    q_m``, where ``p(x, z) = p(x | z) p(z)`` (both modalities drawn from ``z``,
    ``weights`` as in :func:`reconstruction`) and ``q_mix = (1/M) sum_m q_m``; DReG
    gradients (:func:`dreg`)."""
    # DReG: the encoder's gradient reaches the bound through z only
    fixed = [(mu.detach(), logvar.detach()) for mu, logvar in experts]
    k, n = particles, len(images)

    def repeat(x):   # (B, ...) -> (K * B, ...): K copies, one after the other
        return x.expand(k, *x.shape).reshape(k * n, *x.shape[1:])

    bounds = []
    for mu, logvar in experts:
        z = sample(mu.expand(k, -1, -1), logvar.expand(k, -1, -1))   # (K, B, latent)
        nll = reconstruction(model, z.reshape(k * n, -1), repeat(images),
                             repeat(target), weights=weights).view(k, n)
        log_prior = log_normal(z, torch.zeros_like(z), torch.zeros_like(z))
        bounds.append(dreg(-nll + log_prior - log_mixture(z, fixed), z))
    return sum(bounds) / len(bounds)


@dataclass(frozen=True)
class MMVAELoss:
    """Negative mixture-of-experts bound of Shi et al. (2019) (:func:`stratified_bound`)
    for the image's and the audio's experts, ``particles`` importance samples each;
    ``image_scale`` weighs the image's log-likelihood (the authors' ``llik_scaling``:
    1 here, the image's 784 pixels and the drawn audio's 1,056 values being of a
    size).

    The authors train MNIST-SVHN with ``K = 30``, which costs 30 decoder passes per
    pair and step. At this series' CPU budget one draw per expert (``K = 1``, where
    DReG's weights are 1 and the bound is the stratified ELBO) trains as many epochs
    as the other models; 5 draws for 12 epochs (the same time) gave no higher
    coherence than 1 draw for 30 (docs/history.md)."""

    particles: int = 1
    image_scale: float = 1.0

    def __call__(self, model, images, audio, labels) -> torch.Tensor:
        target = model.audio_target(audio)
        experts = [model.posterior("image", images),
                   model.posterior("audio", audio, target)]
        return -stratified_bound(model, experts, images, target, self.particles,
                                 {"image": self.image_scale}).mean()


def naive_moe_bound(model, images, audio) -> torch.Tensor:
    """Per pair, the average of each expert's own ELBO on both modalities, ``(1/M) sum_m
    E_{q_m}[log p(x | z)] - KL(q_m || p)``: the bound Shi et al.'s code keeps as
    ``m_elbo_naive`` and does not train; :class:`MMVAELoss` (K = 1) is higher by
    ``(1/M) sum_m KL(q_m || q_mix)``."""
    target = model.audio_target(audio)
    terms = [elbo(model, *model.posterior("image", images), images, target),
             elbo(model, *model.posterior("audio", audio, target), images, target)]
    return -sum(terms) / len(terms)


@dataclass(frozen=True)
class BimodalAELoss:
    """Reconstruction of both modalities from the shared code, with the image's
    input zeroed in a third of the pairs and the audio's in another third (chosen anew
    every batch), as Ngiam et al. train it."""

    def __call__(self, model, images, audio, labels) -> torch.Tensor:
        target = model.audio_target(audio)
        # 0: both kept, 1: no image, 2: no audio
        which = torch.randint(0, 3, (len(images),), device=images.device)
        keep = torch.stack([which != 1, which != 2], dim=1).float()
        code = model.code(images, audio, keep, target)
        return reconstruction(model, code, images, target).mean()
