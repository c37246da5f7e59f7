"""Multi-speaker synthesis and zero-shot voice cloning.

Introduced in ``08_multispeaker_synthesis.ipynb`` (fine-tuning builds on it in notebook 09, the
safety rules of notebook 11 apply to it)::

    from course_utils import cloning
    cloner = cloning.VoiceCloner.trained(profile="quick")   # loads (or trains) the checkpoint
    speaker = cloner.enroll([wav1, wav2, wav3], sr)             # any sample rate
    wav, sr = cloner.synthesize("Hello there.", speaker)        # float32, watermarked

The acoustic model (a FastSpeech-style, non-autoregressive synthesiser)::

    phoneme ids (B, T) --TextEncoder (notebook 06)-------------> h (B, T, C)
    speaker embedding s (unit norm, from a speaker encoder) --standardise--> z
        injection "encoder": h <- h + W z                 (every symbol hears the speaker)
    duration predictor (convs, FiLM by z)  -> log(1 + frames per phoneme)
    length regulator: repeat h_i d_i times  -> (B, F, C), + position inside the phoneme
    decoder: residual dilated convs, injection "film": x <- x * (1 + g(z)) + b(z) in each block
    -> log-mel frames (B, F, n_mels), postnet (convs) adds a residual correction

Training durations come from the corpus's phoneme spans (samples -> frames, see
:func:`audio.durations_in_frames`); the loss is an L1 distance on standardised log-mel frames (before
and after the postnet), plus a mean squared error on log durations, all masked to the valid
positions.  The vocoder is Griffin-Lim (:mod:`course_utils.vocoder`).

Cloning is scored with the *pretrained* speaker encoder (:func:`cloning_score`), the same one
the default configuration conditions the model on, so it is not an independent judge: notebook
10 scores the clones with the course's own encoder as well.

The package follows the notebook, lowest layer first (each module imports only the ones above
it in this list; ``tests/test_layers.py`` checks it):

* ``config``   - :class:`ClonerConfig`, the profiles, :class:`CloningError`;
* ``model``    - durations, length regulator, masks, FiLM, :class:`AcousticModel`, the post-filter;
* ``data``     - symbol ids, examples, batches, speaker embeddings, :class:`Speaker`;
* ``train``    - the training loop (:func:`train_model`, also run by ``ddp_train``), live plot;
* ``evaluate`` - :func:`cloning_score`, held-out speakers, real-time factor;
* ``alignment`` - frames per phoneme of a recording from its words, by DTW against a cloner's own
  speech (notebook 09; :mod:`course_utils.finetune` re-exports it);
* ``real``     - examples from real recordings (recognised words, aligned by a trained cloner),
  for the real-speech stage (notebook 09);
* ``cloner``   - :class:`VoiceCloner` and :func:`train` (with ``ClonerConfig.with_real_speech``,
  a second stage on real readers); ``VoiceCloner.finetune`` calls
  :mod:`course_utils.finetune`, which is built on the layers above (not on the cloner);
* ``checkpoint`` - the course checkpoint (``VoiceCloner.shipped()``): trained resumably, measured
  (word error rate and likeness), written with its record (:func:`train_checkpoint`).
"""

from course_utils.cloning.config import (PROFILES, REAL_SPEECH, SPEAKING, SHIPPED_CHECKPOINT, VOCODERS, INJECTIONS,
                                         SPEAKER_ENCODERS, PAD, UNK, CHECKPOINT_VERSION, CloningError, ClonerConfig,
                                         DamagedCheckpoint)
from course_utils.cloning.model import (length_regulate, position_in_symbol, masked_l1,
                                        masked_mse, FiLM, ConvBlock, DurationPredictor, AcousticModel,
                                        single_thread, gv_postfilter, speech_statistics, match_statistics,
                                        nearest_frames)
from course_utils.cloning.data import (symbol_ids, build_vocabulary, Example, prepare_examples,
                                       collate, load_speaker_encoder, utterance_embeddings, mean_embedding,
                                       Speaker)
from course_utils.cloning.train import (train_model, training_corpus, LiveLossPlot, snapshot_path)
from course_utils.cloning.evaluate import (CloningScore, cloning_score, heldout_speakers, evaluate,
                                           real_time_factor)
from course_utils.cloning.real import real_examples
from course_utils.cloning.cloner import (PACE_RANGE, VoiceCloner, make_vocoder, state_checksum, train)
from course_utils.cloning.checkpoint import SNAPSHOTS, TEST_SETS, espeak_clips, measure, train_checkpoint

__all__ = [
    "PROFILES", "REAL_SPEECH", "SPEAKING", "SHIPPED_CHECKPOINT", "VOCODERS", "snapshot_path", "make_vocoder",
    "SNAPSHOTS", "TEST_SETS", "espeak_clips", "measure", "train_checkpoint", "real_examples", "INJECTIONS", "SPEAKER_ENCODERS", "PAD", "UNK", "CHECKPOINT_VERSION",
    "CloningError", "DamagedCheckpoint", "ClonerConfig", "length_regulate", "position_in_symbol",
    "masked_l1", "masked_mse", "FiLM", "ConvBlock", "DurationPredictor", "AcousticModel",
    "single_thread", "gv_postfilter", "speech_statistics", "match_statistics", "nearest_frames", "symbol_ids", "build_vocabulary", "Example",
    "prepare_examples", "collate", "load_speaker_encoder", "utterance_embeddings",
    "mean_embedding", "Speaker", "train_model", "training_corpus", "LiveLossPlot", "CloningScore",
    "cloning_score", "heldout_speakers", "evaluate", "real_time_factor", "PACE_RANGE", "VoiceCloner", "state_checksum", "train"
]
