"""Benchmarks of course_utils.voices and course_utils.text (notebooks 04-05).

``run()`` measures espeak-ng synthesis speed as a real-time factor (seconds of audio per second
of compute, fresh library copy per utterance included), the cost of that fresh copy, a cold and
a warm build of a 20 x 10 corpus in a temporary cache, and the text front end's throughput.
"""

from __future__ import annotations

import os
import tempfile
import time

from course_utils import bench, text, voices


def synthesis_rtf(n: int = 30) -> tuple[float, float, float]:
    """(real-time factor, audio seconds, compute seconds) over ``n`` prompts, varied speakers."""
    prompts = voices.prompts("train")[:n]
    specs = voices.speakers("train")
    voices.synthesize("warm up", specs[0])
    start = time.perf_counter()
    audio = sum(voices.synthesize(t, specs[i * 7 % len(specs)]).duration for i, t in enumerate(prompts))
    compute = time.perf_counter() - start
    return audio / compute, audio, compute


def fresh_library_overhead_ms(repeat: int = 20) -> float:
    """Milliseconds per call spent loading and unloading the private espeak copy (best of ``repeat``)."""
    def load_and_unload():
        with voices.engine._LOCK, voices.engine._FreshEspeak():
            pass

    times, _ = bench.measure(load_and_unload, repeat=repeat, number=1)
    return float(times.min()) * 1000


def corpus_build_seconds(n_speakers: int = 20, utterances: int = 10) -> tuple[float, float]:
    """(cold, warm) seconds to build the corpus in an empty temporary cache, then reuse it."""
    old = os.environ.get("COURSE_CACHE")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["COURSE_CACHE"] = tmp
        try:
            start = time.perf_counter()
            voices.build_corpus(n_speakers, utterances, seed=0, progress=False)
            cold = time.perf_counter() - start
            start = time.perf_counter()
            voices.build_corpus(n_speakers, utterances, seed=0, progress=False)
            warm = time.perf_counter() - start
        finally:
            if old is None:
                os.environ.pop("COURSE_CACHE", None)
            else:
                os.environ["COURSE_CACHE"] = old
    return cold, warm


def text_throughput() -> tuple[float, float]:
    """(normalize, text_to_ids) throughput in characters per second."""
    sample = " ".join(voices.prompts("train")) + " Dr. Lee paid $3.50 on 3 May at 10:30 am. " * 50
    start = time.perf_counter()
    text.normalize(sample)
    norm = len(sample) / (time.perf_counter() - start)
    start = time.perf_counter()
    text.text_to_ids(sample)
    ids = len(sample) / (time.perf_counter() - start)
    return norm, ids


def run() -> list[dict]:
    """Measurements for the harness (about 10 s on a 2-core laptop)."""
    rtf, audio, compute = synthesis_rtf()
    overhead = fresh_library_overhead_ms()
    cold, warm = corpus_build_seconds()
    norm, ids = text_throughput()
    return [
        {"name": "espeak-ng synthesis speed", "value": rtf, "unit": "x real time",
         "note": f"{audio:.0f} s of audio in {compute:.2f} s, 30 prompts, one thread, fresh library per utterance"},
        {"name": "fresh espeak library per utterance", "value": overhead, "unit": "ms",
         "note": "copy + load + initialise + unload; what determinism costs per call"},
        {"name": "build_corpus(20, 10) cold", "value": cold, "unit": "s",
         "note": "200 utterances synthesised and written (wav + manifest) in an empty cache"},
        {"name": "build_corpus(20, 10) cached", "value": warm, "unit": "s",
         "note": "second call: manifest read, files checked, nothing synthesised"},
        {"name": "text.normalize throughput", "value": norm, "unit": "chars/s", "note": "prompts + hard cases"},
        {"name": "text.text_to_ids throughput", "value": ids, "unit": "chars/s",
         "note": "normalise + espeak phonemes + vocabulary"},
    ]
