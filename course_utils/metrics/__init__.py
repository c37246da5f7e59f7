"""Evaluation metrics of the course.

``eer`` and ``error_rates`` are introduced in ``07_speaker_encoder.ipynb`` (speaker
verification; they live in :mod:`course_utils.verification`, below the speaker encoder, and
are re-exported here); notebook 10 adds speaker similarity and spectral distances.

The package: :mod:`~course_utils.metrics.similarity` (SECS),
:mod:`~course_utils.metrics.spectral` (mel-cepstral distortion, DTW),
:mod:`~course_utils.metrics.mos` (DNSMOS), :mod:`~course_utils.metrics.speed` (real-time
factor, first-audio latency) and :mod:`~course_utils.metrics.intelligibility` (word and character
error rates from Whisper, ``wer``/``cer`` from :mod:`course_utils.transcribe`); every public name
is re-exported here.
"""

from course_utils.verification import EERResult, eer, error_rates, verification_trials
from course_utils.metrics.similarity import PRETRAINED_ENCODER, Similarity, encoder_name, secs
from course_utils.metrics.spectral import (MAX_DTW_CELLS, MCD_HOP_MS, MCD_N_MELS, MCD_ORDER, MCD_WINDOW_MS, dtw_path,
                                           mcd_config, mcd_dtw, mcd_plain, mel_cepstrum)
from course_utils.metrics.mos import DNSMOS_SR, dnsmos
from course_utils.metrics.speed import first_audio_latency, rtf
from course_utils.metrics.intelligibility import Intelligibility, intelligibility
from course_utils.transcribe import char_error_rate as cer, word_error_rate as wer

__all__ = [
    "EERResult", "eer", "error_rates", "verification_trials", "PRETRAINED_ENCODER", "MCD_ORDER",
    "MCD_WINDOW_MS", "MCD_HOP_MS", "MCD_N_MELS", "MAX_DTW_CELLS", "Similarity", "encoder_name",
    "secs", "mcd_config", "mel_cepstrum", "dtw_path", "mcd_dtw", "mcd_plain", "DNSMOS_SR",
    "dnsmos", "rtf", "first_audio_latency", "Intelligibility", "intelligibility", "wer", "cer"
]
