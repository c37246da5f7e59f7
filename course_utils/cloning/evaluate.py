"""How good is a clone (notebook 08, notebook 10): the cloning score, the held-out speakers,
the real-time factor.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from course_utils.cloning.data import Speaker, mean_embedding


# ----------------------------------------------------------------------------------------------
# evaluation
# ----------------------------------------------------------------------------------------------

@dataclass
class CloningScore:
    """Result of :func:`cloning_score`: the mean ``score`` and the per-speaker details.

    (used by cloning.evaluate.cloning_score)
    """

    score: float
    per_speaker: dict
    sim_clone: float
    sim_own: float
    sim_other: float

    def __repr__(self) -> str:
        return (f"CloningScore(score={self.score:.3f}, sim clone={self.sim_clone:.3f}, own={self.sim_own:.3f}, "
                f"other={self.sim_other:.3f}, speakers={len(self.per_speaker)})")


def cloning_score(clones: dict, references: dict, own: dict, encoder=None) -> CloningScore:
    """How close clones sound to their speakers, on the scale own recordings = 1, others = 0 (notebooks 09, 10).

    Each argument maps a speaker id to a list of ``(wav, sr)`` pairs: ``clones`` the synthesised
    utterances, ``references`` the recordings that make the speaker's embedding (the ones the
    cloner enrolled from), ``own`` other recordings of the same speaker (not in the references).
    With cosine similarities to the speaker's embedding (from ``encoder``, by default the
    pretrained one, which is also the encoder the default cloner is conditioned on, so not an
    independent judge: notebook 10 adds the course's own encoder)::

        score(s) = (sim(clone, s) - sim(other speakers, s)) / (sim(own recording, s) - sim(other, s))

    where "other" averages the ``own`` recordings of every other speaker.  Needs at least two
    speakers.  Returns a :class:`CloningScore` (mean over speakers, and each speaker's numbers).
    """
    from course_utils import speaker as speaker_mod

    speakers = list(references)
    if len(speakers) < 2:
        raise ValueError("cloning_score needs at least two speakers (the others are the baseline)")
    for name, d in (("clones", clones), ("own", own)):
        missing = [s for s in speakers if not d.get(s)]
        if missing:
            raise ValueError(f"{name} has no audio for speakers {missing}")
    encoder = encoder or speaker_mod.SpeakerEncoder.pretrained()

    def embed(pairs):
        return np.stack([encoder.embed_utterance(w, sr) for w, sr in pairs])

    centroid = {s: mean_embedding(embed(references[s])) for s in speakers}
    own_emb = {s: embed(own[s]) for s in speakers}
    clone_emb = {s: embed(clones[s]) for s in speakers}
    per = {}
    for s in speakers:
        c = centroid[s]
        sim_clone = float(np.mean(clone_emb[s] @ c))
        sim_own = float(np.mean(own_emb[s] @ c))
        sim_other = float(np.mean(np.concatenate([own_emb[t] for t in speakers if t != s]) @ c))
        per[s] = {"score": (sim_clone - sim_other) / max(sim_own - sim_other, 1e-6), "sim_clone": sim_clone,
                  "sim_own": sim_own, "sim_other": sim_other}
    mean = lambda key: float(np.mean([p[key] for p in per.values()]))  # noqa: E731
    return CloningScore(mean("score"), per, mean("sim_clone"), mean("sim_own"), mean("sim_other"))


def heldout_speakers(n_speakers: int = 8, utterances_per_speaker: int = 8, seed: int = 0, progress: bool = True):
    """A corpus of held-out speakers (never trained on) for zero-shot evaluation (notebook 08)."""
    from course_utils import voices

    return voices.build_corpus(n_speakers, utterances_per_speaker, seed=seed, split="heldout",
                               progress=progress)


def evaluate(cloner, corpus=None, n_references: int = 5, n_own: int = 2,
             texts: Sequence[str] | None = None, encoder=None, progress: bool = True, words: bool = True) -> dict:
    """Zero-shot cloning of held-out speakers: likeness, intelligibility, real-time factor and the audio (notebook 08).

    For each speaker of ``corpus`` (default :func:`heldout_speakers`), enroll from its first
    ``n_references`` recordings, synthesise ``texts`` (default: two held-out prompts), and score
    with :func:`cloning_score` against its next ``n_own`` recordings.  With ``words`` every clone
    is also played to Whisper (``metrics.intelligibility``): ``"intelligibility"`` holds its word
    and character error rates.  The real-time factor is synthesis time (phonemes, model,
    vocoder, watermark) over audio duration.
    """
    from tqdm.auto import tqdm

    from course_utils import voices

    corpus = corpus if corpus is not None else heldout_speakers(progress=progress)
    texts = list(texts) if texts is not None else voices.prompts("heldout")[:2]
    groups = corpus.by_speaker()
    clones, references, own = {}, {}, {}
    compute = seconds = 0.0
    for spk in tqdm(groups, desc="cloning held-out speakers", disable=not progress, leave=False):
        idx = groups[spk]
        if len(idx) < n_references + n_own:
            raise ValueError(f"speaker {spk} has {len(idx)} utterances; need {n_references + n_own}")
        references[spk] = [corpus.load(i) for i in idx[:n_references]]
        own[spk] = [corpus.load(i) for i in idx[n_references:n_references + n_own]]
        voice = cloner.enroll([w for w, _ in references[spk]], references[spk][0][1])
        clones[spk] = []
        for t in texts:
            start = time.perf_counter()
            wav, sr = cloner.synthesize(t, voice)
            compute += time.perf_counter() - start
            seconds += len(wav) / sr
            clones[spk].append((wav, sr))
    result = cloning_score(clones, references, own, encoder=encoder)
    out = {"score": result, "rtf": compute / seconds, "clones": clones, "references": references, "own": own,
           "texts": texts}
    if words:
        from course_utils.metrics import intelligibility

        out["intelligibility"] = intelligibility([(t, w, sr) for spk in clones for t, (w, sr) in zip(texts, clones[spk])],
                                                 progress=progress)
    return out


def real_time_factor(cloner, voice: Speaker, texts: Sequence[str] | None = None,
                     repeats: int = 3, clock: str = "cpu") -> float:
    """Synthesis time over audio duration, vocoding and watermark included; best of ``repeats`` (notebook 08).

    ``clock="cpu"`` counts the CPU time of this process (what the synthesis costs; synthesis
    runs on one thread, so on an idle machine it equals the wall-clock time), ``"wall"`` the
    elapsed time, which on a shared machine also counts the time spent waiting for other programs.
    """
    from course_utils import voices

    if clock not in ("cpu", "wall"):
        raise ValueError(f"clock must be 'cpu' or 'wall', not {clock!r}")
    timer = time.process_time if clock == "cpu" else time.perf_counter
    texts = list(texts) if texts is not None else voices.prompts("heldout")[2:5]
    best = math.inf
    for _ in range(repeats):
        compute = seconds = 0.0
        for t in texts:
            start = timer()
            wav, sr = cloner.synthesize(t, voice)
            compute += timer() - start
            seconds += len(wav) / sr
        best = min(best, compute / seconds)
    return best
