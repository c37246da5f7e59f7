"""Few-shot fine-tuning of the cloner from recordings and their transcripts (notebook 09).

Introduced in ``09_few_shot_finetuning.ipynb``::

    from course_utils import cloning, finetune
    cloner = cloning.VoiceCloner.trained("quick")
    tuned = finetune.finetune(cloner, [(wav1, "text one"), (wav2, "text two")], sr, steps=60)
    wav, sr = tuned.synthesize("Something new.", tuned.finetuned_speaker)
    # `cloner` is untouched: `tuned` holds a deep copy of its model (Part I, applied)

**Alignment.**  The recordings come with text only, not with phoneme timings, but training the
acoustic model needs a number of frames per phoneme.  :func:`align` gets them from the
cloner trained in notebook 08 itself:

1. phonemise the transcript and synthesise it in the speaker's voice with the *predicted*
   durations: a log-mel whose phoneme boundaries are known exactly;
2. dynamic time warping (DTW, :func:`course_utils.metrics.dtw_path`) between the synthetic and
   the real log-mel frames, on standardised frames with the utterance mean removed (this
   removes most of the timbre mismatch and keeps the phonetic content);
3. carry each phoneme boundary through the warping path (:func:`warp_durations`): the first real
   frame paired with the phoneme's first synthetic frame starts that phoneme in the recording.

The durations sum to the recording's number of frames, as training requires.  On espeak
utterances, whose true spans are known, :func:`boundary_error_ms` measures the result against the
truth (and against the naive alternative, stretching the predicted durations uniformly).

**Strategies** (:data:`STRATEGIES`), from cheapest to most flexible:

* ``"zero-shot"``: enrol only (notebook 08), no training;
* ``"embedding"``: optimise the speaker embedding vector only (the network is frozen);
* ``"adapter"``: small bottleneck layers (:class:`Adapter`) after each decoder block, trained with
  the rest frozen (zero-initialised, so they start as the identity);
* ``"full"`` (the default): every weight, with a small learning rate.

Measured in notebook 09 (quick profile, 8 held-out speakers, 5 utterances, 60 steps): full
fine-tuning scores best; adapters gain less; tuning the embedding alone moves it away from the
voices the synthesiser was trained on and gains about nothing (0.10 below to 0.03 above
zero-shot over three training seeds, ``benchmarks/margins.md``).

**Post-filter.**  The model's frames vary less over time than real speech (over-smoothing, a
consequence of regression losses).  :func:`gv_scale` measures by how much, from the speaker's
recordings and the tuned model's speech on sentences that are not evaluated, and the returned
cloner's ``gv_scale`` makes ``synthesize`` apply :func:`cloning.gv_postfilter` (``postfilter=False``
leaves it off).

``cloner.finetune(pairs, sr, steps=None)`` (the course API) calls :func:`finetune`.

The result is a new :class:`~course_utils.cloning.VoiceCloner` whose ``finetuned_speaker`` is the
voice to pass to ``synthesize``.  Adapter-tuned cloners hold wrapped decoder blocks: their
``model.state_dict()`` keys differ from a plain model's, so reload them by calling
:func:`finetune` again (or save ``model.state_dict()`` yourself).

The package follows the notebook: alignment (frames per phoneme, :mod:`~course_utils.cloning.alignment`,
below the cloner because its real-speech stage aligns too), :mod:`~course_utils.finetune.adapters`,
:mod:`~course_utils.finetune.tune` (the strategies and the loop) and :mod:`~course_utils.finetune.sweep`
(strategies compared on held-out speakers, throughput); every public name is re-exported here.
"""

from course_utils.cloning.alignment import (PHONEME_RATE, Alignment, FinetuneError, align, align_features,
                                            boundary_error_ms, check_speaking_rate,
                                            corpus_alignment_errors, stretch_durations, warp_durations)
from course_utils.finetune.adapters import Adapter, AdaptedBlock, add_adapters, count_parameters
from course_utils.finetune.tune import (DEFAULT_STEPS, GV_SENTENCES, LEARNING_RATES, MAX_STEPS, STRATEGIES,
                                        FinetuneResult,
                                        finetune, gv_scale, prepare, transcribe_missing)
from course_utils.finetune.sweep import (heldout_data, parameters_equal, score_strategy, state_fingerprint,
                                         throughput_rows)

__all__ = [
    "PHONEME_RATE", "Alignment", "FinetuneError", "align", "check_speaking_rate", "align_features",
    "boundary_error_ms", "corpus_alignment_errors", "stretch_durations", "warp_durations", "Adapter",
    "AdaptedBlock", "add_adapters", "count_parameters", "DEFAULT_STEPS", "GV_SENTENCES", "LEARNING_RATES",
    "MAX_STEPS", "STRATEGIES", "FinetuneResult", "finetune", "gv_scale", "prepare", "transcribe_missing",
    "heldout_data", "parameters_equal", "score_strategy", "state_fingerprint", "throughput_rows",
]
