"""Aligning a recording with its transcript: frames per phoneme by DTW against the model's own speech
(notebook 09).

It sits below the cloner, so that both of its users take it from below: the real-speech stage
(:mod:`cloning.real`, training on recordings without phoneme spans) and fine-tuning
(:mod:`course_utils.finetune`, which re-exports every name here). A cloner is anything with the
few members :class:`Aligner` names; :class:`cloning.VoiceCloner` is the one the course passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np
import torch

from course_utils import audio
from course_utils.cloning.config import ClonerConfig
from course_utils.cloning.model import AcousticModel
from course_utils.cloning.data import Speaker, speaker_input, symbol_ids


class Aligner(Protocol):
    """What :func:`align` asks of a cloner: its model and configuration, its phonemiser, its enrolment,
    and (for :func:`cloning.real.real_examples`) its speaker encoder; a :class:`cloning.VoiceCloner`
    has them (used by cloning.alignment, cloning.real)."""

    model: AcousticModel
    config: ClonerConfig
    speaker_encoder: object

    def phonemes(self, text: str) -> list[str]: ...

    def enroll(self, wavs, sr: int) -> Speaker: ...


class FinetuneError(ValueError):
    """Bad input to :func:`finetune` or :func:`align`; the message says what to do (used by cloning.alignment)."""

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
    """The naive alignment: scale the durations uniformly to ``n_target`` frames (baseline, notebook 09)
    (notebook 09)."""
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
    """Result of :func:`align`: symbols, their frame ``durations`` in the recording, the DTW path
    (used by cloning.alignment)."""

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


#: Phonemes per second of sound (from the first to the last loud frame) that a transcript and its
#: recording may have: measured 8.8-16.3 on 614 espeak-ng utterances and 8.0-12.4 on the 32 LJ
#: Speech recordings; outside these bounds (about half the lowest, 1.5 x the highest) the
#: transcript cannot be the recording's.
PHONEME_RATE = (4.0, 25.0)


def check_speaking_rate(symbols: Sequence[str], wav: np.ndarray, sr: int, name: str = "recording") -> float:
    """Phonemes per second of sound; :class:`FinetuneError` naming ``name`` when outside :data:`PHONEME_RATE`
    (used by cloning.alignment).

    Catches a transcript far too short or too long for its recording ("Banana." for a sentence,
    a paragraph for a word); a wrong sentence of about the right length passes.
    """
    start, end = audio.speech_bounds(wav, sr, "energy")
    seconds = max(end - start, 1) / sr
    n = sum(1 for s in symbols if s != "_")
    rate = n / seconds
    low, high = PHONEME_RATE
    if not low <= rate <= high:
        raise FinetuneError(f"{name}: the transcript has {n} phonemes for {seconds:.1f} s of sound "
                            f"({rate:.1f} per second; speech has {low:g} to {high:g}): it does not match the "
                            "recording. Give the words spoken in it, or None to have them recognised")
    return rate


@torch.no_grad()
def align(cloner: Aligner, wav: np.ndarray, sr: int, transcript: str | None = None,
          speaker=None, symbols: Sequence[str] | None = None, name: str = "recording") -> Alignment:
    """Frames per phoneme of a recording, from its transcript alone (notebook 09).

    Synthesise the transcript with the model's predicted durations (in ``speaker``'s voice, by
    default enrolled from ``wav``), then DTW its standardised log-mel against the recording's
    and map the phoneme boundaries through the path (:func:`warp_durations`).  ``symbols`` can
    replace ``transcript`` (a phoneme sequence, e.g. from a corpus).  A transcript far too short
    or too long for the recording raises :class:`FinetuneError` naming ``name``
    (:func:`check_speaking_rate`).
    """
    model = cloner.model
    config = cloner.config
    if symbols is None:
        if not transcript or not isinstance(transcript, str):
            raise FinetuneError("give the transcript of the recording (a non-empty str)")
        symbols = cloner.phonemes(transcript)
    symbols = list(symbols)
    check_speaking_rate(symbols, audio.check_wav(wav, sr, name=name, allow_silent=False), sr, name)
    wav16 = audio.resample(wav, sr, config.sr)
    mel = audio.log_mel(wav16, config.features()).T                          # (F, n_mels)
    if speaker is None:
        speaker = cloner.enroll([wav], sr)
    ids = torch.tensor([symbol_ids(symbols, config.symbols)])
    emb = speaker_input(speaker, config.speaker_dim)
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
    """DTW of ``source`` frames (F1, D) with known phoneme ``durations`` onto ``target`` frames (F2, D)
    (used by cloning.alignment).

    Euclidean frame distances, :func:`course_utils.metrics.dtw_path`, then :func:`warp_durations`.
    Returns ``(target durations, path)``.
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


def corpus_alignment_errors(cloner: Aligner, corpus, indices: Sequence[int]) -> dict:
    """Boundary errors (ms) of :func:`align` and of the uniform stretch on corpus items with true spans
    (notebook 09)."""
    config = cloner.config
    dtw, naive = [], []
    for i in indices:
        item = corpus.items[i]
        wav, sr = corpus.load(i)
        n16 = len(audio.resample(wav, sr, config.sr))
        scale = config.sr / sr
        spans = [(s, int(round(a * scale)), int(round(b * scale))) for s, a, b in item.phonemes]
        true = audio.durations_in_frames(spans, n16, config.features())
        result = align(cloner, wav, sr, symbols=[s for s, _, _ in item.phonemes])
        dtw.append(boundary_error_ms(result.durations, true, config.hop_length, config.sr))
        naive.append(boundary_error_ms(stretch_durations(result.predicted, len(result.mel)), true,
                                       config.hop_length, config.sr))
    return {"dtw_ms": float(np.mean(dtw)), "stretch_ms": float(np.mean(naive)), "per_item_dtw": dtw,
            "per_item_stretch": naive, "frame_ms": config.hop_length / config.sr * 1000.0}


