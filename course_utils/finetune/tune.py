"""Fine-tuning a cloner on a few recordings: the strategies, the loop, the post-filter scale (notebook 09)."""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import torch
from torch import nn

from course_utils import audio, transcribe
from course_utils.cloning.model import AcousticModel
from course_utils.cloning.data import Example, Speaker, collate, symbol_ids
from course_utils.cloning.alignment import FinetuneError, align
from course_utils.finetune.adapters import add_adapters, count_parameters

if TYPE_CHECKING:  # for type hints only: the cloner sits above this package (cloning.cloner)
    from course_utils.cloning.cloner import VoiceCloner


STRATEGIES = ("zero-shot", "embedding", "adapter", "full")
#: Default optimiser steps per profile (a few seconds on 2 CPU cores for 5 utterances in quick).
DEFAULT_STEPS = {"quick": 60, "full": 300}
#: Most optimiser steps one fine-tuning may take (10x the full profile's; more only over-fits 5 recordings).
MAX_STEPS = 3000
#: Learning rates per strategy (AdamW).
LEARNING_RATES = {"embedding": 3e-2, "adapter": 1e-2, "full": 5e-4}
#: Sentences the cloner speaks to measure its own variance in :func:`gv_scale`.
GV_SENTENCES = 4

# ----------------------------------------------------------------------------------------------
# fine-tuning
# ----------------------------------------------------------------------------------------------

@dataclass
class FinetuneResult:
    """What :func:`finetune` did: strategy, steps, trainable parameters, time, losses, post-filter scale
    (used by finetune.finetune)."""

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


def prepare(cloner: VoiceCloner, pairs, sr: int, check: Sequence[bool] = (),
            recognised: Sequence[bool] = ()) -> tuple[list, Speaker, float]:
    """Enrol the speaker of ``pairs`` of ``(wav, transcript)`` and align each pair into an Example;
    each pair whose ``check`` is true is also compared with what the recogniser hears
    (:func:`transcribe.check_transcript`). A pair whose ``recognised`` is true (its words came from
    the recogniser) and whose words cannot be the recording's (:func:`check_speaking_rate`), or in
    which the recogniser heard none (transcript still ``None``), is left out of training, with a line
    saying so; a given transcript is refused. :func:`finetune` calls it after
    :func:`transcribe_missing` (used by finetune.finetune)."""
    pairs = _check_pairs(pairs)
    if any(text is None and not (i < len(recognised) and recognised[i]) for i, (_, text) in enumerate(pairs)):
        raise FinetuneError("prepare needs every transcript: fill the missing ones with transcribe_missing")
    start = time.perf_counter()
    voice = cloner.enroll([w for w, _ in pairs], sr)
    examples, left_out = [], []
    for i, (wav, text) in enumerate(pairs, 1):
        name = f"recording {i} of {len(pairs)}"
        if text is None:                   # the recogniser heard no words: transcribe_missing said so
            left_out.append(f"{name}: no words heard")
            continue
        try:
            result = align(cloner, wav, sr, text, speaker=voice, name=name)   # refuses a far too short/long text
        except FinetuneError as exc:
            if not (i <= len(recognised) and recognised[i - 1]):
                raise
            left_out.append(str(exc).split(": it does not match")[0])
            print(f"{left_out[-1]}: the recogniser misheard it, so it is left out of training (still enrolled)")
            continue
        if i <= len(check) and check[i - 1]:
            transcribe.check_transcript(text, wav, sr, name=name)          # refuses another recording's text
        examples.append(Example("target", torch.tensor(symbol_ids(result.symbols, cloner.config.symbols)),
                                torch.from_numpy(result.durations),
                                torch.from_numpy(np.ascontiguousarray(result.mel, dtype=np.float32))))
    if not examples:
        raise FinetuneError(f"no recording left to train on ({'; '.join(left_out)}): the recogniser misheard "
                            "every one. Give their transcripts, or record clearer ones (a quiet room, 3-10 s each)")
    return examples, voice, time.perf_counter() - start


def transcribe_missing(pairs: list, sr: int) -> list[tuple[np.ndarray, str]]:
    """``pairs`` with every ``None`` transcript recognised by :func:`transcribe.transcribe` (Whisper),
    and a line saying what it heard for each; a recording it cannot transcribe (too short, no words
    heard) keeps ``None``, and its line says it is left out of training (used by finetune.finetune)."""
    out = []
    for i, (wav, text) in enumerate(pairs, 1):
        if text is None:
            try:
                heard = transcribe.transcribe(wav, sr, name=f"recording {i} of {len(pairs)}")
            except transcribe.TranscriptionError as exc:
                print(f"{exc}; it is left out of training (still enrolled)")
            else:
                print(f"recording {i} of {len(pairs)}: no transcript given; recognised (Whisper tiny.en) as "
                      f"{heard.text!r}")
                text = heard.text
        out.append((wav, text))
    return out


def _check_pairs(pairs) -> list:
    """``[(wav, transcript or None), ...]`` from pairs, a single pair, bare waveforms or one waveform."""
    if isinstance(pairs, (np.ndarray, torch.Tensor)) and np.ndim(pairs) == 1:
        pairs = [pairs]
    if isinstance(pairs, tuple) and len(pairs) == 2 and (pairs[1] is None or isinstance(pairs[1], str)):
        pairs = [pairs]
    pairs = [(p, None) if isinstance(p, (np.ndarray, torch.Tensor)) else p for p in pairs]
    if not pairs:
        raise FinetuneError("no recordings given: pass at least one (wav, transcript) pair (transcript None: "
                            "the recording is transcribed for you)")
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and (pair[1] is None or isinstance(pair[1], str))):
            raise FinetuneError(f"pair {i + 1} must be (wav, transcript) with a str transcript or None, "
                                f"got {type(pair).__name__}")
        if isinstance(pair[1], str) and not pair[1].strip():
            raise FinetuneError(f"pair {i + 1}: the transcript is empty; give the words, or None to have them "
                                "recognised")
    return [tuple(p) for p in pairs]


def finetune(cloner: VoiceCloner, pairs, sr: int, steps: int | None = None, strategy: str = "full",
             lr: float | None = None, batch_size: int = 8, accumulate: int = 1, device: str = "cpu",
             precision: str = "fp32", bottleneck: int = 64, seed: int = 0, postfilter: bool = True,
             progress: bool = False, check_transcripts: bool | None = None,
             callback: Callable[[int, "VoiceCloner"], None] | None = None) -> VoiceCloner:
    """Adapt ``cloner`` to the voice of ``pairs`` = ``[(wav, transcript), ...]``; return a new cloner
    (notebook 09).

    A transcript may be ``None`` (or a pair a bare waveform): the recording is then transcribed
    offline (:func:`transcribe_missing`), and a line says what was heard. With
    ``check_transcripts`` a given transcript is also compared with what the recogniser hears, and
    refused when it cannot be the recording's (:func:`transcribe.check_transcript`). The default,
    ``None``, checks when ``cloner`` learned from real people (``config.real_steps``): the
    recogniser understands human speech far better than espeak-ng's (it misses about half the
    words espeak-ng reads in the course's held-out voices, 0.49-0.57, so a true transcript could
    fall past :data:`transcribe.MISMATCH_WER`), so it cannot judge those.

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
    if not 0 <= steps <= MAX_STEPS:
        raise FinetuneError(f"steps must be from 0 to {MAX_STEPS} (the full profile uses {DEFAULT_STEPS['full']}), "
                            f"got {steps}")
    if accumulate < 1 or batch_size < 1:
        raise FinetuneError(f"batch_size and accumulate must be >= 1, got {batch_size}, {accumulate}")
    device = env.pick_device(device)
    pairs = _check_pairs(pairs)
    if strategy == "zero-shot" or steps == 0:
        examples, align_seconds = [], 0.0                 # nothing to train: enrol only
        voice = cloner.enroll([w for w, _ in pairs], sr)
    else:
        if check_transcripts is None:
            check_transcripts = cloner.config.real_steps > 0
        given = [check_transcripts and text is not None for _, text in pairs]
        recognised = [text is None for _, text in pairs]
        pairs = transcribe_missing(pairs, sr)
        examples, voice, align_seconds = prepare(cloner, pairs, sr, check=given, recognised=recognised)

    model = copy.deepcopy(cloner.model)          # the original's weights are never touched
    embedding = torch.from_numpy(np.array(voice.embedding, dtype=np.float32))
    with torch.random.fork_rng(devices=[]):      # the caller's random state is left as it was
        torch.manual_seed(seed)
        trainable, emb_param = _trainable(model, strategy, embedding, bottleneck)
        model.to(device)
        if emb_param is not None:
            emb_param.data = emb_param.data.to(device)
        tuned = type(cloner)(model.eval(), cloner.speaker_encoder, history=dict(cloner.history),
                                    vocoder_iters=getattr(cloner.vocoder, "n_iter", None))
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
                                  exclude=[t for _, t in pairs if t])
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
    """The :func:`gv_postfilter` scale for ``voice``, measured from its recordings (used by finetune.finetune).

    Real speech's per-channel standard deviation over time (the "global variance"), averaged over
    ``wavs``, divided by that of ``cloner``'s log-mels for :data:`GV_SENTENCES` training prompts
    that are not in ``exclude`` (the fine-tuning transcripts: a model varies more on what it has
    learnt by heart), averaged over channels.  No text to be evaluated is ever used.
    """
    from course_utils import voices

    features = cloner.config.features()
    real = np.mean([audio.log_mel(audio.resample(w, sr, cloner.sr), features).std(axis=1)
                    for w in wavs], axis=0)
    exclude = set(exclude)
    texts = [t for t in voices.prompts("train") if t not in exclude][-GV_SENTENCES:]
    predicted = np.mean([cloner.mel(t, voice).std(axis=1) for t in texts], axis=0)
    return float(np.mean(real / np.maximum(predicted, 1e-6)))


def _speaker_from(emb_param, voice) -> Speaker:
    if emb_param is None:
        return voice
    emb = emb_param.detach().cpu().numpy().astype(np.float32)
    return dataclasses.replace(voice, embedding=emb)


