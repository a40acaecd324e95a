"""Render one split of the embedded dataset from its plan (:mod:`.plan`): augmented MNIST images
with the camera's noise, spoken digits placed in the 1 s window with the microphone's noise.

The speech of every chunk of ``SPEECH_CHUNK`` pairs is synthesised in a brand-new interpreter
(:mod:`.fresh_processes`), because the speech engine's output depends on its call history: so a
rebuild is byte-identical on the same platform, and the quick-mode dataset is exactly the first
pairs of the full one.
"""

from __future__ import annotations

import time

import numpy as np

from .. import config
from . import noise, speech
from .fresh_processes import FreshProcesses
from .mnist import mnist_sources
from .plan import SPEECH_CHUNK, SPLIT_ID, make_plan, voice_pool


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
        noisy[j], kind = noise.corrupt_audio(clean[j], float(job["audio_noise"][j]), rng)
        kinds.append(kind if job["audio_noise"][j] > 0 else "none")
    return clean, noisy, kinds


def build(split: str, n: int, seed: int = config.SEED, workers: int = 2, verbose: bool = False) -> dict:
    """Generate one split; returns a dict of arrays (noisy + clean images/audio, labels, meta).

    The audio is made in chunks of ``SPEECH_CHUNK`` pairs, each in a new interpreter (the speech
    engine's output depends on its call history), ``workers`` at a time; the images meanwhile
    here. A chunk that fails stops the build with its own error, naming the chunk.
    """
    t0 = time.perf_counter()
    speech.data_path()  # fail early, here, with the clear message if the engine is missing
    src_images, src_labels, src_ids = mnist_sources(split, seed)
    plan = make_plan(split, n, seed, src_labels, voice_pool(split, seed))
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
            images[i], kind = noise.corrupt_image(clean_images[i], float(plan["image_noise"][i]), rng)
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
