"""The noise protocol's corruption functions: a failing camera and a noisy microphone.

Each function takes one clean example, a *severity* in [0, 1] (0 = untouched, 1 = the worst
failure) and a NumPy ``Generator``, and returns a new array; inputs are never modified. The
dataset generator uses them, and so does the noise sweep in notebook 3a, so a sweep measures
exactly the corruption the models were trained on.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 8000
#: the dominant kinds of microphone failure (recorded per pair in ``meta["audio_kind"]``)
AUDIO_KINDS = ("broadband", "tone", "dropout")
#: the dominant kinds of camera failure (recorded per pair in ``meta["image_kind"]``)
IMAGE_KINDS = ("impulse", "grey", "blocks")


def _check(severity: float, rng) -> float:
    if not 0.0 <= float(severity) <= 1.0:
        raise ValueError(f"severity must be in [0, 1], got {severity}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return float(severity)


def corrupt_image(image: np.ndarray, severity: float, rng: np.random.Generator,
                  kind: str | None = None) -> tuple[np.ndarray, str]:
    """Camera failure on one (28, 28) image with values in [0, 1].

    Pixels are replaced by black, mid-grey or white levels (a growing fraction, up to a mostly
    grey frame for ``kind="grey"``), rectangular blocks drop out, contrast fades and Gaussian
    sensor noise is added, all scaled by ``severity``. Returns ``(image, kind)``.
    """
    s = _check(severity, rng)
    if image.shape != (28, 28):
        raise ValueError(f"corrupt_image: expected a (28, 28) image, got {image.shape}")
    kind = kind or IMAGE_KINDS[rng.integers(len(IMAGE_KINDS))]
    if kind not in IMAGE_KINDS:
        raise ValueError(f"corrupt_image: kind must be one of {IMAGE_KINDS}, got {kind!r}")
    x = image.astype(np.float32, copy=True)
    if s == 0.0:
        return x, kind
    # fading contrast towards a grey frame
    x = 0.5 + (x - 0.5) * (1.0 - 0.55 * s)
    # replaced pixels: black / grey / white; "grey" failures replace mostly with grey
    frac = {"impulse": 0.92, "grey": 0.96, "blocks": 0.55}[kind] * s ** 1.2
    levels_p = [0.1, 0.8, 0.1] if kind == "grey" else [0.3, 0.4, 0.3]
    mask = rng.random((28, 28)) < frac
    x[mask] = rng.choice(np.array([0.0, 0.5, 1.0], np.float32), size=int(mask.sum()), p=levels_p)
    # dropped blocks of the sensor
    n_blocks = int(rng.poisson((4.0 if kind == "blocks" else 1.2) * s))
    for _ in range(n_blocks):
        h, w = rng.integers(5, 5 + int(12 * s) + 1, size=2)
        r, c = rng.integers(0, 28 - h + 1), rng.integers(0, 28 - w + 1)
        x[r:r + h, c:c + w] = rng.choice([0.0, 0.5, 1.0])
    # sensor noise
    x += rng.normal(0.0, 0.3 * s, size=x.shape).astype(np.float32)
    return np.clip(x, 0.0, 1.0), kind


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-8)


def corrupt_audio(wave: np.ndarray, severity: float, rng: np.random.Generator,
                  kind: str | None = None, sample_rate: int = SAMPLE_RATE) -> tuple[np.ndarray, str]:
    """Microphone failure on one 1-D waveform.

    Every failure adds broadband noise whose SNR falls from 30 dB (severity 0+) to -10 dB
    (severity 1). The dominant ``kind`` adds more: ``"tone"`` a hum or whistle (mains harmonics or
    a 200-1500 Hz tone) that can drown the voice, ``"dropout"`` zeroed stretches covering up to
    ~85 % of the clip, and ``"broadband"`` a further 6 dB of noise; loud failures also clip.
    Returns ``(wave, kind)``.
    """
    s = _check(severity, rng)
    if wave.ndim != 1:
        raise ValueError(f"corrupt_audio: expected a 1-D waveform, got shape {wave.shape}")
    kind = kind or AUDIO_KINDS[rng.integers(len(AUDIO_KINDS))]
    if kind not in AUDIO_KINDS:
        raise ValueError(f"corrupt_audio: kind must be one of {AUDIO_KINDS}, got {kind!r}")
    x = wave.astype(np.float32, copy=True)
    if s == 0.0:
        return x, kind
    n, ref = len(x), _rms(x[np.abs(x) > 1e-4]) if np.any(np.abs(x) > 1e-4) else 0.1
    t = np.arange(n, dtype=np.float32) / sample_rate
    if kind == "dropout":
        cover = 0.85 * s ** 1.3
        n_seg = max(1, int(rng.integers(2, 7)))
        for length in rng.dirichlet(np.ones(n_seg)) * cover * n:
            start = int(rng.integers(0, max(1, n - int(length))))
            x[start:start + int(length)] = 0.0
    if kind == "tone":
        ratio_db = -25.0 + 45.0 * s  # interference-to-speech level
        amp = ref * np.sqrt(2.0) * 10 ** (ratio_db / 20)
        if rng.random() < 0.5:  # mains hum with harmonics
            f0 = rng.choice([50.0, 60.0])
            hum = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 8))
            x += (amp * hum / np.abs(hum).max()).astype(np.float32)
        else:  # a whistle that wobbles in pitch
            f = rng.uniform(200, 1500) * (1 + 0.03 * np.sin(2 * np.pi * rng.uniform(0.5, 4) * t))
            x += (amp * np.sin(2 * np.pi * np.cumsum(f) / sample_rate)).astype(np.float32)
    snr_db = 30.0 - 40.0 * s - (6.0 if kind == "broadband" else 0.0)
    noise = rng.standard_normal(n).astype(np.float32)
    if rng.random() < 0.5:  # coloured (low-passed) noise half of the time
        noise = np.convolve(noise, np.ones(4, np.float32) / 2.0, mode="same")
    x += noise * (ref / _rms(noise)) * 10 ** (-snr_db / 20)
    if s > 0.5 and rng.random() < s:  # overdriven microphone
        peak = np.abs(x).max() + 1e-8
        x = np.clip(x, -peak * (1.1 - s), peak * (1.1 - s))
    return x.astype(np.float32), kind


def corrupt_images(images: np.ndarray, severity: float, seed: int = 0) -> np.ndarray:
    """Corrupt a batch (N, 28, 28) or (N, 1, 28, 28) at one severity (for noise sweeps)."""
    rng = np.random.default_rng(seed)
    flat = images.reshape(-1, 28, 28)
    out = np.stack([corrupt_image(im, severity, rng)[0] for im in flat])
    return out.reshape(images.shape)


def corrupt_audios(waves: np.ndarray, severity: float, seed: int = 0) -> np.ndarray:
    """Corrupt a batch (N, T) or (N, 1, T) at one severity (for noise sweeps)."""
    rng = np.random.default_rng(seed)
    flat = waves.reshape(len(waves), -1)
    out = np.stack([corrupt_audio(w, severity, rng)[0] for w in flat])
    return out.reshape(waves.shape)
