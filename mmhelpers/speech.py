"""Offline spoken digits: a small ctypes binding to libespeak-ng from the ``espeakng-loader`` wheel.

libespeak-ng and its data (GPL-3.0-or-later) are *loaded at run time* from the user's own
``espeakng-loader`` install; nothing of them is vendored here.

The engine's state is process-global and its output depends on the history of calls in the
process, so reproducible banks are synthesised by :func:`synthesise_fresh`: fixed chunks, each in
a fresh process, in a fixed order. Nothing happens at import time.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing as mp
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

ACCENTS = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc")
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ENGINE_RATE = 22050
RATE_RANGE, PITCH_RANGE = (80, 450), (0, 99)
_SILENCE = 0.01  # trim threshold, relative to the clip's peak


class SpeechUnavailable(RuntimeError):
    """libespeak-ng could not be loaded or initialised."""


@dataclass(frozen=True)
class Utterance:
    """One word to speak: voice ``"accent+variant"``, rate (words/min), pitch and pitch range 0-99."""

    text: str
    voice: str
    rate: int = 175
    pitch: int = 50
    pitch_range: int = 50
    seed: int = 1

    def __post_init__(self):
        if not isinstance(self.text, str) or not self.text.strip():
            raise ValueError(f"Utterance.text must be a non-empty string, got {self.text!r}")
        if not isinstance(self.voice, str) or "+" not in self.voice:
            raise ValueError(f"Utterance.voice must look like 'en-us+m3', got {self.voice!r}")
        for name, lo, hi in (("rate", *RATE_RANGE), ("pitch", *PITCH_RANGE), ("pitch_range", *PITCH_RANGE)):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
                raise ValueError(f"Utterance.{name} must be an integer in [{lo}, {hi}], got {value!r}")
        if not 1 <= int(self.seed) < 2**31:
            raise ValueError(f"Utterance.seed must be in [1, 2**31), got {self.seed}")


def _paths() -> tuple[str, str]:
    try:
        import espeakng_loader
    except ImportError as exc:
        raise SpeechUnavailable(
            "spoken digits need libespeak-ng from the 'espeakng-loader' wheel: pip install espeakng-loader "
            "(wheels exist for Linux x86_64/aarch64, macOS and Windows); or use the course files via MM_DATA"
        ) from exc
    return str(espeakng_loader.get_library_path()), str(espeakng_loader.get_data_path())


def data_path() -> Path:
    return Path(_paths()[1])


class _Engine:
    """The process-global engine (one per process, created on first use)."""

    CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

    def __init__(self, library: str | None = None, data: str | None = None):
        lib_path, data_dir = _paths() if library is None else (library, data)
        try:
            self.lib = ctypes.CDLL(lib_path)
        except OSError as exc:
            raise SpeechUnavailable(f"could not load libespeak-ng from {lib_path}: {exc}") from exc
        lib = self.lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        rate = lib.espeak_Initialize(2, 0, data_dir.encode(), 0x8000)  # 2 = synchronous
        if rate <= 0:
            raise SpeechUnavailable(f"espeak_Initialize failed ({rate}) with data path {data_dir}")
        self.rate = rate
        self.chunks: list[np.ndarray] = []
        self._cb = self.CALLBACK(self._collect)  # keep a reference: the library calls it
        lib.espeak_SetSynthCallback(self._cb)
        self.libc = ctypes.CDLL(ctypes.util.find_library("c") or None)

    def _collect(self, wav, n, events):
        if wav and n > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    def say(self, u: Utterance) -> np.ndarray:
        lib = self.lib
        if lib.espeak_SetVoiceByName(u.voice.encode()) != 0:
            raise ValueError(f"espeak-ng does not know the voice {u.voice!r}")
        for param, value in ((1, u.rate), (2, 100), (3, u.pitch), (4, u.pitch_range)):
            lib.espeak_SetParameter(param, int(value), 0)
        lib.espeak_ng_SetRandSeed(int(u.seed))
        self.libc.srand(int(u.seed))  # the klatt variants draw from libc's rand
        self.chunks = []
        text = u.text.encode() + b"\0"
        lib.espeak_Synth(text, len(text), 0, 1, 0, 1, None, None)  # position type 1 = character
        lib.espeak_Synchronize()
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.int16)


@lru_cache(maxsize=1)
def _engine() -> _Engine:
    return _Engine()


def available() -> bool:
    try:
        _engine()
        return True
    except SpeechUnavailable:
        return False


def voice_variants() -> list[str]:
    """The voice variants shipped in the espeak-ng data (``voices/!v``), sorted."""
    folder = data_path() / "voices" / "!v"
    if not folder.is_dir():
        raise SpeechUnavailable(f"{folder} is missing: the espeak-ng data install is incomplete")
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def voices() -> list[str]:
    """Every usable ``"accent+variant"`` voice name, in a fixed order."""
    return [f"{accent}+{variant}" for accent in ACCENTS for variant in voice_variants()]


def _trim(x: np.ndarray) -> np.ndarray:
    peak = np.abs(x).max(initial=0.0)
    if peak == 0:
        return x
    loud = np.flatnonzero(np.abs(x) > _SILENCE * peak)
    return x[loud[0]:loud[-1] + 1]


def synthesise(utterances: Sequence[Utterance], sample_rate: int = 8000) -> list[np.ndarray]:
    """Speak each utterance in *this* process: float32 waveforms at ``sample_rate``, silence
    trimmed, scaled by 1/32768 (level is not normalised). Clips longer than 1 s are cut to 1 s.

    Resampling is FFT-based (``scipy.signal.resample``): the engine pads every word with silence,
    so its periodic assumption costs nothing, and it is ~5x faster than a polyphase filter here.
    """
    from fractions import Fraction

    from scipy.fft import next_fast_len
    from scipy.signal import resample

    engine = _engine()
    ratio = Fraction(int(sample_rate), engine.rate)  # 8000/22050 = 160/441
    out = []
    for u in utterances:
        if not isinstance(u, Utterance):
            raise TypeError(f"synthesise: expected Utterance items, got {type(u).__name__}")
        raw = engine.say(u).astype(np.float32) / 32768.0
        if raw.size == 0:
            raise RuntimeError(f"espeak-ng produced no audio for {u}")
        # pad with silence to a length that is a multiple of 441 *and* FFT-friendly (exact ratio, fast)
        m = next_fast_len(-(-len(raw) // ratio.denominator))
        raw = np.pad(raw, (0, m * ratio.denominator - len(raw)))
        wave = resample(raw, m * ratio.numerator).astype(np.float32)
        out.append(_trim(wave)[:sample_rate])
    return out


def _worker(args):
    utterances, sample_rate = args
    return synthesise(utterances, sample_rate)


def synthesise_fresh(utterances: Sequence[Utterance], sample_rate: int = 8000, workers: int = 2,
                     chunk_size: int = 1000) -> list[np.ndarray]:
    """Reproducible synthesis: fixed chunks of ``chunk_size``, each in its own fresh (spawned)
    process, results in input order. The output does not depend on ``workers``."""
    utterances = list(utterances)
    if chunk_size < 1 or workers < 1:
        raise ValueError(f"synthesise_fresh: chunk_size and workers must be >= 1, got {chunk_size}, {workers}")
    _paths()  # fail early, in this process, with the clear message
    chunks = [(utterances[i:i + chunk_size], sample_rate) for i in range(0, len(utterances), chunk_size)]
    if not chunks:
        return []
    ctx = mp.get_context("spawn")
    with ctx.Pool(min(workers, len(chunks)), maxtasksperchild=1) as pool:
        results = pool.map(_worker, chunks, chunksize=1)
    return [clip for chunk in results for clip in chunk]
