"""Judging the generative models of notebook 4c: translation, coherence, latent probes, imputation.

* :func:`translate` - draw the other modality for every pair (image from audio, log-mel from image).
* :func:`coherence` - the share of translations that a unimodal classifier (the judge) labels as
  the source's digit (the MMVAE measure), per pair. A drawn image is judged as the decoder's most
  likely image (:func:`most_likely_image`).
* :func:`latents` - the posterior means given the image, the audio or both, for linear probes and
  for training a probe on one modality and testing it on the other.
* :func:`impute` - pairs whose broken view is replaced by the one translated from the clean view.
* :func:`retrieved` - the retrieval baseline: the nearest example of the other modality by cosine.
* :func:`prior_draws` - what a VAE draws from its prior, ``z ~ N(0, I)``.
"""

from __future__ import annotations

import numpy as np
import torch

from ..cache.results import compute_or_load
from ..data.paired import PairedData, PairedLoader


@torch.inference_mode()
def translate(model, data: PairedData, source: str, batch_size: int = 512) -> torch.Tensor:
    """For every pair, the other modality drawn from ``source`` ("image" or "audio"): images in
    [0, 1] (N, 1, 28, 28) from audio, log-mel features (N, 1, bands, frames) from images."""
    if source not in ("image", "audio"):
        raise ValueError(f"translate: source must be 'image' or 'audio', got {source!r}")
    model.eval()
    out = [model.translate(source, images if source == "image" else audio)
           for images, audio, _ in PairedLoader(data, batch_size, shuffle=False)]
    return torch.cat(out)


@torch.inference_mode()
def classify(classifier, images: torch.Tensor | None, audio: torch.Tensor | None, batch_size: int = 512) -> np.ndarray:
    """The labels a unimodal classifier gives (it reads only its own modality; log-mel features are
    accepted in place of waveforms)."""
    classifier.eval()
    n = len(images if images is not None else audio)
    out = []
    for start in range(0, n, batch_size):
        part = slice(start, start + batch_size)
        out.append(classifier(None if images is None else images[part],
                              None if audio is None else audio[part]).argmax(1))
    return torch.cat(out).numpy()


def coherence(model, data: PairedData, source: str, classifiers: dict) -> np.ndarray:
    """Per pair: whether the translation from ``source`` is labelled as the pair's digit by the
    classifier of the other modality (``classifiers["image"]`` / ``["audio"]``). Stored, so that a
    re-run reads it (:func:`~mmhelpers.cache.results.compute_or_load`)."""
    judge = classifiers["image" if source == "audio" else "audio"]
    spec = {"model": model, "data": data, "source": source, "judge": judge,
            "drawn image judged as": "its most likely image (p > 1/2)"}
    return compute_or_load("coherence", spec, lambda: _coherence(model, data, source, judge))


def most_likely_image(drawn: torch.Tensor) -> torch.Tensor:
    """The most likely image under a Bernoulli decoder whose pixel probabilities are ``drawn``:
    each pixel on where its probability exceeds 1/2. A judge trained on real digits (strokes
    near 1 on a background near 0) reads it as it reads them; the probabilities themselves are a
    grey blur it misreads (an 8, mostly)."""
    return (drawn > 0.5).float()


def _coherence(model, data: PairedData, source: str, judge) -> np.ndarray:
    drawn = translate(model, data, source)
    if source == "audio":
        labels = classify(judge, most_likely_image(drawn), None)
    else:
        labels = classify(judge, None, drawn)
    return labels == data.labels.numpy()


def retrieved(query: np.ndarray, gallery: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """For each row of ``query`` (N, d), the index of the row of ``gallery`` (G, d) of
    highest cosine similarity (the first one on a tie): "translation" by retrieval,
    the nearest training example of the other modality in a shared space."""
    def unit(x):
        x = np.asarray(x, dtype=np.float64)
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    query, gallery = unit(query), unit(gallery)
    return np.concatenate([(query[start:start + chunk] @ gallery.T).argmax(1)
                           for start in range(0, len(query), chunk)]).astype(np.int64)


@torch.inference_mode()
def prior_draws(model, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(images, spectrograms)`` a VAE draws from ``n`` codes ``z ~ N(0, I)``: each image as its
    most likely image (:func:`most_likely_image`), each clip as its log-mel spectrogram."""
    model.eval()
    z = torch.randn(n, model.latent, generator=torch.Generator().manual_seed(seed))
    logits, audio = model.decode(z)
    return most_likely_image(torch.sigmoid(logits)), model.clip(audio)


@torch.inference_mode()
def latents(model, data: PairedData, given: str, batch_size: int = 512) -> np.ndarray:
    """The latent mean of every pair given the ``"image"``, the ``"audio"`` or ``"both"``."""
    model.eval()
    out = []
    for images, audio, _ in PairedLoader(data, batch_size, shuffle=False):
        if given == "both":
            out.append(model.encode(images, audio))
        else:
            out.append(model.unimodal(given, images if given == "image" else audio)[0])
    return torch.cat(out).numpy()


@torch.inference_mode()
def impute(data: PairedData, features, image_for, audio_for, tag: str) -> PairedData:
    """``data`` with the broken view of each pair (``meta["scenario"]``: ``image_noisy`` or
    ``audio_noisy``) replaced: ``image_for(pairs)`` gives the images of the image-noisy pairs,
    ``audio_for(pairs)`` the log-mel features of the audio-noisy ones. All audio is held as log-mel
    features (``features``: a :class:`~mmhelpers.features.inputs.MelInput`'s ``features``), the
    form a translated spectrogram takes; the series' audio models accept it."""
    scenario = np.asarray(data.meta["scenario"])
    images, audio = data.images.clone(), torch.cat([features(a) for a in data.audio.split(512)])
    rows = {broken: np.flatnonzero(scenario == broken) for broken in ("image_noisy", "audio_noisy")}
    if len(rows["image_noisy"]):
        images[rows["image_noisy"]] = image_for(data[rows["image_noisy"]])
    if len(rows["audio_noisy"]):
        audio[rows["audio_noisy"]] = audio_for(data[rows["audio_noisy"]])
    return PairedData(images, audio, data.labels, data.meta, data.has_labels, f"{data.name} [{tag}]",
                      "", f"log-mel features, {tag}")


def translated(model):
    """``(image_for, audio_for)`` for :func:`impute`: the broken view drawn from the clean one."""
    return (lambda pairs: translate(model, pairs, "audio")), (lambda pairs: translate(model, pairs, "image"))


def filled(image: torch.Tensor, waveform: torch.Tensor, features):
    """``(image_for, audio_for)`` for :func:`impute`: the broken view replaced by one fixed
    input (zeros, or the training mean)."""
    feats = features(waveform.reshape(1, 1, -1))
    return (lambda pairs: image.reshape(1, 1, 28, 28).expand(len(pairs), -1, -1, -1)), \
        (lambda pairs: feats.expand(len(pairs), -1, -1, -1))
