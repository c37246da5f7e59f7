"""The voice cloner (notebook 08): enrol, synthesise, save and load, train the course checkpoint;
``finetune`` adapts it to one voice (notebook 09).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from course_utils import audio, env
from course_utils.cloning.config import (CHECKPOINT_VERSION, SHIPPED_CHECKPOINT, ClonerConfig, CloningError,
                                         DamagedCheckpoint)
from course_utils.cloning.model import (AcousticModel, gv_postfilter, match_statistics, nearest_frames, single_thread,
                                        speech_statistics)
from course_utils.cloning.data import (Speaker, build_vocabulary, load_speaker_encoder, mean_embedding,
                                       prepare_examples, speaker_input, symbol_ids, utterance_embeddings)
from course_utils.cloning.train import train_model, training_corpus


def _atomic_torch_save(obj, path: Path) -> Path:
    """``torch.save`` through :func:`env.atomic_path`: never a half-written checkpoint."""
    with env.atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


class VoiceCloner:
    """Zero-shot voice cloning: ``enroll`` a few recordings, ``synthesize`` any text (notebook 08).

    Holds ``model`` (an :class:`AcousticModel`, its ``config`` inside), ``speaker_encoder`` and a
    ``vocoder`` (Griffin-Lim, or HiFi-GAN for the course checkpoint: :func:`make_vocoder`); every
    attribute deep-copies cleanly, since notebook 09 fine-tunes a copy.
    ``gv_scale`` (1.0: off) is the :func:`gv_postfilter` applied before the vocoder; notebook 09's
    ``finetune`` sets it for the voice it adapts to.
    """

    def __init__(self, model: AcousticModel, speaker_encoder, history: dict | None = None,
                 vocoder_iters: int | None = None):
        self.model = model.eval()
        self.speaker_encoder = speaker_encoder
        self.history = history or {}
        self.vocoder = make_vocoder(self.config, vocoder_iters)
        self.gv_scale = 1.0

    @property
    def config(self) -> ClonerConfig:
        """The model's :class:`ClonerConfig`."""
        return self.model.config

    @property
    def sr(self) -> int:
        """Sample rate of the synthesised audio."""
        return self.config.sr

    # -- checkpoints ---------------------------------------------------------------------------
    def checkpoint(self, half: bool = False) -> dict:
        """Configuration, weights, speaker encoder and training history; ``weights_only``-safe.

        ``half``: the model's weights stored as float16 (half the size; the course checkpoint
        ships so, and its measurements are of those weights), statistics buffers as float32.
        """
        enc = self.speaker_encoder
        encoder_state = None if self.config.speaker_encoder == "pretrained" else enc.checkpoint()
        history = {k: (list(map(float, v)) if isinstance(v, list) else v) for k, v in self.history.items()}
        weights = {name for name, _ in self.model.named_parameters()}
        state = {k: (v.detach().cpu().half() if half and k in weights else v.detach().cpu().clone())   # a copy
                 for k, v in self.model.state_dict().items()}
        return {"version": CHECKPOINT_VERSION, "config": self.config.to_dict(), "state_dict": state,
                "sha256": state_checksum(state), "speaker_encoder": encoder_state, "history": history}

    def save(self, path, half: bool = False) -> Path:
        """Write :meth:`checkpoint` atomically (temporary file + rename)."""
        return _atomic_torch_save(self.checkpoint(half), Path(path))

    @classmethod
    def from_checkpoint(cls, checkpoint: dict) -> "VoiceCloner":
        """Rebuild a cloner from :meth:`checkpoint`'s dict, after checking its weights.

        :class:`DamagedCheckpoint` when it is not a cloner's, when the weights' SHA-256 differs
        from the one written with them, or when a weight has the wrong shape or is NaN/infinite.
        """
        from course_utils import speaker

        if not isinstance(checkpoint, dict) or "config" not in checkpoint or "state_dict" not in checkpoint:
            raise DamagedCheckpoint("not a cloner checkpoint (no config/state_dict); make one with VoiceCloner.save")
        if checkpoint.get("version") != CHECKPOINT_VERSION:
            raise CloningError(f"checkpoint version {checkpoint.get('version')} is not {CHECKPOINT_VERSION}: "
                               "it was made by another version of the course; train a new one")
        state = checkpoint["state_dict"]
        if "sha256" in checkpoint and state_checksum(state) != checkpoint["sha256"]:
            raise DamagedCheckpoint("damaged: its weights are not the ones written (SHA-256 differs); the file "
                                    "was changed after saving (a bad copy or disk)")
        bad = sum(int((~torch.isfinite(v)).sum()) for v in state.values() if v.is_floating_point())
        if bad:
            raise DamagedCheckpoint(f"damaged: {bad} NaN or infinite weight(s)")
        config = ClonerConfig.from_dict(checkpoint["config"])
        model = AcousticModel(config)
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise DamagedCheckpoint(f"damaged: its weights do not fit its configuration ({str(exc)[:300]})") from None
        if checkpoint.get("speaker_encoder") is None:
            encoder = speaker.SpeakerEncoder.pretrained()
        else:
            encoder = speaker.SpeakerEncoder.from_checkpoint(checkpoint["speaker_encoder"])
        return cls(model, encoder, history=checkpoint.get("history", {}))

    @classmethod
    def load(cls, path) -> "VoiceCloner":
        """Load a checkpoint written by :meth:`save` (``torch.load(weights_only=True)``), checked by
        :meth:`from_checkpoint`; every error names the file."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no cloner checkpoint at {path}")
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise DamagedCheckpoint(f"{path} is not a cloner checkpoint: torch cannot read it ({type(exc).__name__}: "
                                    f"{str(exc)[:200]}); give a file written by VoiceCloner.save (notebook 08 "
                                    "makes one), or a fresh copy of it") from None
        try:
            return cls.from_checkpoint(checkpoint)
        except CloningError as exc:
            raise type(exc)(f"{path}: {exc}") from None

    @classmethod
    def shipped(cls, path=None) -> "VoiceCloner":
        """The course checkpoint: the cloner that says its words (notebook 08; the CLI's default).

        Trained once by ``python -m course_utils train-checkpoint`` (:data:`cloning.SPEAKING`) and
        committed with a record beside it (``.json``: its SHA-256, configuration, training time
        and machine, measured word error rate and likeness). The file's SHA-256 is checked against
        the record before ``torch.load(weights_only=True)``: a damaged or replaced file raises
        :class:`DamagedCheckpoint` and is never replaced silently.
        """
        import json

        path = Path(path) if path is not None else SHIPPED_CHECKPOINT
        record = path.with_suffix(".json")
        if not path.is_file() or not record.is_file():
            raise FileNotFoundError(f"the course checkpoint is missing ({path} and its record {record.name}): "
                                    "restore them with git checkout -- course_utils/weights, or re-create them "
                                    "with python -m course_utils train-checkpoint")
        try:
            expected = json.loads(record.read_text(encoding="utf-8"))["sha256"]
        except (ValueError, KeyError, TypeError) as exc:
            raise DamagedCheckpoint(f"{record} is not a checkpoint record ({exc}); restore it with git checkout") from None
        if env.file_sha256(path) != expected:
            raise DamagedCheckpoint(f"{path} is not the course checkpoint its record describes (SHA-256 differs): "
                                    "a damaged or replaced file. Restore it with git checkout -- course_utils/weights, "
                                    "or re-create it with python -m course_utils train-checkpoint")
        return cls.load(path)

    @classmethod
    def studied(cls, cloner: str = "speaking", profile: str = "quick", device: str = "cpu", seed: int = 0,
                **options) -> "VoiceCloner":
        """The cloner that notebooks 09-11 study: ``"speaking"``, the course checkpoint that says its
        words (:meth:`shipped`, the default), or ``"trained"``, notebook 08's model of ``profile``
        (:meth:`trained` with ``device``, ``seed`` and ``options``) (notebooks 09, 10, 11)."""
        if cloner == "speaking":
            return cls.shipped()
        if cloner == "trained":
            return cls.trained(profile, device=device, seed=seed, **options)
        raise ValueError(f'cloner must be "speaking" (the course checkpoint) or "trained" (notebook 08\'s '
                         f"{profile} model), got {cloner!r}")

    @staticmethod
    def checkpoint_path(config: ClonerConfig | str = "quick") -> Path:
        """Where :meth:`pretrained` keeps the checkpoint of a configuration."""

        return (ClonerConfig.for_profile(config) if isinstance(config, str) else config).checkpoint_path()

    @classmethod
    def trained(cls, profile: str = "quick", device: str = "cpu", train_if_missing: bool = True,
                progress: bool = True, callback: Callable[[int, dict], None] | None = None,
                config: ClonerConfig | None = None, seed: int = 0, retrain: bool = False,
                real_speech: bool = False) -> "VoiceCloner":
        """The course cloner of ``profile``: loaded from ``env.cache_dir("cloning")``, else trained and saved.

        ``real_speech=True``: the cloner that also learned from real people
        (``ClonerConfig.with_real_speech``, notebook 09); it starts from the espeak-ng one, which is
        loaded or trained first.

        A damaged cached checkpoint raises :class:`DamagedCheckpoint` (never overwritten
        silently); ``retrain=True`` trains a new one over it.

        ``seed`` seeds the training run (notebooks 08-11 pass their ``SEED``); each seed has its
        own checkpoint. Training shows a progress bar; ``callback(step, losses)`` sees every step
        (live plots).
        """
        if config is None:
            make = ClonerConfig.with_real_speech if real_speech else ClonerConfig.for_profile
            config = make(profile, seed=seed)
        path = cls.checkpoint_path(config)
        with env.file_lock(path.with_name(path.name + ".lock")):   # two cold runs: one trains, one waits
            return cls._load_or_train(path, config, profile, device, train_if_missing, progress, callback, retrain)

    @classmethod
    def _load_or_train(cls, path: Path, config: ClonerConfig, profile: str, device: str, train_if_missing: bool,
                       progress: bool, callback, retrain: bool) -> "VoiceCloner":
        if path.exists() and not retrain:
            try:
                return cls.load(path)
            except DamagedCheckpoint as exc:
                raise DamagedCheckpoint(f"{exc}. It is the course's cached cloner: delete it, or call "
                                        "VoiceCloner.trained(..., retrain=True) (--retrain on the command line), "
                                        "to train a new one (minutes on a CPU: notebook 08 measures it)") from None
            except CloningError as exc:          # another course version's checkpoint: say so, then train
                print(f"{exc}; training a new one (minutes on a CPU: notebook 08 measures it)", file=sys.stderr)
        if not train_if_missing:
            raise FileNotFoundError(f"no trained cloner at {path}; run notebook 08 or "
                                    f"VoiceCloner.trained(profile={profile!r})")
        cloner = train(config, device=device, progress=progress, callback=callback)
        cloner.save(path)
        return cloner

    # -- cloning -------------------------------------------------------------------------------
    def finetune(self, pairs, sr: int, steps: int | None = None, **options) -> "VoiceCloner":
        """Adapt to a voice from ``(wav, transcript)`` pairs; a new cloner, this one untouched.

        See :func:`course_utils.finetune.finetune` for the strategies (notebook 09).
        """
        from course_utils import finetune as _finetune

        return _finetune.finetune(self, pairs, sr, steps=steps, **options)

    def enroll(self, wavs, sr: int) -> Speaker:
        """A :class:`Speaker` from one or more reference recordings at sample rate ``sr`` (notebook 08).

        ``wavs``: a 1-D array or a list of them (any sample rate; mono).  Empty, silent,
        non-finite, multi-channel or too short audio raises ``audio.AudioError`` (a
        ``ValueError``) that names the recording.
        """
        from course_utils import speaker

        if isinstance(wavs, (np.ndarray, torch.Tensor)) and np.ndim(wavs) == 1:
            wavs = [wavs]
        if isinstance(wavs, (str, bytes, os.PathLike)) or not hasattr(wavs, "__len__"):
            raise audio.AudioError("wavs must be a list of 1-D audio arrays (load files with audio.load)")
        wavs = list(wavs)
        if not wavs:
            raise audio.AudioError("no reference recordings given: pass at least one (3-5 give a better voice)")
        checked = []
        for i, wav in enumerate(wavs):
            audio.check_speech(wav, sr, name=f"reference {i + 1} of {len(wavs)}")
            try:
                checked.append(speaker.preprocess(wav, sr))
            except audio.AudioError as exc:
                raise audio.AudioError(f"reference {i + 1} of {len(wavs)}: {exc}") from None
        embeddings = self.speaker_encoder.embed_utterances(checked, speaker.SAMPLE_RATE, preprocessed=True)
        seconds = sum(len(w) for w in checked) / speaker.SAMPLE_RATE
        features = self.config.features()
        resampled = [audio.resample(np.asarray(w, dtype=np.float32), sr, self.sr) for w in wavs]
        mels = [audio.log_mel(w, features) for w in resampled]
        spectra = [np.log(np.maximum(audio.spectrogram(w, features.replace(power=1.0)), features.log_floor))
                   for w in resampled]
        mean, std = speech_statistics(mels)
        return Speaker(mean_embedding(embeddings), len(checked), seconds, mean, std, np.concatenate(mels, axis=1),
                       np.concatenate(spectra, axis=1).astype(np.float32))

    def phonemes(self, text: str) -> list[str]:
        """Normalise ``text`` (notebook 05) and phonemise it with espeak-ng into the model's symbols."""
        from course_utils import text as text_mod, voices

        if not isinstance(text, str):
            raise CloningError(f"text must be a str, got {type(text).__name__}")
        if len(text) > MAX_TEXT_CHARS:
            raise CloningError(f"text has {len(text)} characters, more than the {MAX_TEXT_CHARS} one call speaks: "
                               "split it into sentences and synthesise them one by one (notebook 10 streams them)")
        normalised = text_mod.normalize(text)
        if not normalised.strip(" ,.?!'"):
            raise CloningError(f"nothing to say in {text[:60]!r} after normalisation: give words to speak")
        utt = voices.synthesize(normalised, voices.VoiceSpec(accent=self.config.accent))
        return [s for s, _, _ in utt.phonemes]

    @torch.no_grad()
    def mel(self, text: str, speaker: Speaker | np.ndarray, pace: float = 1.0) -> np.ndarray:
        """Predicted log-mel ``(n_mels, frames)`` for ``text`` in ``speaker``'s voice (before the post-filter)."""
        ids = torch.tensor([symbol_ids(self.phonemes(text), self.config.symbols)])
        out = self.model(ids, torch.tensor([ids.shape[1]]), speaker_input(speaker, self.config.speaker_dim), pace=pace)
        return self.model.denormalise(out["mel_post"][0]).T.numpy()

    def postfilter(self, log_mel: np.ndarray, speaker: Speaker | np.ndarray) -> np.ndarray:
        """What :meth:`synthesize` does to a predicted log-mel first (notebook 09).

        With ``config.match_spectrum`` (the real-speech cloner) and a :class:`Speaker` from
        :meth:`enroll`: :func:`match_statistics` to the references' spectrum; otherwise
        :func:`gv_postfilter` with ``gv_scale``.
        """
        if self.config.match_spectrum and isinstance(speaker, Speaker) and speaker.mel_mean is not None:
            return match_statistics(log_mel, speaker.mel_mean, speaker.mel_std)
        return gv_postfilter(log_mel, self.gv_scale)

    def spectrum(self, log_mel: np.ndarray, speaker: Speaker | np.ndarray) -> np.ndarray:
        """The linear magnitude ``(n_fft // 2 + 1, frames)`` the vocoder turns into sound (notebook 09).

        The :meth:`postfilter`-ed log-mel; then, with ``config.nearest_k`` (the real-speech cloner: 2)
        and a :class:`Speaker` from :meth:`enroll`, each frame is the mean log magnitude of its
        ``nearest_k`` nearest reference frames (:func:`nearest_frames` with ``speaker.spectra``);
        otherwise the vocoder's inversion of the mel filterbank (``vocoder.magnitude``, the same for
        Griffin-Lim and HiFi-GAN; a HiFi-GAN cloner never needs it to make sound).
        """
        log_mel = self.postfilter(log_mel, speaker)
        if self.config.nearest_k and isinstance(speaker, Speaker) and speaker.spectra is not None:
            return np.exp(nearest_frames(log_mel, speaker.frames, self.config.nearest_k, speaker.spectra))
        return self.vocoder.magnitude(log_mel).numpy()

    def waveform(self, log_mel: np.ndarray, speaker: Speaker | np.ndarray) -> np.ndarray:
        """What the vocoder makes of a predicted log-mel (before the watermark) (notebook 08): Griffin-Lim
        the :meth:`spectrum`; HiFi-GAN the :meth:`postfilter`-ed log-mel itself, with each frame the mean
        of its ``config.nearest_k`` nearest reference log-mel frames when that is set."""
        from course_utils.vocoder import HiFiGANVocoder

        if not isinstance(self.vocoder, HiFiGANVocoder):
            return self.vocoder.from_magnitude(self.spectrum(log_mel, speaker))
        log_mel = self.postfilter(log_mel, speaker)
        if self.config.nearest_k and isinstance(speaker, Speaker) and speaker.frames is not None:
            log_mel = nearest_frames(log_mel, speaker.frames, self.config.nearest_k)
        return self.vocoder(log_mel)

    def synthesize(self, text: str, speaker: Speaker | np.ndarray, watermark: bool = True,
                   pace: float = 1.0, key: int | str | None = None) -> tuple[np.ndarray, int]:
        """``(wav float32, sr)``: ``text`` spoken in ``speaker``'s voice (notebook 08).

        The output carries the course's inaudible watermark (``safety.embed_watermark`` with
        ``safety.DEFAULT_KEY`` or ``key``, notebook 11) unless ``watermark=False``; a clip too short to
        carry the mark is padded for marking.  ``pace`` (speaking rate, 1 = as trained) must lie in
        ``PACE_RANGE``.  The acoustic model and Griffin-Lim run on one CPU thread: the tensors of
        one sentence are too small for several threads to pay off, and on a busy machine extra
        threads only wait for each other; HiFi-GAN, a large network, gets every thread.
        """
        from course_utils.vocoder import HiFiGANVocoder

        _check_pace(pace)
        neural = isinstance(self.vocoder, HiFiGANVocoder)
        with single_thread():
            log_mel = self.mel(text, speaker, pace)
            wav = None if neural else self.waveform(log_mel, speaker)
        if neural:                  # a 13.9 M-parameter network: worth every CPU thread
            wav = self.waveform(log_mel, speaker)
        if watermark:
            from course_utils import safety

            key = safety.DEFAULT_KEY if key is None else key
            try:
                wav = safety.embed_watermark(wav, self.sr, key)
            except ValueError:
                if len(wav) >= safety.MIN_SECONDS * self.sr:
                    raise
                # too short to carry a mark: pad with silence to the minimum, mark, cut back
                padded = np.pad(wav, (0, int(safety.MIN_SECONDS * self.sr) - len(wav) + 1))
                wav = safety.embed_watermark(padded, self.sr, key)[: len(wav)]
        return wav.astype(np.float32, copy=False), self.sr


def make_vocoder(config: ClonerConfig, griffin_lim_iters: int | None = None):
    """The vocoder of a configuration (``config.vocoder``): a :class:`vocoder.GriffinLimVocoder` with
    ``griffin_lim_iters`` (default the config's) or the pretrained :class:`vocoder.HiFiGANVocoder`
    (one per process, shared by all cloners) (used by cloning.cloner.VoiceCloner)."""
    from course_utils.vocoder import GriffinLimVocoder

    if config.vocoder == "hifigan":
        return _hifigan(config.features())
    return GriffinLimVocoder(config.features(), n_iter=griffin_lim_iters or config.griffin_lim_iters, sharpen=1.0)


@functools.lru_cache(maxsize=1)
def _hifigan(features):
    from course_utils.vocoder import HiFiGANVocoder

    return HiFiGANVocoder("universal", config=features)


#: Longest text one ``synthesize`` call speaks (about two minutes of speech).
MAX_TEXT_CHARS = 2000
#: Speaking rates ``synthesize`` accepts: a quarter to four times the trained pace.
PACE_RANGE = (0.25, 4.0)


def _check_pace(pace) -> None:
    low, high = PACE_RANGE
    if isinstance(pace, bool) or not isinstance(pace, (int, float, np.floating)) or not low <= pace <= high:
        raise CloningError(f"pace must be a number from {low} to {high} (1 = the trained speaking rate, "
                           f"2 = twice as fast), got {pace!r}")


def state_checksum(state: dict) -> str:
    """SHA-256 of a state dict's names, shapes and bytes: written into every checkpoint, checked on load
    (used by cloning.cloner.VoiceCloner)."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.numpy().tobytes() if tensor.dtype != torch.bfloat16 else tensor.float().numpy().tobytes())
    return digest.hexdigest()


def train(config: ClonerConfig | str = "quick", device: str = "cpu", progress: bool = True,
          callback: Callable[[int, dict], None] | None = None, speaker_encoder=None,
          first: "VoiceCloner | None" = None, resume: str | Path | None = None,
          snapshots=()) -> "VoiceCloner":
    """Build the corpus, features and speaker embeddings, train, return a :class:`VoiceCloner`.

    Called when no checkpoint is cached (used by cloning.cloner.VoiceCloner).  With
    ``config.real_steps``, the real-speech stage starts from ``first`` (default: the cloner of
    ``config.first_stage()``, loaded or trained).  ``resume``: a file where the run keeps its state
    and from which it continues after a stop, keeping the weights after each step count in
    ``snapshots`` (:func:`train_model`; espeak-ng stage only).
    """

    config = ClonerConfig.for_profile(config) if isinstance(config, str) else copy.deepcopy(config)
    device = env.pick_device(device)
    if config.real_steps:
        return _train_on_real_speech(config, device, progress, callback, first)
    corpus = training_corpus(config, progress)
    encoder = speaker_encoder if speaker_encoder is not None else load_speaker_encoder(
        config.speaker_encoder, config.profile, progress)
    config.speaker_dim = int(encoder.config.embedding) if hasattr(encoder.config, "embedding") else config.speaker_dim
    if not config.symbols:
        config.symbols = build_vocabulary(corpus.items)
    prep_start = time.perf_counter()
    examples = prepare_examples(corpus, config, progress)
    embeddings = utterance_embeddings(corpus, encoder, config.embed_utterances, progress)
    prep_seconds = time.perf_counter() - prep_start
    model, history = _seeded_training(examples, embeddings, config, device, progress, callback, resume=resume,
                                      snapshots=snapshots)
    history["prepare_seconds"] = prep_seconds
    return VoiceCloner(model, encoder, history=history)


def _seeded_training(examples, embeddings, config: ClonerConfig, device: str, progress: bool, callback,
                     start=None, resume=None, snapshots=()):
    """:func:`train_model` from ``config.seed`` with deterministic algorithms, the caller's setting
    restored afterwards (used by cloning.cloner.train)."""
    env.seed_everything(config.seed)
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        return train_model(examples, embeddings, config, device, progress, callback, start=start, resume=resume,
                           snapshots=snapshots)
    finally:
        torch.use_deterministic_algorithms(deterministic)


def _train_on_real_speech(config: ClonerConfig, device: str, progress: bool, callback,
                          first: "VoiceCloner | None") -> "VoiceCloner":
    """The real-speech stage: ``first``, the espeak-ng cloner (default: that of ``config.first_stage()``,
    loaded or trained), trained ``config.real_steps`` more steps on its corpus plus the bundled
    LibriSpeech training readers, aligned by it (:func:`cloning.real.real_examples`) (used by
    cloning.cloner.train)."""
    from course_utils import voices
    from course_utils.cloning.real import real_examples

    if first is None:
        first = VoiceCloner.trained(config=config.first_stage(), device=device, progress=progress)
    config.symbols, config.speaker_dim = list(first.config.symbols), first.config.speaker_dim
    prep_start = time.perf_counter()
    corpus = training_corpus(config, progress)
    examples = prepare_examples(corpus, config, progress)
    embeddings = utterance_embeddings(corpus, first.speaker_encoder, config.embed_utterances, progress)
    real, real_embeddings, skipped = real_examples(first, voices.librispeech_readers("train"), progress)
    embeddings.update(real_embeddings)
    prep_seconds = time.perf_counter() - prep_start
    stage = copy.deepcopy(config)
    stage.steps, stage.lr, stage.warmup = config.real_steps, config.real_lr, config.real_warmup
    model, history = _seeded_training(examples + real * config.real_repeat, embeddings, stage, device, progress,
                                      callback, start=first.model)
    model.config = config
    history.update(prepare_seconds=prep_seconds, real_recordings=len(real), real_skipped=len(skipped))
    return VoiceCloner(model, first.speaker_encoder, history=history)
