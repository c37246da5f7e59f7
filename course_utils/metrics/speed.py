"""Speed of a synthesiser: real-time factor and latency to the first audio (notebook 10)."""

from __future__ import annotations

import inspect as _inspect
import statistics as _statistics
import time as _time
from collections.abc import Iterator as _Iterator

import numpy as np

from course_utils.metrics.similarity import _is_wav_pair


# ------------------------------------------------------------------------------ speed


def _audio_seconds(result, sr: int | None) -> float:
    """Seconds of audio in a synthesiser's output: (wav, sr), an utterance with .wav/.sr, or a wav."""
    if hasattr(result, "wav") and hasattr(result, "sr"):
        wav, rate = result.wav, result.sr
    elif _is_wav_pair(result):
        wav, rate = result
    else:
        wav, rate = result, sr
    if rate is None:
        raise ValueError("the synthesiser returned a bare waveform: pass sr=... so its duration is known")
    n = int(np.size(wav))
    if n == 0:
        raise ValueError("the synthesiser returned no audio")
    return n / float(rate)


def _chunk_size(chunk) -> int:
    wav = chunk.wav if hasattr(chunk, "wav") else (chunk[0] if _is_wav_pair(chunk) else chunk)
    return int(np.size(wav))


def _is_stream(result) -> bool:
    return isinstance(result, _Iterator) or _inspect.isgenerator(result)


def _run_once(synthesize_fn, text, sr):
    """(total seconds, first-audio seconds, audio seconds) of one call; streams are consumed."""
    start = _time.perf_counter()
    result = synthesize_fn(text)
    if not _is_stream(result):
        total = _time.perf_counter() - start
        return total, total, _audio_seconds(result, sr)
    first, seconds = None, 0.0
    for chunk in result:
        if _chunk_size(chunk) == 0:
            continue
        if first is None:
            first = _time.perf_counter() - start
        seconds += _audio_seconds(chunk, sr)
    total = _time.perf_counter() - start
    if first is None or seconds == 0:
        raise ValueError("the synthesiser's stream yielded no audio")
    return total, first, seconds


def _timings(synthesize_fn, text, repeats: int, warmup: int, sr):
    if not callable(synthesize_fn):
        raise ValueError(f"synthesize_fn must be callable as synthesize_fn(text), got {type(synthesize_fn).__name__}")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text must be a non-empty string")
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats} and {warmup}")
    for _ in range(warmup):
        _run_once(synthesize_fn, text, sr)
    return [_run_once(synthesize_fn, text, sr) for _ in range(repeats)]


def rtf(synthesize_fn, text: str, *, repeats: int = 3, warmup: int = 1, sr: int | None = None) -> float:
    """Real-time factor: seconds of compute per second of audio, median over ``repeats`` (notebook 10).

    ``synthesize_fn(text)`` returns ``(wav, sr)``, an object with ``.wav`` and ``.sr`` (as
    ``voices.synthesize``), a bare wav (then pass ``sr``), or an iterator of such chunks (a
    streaming synthesiser; it is consumed to the end). ``warmup`` calls are not timed. Below 1
    means faster than real time. Wall-clock time: it depends on the machine and its load.
    """
    runs = _timings(synthesize_fn, text, repeats, warmup, sr)
    return float(_statistics.median(total / seconds for total, _, seconds in runs))


def first_audio_latency(synthesize_fn, text: str, *, repeats: int = 3, warmup: int = 1,
                        sr: int | None = None) -> float:
    """Seconds from the call until the first audio is available, median over ``repeats`` (notebook 10).

    For a streaming synthesiser (``synthesize_fn(text)`` returns an iterator of chunks) it is the
    time to the first non-empty chunk. For a non-streaming one (it returns the whole waveform) it
    equals the total synthesis time: nothing can be played before the call returns.
    """
    runs = _timings(synthesize_fn, text, repeats, warmup, sr)
    return float(_statistics.median(first for _, first, _ in runs))


