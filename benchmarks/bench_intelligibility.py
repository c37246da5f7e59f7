"""Does the cloner say its words (issue 30): word error rates from Whisper tiny.en beside likeness.

``run()`` measures, with the recogniser of ``course_utils.transcribe.recognise`` (Whisper tiny.en,
int8, offline):

* the floor: the 32 LJ Speech recordings of ``data/real_speech/ljspeech``, their copy-synthesis
  (the synthesizer preset's log-mel) through Griffin-Lim (32 iterations) and through HiFi-GAN
  (``vocoder.HiFiGANVocoder``, universal weights), and espeak-ng itself reading the held-out
  sentences in the held-out voices (the floor of their clones) and in its default voice;
* the course checkpoint (``VoiceCloner.shipped()``) and notebook 08's quick model (seed 0,
  trained if not cached), each on ``cloning.TEST_SETS``: zero-shot clones of 8 held-out espeak-ng
  voices (5 references each) reading 4 held-out sentences, word error rate and cloning score
  (pretrained judge, against the voices' own recordings other than the references), with the
  spread over the voices;
* HiFi-GAN's real-time factor on this machine's threads (wall clock, vocoder alone and the
  whole synthesis of the course checkpoint), best of 3.

About 15 minutes on 2 CPU cores (less when the quick model is cached).
"""

from __future__ import annotations

import csv
import time

import numpy as np
import torch

from course_utils import audio, cloning, env, metrics, vocoder, voices

LJ = env.DATA_DIR / "real_speech" / "ljspeech"


def _lj_clips() -> list[tuple[str, np.ndarray, int]]:
    with open(LJ / "metadata.csv", encoding="utf-8") as f:
        truth = {row[0]: row[-1] for row in csv.reader(f, delimiter="|", quoting=csv.QUOTE_NONE)}
    return [(truth[name], *audio.load(LJ / f"{name}.flac")) for name in sorted(truth)]


def _copy_synthesis(clips, voc) -> list[tuple[str, np.ndarray, int]]:
    cfg = audio.preset("synthesizer")
    return [(text, voc(audio.log_mel(audio.resample(wav, sr, cfg.sr), cfg)), cfg.sr) for text, wav, sr in clips]


def _best_rtf(fn, seconds: float, repeats: int = 3) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, (time.perf_counter() - start) / seconds)
    return float(best)


def _espeak_floor(default_voice: bool = False) -> metrics.Intelligibility:
    """espeak-ng reading the sentences of ``cloning.TEST_SETS`` in their held-out voices, or all in
    its default voice (en-us)."""
    clips = []
    for test_set in cloning.TEST_SETS:
        corpus = cloning.heldout_speakers(8, 8, seed=test_set["voices_seed"], progress=False)
        a, b = test_set["texts"]
        clips += cloning.espeak_clips(corpus.speakers, voices.prompts("heldout")[a:b], default_voice)
    return metrics.intelligibility(clips)


def _system_rows(name: str, cloner, note: str) -> list[dict]:
    rows = []
    for test_set in cloning.TEST_SETS:
        m = cloning.measure(cloner, test_set)
        where = f"voices seed {test_set['voices_seed']}, sentences {test_set['texts'][0]}-{test_set['texts'][1] - 1}"
        rows.append({"name": f"{name}: word error rate ({where})", "value": m["wer"], "unit": "",
                     "note": f"{note}; per voice {min(m['wer_per_voice']):.2f}-{max(m['wer_per_voice']):.2f}, "
                             f"CER {m['cer']:.3f}; espeak-ng itself in these voices {m['espeak_wer']:.3f}; Whisper tiny.en"})
        rows.append({"name": f"{name}: cloning score ({where})", "value": m["score"], "unit": "",
                     "note": f"pretrained judge; per voice {min(m['score_per_voice']):.2f}-{max(m['score_per_voice']):.2f}"})
    return rows


def run() -> list[dict]:
    lj = _lj_clips()
    hifigan = vocoder.HiFiGANVocoder()
    gl = vocoder.GriffinLimVocoder(audio.preset("synthesizer"), n_iter=32, sharpen=1.0)
    floor = {"LJ Speech recordings": metrics.intelligibility(lj),
             "LJ Speech, Griffin-Lim copy-synthesis (32 it.)": metrics.intelligibility(_copy_synthesis(lj, gl)),
             "LJ Speech, HiFi-GAN copy-synthesis": metrics.intelligibility(_copy_synthesis(lj, hifigan))}
    rows = [{"name": f"word error rate: {name}", "value": round(w.wer, 4), "unit": "",
             "note": f"{len(w.clips)} clips, {w.n_words} words, CER {w.cer:.3f}; Whisper tiny.en"}
            for name, w in floor.items()]
    gap = floor["LJ Speech, HiFi-GAN copy-synthesis"].wer - floor["LJ Speech recordings"].wer
    rows.append({"name": "HiFi-GAN copy-synthesis minus recordings, word error rate", "value": round(gap, 4),
                 "unit": "", "note": "target <= 0.02"})
    espeak = _espeak_floor()
    rows.append({"name": "word error rate: espeak-ng itself, held-out voices and sentences", "value": round(espeak.wer, 4),
                 "unit": "", "note": f"the voices of cloning.TEST_SETS reading their sentences, {len(espeak.clips)} clips, "
                                     f"CER {espeak.cer:.3f}: the floor of their clones"})
    plain = _espeak_floor(default_voice=True)
    rows.append({"name": "word error rate: espeak-ng's default voice, the same sentences", "value": round(plain.wer, 4),
                 "unit": "", "note": f"voices.VoiceSpec() (en-us), {len(plain.clips)} clips, CER {plain.cer:.3f}"})

    cfg = audio.preset("synthesizer")
    log_mel = audio.log_mel(audio.resample(lj[0][1], lj[0][2], cfg.sr), cfg)
    seconds = log_mel.shape[1] * cfg.hop_length / cfg.sr
    rows.append({"name": "HiFi-GAN real-time factor, vocoder alone", "value": round(_best_rtf(lambda: hifigan(log_mel), seconds), 3),
                 "unit": "x", "note": f"wall clock, {torch.get_num_threads()} torch threads, {seconds:.1f} s of LJ Speech, best of 3"})
    course = cloning.VoiceCloner.shipped()
    corpus = cloning.heldout_speakers(8, 8, progress=False)
    first = corpus.by_speaker()[corpus.speakers[0]]
    voice = course.enroll([corpus.load(i)[0] for i in first[:5]], corpus.items[first[0]].sr)
    text = voices.prompts("heldout")[5]
    length = len(course.synthesize(text, voice)[0]) / course.sr
    rows.append({"name": "course checkpoint: synthesis real-time factor (HiFi-GAN)",
                 "value": round(_best_rtf(lambda: course.synthesize(text, voice), length), 3), "unit": "x",
                 "note": f"wall clock, phonemes + model + HiFi-GAN + watermark, {length:.1f} s, best of 3; target <= 0.5"})
    record = cloning.SHIPPED_CHECKPOINT.with_suffix(".json")
    rows += _system_rows("course checkpoint", course, f"zero-shot, 5 references; record {record.name}")
    quick = cloning.VoiceCloner.trained("quick", seed=0, progress=False)
    rows += _system_rows("quick model (notebook 08)", quick, "zero-shot, 5 references, Griffin-Lim 16 it.")
    return rows
