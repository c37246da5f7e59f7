"""Speaker encoders: a voice in, a unit-norm vector out (GE2E and a faster TDNN variant).

Introduced in ``07_speaker_encoder.ipynb``; the synthesiser of notebook 08 and the evaluation of
notebook 10 use :func:`course_encoder` and :meth:`SpeakerEncoder.pretrained`.

Pipeline of :meth:`SpeakerEncoder.embed_utterance` (the same as Resemblyzer's, reimplemented):

1. check the audio (mono, finite, not silent), resample to 16 kHz;
2. raise the volume to -30 dBFS (never lower it) and cut long silences with the WebRTC VAD;
3. 40-channel mel power spectrogram, 25 ms window, 10 ms hop (the course's own encoder reads its
   logarithm, the pretrained one the power itself: that is what it was trained on);
4. cut the utterance into 1.6 s partial windows (1.3 per second, the last one kept when at least
   75 % covered), embed each, average, L2-normalise.

The pretrained weights are the ``pretrained.pt`` inside the ``resemblyzer`` wheel, loaded with
``torch.load(weights_only=True)`` into :class:`SpeakerEncoder`; the course does not need to import
``resemblyzer`` itself (its ``webrtcvad`` import fails without ``pkg_resources``, which
setuptools >= 81 no longer ships; see :func:`pkg_resources_shim`).

The package follows the notebook: :mod:`~course_utils.speaker.features` (audio in, mel frames and
windows out), :mod:`~course_utils.speaker.model` (the networks and the GE2E loss),
:mod:`~course_utils.speaker.training` (training, verification EER, the course encoder: load or
train). Every public name is re-exported here, so ``speaker.preprocess`` or
``speaker.SpeakerEncoder`` is all a notebook needs.
"""

from course_utils.speaker.features import (
    AUDIO_NORM_DBFS, HOP, HOP_MS, INT16_MAX, MIN_SPEECH_SECONDS, N_FFT, N_MELS, PARTIAL_FRAMES, PROFILES, SAMPLE_RATE,
    VAD_AVERAGE_WIDTH, VAD_MAX_SILENCE, VAD_WINDOW_MS, WINDOW_MS, import_resemblyzer, mel_power, normalize_volume,
    partial_slices, pkg_resources_shim, preprocess, pretrained_weights_path, trim_long_silences)
from course_utils.speaker.model import GE2ELoss, SpeakerEncoder, SpeakerEncoderConfig
from course_utils.speaker.training import (
    COURSE_ARCH, HELDOUT_CORPUS, TRAIN_CORPUS, TrainConfig, checkpoint_path, corpus_features, course_encoder,
    enrol_and_test, heldout_corpus_spec, preprocessed_audio, save_course_encoder, train, training_corpus_spec,
    verification_eer)

__all__ = [
    "AUDIO_NORM_DBFS", "HOP", "HOP_MS", "INT16_MAX", "MIN_SPEECH_SECONDS", "N_FFT", "N_MELS", "PARTIAL_FRAMES",
    "PROFILES", "SAMPLE_RATE", "VAD_AVERAGE_WIDTH", "VAD_MAX_SILENCE", "VAD_WINDOW_MS", "WINDOW_MS",
    "import_resemblyzer", "mel_power", "normalize_volume", "partial_slices", "pkg_resources_shim", "preprocess",
    "pretrained_weights_path", "trim_long_silences",
    "GE2ELoss", "SpeakerEncoder", "SpeakerEncoderConfig",
    "COURSE_ARCH", "HELDOUT_CORPUS", "TRAIN_CORPUS", "TrainConfig", "checkpoint_path", "corpus_features",
    "course_encoder", "enrol_and_test", "heldout_corpus_spec", "preprocessed_audio", "save_course_encoder", "train",
    "training_corpus_spec", "verification_eer",
]
