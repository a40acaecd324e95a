"""Offline spoken words: a small ctypes binding to libespeak-ng from the ``espeakng-loader`` wheel.

libespeak-ng and its data (GPL-3.0-or-later) are loaded at run time from the user's own
``espeakng-loader`` install, never vendored. Nothing happens at import time.

The engine's state is process-global and its output depends on the call history in the process
(lengths shift by ~20 samples), so the same ordered calls in a *fresh* process are what reproduces:
:func:`synthesise_fresh` speaks fixed chunks, each in its own new process. Bit-exactness across
operating systems is not guaranteed: compare statistics, not hashes, across platforms.

Lengths: over :data:`RATE_RANGE` every digit word with every voice of :func:`voices` lasts
<= 0.85 s once trimmed (worst: variants ``f4``/``Alicia`` at 130 wpm). :data:`EXCLUDED_VARIANTS`
stretch words far longer and are left out. Longer clips (long texts) are cut to 1 s.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from .fresh_processes import run

ACCENTS = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc")
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
RATE_RANGE = (130, 450)     # words per minute; 130 keeps every word of every voice <= ~0.9 s
PITCH_RANGE = (0, 99)       # for both pitch and pitch_range
SEED_RANGE = (0, 2**31 - 1)
EXCLUDED_VARIANTS = {"Marco": "echo tail: words last 1.2-1.3 s at 120-130 wpm",
                     "AnxiousAndy": "slow: words last 1.0-1.1 s at 120-130 wpm"}
SILENCE = 0.01              # trim threshold, relative to the clip's peak (-40 dB)
MAX_SECONDS = 1.0           # defensive cut of the trimmed clip
DEFAULT_CHUNK = 1000        # utterances per fresh process in synthesise_fresh
_SYNCHRONOUS, _INIT_DONT_EXIT = 2, 0x8000
_RATE, _VOLUME, _PITCH, _RANGE, _PUNCTUATION, _CAPITALS, _WORDGAP = 1, 2, 3, 4, 5, 6, 7


class SpeechUnavailable(RuntimeError):
    """libespeak-ng (from the ``espeakng-loader`` wheel) could not be found, loaded or initialised."""


_HOW_TO_FIX = ("spoken digits need libespeak-ng from the 'espeakng-loader' wheel: pip install espeakng-loader "
               "(wheels exist for Linux x86_64/aarch64, macOS x86_64/arm64 and Windows; on another platform "
               "use the course's own data files instead)")


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class Utterance:
    """One text to speak with voice ``"accent+variant"`` (e.g. ``"en-us+m3"``), rate in words per
    minute, pitch and pitch range 0-99, and the seed of the engine's and libc's random numbers."""

    text: str
    voice: str
    rate: int = 175
    pitch: int = 50
    pitch_range: int = 50
    seed: int = 0

    def __post_init__(self):
        if not isinstance(self.text, str) or not self.text.strip() or "\0" in self.text:
            raise ValueError(f"Utterance.text must be a non-empty string without NUL, got {self.text!r}")
        accent, plus, variant = self.voice.partition("+") if isinstance(self.voice, str) else ("", "", "")
        if accent not in ACCENTS or not plus or not variant:
            hint = " (espeak-ng refuses 'en-gb': use 'en')" if accent == "en-gb" else ""
            raise ValueError(f"Utterance.voice must be 'accent+variant' with accent in {ACCENTS}, "
                             f"e.g. 'en-us+m3'; got {self.voice!r}{hint}")
        for name, (lo, hi) in (("rate", RATE_RANGE), ("pitch", PITCH_RANGE), ("pitch_range", PITCH_RANGE),
                               ("seed", SEED_RANGE)):
            value = getattr(self, name)
            if not _is_int(value) or not lo <= value <= hi:
                raise ValueError(f"Utterance.{name} must be an integer in [{lo}, {hi}], got {value!r}")


# ----------------------------------------------------------------------------- the engine

def _paths() -> tuple[str, str]:
    """``(library, data dir)`` from espeakng-loader; SpeechUnavailable if it is not installed."""
    try:
        import espeakng_loader
    except ImportError as exc:
        raise SpeechUnavailable(f"the 'espeakng_loader' module is missing: {_HOW_TO_FIX}") from exc
    return str(espeakng_loader.get_library_path()), str(espeakng_loader.get_data_path())


def data_path() -> Path:
    """The espeak-ng data folder (raises SpeechUnavailable when it is missing)."""
    data = Path(_paths()[1])
    if not (data / "voices" / "!v").is_dir():
        raise SpeechUnavailable(f"the espeak-ng data folder {data} has no voices/!v: reinstall it; {_HOW_TO_FIX}")
    return data


def _libc():
    """The C library whose ``rand`` the klatt variants draw from (None if it cannot be found)."""
    for name in ["ucrtbase", "msvcrt"] if sys.platform == "win32" else [ctypes.util.find_library("c") or "libc.so.6"]:
        try:
            return ctypes.CDLL(name)
        except OSError:
            pass
    return None


class _Engine:
    """The process-global engine: one per process, created on first use."""

    CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

    def __init__(self, library: str, data: str):
        try:
            self.lib = lib = ctypes.CDLL(library)
        except OSError as exc:
            raise SpeechUnavailable(f"could not load libespeak-ng from {library!r} ({exc}); {_HOW_TO_FIX}") from exc
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [self.CALLBACK]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed.restype = None
        self.rate = lib.espeak_Initialize(_SYNCHRONOUS, 0, data.encode(), _INIT_DONT_EXIT)
        if self.rate <= 0:
            raise SpeechUnavailable(f"espeak_Initialize failed ({self.rate}) with data folder {data!r}; {_HOW_TO_FIX}")
        self.chunks: list[bytes] = []
        self._callback = self.CALLBACK(self._collect)  # keep a reference: the library calls it later
        lib.espeak_SetSynthCallback(self._callback)
        self.libc = _libc()

    def _collect(self, wav, n, events):
        if wav and n > 0:
            self.chunks.append(ctypes.string_at(wav, 2 * n))
        return 0

    def say(self, u: Utterance) -> np.ndarray:
        """Raw int16 samples at ``self.rate``; every parameter and seed is set on every call."""
        lib = self.lib
        if lib.espeak_SetVoiceByName(u.voice.encode()) != 0:
            raise ValueError(f"espeak-ng refused the voice {u.voice!r}")
        for param, value in ((_RATE, u.rate), (_VOLUME, 100), (_PITCH, u.pitch), (_RANGE, u.pitch_range),
                             (_PUNCTUATION, 0), (_CAPITALS, 0), (_WORDGAP, 0)):
            lib.espeak_SetParameter(param, int(value), 0)
        lib.espeak_ng_SetRandSeed(int(u.seed))
        if self.libc is not None:
            self.libc.srand(int(u.seed))
        self.chunks = []
        text = u.text.encode("utf-8") + b"\0"
        status = lib.espeak_Synth(text, len(text), 0, 1, 0, 1, None, None)  # character positions, UTF-8
        lib.espeak_Synchronize()
        if status != 0:
            raise RuntimeError(f"espeak_Synth failed with status {status} for {u}")
        return np.frombuffer(b"".join(self.chunks), dtype=np.int16)


_ENGINE: _Engine | None = None


def _engine() -> _Engine:
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = _Engine(*_paths())
    return _ENGINE


def available() -> bool:
    """True if libespeak-ng loads and initialises in this process."""
    try:
        return _engine() is not None
    except SpeechUnavailable:
        return False


def voice_variants() -> list[str]:
    """The voice variants in the espeak-ng data (``voices/!v``), sorted, without
    :data:`EXCLUDED_VARIANTS` (too slow to fit 1 s at the lowest rate)."""
    return sorted(p.name for p in (data_path() / "voices" / "!v").iterdir()
                  if p.is_file() and p.name not in EXCLUDED_VARIANTS)


def voices() -> list[str]:
    """Every usable ``"accent+variant"`` voice name, sorted (all 8 x 102 were checked to speak)."""
    return sorted(f"{accent}+{variant}" for accent in ACCENTS for variant in voice_variants())


# ----------------------------------------------------------------------------- synthesis

@lru_cache(maxsize=8)
def _lowpass(up: int, down: int) -> np.ndarray:
    """resample_poly's own default filter, designed once (designing it costs 5x the filtering)."""
    from scipy.signal import firwin

    return firwin(2 * 10 * max(up, down) + 1, 1.0 / max(up, down), window=("kaiser", 5.0)).astype(np.float32)


def _resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    from scipy.signal import resample_poly

    ratio = Fraction(rate_out, rate_in)  # 8000/22050 = 160/441
    up, down = ratio.numerator, ratio.denominator
    return x if up == down else resample_poly(x, up, down, window=_lowpass(up, down)).astype(np.float32, copy=False)


def _trim(x: np.ndarray) -> np.ndarray:
    loud = np.flatnonzero(np.abs(x) > SILENCE * np.abs(x).max(initial=0.0))
    return x[loud[0]:loud[-1] + 1] if loud.size else x[:0]


def _check(utterances, sample_rate) -> list[Utterance]:
    if not _is_int(sample_rate) or not 1000 <= sample_rate <= 96000:
        raise ValueError(f"sample_rate must be an integer number of Hz in [1000, 96000], got {sample_rate!r}")
    if isinstance(utterances, (str, Utterance)):
        raise TypeError(f"utterances must be a sequence of Utterance, got a single {type(utterances).__name__}")
    utterances = list(utterances)
    known = set(voices()) if utterances else set()  # SpeechUnavailable here if the engine is missing
    for i, u in enumerate(utterances):
        if not isinstance(u, Utterance):
            raise TypeError(f"utterances[{i}] must be an Utterance, got {type(u).__name__}")
        if u.voice not in known:  # espeak-ng silently falls back to its default for an unknown variant
            raise ValueError(f"utterances[{i}].voice {u.voice!r} is not one of speech.voices() "
                             f"(variants: {', '.join(voice_variants()[:6])}, ...)")
    return utterances


def synthesise(utterances: Sequence[Utterance], sample_rate: int = 8000) -> list[np.ndarray]:
    """Speak each utterance in *this* process, in order: float32 mono waveforms at ``sample_rate``
    (``resample_poly`` from 22050 Hz), leading/trailing samples below ``SILENCE`` x peak trimmed,
    scaled by 1/32768 (NOT normalised: peaks vary ~0.04-1.4), cut to ``MAX_SECONDS`` at most.
    The output depends on what this process spoke before: :func:`synthesise_fresh` reproduces."""
    utterances = _check(utterances, sample_rate)
    if not utterances:
        return []
    engine = _engine()
    limit = int(MAX_SECONDS * sample_rate)
    out = []
    for u in utterances:
        raw = engine.say(u).astype(np.float32) / np.float32(32768.0)
        clip = _trim(_resample(raw, engine.rate, sample_rate))
        if clip.size == 0:
            raise RuntimeError(f"espeak-ng produced silence for {u}")
        out.append(np.ascontiguousarray(clip[:limit]))
    return out


def synthesise_fresh(utterances: Sequence[Utterance], sample_rate: int = 8000, workers: int = 2,
                     chunk_size: int = DEFAULT_CHUNK) -> list[np.ndarray]:
    """Reproducible :func:`synthesise`: fixed chunks of ``chunk_size``, each spoken in its own new
    process (at most ``workers`` at a time), clips in input order. The result depends on
    ``chunk_size`` (the call history within a chunk) but never on ``workers``."""
    utterances = _check(utterances, sample_rate)
    for name, value in (("workers", workers), ("chunk_size", chunk_size)):
        if not _is_int(value) or value < 1:
            raise ValueError(f"synthesise_fresh: {name} must be an integer >= 1, got {value!r}")
    if not utterances:
        return []
    chunks = [utterances[a:a + chunk_size] for a in range(0, len(utterances), chunk_size)]
    clips = run(synthesise, [(chunk, sample_rate) for chunk in chunks], workers=min(workers, len(chunks)))
    return [clip for chunk in clips for clip in chunk]
