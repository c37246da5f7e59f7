"""Does a clone say its words: word and character error rates from an independent recogniser (notebook 10).

A speaker encoder hears timbre, not words: a mumble in the right voice scores high on likeness.
So every clone is also played to Whisper tiny.en (:func:`course_utils.transcribe.recognise`),
which is no part of any cloner, and its transcript is compared with the sentence the clone was
asked to say. The recogniser is a proxy for a listener, and an imperfect one: it has a language
model, so it guesses plausible words from half-heard sounds, and it makes its own mistakes, which
is why the course always reports its score on real recordings and on copy-synthesis beside the
clones' (the floor no clone can beat).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from course_utils import transcribe


@dataclass
class Intelligibility:
    """What :func:`intelligibility` measured: ``wer`` and ``cer`` over all clips (errors / reference
    words or characters, pooled), and each clip's ``text``, ``heard``, ``wer``, ``cer`` in ``clips``
    (used by metrics.intelligibility.intelligibility)."""

    wer: float
    cer: float
    n_words: int
    clips: list = field(default_factory=list, repr=False)

    def __repr__(self) -> str:
        return f"Intelligibility(wer={self.wer:.3f}, cer={self.cer:.3f}, {len(self.clips)} clips, {self.n_words} words)"


def intelligibility(clips: Sequence[tuple[str, np.ndarray, int]], progress: bool = False) -> Intelligibility:
    """Recognise each ``(text, wav, sr)`` clip with Whisper tiny.en and score it against ``text`` (notebook 10).

    The pooled rates weight each clip by its length (total edits over total reference words or
    characters), as speech-recognition benchmarks do.
    """
    from tqdm.auto import tqdm

    clips = list(clips)
    if not clips:
        raise ValueError("no clips to score: give (text, wav, sr) triples")
    rows, word_edits, words, char_edits, chars = [], 0.0, 0, 0.0, 0
    for i, (text, wav, sr) in enumerate(tqdm(clips, desc="recognising", disable=not progress, leave=False)):
        heard = transcribe.recognise(wav, sr, name=f"clip {i + 1} of {len(clips)}").text
        n_w, n_c = len(transcribe.spoken_words(text)), len(" ".join(transcribe.spoken_words(text)))
        w, c = transcribe.word_error_rate(text, heard), transcribe.char_error_rate(text, heard)
        rows.append({"text": text, "heard": heard, "wer": w, "cer": c})
        word_edits, words, char_edits, chars = word_edits + w * n_w, words + n_w, char_edits + c * n_c, chars + n_c
    return Intelligibility(word_edits / words, char_edits / chars, words, rows)
