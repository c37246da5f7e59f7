"""Training data of the cloner (notebook 08): symbol ids, examples, batches, speaker embeddings,
and the enrolled voice (:class:`Speaker`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from course_utils import audio
from course_utils.text_encoder import pad_batch
from course_utils.cloning.config import ClonerConfig, CloningError, PAD, SPEAKER_ENCODERS, UNK
from course_utils.cloning.model import AcousticModel


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------

def symbol_ids(symbols: Sequence[str], vocabulary: Sequence[str]) -> list[int]:
    """Ids of phoneme symbols; an unknown one falls back to its unstressed form, then to ``<unk>``.

    (used by cloning.data.prepare_examples, cloning.cloner.VoiceCloner)
    """
    index = {s: i for i, s in enumerate(vocabulary)}
    out = []
    for s in symbols:
        if s in index:
            out.append(index[s])
        elif s.strip("ˈˌ") in index:
            out.append(index[s.strip("ˈˌ")])
        else:
            out.append(index.get(UNK, 1))
    return out


def build_vocabulary(items) -> list[str]:
    """``<pad>``, ``<unk>``, then every symbol of the corpus items (and unstressed forms), sorted.

    (notebook 08)
    """
    seen = set()
    for item in items:
        for span in item.phonemes:
            seen.add(span[0])
            seen.add(span[0].strip("ˈˌ") or span[0])
    return [PAD, UNK] + sorted(seen)


@dataclass
class Example:
    """One training utterance: symbol ids, durations (frames), standardisable log-mel (F, n_mels).

    (used by cloning.data.prepare_examples)
    """

    speaker: str
    ids: torch.Tensor
    durations: torch.Tensor
    mel: torch.Tensor


def prepare_examples(corpus, config: ClonerConfig, progress: bool = True) -> list[Example]:
    """Resample the corpus to ``config.sr``, log-mel it, turn its phoneme spans into frame durations.

    (notebook 08)
    """
    from tqdm.auto import tqdm

    feats = config.features()
    out = []
    for i in tqdm(range(len(corpus.items)), desc="features", disable=not progress, leave=False):
        item = corpus.items[i]
        wav, sr = corpus.load(i)
        wav16 = audio.resample(wav, sr, config.sr)
        scale = config.sr / sr
        spans = [(s, int(round(a * scale)), int(round(b * scale))) for s, a, b in item.phonemes]
        mel = audio.log_mel(wav16, feats).T                      # (F, n_mels)
        durations = audio.durations_in_frames(spans, len(wav16), feats)
        assert durations.sum() == len(mel), (durations.sum(), len(mel))
        out.append(Example(item.speaker, torch.tensor(symbol_ids([s[0] for s in spans], config.symbols)),
                           torch.from_numpy(durations), torch.from_numpy(np.ascontiguousarray(mel))))
    return out


def collate(examples: Sequence[Example], speakers: torch.Tensor, model: AcousticModel | None = None) -> dict:
    """Pad a list of examples into a batch (ids, lengths, durations, mel, speaker) (notebook 08)."""
    ids, lengths = pad_batch([e.ids.tolist() for e in examples])
    durations = torch.zeros_like(ids)
    n_frames = max(len(e.mel) for e in examples)
    mel = torch.zeros(len(examples), n_frames, examples[0].mel.shape[1])
    for row, e in enumerate(examples):
        durations[row, : len(e.durations)] = e.durations
        m = e.mel if model is None else model.normalise(e.mel)
        mel[row, : len(m)] = m
    return {"ids": ids, "lengths": lengths, "durations": durations, "mel": mel, "speaker": speakers}


# ----------------------------------------------------------------------------------------------
# speaker encoders
# ----------------------------------------------------------------------------------------------

def load_speaker_encoder(kind: str = "pretrained", profile: str = "quick", progress: bool = True):
    """The speaker encoder the synthesiser is conditioned on (used by cloning.cloner.train).

    ``"pretrained"``: Resemblyzer's GE2E weights; ``"course"``: the encoder of notebook 07
    (loaded from the cache, trained if missing).
    """
    from course_utils import speaker

    if kind == "pretrained":
        return speaker.SpeakerEncoder.pretrained()
    if kind == "course":
        return speaker.course_encoder(profile=profile, progress=progress)
    raise ValueError(f"speaker encoder must be one of {SPEAKER_ENCODERS}, not {kind!r}")


def utterance_embeddings(corpus, encoder, n_per_speaker: int, progress: bool = True) -> dict[str, np.ndarray]:
    """``{speaker: (n, D) embeddings}`` of the first ``n_per_speaker`` utterances of each speaker.

    (used by cloning.cloner.train)
    """
    from tqdm.auto import tqdm

    groups = corpus.by_speaker()
    out = {}
    for spk in tqdm(groups, desc="speaker embeddings", disable=not progress, leave=False):
        wavs = [corpus.load(i) for i in groups[spk][:n_per_speaker]]
        out[spk] = encoder.embed_utterances([w for w, _ in wavs], wavs[0][1])
    return out


def mean_embedding(embeddings: np.ndarray) -> np.ndarray:
    """Unit-norm mean of utterance embeddings: a speaker's embedding (notebook 10)."""
    mean = np.asarray(embeddings, dtype=np.float64).mean(0)
    return (mean / max(np.linalg.norm(mean), 1e-12)).astype(np.float32)


def speaker_input(speaker: "Speaker | np.ndarray", dim: int) -> torch.Tensor:
    """The model's speaker input, ``(1, dim)``, from a :class:`Speaker` or a raw embedding; a
    :class:`CloningError` that says what to give for another shape
    (used by cloning.cloner, cloning.alignment)."""
    emb = speaker.embedding if isinstance(speaker, Speaker) else np.asarray(speaker, dtype=np.float32)
    if emb.shape != (dim,):
        raise CloningError(f"speaker must be a Speaker from enroll (or a {dim}-d embedding), got shape {emb.shape}")
    return torch.from_numpy(np.ascontiguousarray(emb, dtype=np.float32))[None]


@dataclass
class Speaker:
    """An enrolled voice: its unit-norm ``embedding``, where it came from, and its references' spectrum.

    ``mel_mean``, ``mel_std``: each mel channel's mean and spread over the speech frames of the
    references (:func:`cloning.speech_statistics`), which a cloner with ``match_spectrum`` gives
    its output (:func:`cloning.match_statistics`); ``frames``: the references' log-mel frames
    ``(n_mels, N)``, and ``spectra``: their log STFT magnitudes ``(n_fft // 2 + 1, N)``, frame for
    frame, for a cloner with ``config.nearest_k`` (:func:`cloning.nearest_frames`). What
    notebook 08's ``cloner.enroll`` returns (used by cloning.cloner.VoiceCloner.enroll).
    """

    embedding: np.ndarray
    n_references: int = 1
    seconds: float = 0.0
    mel_mean: np.ndarray | None = field(default=None, repr=False)
    mel_std: np.ndarray | None = field(default=None, repr=False)
    frames: np.ndarray | None = field(default=None, repr=False)
    spectra: np.ndarray | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (f"Speaker({self.embedding.shape[0]}-d embedding from {self.n_references} "
                f"reference(s), {self.seconds:.1f} s of audio)")
