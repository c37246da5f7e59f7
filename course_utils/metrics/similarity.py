"""Speaker similarity (SECS): cosine of two embeddings, from waveforms or embeddings (notebook 10)."""

from __future__ import annotations

import os as _os
from functools import lru_cache as _lru_cache

import numpy as np


#: Name of the default encoder of :func:`secs`: Resemblyzer's GE2E weights (``pretrained.pt``
#: shipped in the ``resemblyzer`` wheel), loaded by ``speaker.SpeakerEncoder.pretrained()``.
PRETRAINED_ENCODER = "pretrained GE2E (resemblyzer wheel)"


class Similarity(float):
    """A cosine similarity that remembers which encoder measured it (used by metrics.secs).

    Behaves as a ``float``; ``.encoder`` names the encoder, and the repr shows it, so a
    printed score never hides which model produced it.
    """

    encoder: str

    def __new__(cls, value: float, encoder: str):
        obj = super().__new__(cls, value)
        obj.encoder = encoder
        return obj

    def __repr__(self) -> str:
        return f"Similarity({float(self):.4f}, encoder={self.encoder!r})"

    def __reduce__(self):
        return (Similarity, (float(self), self.encoder))


@_lru_cache(maxsize=1)
def _pretrained_encoder():
    from course_utils import speaker

    return speaker.SpeakerEncoder.pretrained()


def encoder_name(encoder) -> str:
    """Human-readable name of a speaker encoder, for tables and plot legends (used by metrics.secs)."""
    if encoder is None or (isinstance(encoder, str) and encoder == "pretrained"):
        return PRETRAINED_ENCODER
    name = getattr(encoder, "name", None)
    if isinstance(name, str) and name:
        return name
    config = getattr(encoder, "config", None)
    if config is not None:
        try:
            from course_utils import speaker

            if config == speaker.SpeakerEncoderConfig.pretrained():
                return PRETRAINED_ENCODER
        except Exception:  # speaker module changing under us: fall back to a generic name
            pass
        arch = getattr(config, "arch", None)
        if arch:
            return f"course {arch} encoder"
    return type(encoder).__name__


def _resolve_encoder(encoder):
    if encoder is None or (isinstance(encoder, str) and encoder == "pretrained"):
        return _pretrained_encoder()
    if isinstance(encoder, str):
        raise ValueError(f"unknown encoder {encoder!r}: pass 'pretrained', None (the same) or an object "
                         "with embed_utterance(wav, sr), e.g. speaker.course_encoder('quick')")
    if not callable(getattr(encoder, "embed_utterance", None)):
        raise ValueError(f"encoder must have an embed_utterance(wav, sr) method, got {type(encoder).__name__}")
    return encoder


def _is_wav_pair(x) -> bool:
    return (isinstance(x, tuple) and len(x) == 2 and not isinstance(x[1], bool)
            and isinstance(x[1], (int, np.integer, float)) and np.ndim(x[0]) == 1)


def _embedding(x, encoder, what: str) -> np.ndarray:
    """``x`` as a unit-norm embedding: a path or (wav, sr) pair is embedded, a vector is checked."""
    if isinstance(x, (str, _os.PathLike)):
        from course_utils import audio

        x = audio.load(x)
    if _is_wav_pair(x):
        from course_utils import audio

        wav = audio.check_wav(x[0], x[1], name=f"{what} (wav)")
        return np.asarray(_resolve_encoder(encoder).embed_utterance(wav, int(x[1])), dtype=np.float64)
    if isinstance(x, tuple):
        raise ValueError(f"{what}: a tuple must be (wav, sr) with a 1-D wav and a sample rate in Hz")
    vec = np.asarray(x, dtype=np.float64)
    if vec.ndim != 1 or vec.size == 0:
        raise ValueError(f"{what}: expected a 1-D embedding, a (wav, sr) pair or a path, got shape {vec.shape}")
    if vec.size > 4096:
        raise ValueError(f"{what}: a 1-D array of {vec.size} values looks like a waveform, not an "
                         "embedding: pass it as (wav, sr)")
    if not np.all(np.isfinite(vec)):
        raise ValueError(f"{what}: the embedding contains NaN or infinite values")
    norm = np.linalg.norm(vec)
    if norm == 0:
        raise ValueError(f"{what}: the embedding is all zeros")
    return vec / norm


def secs(a, b, encoder=None) -> Similarity:
    """Speaker-encoder cosine similarity (SECS) of two voices, in [-1, 1] (notebook 10).

    ``a`` and ``b`` are each a ``(wav, sr)`` pair, an audio file path, or an embedding
    (a 1-D vector; it is L2-normalised here). Audio is embedded with ``encoder``: by default
    (``None`` or ``"pretrained"``) Resemblyzer's GE2E weights from the ``resemblyzer`` wheel
    (``speaker.SpeakerEncoder.pretrained()``, 256-d, loaded once); pass e.g.
    ``speaker.course_encoder("quick")`` to use the course's own encoder. The result is a
    :class:`Similarity` (a ``float``) whose ``.encoder`` says which encoder measured it.
    Scoring a clone with the encoder that conditioned the synthesiser flatters it: report a
    second, independent encoder too.
    """
    ea, eb = _embedding(a, encoder, "a"), _embedding(b, encoder, "b")
    if ea.shape != eb.shape:
        raise ValueError(f"embeddings of different sizes ({ea.size} and {eb.size}): were they made by "
                         "the same encoder?")
    embedded = any(_is_wav_pair(x) or isinstance(x, (str, _os.PathLike)) for x in (a, b))
    name = encoder_name(encoder) if (embedded or encoder is not None) else "given embeddings"
    return Similarity(float(np.clip(ea @ eb, -1.0, 1.0)), name)


