"""The cloner's second stage: learning from real people (notebook 09).

The first stage (notebook 08) trains on espeak-ng voices, whose phoneme spans are exact. A
recording of a person comes with neither spans nor, for the bundled LibriSpeech readers, a
transcript. The course makes both itself, offline: pocketsphinx recognised the words
(``voices.librispeech_readers``, made by ``python -m course_utils.transcribe TABLE pocketsphinx``), and the
first-stage cloner aligns them (:func:`cloning.alignment.align`: its own synthesis of the words, then DTW
against the recording). Training then continues on both corpora, so the synthesiser hears real
voices, and real speaker embeddings, next to the synthetic ones.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from course_utils import audio
from course_utils.cloning.alignment import Aligner, FinetuneError, align
from course_utils.cloning.data import Example, Speaker, mean_embedding, symbol_ids

#: Parts each real recording is cut into at its pauses: the references its embedding is the mean of.
PARTS_PER_RECORDING = 6


def _speech_parts(wav: np.ndarray, sr: int) -> list[np.ndarray]:
    """The parts of ``wav`` (cut at pauses) that hold enough speech to embed."""
    from course_utils import speaker

    kept = []
    for part in audio.split_at_pauses(wav, sr, PARTS_PER_RECORDING):
        try:
            with warnings.catch_warnings():              # narrow-band LibriVox recordings warn; fine here
                warnings.simplefilter("ignore", UserWarning)
                audio.check_speech(part, sr, name="part")
            speaker.preprocess(part, sr)
        except audio.AudioError:
            continue
        kept.append(part)
    return kept


def real_examples(cloner: Aligner, corpus, progress: bool = True) -> tuple[list[Example], dict, dict]:
    """Training examples from real recordings with (recognised) words but no phoneme spans.

    For each item of ``corpus``: the speaker-encoder embeddings of its parts (cut at pauses,
    :func:`audio.split_at_pauses`), and the recording aligned with its words by ``cloner``
    (:func:`cloning.alignment.align`, in the voice of those embeddings). Returns ``(examples,
    {speaker: (n, D) embeddings}, {file: why it was skipped})``: a recording with too little
    speech, or whose words cannot be its own (:data:`cloning.alignment.PHONEME_RATE`), is skipped, not
    trained on (used by cloning.cloner.train).
    """
    from tqdm.auto import tqdm

    config = cloner.config
    examples, embeddings, skipped = [], {}, {}
    for i in tqdm(range(len(corpus.items)), desc="aligning real speech", disable=not progress, leave=False):
        item = corpus.items[i]
        wav, sr = corpus.load(i)
        parts = _speech_parts(wav, sr)
        if len(parts) < 2:
            skipped[item.wav] = f"{len(parts)} part(s) with enough speech to embed"
            continue
        own = cloner.speaker_encoder.embed_utterances(parts, sr)
        try:
            result = align(cloner, wav, sr, item.text, speaker=Speaker(mean_embedding(own), len(parts)),
                           name=item.wav)
        except (FinetuneError, audio.AudioError) as exc:
            skipped[item.wav] = str(exc)
            continue
        embeddings[item.speaker] = own
        examples.append(Example(item.speaker, torch.tensor(symbol_ids(result.symbols, config.symbols)),
                                torch.from_numpy(result.durations),
                                torch.from_numpy(np.ascontiguousarray(result.mel, dtype=np.float32))))
    return examples, embeddings, skipped
