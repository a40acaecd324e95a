"""Spoken digits from libespeak-ng (mmhelpers.speech): API, validation, audio sanity, reproducibility."""

import subprocess
import sys

import numpy as np
import pytest

from mmhelpers.embedded import speech
from mmhelpers.embedded.speech import SpeechUnavailable, Utterance

needs_engine = pytest.mark.skipif(not speech.available(), reason="libespeak-ng (espeakng-loader) not installed")


def _spectrum(clip: np.ndarray) -> np.ndarray:
    """Average log-magnitude spectrum: robust to the ~20-sample shifts of the engine's call history."""
    frames = np.lib.stride_tricks.sliding_window_view(clip, 256)[::80] * np.hanning(256)
    return np.log(np.abs(np.fft.rfft(frames, axis=1)).mean(axis=0) + 1e-6)


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(_spectrum(a) - _spectrum(b)).mean())


def test_import_has_no_side_effects():
    code = ("import mmhelpers.embedded.speech as s; maps = open('/proc/self/maps').read() if "
            "__import__('os').path.exists('/proc/self/maps') else ''; "
            "assert s._ENGINE is None and 'espeak' not in maps and 'scipy.signal' not in __import__('sys').modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_constants():
    assert speech.DIGIT_WORDS == ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    assert "en" in speech.ACCENTS and "en-us" in speech.ACCENTS and "en-gb" not in speech.ACCENTS
    assert len(set(speech.ACCENTS)) == len(speech.ACCENTS) == 8


@needs_engine
def test_voice_lists_are_sorted_and_complete():
    variants = speech.voice_variants()
    assert variants == sorted(variants) and len(set(variants)) == len(variants) >= 90
    assert {"m1", "f5", "klatt6", "whisper", "croak"} <= set(variants)
    assert not set(speech.EXCLUDED_VARIANTS) & set(variants)
    names = speech.voices()
    assert names == sorted(names) and len(names) == len(speech.ACCENTS) * len(variants)
    assert "en-us+m3" in names and all(n.split("+", 1)[0] in speech.ACCENTS for n in names)
    assert names == speech.voices()  # deterministic


@pytest.mark.parametrize("field, value", [
    ("text", ""), ("text", "   "), ("text", 3), ("text", "a\0b"),
    ("voice", "m3"), ("voice", "en-gb+m1"), ("voice", "fr+m1"), ("voice", "en+"), ("voice", None),
    ("rate", speech.RATE_RANGE[0] - 1), ("rate", speech.RATE_RANGE[1] + 1), ("rate", 175.0), ("rate", True),
    ("pitch", -1), ("pitch", 100), ("pitch_range", 100), ("pitch_range", "50"),
    ("seed", -1), ("seed", 2**31), ("seed", 1.5),
])
def test_utterance_validation_names_the_field(field, value):
    kwargs = dict(text="one", voice="en-us+m3", rate=175, pitch=50, pitch_range=50, seed=1)
    kwargs[field] = value
    with pytest.raises(ValueError, match=f"Utterance.{field}"):
        Utterance(**kwargs)


def test_utterance_accepts_numpy_integers():
    u = Utterance("one", "en+m1", rate=np.int64(200), pitch=np.int32(10), pitch_range=np.int16(0), seed=np.int64(7))
    assert u.rate == 200


@needs_engine
def test_synthesise_shapes_dtype_level_and_sample_rate():
    utts = [Utterance(w, "en-us+m3", rate=175, pitch=50, pitch_range=50, seed=i)
            for i, w in enumerate(speech.DIGIT_WORDS)]
    clips = speech.synthesise(utts)
    assert len(clips) == 10
    assert not np.allclose([np.abs(c).max() for c in clips], 1.0, atol=1e-3)  # the caller normalises
    for clip in clips:
        assert clip.dtype == np.float32 and clip.ndim == 1 and 0.1 * 8000 < len(clip) <= 0.9 * 8000
        peak = np.abs(clip).max()
        assert 0.02 < peak < 2.0  # sound, scaled by 1/32768 and not normalised to 1
        assert np.abs(clip[:3]).max() > speech.SILENCE * peak * 0.5  # leading silence trimmed
    wide = speech.synthesise(utts[:3], sample_rate=16000)
    for a, b in zip(clips[:3], wide):
        assert abs(len(b) / len(a) - 2.0) < 0.1  # same duration at twice the sample rate


@needs_engine
def test_slowest_rate_fits_in_one_second():
    utts = [Utterance(w, v, rate=speech.RATE_RANGE[0], pitch=0, pitch_range=99, seed=3)
            for w in ("seven", "nine", "zero") for v in ("en+f4", "en-us+Alicia", "en+Andy")]
    assert max(len(c) for c in speech.synthesise(utts)) <= 0.9 * 8000


@needs_engine
def test_unknown_variant_is_refused_not_replaced_by_the_default():
    with pytest.raises(ValueError, match="not one of speech.voices"):
        speech.synthesise([Utterance("one", "en+nosuchvariant")])


@needs_engine
@pytest.mark.parametrize("bad, error", [
    (dict(sample_rate=0), ValueError), (dict(sample_rate="8000"), ValueError),
    (dict(utterances=["one"]), TypeError), (dict(utterances=Utterance("one", "en+m1")), TypeError),
])
def test_synthesise_argument_errors(bad, error):
    kwargs = dict(utterances=[Utterance("one", "en+m1")], sample_rate=8000) | bad
    with pytest.raises(error, match="utterances|sample_rate"):
        speech.synthesise(**kwargs)


@needs_engine
def test_voices_and_parameters_change_the_audio():
    base = dict(text="seven", rate=175, pitch=50, pitch_range=50, seed=1)
    m1, m1_again, f2, whisper, klatt = speech.synthesise_fresh(  # one fresh process: fixed numbers
        [Utterance(voice=v, **base) for v in ("en+m1", "en+m1", "en+f2", "en+whisper", "en+klatt6")])
    history = _distance(m1, m1_again)  # same voice, later call: only the call history differs (~0.1)
    for other in (f2, whisper, klatt):  # ~0.6-1.1
        assert _distance(m1, other) > max(4 * history, 0.3)
    slow, fast = speech.synthesise([Utterance("seven", "en+m1", rate=r) for r in (130, 400)])
    assert len(slow) > 2 * len(fast)


@needs_engine
def test_synthesise_fresh_is_reproducible_and_independent_of_workers():
    words, names = ["seven", "one"] * 5, ["en+m1", "en-us+f3", "en-029+klatt6", "en+whisper", "en+croak"] * 2
    utts = [Utterance(w, v, rate=130 if w == "seven" else 400, pitch=10 * i, pitch_range=5 * i, seed=i)
            for i, (w, v) in enumerate(zip(words, names))]
    first = speech.synthesise_fresh(utts, workers=2, chunk_size=3)
    again = speech.synthesise_fresh(utts, workers=2, chunk_size=3)
    single = speech.synthesise_fresh(utts, workers=1, chunk_size=3)
    many = speech.synthesise_fresh(utts, workers=7, chunk_size=3)
    assert len(first) == len(utts) and all(c.dtype == np.float32 for c in first)
    for a, b, c, d in zip(first, again, single, many):
        assert np.array_equal(a, b) and np.array_equal(a, c) and np.array_equal(a, d)
    lengths = [len(c) for c in first]  # input order kept: slow "seven" long, fast "one" short
    assert all(lengths[i] > 2 * lengths[i + 1] for i in range(0, len(utts), 2))


@needs_engine
def test_synthesise_fresh_errors():
    utts = [Utterance("one", "en+m1")]
    for name in ("workers", "chunk_size"):
        with pytest.raises(ValueError, match=name):
            speech.synthesise_fresh(utts, **{name: 0})
    assert speech.synthesise_fresh([]) == []
    with pytest.raises(RuntimeError, match="silence"):  # raised in the child, re-raised here
        speech.synthesise_fresh([Utterance("one", "en+m1"), Utterance(".", "en+m1")], chunk_size=1)


def test_wrong_library_path_gives_speech_unavailable(monkeypatch):
    loader = pytest.importorskip("espeakng_loader")
    monkeypatch.setattr(loader, "get_library_path", lambda: "/nonexistent/libespeak-ng.so")
    monkeypatch.setattr(speech, "_ENGINE", None)  # restored after the test
    assert speech.available() is False
    with pytest.raises(SpeechUnavailable, match="(?s)/nonexistent/libespeak-ng.so.*pip install espeakng-loader"):
        speech.synthesise([Utterance("one", "en+m1")])


def test_missing_loader_gives_speech_unavailable(monkeypatch):
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)  # makes the import fail
    monkeypatch.setattr(speech, "_ENGINE", None)
    assert speech.available() is False
    for call in (speech.voices, lambda: speech.synthesise_fresh([Utterance("one", "en+m1")])):
        with pytest.raises(SpeechUnavailable, match="pip install espeakng-loader"):
            call()
