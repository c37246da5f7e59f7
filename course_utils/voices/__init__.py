"""Voices for the course: espeak-ng speakers, a deterministic multi-speaker corpus, real corpora.

Introduced in ``04_sound_and_spectrograms.ipynb``.  espeak-ng ships inside the
``espeakng-loader`` wheel (library and voice data), so everything here works offline::

    from course_utils import voices
    spec = voices.VoiceSpec(accent="en-us", variant="f3", pitch=60)
    utt = voices.synthesize("Hello there.", spec)      # utt.wav, utt.sr, utt.phonemes
    corpus = voices.build_corpus(20, 10, seed=0)        # cached wavs + manifest.json
    wav, sr = corpus.load(0)

Determinism.  espeak-ng keeps state between calls inside one loaded library (its pitch
"flutter" and a random generator that it seeds from the clock), so the same text synthesised
twice in one process can differ by a few samples, and two fresh processes can differ too.
:func:`synthesize` therefore loads a *private, fresh copy* of the library for every call
(a few milliseconds), seeds espeak's generator with ``seed`` and unloads the copy afterwards:
same text + same spec + same seed -> the same samples, in any process, in any order.

The package: :mod:`~course_utils.voices.engine` (espeak-ng, voices, :func:`synthesize`),
:mod:`~course_utils.voices.roster` (the course's speakers and prompts),
:mod:`~course_utils.voices.corpus` (the cached corpus) and :mod:`~course_utils.voices.real`
(LibriTTS, VCTK, your own recordings); every public name is re-exported here.
"""

from course_utils.voices.engine import (ACCENTS, CORPUS_VERSION, HELDOUT_FRACTION, PAUSE, PITCH_RANGES, PITCHES,
                                        RATES, SAMPLE_RATE, SPEAKER_VARIANTS, Utterance, VoiceSpec, accents,
                                        synthesize, variants)
from course_utils.voices.roster import prompts, real_time_factor, speaker, speaker_table, speakers
from course_utils.voices.corpus import Corpus, CorpusItem, build_corpus, load_corpus
from course_utils.voices.real import (AUDIO_SUFFIXES, READER_SPLITS, librispeech_readers, load_libritts,
                                      load_recordings, load_vctk, reader_parts)

__all__ = [
    "VoiceSpec", "Utterance", "synthesize", "accents", "variants", "speakers", "speaker", "speaker_table",
    "prompts", "real_time_factor", "CorpusItem", "Corpus", "build_corpus", "load_corpus", "load_libritts",
    "load_vctk", "load_recordings", "SAMPLE_RATE", "PAUSE", "CORPUS_VERSION", "ACCENTS", "SPEAKER_VARIANTS",
    "PITCHES", "PITCH_RANGES", "RATES", "HELDOUT_FRACTION", "AUDIO_SUFFIXES",
    "READER_SPLITS", "librispeech_readers", "reader_parts",
]
