"""Safeguards for voice cloning: explicit consent and an inaudible, keyed watermark.

Introduced in ``11_ethics_safety_and_applications.ipynb``. The command line refuses to clone
without consent, and the cloner watermarks everything it synthesises::

    record = safety.require_consent("I, Ada Lovelace, consent to cloning my voice for the "
                                    "course demo on 2026-11-25")
    marked = safety.embed_watermark(wav, sr)            # same length, float32, >= 30 dB below wav
    found, score = safety.detect_watermark(marked, sr)  # (True, z-score well above threshold)

How the watermark works (spread spectrum in the time-frequency plane):

* The audio is resampled to 16 kHz (the mark is added back at the original rate), cut into
  20 ms frames every 10 ms (sqrt-Hann windows, so analysis followed by synthesis gives the
  signal back exactly) and its spectrum into ``BAND_HZ`` bands between ``LOW_HZ`` and
  ``HIGH_HZ`` (below 7 kHz, so it survives resampling to 16 kHz). The grid is in seconds and
  hertz, so a mark made at 48 kHz is found in a 16 kHz copy.
* The key seeds a random +-1 pattern over (frame, band) tiles. Embedding scales each tile's
  spectrum by ``1 + alpha * pattern``: the mark is the signal's own sound, slightly louder or
  softer (at most ``MAX_ALPHA``, about 1.6 dB), so it follows the envelope and is masked by
  it, and there is none in silence. Quieter tiles get a relatively larger ``alpha``
  (``SHAPING``); the overall scale puts the mark's energy ``WSR_DB`` below the signal's.
* Detection needs the key but not the original: it takes the log energy of every tile,
  removes the slowly varying speech envelope with a local high-pass, and correlates the rest
  with the key's pattern. The correlation is linear in the +-1 pattern, so for audio without
  this key's mark it is a sum of many independent random signs: its z-score is close to a
  standard normal whatever the audio, and ``THRESHOLD`` fixes the false-alarm rate.
* The pattern is tied to the time grid: audio trimmed at the start (10 ms is enough) loses the
  mark unless ``detect_watermark(..., search_s=...)`` tries every alignment, which raises the
  bar for the best of many tries so that false alarms stay as rare.

Limits worth discussing in the notebook (measured on espeak speech): a one-semitone pitch shift
removes the mark; a 5 % phase-vocoder time stretch (``librosa.effects.time_stretch``) kept it
in 4 of 4 clips in notebook 11 (a small sample); re-synthesis from an 80-band mel spectrogram (what
a vocoder sees) mostly removes it, while Griffin-Lim from the full STFT magnitude keeps it;
noise at 10 dB SNR is found only about two times in three; lossy codecs were not measured.
A watermark shows where audio came from when nobody tried hard to remove it; it proves nothing
when it is absent.

The package: :mod:`~course_utils.safety.consent` and :mod:`~course_utils.safety.watermark`;
every public name is re-exported here.
"""

from course_utils.safety.consent import ConsentError, ConsentRecord, HOW_TO_CONSENT, require_consent
from course_utils.safety.watermark import (BAND_HZ, DEFAULT_KEY, HIGH_HZ, HOP_S, LOW_HZ, MAX_ALPHA, MIN_SECONDS, MIN_SR,
                                           N_BANDS, SHAPING, THRESHOLD, WORK_SR, WSR_DB, canonical_key,
                                           detect_watermark,
                                           embed_watermark, robustness_attacks, watermark_to_signal_db)

__all__ = [
    "ConsentError", "ConsentRecord", "HOW_TO_CONSENT", "require_consent",
    "BAND_HZ", "DEFAULT_KEY", "HIGH_HZ", "HOP_S", "LOW_HZ", "MAX_ALPHA", "MIN_SECONDS", "MIN_SR", "N_BANDS", "SHAPING",
    "THRESHOLD", "WORK_SR", "WSR_DB", "canonical_key", "detect_watermark", "embed_watermark", "robustness_attacks",
    "watermark_to_signal_db",
]
