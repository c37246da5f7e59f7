"""Few-shot fine-tuning of the cloner from recordings and their transcripts (notebook 09).

Introduced in ``09_few_shot_finetuning.ipynb``::

    from course_utils import cloning, finetune
    cloner = cloning.VoiceCloner.pretrained("quick")
    tuned = finetune.finetune(cloner, [(wav1, "text one"), (wav2, "text two")], sr, steps=60)
    wav, sr = tuned.synthesize("Something new.", tuned.finetuned_speaker)
    # `cloner` is untouched: `tuned` holds a deep copy of its model (Part I, applied)

**Alignment.**  The recordings come with text only, not with phoneme timings, but training the
acoustic model needs a number of frames per phoneme.  :func:`align` gets them from the
pretrained model itself:

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
voices the synthesiser was trained on and scores *below* zero-shot.

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
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import torch
from torch import nn

from course_utils import audio
from course_utils.cloning.config import ClonerConfig, PAD, UNK
from course_utils.cloning.model import AcousticModel, spans_to_durations
from course_utils.cloning.data import Example, Speaker, collate, resample, symbol_ids
from course_utils.cloning.evaluate import cloning_score

if TYPE_CHECKING:  # for type hints only: the cloner sits above this module (cloning.cloner)
    from course_utils.cloning.cloner import VoiceCloner

STRATEGIES = ("zero-shot", "embedding", "adapter", "full")
#: Default optimiser steps per profile (a few seconds on 2 CPU cores for 5 utterances in quick).
DEFAULT_STEPS = {"quick": 60, "full": 300}
#: Learning rates per strategy (AdamW).
LEARNING_RATES = {"embedding": 3e-2, "adapter": 1e-2, "full": 5e-4}
#: Sentences the cloner speaks to measure its own variance in :func:`gv_scale`.
GV_SENTENCES = 4


class FinetuneError(ValueError):
    """Bad input to :func:`finetune` or :func:`align`; the message says what to do."""


# ----------------------------------------------------------------------------------------------
# alignment
# ----------------------------------------------------------------------------------------------

def warp_durations(durations: Sequence[int], path: np.ndarray, n_target: int) -> np.ndarray:
    """Carry phoneme durations (frames of a source) through a DTW path to a target (notebook 09).

    ``durations`` are the source frames of each phoneme (they sum to the source length);
    ``path`` is an ``(L, 2)`` monotonic array of ``(source_frame, target_frame)`` pairs from
    ``(0, 0)`` to ``(n_source - 1, n_target - 1)``.  Phoneme ``i`` starts in the target at the
    first target frame paired with its first source frame; the result has one duration per
    phoneme (0 allowed) and sums to ``n_target``.
    """
    durations = np.asarray(durations, dtype=np.int64)
    path = np.asarray(path, dtype=np.int64)
    n_source = int(durations.sum())
    if path.ndim != 2 or path.shape[1] != 2 or len(path) == 0:
        raise FinetuneError(f"path must be an (L, 2) array of frame pairs, got shape {path.shape}")
    if path[-1, 0] != n_source - 1 or path[-1, 1] != n_target - 1:
        raise FinetuneError(f"path ends at {tuple(path[-1])}, expected ({n_source - 1}, {n_target - 1}): "
                            "durations must sum to the source frames")
    first_target = np.full(n_source, n_target, dtype=np.int64)
    np.minimum.at(first_target, path[:, 0], path[:, 1])       # first target frame of each source frame
    starts = np.concatenate([[0], np.cumsum(durations)[:-1]])
    bounds = np.where(starts < n_source, first_target[np.minimum(starts, n_source - 1)], n_target)
    bounds[0] = 0
    bounds = np.maximum.accumulate(bounds)
    return np.diff(np.append(bounds, n_target)).astype(np.int64)


def stretch_durations(durations: Sequence[int], n_target: int) -> np.ndarray:
    """The naive alignment: scale the durations uniformly to ``n_target`` frames (baseline, notebook 09)."""
    durations = np.asarray(durations, dtype=np.float64)
    ends = np.round(np.cumsum(durations) * n_target / max(durations.sum(), 1)).astype(np.int64)
    ends[-1] = n_target
    return np.diff(np.concatenate([[0], ends])).astype(np.int64)


def _standardised_frames(model: AcousticModel, log_mel: np.ndarray) -> np.ndarray:
    """(F, n_mels) standardised frames with the utterance mean removed (for DTW distances)."""
    x = model.normalise(torch.as_tensor(log_mel, dtype=torch.float32)).numpy()
    return x - x.mean(0, keepdims=True)


@dataclass
class Alignment:
    """Result of :func:`align`: symbols, their frame ``durations`` in the recording, the DTW path."""

    symbols: list
    durations: np.ndarray
    predicted: np.ndarray
    path: np.ndarray
    mel: np.ndarray             # (F, n_mels) log-mel of the recording at the model's rate

    def spans(self, hop_length: int, n_samples: int) -> list[tuple[str, int, int]]:
        """``(symbol, start_sample, end_sample)`` at the model's sample rate."""
        bounds = np.concatenate([[0], np.cumsum(self.durations)]) * hop_length
        bounds = np.minimum(bounds, n_samples)
        return [(s, int(a), int(b)) for s, a, b in zip(self.symbols, bounds[:-1], bounds[1:])]


@torch.no_grad()
def align(cloner: VoiceCloner, wav: np.ndarray, sr: int, transcript: str | None = None,
          speaker=None, symbols: Sequence[str] | None = None) -> Alignment:
    """Frames per phoneme of a recording, from its transcript alone (notebook 09).

    Synthesise the transcript with the model's predicted durations (in ``speaker``'s voice, by
    default enrolled from ``wav``), then DTW its standardised log-mel against the recording's
    and map the phoneme boundaries through the path (:func:`warp_durations`).  ``symbols`` can
    replace ``transcript`` (a phoneme sequence, e.g. from a corpus).
    """
    model = cloner.model
    config = cloner.config
    if symbols is None:
        if not transcript or not isinstance(transcript, str):
            raise FinetuneError("give the transcript of the recording (a non-empty str)")
        symbols = cloner.phonemes(transcript)
    symbols = list(symbols)
    wav16 = resample(np.asarray(wav, dtype=np.float32), sr, config.sr)
    mel = audio.log_mel(wav16, config.features()).T                          # (F, n_mels)
    if speaker is None:
        speaker = cloner.enroll([wav], sr)
    ids = torch.tensor([symbol_ids(symbols, config.symbols)])
    emb = cloner._embedding(speaker)
    model.eval()
    out = model(ids, torch.tensor([ids.shape[1]]), emb)
    predicted = out["durations"][0].numpy().astype(np.int64)
    if predicted.sum() < 1:
        predicted[0] = 1
    synth = model.denormalise(out["mel_post"][0, : int(predicted.sum())]).numpy()
    durations, path = align_features(_standardised_frames(model, synth), predicted,
                                     _standardised_frames(model, mel))
    return Alignment(symbols, durations, predicted, path, mel)


def align_features(source: np.ndarray, durations: Sequence[int], target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DTW of ``source`` frames (F1, D) with known phoneme ``durations`` onto ``target`` frames (F2, D).

    Euclidean frame distances, :func:`course_utils.metrics.dtw_path`, then :func:`warp_durations`.
    Returns ``(target durations, path)`` (notebook 09).
    """
    from course_utils import metrics

    source, target = np.asarray(source, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if source.ndim != 2 or target.ndim != 2 or source.shape[1] != target.shape[1]:
        raise FinetuneError(f"need two (frames, features) matrices with equal widths, got {source.shape}, "
                            f"{target.shape}")
    sq = (source ** 2).sum(1)[:, None] + (target ** 2).sum(1)[None, :] - 2.0 * source @ target.T
    path = metrics.dtw_path(np.sqrt(np.maximum(sq, 0.0)))
    return warp_durations(durations, path, len(target)), path


def boundary_error_ms(durations: Sequence[int], true_durations: Sequence[int], hop_length: int,
                      sr: int) -> float:
    """Mean absolute distance between predicted and true phoneme boundaries, in ms (notebook 09)."""
    d, t = np.asarray(durations), np.asarray(true_durations)
    if d.shape != t.shape:
        raise FinetuneError(f"need one duration per phoneme in both: {d.shape} vs {t.shape}")
    b, c = np.cumsum(d)[:-1], np.cumsum(t)[:-1]
    if len(b) == 0:
        return 0.0
    return float(np.mean(np.abs(b - c)) * hop_length / sr * 1000.0)


def corpus_alignment_errors(cloner: VoiceCloner, corpus, indices: Sequence[int]) -> dict:
    """Boundary errors (ms) of :func:`align` and of the uniform stretch on corpus items with true spans."""
    config = cloner.config
    dtw, naive = [], []
    for i in indices:
        item = corpus.items[i]
        wav, sr = corpus.load(i)
        n16 = len(resample(wav, sr, config.sr))
        scale = config.sr / sr
        spans = [(s, int(round(a * scale)), int(round(b * scale))) for s, a, b in item.phonemes]
        true = spans_to_durations(spans, n16, config.hop_length)
        result = align(cloner, wav, sr, symbols=[s for s, _, _ in item.phonemes])
        dtw.append(boundary_error_ms(result.durations, true, config.hop_length, config.sr))
        naive.append(boundary_error_ms(stretch_durations(result.predicted, len(result.mel)), true,
                                       config.hop_length, config.sr))
    return {"dtw_ms": float(np.mean(dtw)), "stretch_ms": float(np.mean(naive)), "per_item_dtw": dtw,
            "per_item_stretch": naive, "frame_ms": config.hop_length / config.sr * 1000.0}


# ----------------------------------------------------------------------------------------------
# adapters
# ----------------------------------------------------------------------------------------------

class Adapter(nn.Module):
    """Bottleneck residual layer ``x + up(relu(down(x)))`` on (B, T, C); starts as the identity (notebook 09).

    ``up`` is zero-initialised, so inserting an adapter does not change the model until it is trained.
    """

    def __init__(self, channels: int, bottleneck: int = 16):
        super().__init__()
        self.down = nn.Linear(channels, bottleneck)
        self.up = nn.Linear(bottleneck, channels)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.up(torch.relu(self.down(x)))


class AdaptedBlock(nn.Module):
    """A decoder block followed by an :class:`Adapter`, same call signature ``(x, mask, z)``."""

    def __init__(self, block: nn.Module, adapter: Adapter):
        super().__init__()
        self.block, self.adapter = block, adapter

    def forward(self, x: torch.Tensor, mask: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.adapter(self.block(x, mask, z)) * mask[..., None].to(x.dtype)


def add_adapters(model: AcousticModel, bottleneck: int = 64) -> list[nn.Parameter]:
    """Wrap every decoder block of ``model`` (in place) with an adapter; return the adapters' parameters."""
    params = []
    for i, block in enumerate(model.decoder):
        if isinstance(block, AdaptedBlock):
            params += list(block.adapter.parameters())
            continue
        adapter = Adapter(model.config.decoder_channels, bottleneck)
        model.decoder[i] = AdaptedBlock(block, adapter)
        params += list(adapter.parameters())
    return params


def count_parameters(params) -> int:
    """Number of scalars in an iterable of tensors."""
    return int(sum(p.numel() for p in params))


# ----------------------------------------------------------------------------------------------
# fine-tuning
# ----------------------------------------------------------------------------------------------

@dataclass
class FinetuneResult:
    """What :func:`finetune` did: strategy, steps, trainable parameters, time, losses, post-filter scale."""

    strategy: str
    steps: int
    trainable: int
    seconds: float
    losses: list = field(default_factory=list)
    align_seconds: float = 0.0
    device: str = "cpu"
    gv_scale: float = 1.0

    def __repr__(self) -> str:
        last = f"{self.losses[-1]:.3f}" if self.losses else "-"
        return (f"FinetuneResult({self.strategy}, {self.steps} steps, {self.trainable} trainable parameters, "
                f"{self.seconds:.1f} s, final loss {last}, post-filter x{self.gv_scale:.2f})")


def prepare(cloner: VoiceCloner, pairs, sr: int) -> tuple[list, Speaker, float]:
    """Check ``pairs`` of ``(wav, transcript)``, enrol the speaker, align each pair into an Example."""
    pairs = _check_pairs(pairs)
    start = time.perf_counter()
    voice = cloner.enroll([w for w, _ in pairs], sr)
    examples = []
    for wav, text in pairs:
        result = align(cloner, wav, sr, text, speaker=voice)
        examples.append(Example("target", torch.tensor(symbol_ids(result.symbols, cloner.config.symbols)),
                                        torch.from_numpy(result.durations),
                                        torch.from_numpy(np.ascontiguousarray(result.mel, dtype=np.float32))))
    return examples, voice, time.perf_counter() - start


def _check_pairs(pairs) -> list:
    if isinstance(pairs, tuple) and len(pairs) == 2 and isinstance(pairs[1], str):
        pairs = [pairs]
    pairs = list(pairs)
    if not pairs:
        raise FinetuneError("no (wav, transcript) pairs given: pass at least one recording and its text")
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and isinstance(pair[1], str)):
            raise FinetuneError(f"pair {i + 1} must be (wav, transcript) with a str transcript, "
                                f"got {type(pair).__name__}")
    return pairs


def finetune(cloner: VoiceCloner, pairs, sr: int, steps: int | None = None, strategy: str = "full",
             lr: float | None = None, batch_size: int = 8, accumulate: int = 1, device: str = "cpu",
             precision: str = "fp32", bottleneck: int = 64, seed: int = 0, postfilter: bool = True,
             progress: bool = False,
             callback: Callable[[int, "VoiceCloner"], None] | None = None) -> VoiceCloner:
    """Adapt ``cloner`` to the voice of ``pairs`` = ``[(wav, transcript), ...]``; return a new cloner (notebook 09).

    ``cloner`` is never modified: the model is deep-copied first (``copy.deepcopy``), and only the
    copy is trained.  The returned cloner has ``finetuned_speaker`` (pass it to ``synthesize``)
    and ``finetune_result`` (:class:`FinetuneResult`).  ``strategy`` is one of
    :data:`STRATEGIES`; ``steps`` defaults to :data:`DEFAULT_STEPS` of the model's profile.
    ``accumulate`` micro-batches are summed per optimiser step (gradients zeroed after each
    step); ``precision`` ``"bf16"``/``"fp16"`` trains under autocast (:mod:`course_utils.gpu`).
    Training draws its random numbers (dropout, batches) from ``seed`` alone, so a call gives
    the same cloner whatever ran before it.  With ``postfilter`` the new cloner's ``gv_scale``
    is estimated from the recordings (:func:`gv_scale`).  ``callback(step, tuned)`` runs after
    each step (for curves of score against steps).
    """
    from course_utils import env

    if strategy not in STRATEGIES:
        raise FinetuneError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
    steps = DEFAULT_STEPS.get(cloner.config.profile, 40) if steps is None else int(steps)
    if steps < 0:
        raise FinetuneError(f"steps must be >= 0, got {steps}")
    if accumulate < 1 or batch_size < 1:
        raise FinetuneError(f"batch_size and accumulate must be >= 1, got {batch_size}, {accumulate}")
    device = env.pick_device(device)
    pairs = _check_pairs(pairs)
    if strategy == "zero-shot" or steps == 0:
        examples, align_seconds = [], 0.0                 # nothing to train: enrol only
        voice = cloner.enroll([w for w, _ in pairs], sr)
    else:
        examples, voice, align_seconds = prepare(cloner, pairs, sr)

    model = copy.deepcopy(cloner.model)          # the original's weights are never touched
    embedding = torch.from_numpy(np.array(voice.embedding, dtype=np.float32))
    with torch.random.fork_rng(devices=[]):      # the caller's random state is left as it was
        torch.manual_seed(seed)
        trainable, emb_param = _trainable(model, strategy, embedding, bottleneck)
        model.to(device)
        if emb_param is not None:
            emb_param.data = emb_param.data.to(device)
        tuned = type(cloner)(model.eval(), cloner.speaker_encoder, history=dict(cloner.history),
                                    vocoder_iters=cloner.vocoder.n_iter)
        examples = [Example(e.speaker, e.ids, e.durations, model.normalise(e.mel.to(device)).cpu())
                    for e in examples]
        start = time.perf_counter()
        losses, callback_seconds = [], 0.0
        if steps and trainable:
            lr = LEARNING_RATES[strategy] if lr is None else lr
            losses, callback_seconds = _train(tuned, examples, trainable, emb_param, embedding, voice,
                                              strategy=strategy, steps=steps, lr=lr, batch_size=batch_size,
                                              accumulate=accumulate, device=device, precision=precision, seed=seed,
                                              progress=progress, callback=callback)
    for p in model.parameters():
        p.requires_grad_(False)
    model.cpu()
    tuned.finetuned_speaker = _speaker_from(emb_param, voice)
    if postfilter:
        tuned.gv_scale = gv_scale(tuned, tuned.finetuned_speaker, [w for w, _ in pairs], sr,
                                  exclude=[t for _, t in pairs])
    seconds = time.perf_counter() - start - callback_seconds     # not the callback's work
    tuned.finetune_result = FinetuneResult(strategy, steps if trainable else 0, count_parameters(trainable),
                                           seconds, losses, align_seconds, str(device), tuned.gv_scale)
    return tuned


def _trainable(model: AcousticModel, strategy: str, embedding: torch.Tensor, bottleneck: int):
    """Freeze ``model``, then unfreeze what ``strategy`` trains: ``(parameters, embedding parameter or None)``."""
    for p in model.parameters():
        p.requires_grad_(False)
    emb_param = None
    if strategy == "embedding":
        emb_param = nn.Parameter(embedding.clone())
        trainable = [emb_param]
    elif strategy == "adapter":
        trainable = add_adapters(model, bottleneck)
    elif strategy == "full":
        trainable = list(model.parameters())
    else:
        trainable = []
    for p in trainable:
        p.requires_grad_(True)
    return trainable, emb_param


def _train(tuned, examples, trainable, emb_param, embedding, voice, *, strategy, steps, lr, batch_size, accumulate,
           device, precision, seed, progress, callback) -> tuple[list, float]:
    """The optimisation loop of :func:`finetune`: ``(losses, seconds spent in the callback)``."""
    from tqdm.auto import tqdm

    from course_utils import gpu

    model = tuned.model
    optimiser = torch.optim.AdamW(trainable, lr=lr, betas=(0.9, 0.98), weight_decay=0.0)
    scaler = gpu.make_scaler(device, precision)
    rng = np.random.default_rng(seed)
    if strategy == "full":
        model.train()                          # cuDNN's LSTM backward needs training mode
    losses, callback_seconds = [], 0.0
    for step in tqdm(range(steps), desc=f"fine-tuning ({strategy})", disable=not progress, leave=False):
        optimiser.zero_grad(set_to_none=True)
        total = 0.0
        for _ in range(accumulate):
            chosen = [examples[i] for i in rng.permutation(len(examples))[:batch_size]]
            spk = (emb_param if emb_param is not None else embedding.to(device))[None].expand(len(chosen), -1)
            batch = collate(chosen, torch.zeros(len(chosen), embedding.shape[0]))
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            batch["speaker"] = spk
            with gpu.autocast(device, precision):
                loss, _ = model.loss(batch)
            scaler.scale(loss / accumulate).backward()
            total += float(loss.detach()) / accumulate
        scaler.unscale_(optimiser)
        nn.utils.clip_grad_norm_(trainable, 1.0)
        scaler.step(optimiser)
        scaler.update()
        optimiser.zero_grad(set_to_none=True)  # the article forgot this line: see gpu.accumulate
        losses.append(total)
        if callback is not None:
            paused = time.perf_counter()
            model.eval()
            tuned.finetuned_speaker = _speaker_from(emb_param, voice)
            callback(step, tuned)
            if strategy == "full":
                model.train()
            callback_seconds += time.perf_counter() - paused
    model.eval()
    return losses, callback_seconds


def gv_scale(cloner: VoiceCloner, voice, wavs, sr: int, exclude: Sequence[str] = ()) -> float:
    """The :func:`gv_postfilter` scale for ``voice``, measured from its recordings (notebook 09).

    Real speech's per-channel standard deviation over time (the "global variance"), averaged over
    ``wavs``, divided by that of ``cloner``'s log-mels for :data:`GV_SENTENCES` training prompts
    that are not in ``exclude`` (the fine-tuning transcripts: a model varies more on what it has
    learnt by heart), averaged over channels.  No text to be evaluated is ever used.
    """
    from course_utils import voices

    features = cloner.config.features()
    real = np.mean([audio.log_mel(resample(np.asarray(w, np.float32), sr, cloner.sr), features).std(axis=1)
                    for w in wavs], axis=0)
    exclude = set(exclude)
    texts = [t for t in voices.prompts("train") if t not in exclude][-GV_SENTENCES:]
    predicted = np.mean([cloner.mel(t, voice).std(axis=1) for t in texts], axis=0)
    return float(np.mean(real / np.maximum(predicted, 1e-6)))


def _speaker_from(emb_param, voice) -> Speaker:
    if emb_param is None:
        return voice
    emb = emb_param.detach().cpu().numpy().astype(np.float32)
    return Speaker(emb, voice.n_references, voice.seconds)


# ----------------------------------------------------------------------------------------------
# evaluation of strategies
# ----------------------------------------------------------------------------------------------

def heldout_data(corpus, n_finetune: int, n_own: int = 2):
    """Per speaker: the first ``n_finetune`` (wav, sr, text) for fine-tuning, the next ``n_own`` as own recordings."""
    out = {}
    for spk, idx in corpus.by_speaker().items():
        if len(idx) < n_finetune + n_own:
            raise FinetuneError(f"speaker {spk} has {len(idx)} utterances; need {n_finetune + n_own}")
        take = lambda ids: [(*corpus.load(i), corpus.items[i].text) for i in ids]  # noqa: E731
        out[spk] = {"train": take(idx[:n_finetune]), "own": take(idx[n_finetune:n_finetune + n_own])}
    return out


class CachedEncoder:
    """Wraps a speaker encoder and remembers the embedding of every waveform it has seen.

    :func:`cloning_score` embeds the references and own recordings on every call; when
    scoring many checkpoints of the same speakers (score against steps) this saves most of the time.
    """

    def __init__(self, encoder):
        self.encoder = encoder
        self._cache: dict = {}

    def embed_utterance(self, wav, sr: int) -> np.ndarray:
        import hashlib

        arr = np.ascontiguousarray(wav, dtype=np.float32)
        key = (hashlib.sha1(arr.tobytes()).hexdigest(), int(sr))
        if key not in self._cache:
            self._cache[key] = self.encoder.embed_utterance(arr, sr)
        return self._cache[key]


def score_strategy(cloner: VoiceCloner, data: dict, strategy: str, steps: int | None = None,
                   texts: Sequence[str] | None = None, encoder=None, eval_every: int | None = None,
                   **options) -> dict:
    """Fine-tune on each speaker of ``data`` (from :func:`heldout_data`) and compute the cloning score.

    Clones speak ``texts`` (default: two held-out prompts, never in the fine-tuning data), and are
    scored with :func:`cloning_score` against the speaker's fine-tuning recordings
    (references) and other recordings (own).  With ``eval_every``, the score is also computed
    every that many steps (``curve``: list of ``(step, score)``), which shows overfitting; ``seen``
    is the score on two texts of the fine-tuning data (a large gap to ``score`` = memorising).
    Returns ``{"score", "seen", "seconds" (mean fine-tuning time per speaker), "gv_scale" (mean
    post-filter scale), "curve", "details"}``.
    """
    from course_utils import speaker as speaker_mod, voices

    texts = list(texts) if texts is not None else voices.prompts("heldout")[:2]
    encoder = encoder or speaker_mod.SpeakerEncoder.pretrained()
    if not isinstance(encoder, CachedEncoder):
        encoder = CachedEncoder(encoder)
    references = {s: [(w, r) for w, r, _ in d["train"]] for s, d in data.items()}
    own = {s: [(w, r) for w, r, _ in d["own"]] for s, d in data.items()}
    clones, seen, seconds, scales, snapshots = {}, {}, [], [], {}
    for spk, d in data.items():
        pairs = [(w, t) for w, _, t in d["train"]]
        sr = d["train"][0][1]
        snaps: dict[int, list] = {}

        def snapshot(step, tuned, snaps=snaps):
            if eval_every and (step + 1) % eval_every == 0:
                snaps[step + 1] = [tuned.synthesize(t, tuned.finetuned_speaker, watermark=False) for t in texts]

        tuned = finetune(cloner, pairs, sr, steps=steps, strategy=strategy,
                         callback=snapshot if eval_every else None, **options)
        seconds.append(tuned.finetune_result.seconds + tuned.finetune_result.align_seconds)
        scales.append(tuned.gv_scale)
        clones[spk] = [tuned.synthesize(t, tuned.finetuned_speaker, watermark=False) for t in texts]
        seen[spk] = [tuned.synthesize(t, tuned.finetuned_speaker, watermark=False) for _, t in pairs[:2]]
        snapshots[spk] = snaps
    result = cloning_score(clones, references, own, encoder=encoder)
    curve = []
    if eval_every:
        steps_seen = sorted(set.intersection(*(set(s) for s in snapshots.values()))) if snapshots else []
        for k in steps_seen:
            curve.append((k, cloning_score({s: snapshots[s][k] for s in data}, references, own,
                                                   encoder=encoder).score))
    seen_score = cloning_score(seen, references, own, encoder=encoder).score
    return {"score": result.score, "seen": seen_score, "seconds": float(np.mean(seconds)),
            "gv_scale": float(np.mean(scales)), "curve": curve, "details": result}


def parameters_equal(a: nn.Module, b: nn.Module) -> bool:
    """True when two models have bit-identical parameters and buffers (same names)."""
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def state_fingerprint(model: nn.Module) -> str:
    """A SHA-256 of every parameter and buffer's bytes (to show that a model did not change)."""
    import hashlib

    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


# ----------------------------------------------------------------------------------------------
# throughput
# ----------------------------------------------------------------------------------------------

def _throughput_config():
    path = ClonerConfig.for_profile("quick").checkpoint_path()
    if path.exists():
        return ClonerConfig.from_dict(torch.load(path, map_location="cpu", weights_only=True)["config"])
    symbols = [PAD, UNK, "_"] + [f"s{i}" for i in range(190)]
    return ClonerConfig.for_profile("quick", symbols=symbols, speaker_dim=256)


def _batch(config, n: int = 8, seconds: float = 3.0, phonemes: int = 36, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    frames = int(seconds * config.sr / config.hop_length) + 1
    ids = torch.randint(3, len(config.symbols), (n, phonemes), generator=g)
    base = frames // phonemes
    durations = torch.full((n, phonemes), base)
    durations[:, -1] += frames - base * phonemes
    return {"ids": ids, "lengths": torch.full((n,), phonemes), "durations": durations,
            "mel": torch.randn(n, frames, config.n_mels, generator=g),
            "speaker": torch.nn.functional.normalize(torch.randn(n, config.speaker_dim, generator=g), dim=1)}


def throughput_rows(devices=None, repeats: int = 5) -> list[dict]:
    """Utterances per second of full fine-tuning steps of the quick model (3-s utterances), per device and
    precision (fp32, bf16, and fp16 + GradScaler on CUDA), plus pinned/pageable copy bandwidth on CUDA (notebook 09)."""
    from course_utils import gpu

    config = _throughput_config()
    devices = devices or (["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    rows = []
    for device in devices:
        precisions = ["fp32", "bf16"] + (["fp16"] if device == "cuda" else [])
        for precision in precisions:
            torch.manual_seed(0)
            model = AcousticModel(config).to(device).train()
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
            scaler = gpu.make_scaler(device, precision)
            host = _batch(config, n=32 if device == "cuda" else 8)
            if device == "cuda":
                host = {k: v.pin_memory() for k, v in host.items()}

            def step():
                batch = gpu.to_device(host, device)
                with gpu.autocast(device, precision):
                    loss, _ = model.loss(batch)
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                return len(host["ids"])

            r = gpu.throughput(step, device, warmup=2, repeats=repeats)
            name = torch.cuda.get_device_name(0) if device == "cuda" else f"cpu, {torch.get_num_threads()} threads"
            rows.append({"name": f"fine-tuning throughput, {device} {precision}", "value": round(r["items_per_s"], 2),
                         "unit": "utt/s", "note": f"full fine-tuning steps of the quick model, batch "
                                                  f"{len(host['ids'])} x 3 s; {name}"})
    if torch.cuda.is_available():
        bw = gpu.copy_bandwidth(64)
        for k, v in bw.items():
            rows.append({"name": f"host-to-GPU copy, {k}", "value": round(v, 2), "unit": "GB/s",
                         "note": "64 MB tensor, best of 5"})
    return rows
