"""Training the course's speaker encoder and checking it by verification EER (notebook 07); load or train it.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from course_utils import env, verification
from course_utils.speaker.features import PROFILES, preprocess
from course_utils.speaker.model import GE2ELoss, SpeakerEncoder, SpeakerEncoderConfig


# ----------------------------------------------------------------------------------------------
# training and evaluation
# ----------------------------------------------------------------------------------------------

@dataclass
class TrainConfig:
    """How to train a course speaker encoder (notebook 07); ``for_profile`` gives the course's."""

    model: SpeakerEncoderConfig = field(default_factory=SpeakerEncoderConfig)
    steps: int = 300
    speakers_per_batch: int = 16
    utterances_per_speaker: int = 6
    crop_frames: int = 160
    lr: float = 3e-3
    seed: int = 0

    @classmethod
    def for_profile(cls, profile: str = "quick", arch: str = "lstm", seed: int = 0) -> "TrainConfig":
        """The quick (2-core CPU, under 2 minutes) and full (GPU) settings of each architecture.

        ``seed`` seeds the training run (initial weights, batches); notebook 07's ``SEED``.

        Quick: 64 speakers x 3 windows of 1 s per step (more speakers per batch, more negatives
        for the softmax: held-out EER measured 0.6 % against 0.8 % for 48 x 3 x 1.2 s and 1.2-1.6 %
        for 32 x 4 at equal steps). The LSTM is narrowed to 2 x 128 (the
        paper's 3 x 256 is several times slower on a CPU); notebook 07 trains it only for the
        comparison. Full: the paper's LSTM sizes, a wide TDNN, 64 speakers x 6 windows.
        """
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, not {profile!r}")
        quick = dict(speakers_per_batch=64, utterances_per_speaker=3, crop_frames=100, lr=5e-3)
        full = dict(speakers_per_batch=64, utterances_per_speaker=6, crop_frames=160, lr=2e-3, steps=3000)
        if arch == "lstm":
            if profile == "quick":
                return cls(SpeakerEncoderConfig("lstm", hidden=128, layers=2, embedding=128, partial_frames=100),
                           steps=60, seed=seed, **quick)
            return cls(SpeakerEncoderConfig("lstm", hidden=256, layers=3, embedding=256), seed=seed, **full)
        if arch == "tdnn":
            if profile == "quick":
                return cls(SpeakerEncoderConfig("tdnn", hidden=128, embedding=128, partial_frames=100,
                                                whole_utterance=True), steps=350, seed=seed, **quick)
            return cls(SpeakerEncoderConfig("tdnn", hidden=512, embedding=192, dilations=(1, 2, 3, 4),
                                            whole_utterance=True), seed=seed, **full)
        raise ValueError(f"arch must be 'lstm' or 'tdnn', not {arch!r}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["model"]["dilations"] = list(d["model"]["dilations"])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        return cls(model=SpeakerEncoderConfig(**d.pop("model")), **d)


def _crop_batch(features: dict, speakers: list, m: int, frames: int, rng: np.random.Generator) -> torch.Tensor:
    batch = []
    for spk in speakers:
        utts = features[spk]
        for u in rng.choice(len(utts), size=m, replace=len(utts) < m):
            f = utts[u]
            if len(f) < frames:  # pad short utterances with their own quietest frame
                f = np.concatenate([f, np.repeat(f.min(0, keepdims=True), frames - len(f), 0)])
            start = rng.integers(0, len(f) - frames + 1)
            batch.append(f[start:start + frames])
    return torch.from_numpy(np.stack(batch))


def train(features: dict, config: TrainConfig, device: str = "cpu", progress: bool = True,
          callback=None) -> tuple[SpeakerEncoder, dict]:
    """Train a speaker encoder with the GE2E loss on ``{speaker: [features (T, 40)]}`` (notebook 07).

    Returns ``(encoder, history)``; history holds the loss and GE2E ``w``/``b`` at every step
    and the training time. ``callback(step, loss, model)`` is called after each step (live plots,
    snapshots).
    """
    from tqdm.auto import tqdm

    speakers = sorted(features)
    if len(speakers) < 2:
        raise ValueError("training needs at least 2 speakers")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = SpeakerEncoder(config.model)
    model.fit_normalisation([f for spk in speakers for f in features[spk]])
    model.to(device).train()
    loss_fn = GE2ELoss().to(device)
    optimiser = torch.optim.Adam([{"params": model.parameters()},
                                  {"params": loss_fn.parameters(), "lr": config.lr}], lr=config.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.lr, total_steps=config.steps,
                                                   pct_start=0.15)
    n = min(config.speakers_per_batch, len(speakers))
    history = {"loss": [], "w": [], "b": []}
    start = time.perf_counter()
    bar = tqdm(range(config.steps), desc=f"GE2E {config.model.arch}", disable=not progress)
    for step in bar:
        chosen = [speakers[i] for i in rng.choice(len(speakers), size=n, replace=False)]
        frames = _crop_batch(features, chosen, config.utterances_per_speaker, config.crop_frames, rng)
        emb = model(frames.to(device)).reshape(n, config.utterances_per_speaker, -1)
        loss = loss_fn(emb)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 3.0)
        optimiser.step()
        schedule.step()
        history["loss"].append(loss.item())
        history["w"].append(loss_fn.w.item())
        history["b"].append(loss_fn.b.item())
        if progress and step % 10 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
        if callback is not None:
            callback(step, loss.item(), model)
    history["seconds"] = time.perf_counter() - start
    return model.eval().cpu(), history


def enrol_and_test(embeddings: np.ndarray, speakers, n_enrol: int = 3):
    """Split utterance embeddings into enrolment and test sets per speaker (used by speaker.verification_eer).

    The first ``n_enrol`` utterances of each speaker (in the given order) make its enrolment
    embedding (normalised mean); the rest are test utterances. Returns
    ``(enrol (S, D), enrol_speakers, test (N, D), test_speakers)``.
    """
    speakers = np.asarray(speakers)
    enrol, enrol_spk, test, test_spk = [], [], [], []
    for spk in dict.fromkeys(speakers.tolist()):
        own = embeddings[speakers == spk]
        if len(own) <= n_enrol:
            raise ValueError(f"speaker {spk!r} has {len(own)} utterances; needs more than n_enrol={n_enrol}")
        mean = own[:n_enrol].mean(0)
        enrol.append(mean / np.linalg.norm(mean))
        enrol_spk.append(spk)
        test.append(own[n_enrol:])
        test_spk += [spk] * (len(own) - n_enrol)
    return np.stack(enrol), enrol_spk, np.concatenate(test), test_spk


def verification_eer(embeddings: np.ndarray, speakers, n_enrol: int = 3):
    """EER of enrol-from-``n_enrol``, test-on-the-rest trials: ``(EERResult, scores, labels)`` (notebook 07)."""
    enrol, enrol_spk, test, test_spk = enrol_and_test(embeddings, speakers, n_enrol)
    scores, labels = verification.verification_trials(enrol, enrol_spk, test, test_spk)
    return verification.eer(scores, labels), scores, labels


# ----------------------------------------------------------------------------------------------
# the course encoder: load or train
# ----------------------------------------------------------------------------------------------

#: Training and held-out corpora per profile: (speakers or None for all, utterances each).
TRAIN_CORPUS = {"quick": (None, 8), "full": (None, 24)}
HELDOUT_CORPUS = {"quick": (None, 10), "full": (None, 16)}
#: The architecture of the course encoder per profile (notebook 07 compares both).
COURSE_ARCH = {"quick": "tdnn", "full": "tdnn"}


def _config_key(config: TrainConfig, corpus: dict) -> str:
    text = json.dumps({"train": config.to_dict(), "corpus": corpus}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def preprocessed_audio(corpus, progress: bool = True) -> tuple[list[str], list[np.ndarray]]:
    """``(speaker ids, preprocessed 16 kHz waveforms)`` of every item of a corpus (notebook 07)."""
    from tqdm.auto import tqdm

    names, wavs = [], []
    for i in tqdm(range(len(corpus.items)), desc="preprocess", disable=not progress):
        wav, sr = corpus.load(i)
        names.append(_speaker_of(corpus.items[i]))
        wavs.append(preprocess(wav, sr))
    return names, wavs


def corpus_features(corpus, encoder: SpeakerEncoder | None = None, progress: bool = True) -> dict:
    """``{speaker: [log-mel features (T, 40)]}`` of a ``voices`` corpus, preprocessed (notebook 07)."""
    from tqdm.auto import tqdm

    encoder = encoder or SpeakerEncoder(SpeakerEncoderConfig(features="logmel"))
    out: dict = {}
    for i in tqdm(range(len(corpus.items)), desc="features", disable=not progress):
        wav, sr = corpus.load(i)
        spk = _speaker_of(corpus.items[i])
        out.setdefault(spk, []).append(encoder.features(preprocess(wav, sr)))
    return out


def _speaker_of(item) -> str:
    for name in ("speaker", "speaker_id", "spk"):
        value = getattr(item, name, None) if not isinstance(item, dict) else item.get(name)
        if value is not None:
            return str(value)
    raise TypeError(f"cannot find the speaker of corpus item {item!r}")


def course_encoder(profile: str = "quick", arch: str | None = None, device: str = "cpu",
                   train_if_missing: bool = True, progress: bool = True, seed: int = 0) -> SpeakerEncoder:
    """The course's trained speaker encoder for ``profile``: loaded from the cache, else trained
    (notebooks 07, 10).

    Notebook 07 trains it (and saves it where this function looks); later notebooks call
    ``speaker.course_encoder(profile)``. The checkpoint sits in ``env.cache_dir("speaker")``
    with its training configuration and loads with ``torch.load(weights_only=True)``; a
    changed configuration (another ``seed`` included) gets a new file name, so a stale
    checkpoint is never loaded.
    """

    arch = arch or COURSE_ARCH[profile]
    config = TrainConfig.for_profile(profile, arch, seed)
    path = checkpoint_path(profile, arch, seed)
    device = env.pick_device(device)
    if path.exists():
        return SpeakerEncoder.load(path, device)
    if not train_if_missing:
        raise FileNotFoundError(f"no trained speaker encoder at {path}; run notebook 07 or "
                                f"course_encoder(profile={profile!r}) with train_if_missing=True")
    features = corpus_features(_build(training_corpus_spec(profile), progress), progress=progress)
    model, history = train(features, config, device=device, progress=progress)
    save_course_encoder(model, profile, arch, history, seed)
    return model.to(device)


def save_course_encoder(model: SpeakerEncoder, profile: str, arch: str, history: dict, seed: int = 0) -> Path:
    """Save a trained encoder where :func:`course_encoder` finds it, with its configuration (notebook 07)."""
    config = TrainConfig.for_profile(profile, arch, seed)
    return model.save(checkpoint_path(profile, arch, seed), train=config.to_dict(), corpus=training_corpus_spec(profile),
                      seconds=float(history["seconds"]), final_loss=float(np.mean(history["loss"][-10:])))


def _build(spec: dict, progress: bool):
    from course_utils import voices

    return voices.build_corpus(**spec, progress=progress)


def _spec(profile: str, split: str, table: dict) -> dict:
    from course_utils import voices

    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, not {profile!r}")
    n_speakers, n_utts = table[profile]
    return {"n_speakers": n_speakers or len(voices.speakers(split)), "utterances_per_speaker": n_utts,
            "seed": 0, "split": split}


def training_corpus_spec(profile: str = "quick") -> dict:
    """Arguments of ``voices.build_corpus`` for the training corpus of ``profile`` (notebook 07)."""
    return _spec(profile, "train", TRAIN_CORPUS)


def heldout_corpus_spec(profile: str = "quick") -> dict:
    """Arguments of ``voices.build_corpus`` for the held-out evaluation corpus (notebook 07)."""
    return _spec(profile, "heldout", HELDOUT_CORPUS)


def checkpoint_path(profile: str = "quick", arch: str | None = None, seed: int = 0) -> Path:
    """Where :func:`course_encoder` keeps the checkpoint of ``profile``, ``arch`` and ``seed``
    (used by speaker.course_encoder)."""

    arch = arch or COURSE_ARCH[profile]
    config = TrainConfig.for_profile(profile, arch, seed)
    key = _config_key(config, training_corpus_spec(profile))
    return env.cache_dir("speaker") / f"encoder_{arch}_{profile}_{key}.pt"
