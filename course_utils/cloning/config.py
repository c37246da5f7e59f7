"""The cloner's configuration: profiles, sizes, training and synthesis settings (notebook 08)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from course_utils import audio, env
from course_utils.text_encoder import TextEncoderConfig


PROFILES = ("quick", "full")
#: The real-speech stage of each profile (``ClonerConfig.with_real_speech``): optimiser steps on the
#: espeak-ng corpus plus the real readers, each real recording ``real_repeat`` times per epoch.
#: Settings added after checkpoints were cached, with the default that leaves them out of ``ClonerConfig.key``.
LATER_SETTINGS = {"nearest_k": 0, "vocoder": "griffin-lim"}
#: Settings that change how a trained model is heard, not how it is trained: a resumed training run
#: may differ in these (``cloning.train_model``).
SYNTHESIS_SETTINGS = ("match_spectrum", "nearest_k", "griffin_lim_iters", "vocoder")
#: The vocoders a cloner can use (``ClonerConfig.vocoder``; course_utils.vocoder).
VOCODERS = ("griffin-lim", "hifigan")
REAL_SPEECH = {"quick": dict(real_steps=1200, real_repeat=4, match_spectrum=True, nearest_k=2),
               "full": dict(real_steps=8000, real_repeat=4, match_spectrum=True, nearest_k=2)}
#: The course checkpoint (``ClonerConfig.speaking()``, shipped in ``course_utils/weights``, notebook 08): the
#: quick architecture made wider and deeper, HiFi-GAN's features (22.05 kHz, 80 mels to 8 kHz), three times
#: the data and five times the steps; trained once by ``python -m course_utils train-checkpoint``.
SPEAKING = dict(sr=22050, encoder_embedding=192, encoder_lstm=96, duration_channels=192, decoder_channels=192,
                decoder_dilations=[1, 3, 9, 1, 3, 9], postnet_channels=192, postnet_layers=3, dropout=0.1,
                steps=8000, batch_size=16, lr=2e-3, warmup=300, utterances_per_speaker=24, embed_utterances=8,
                griffin_lim_iters=32, vocoder="hifigan")
#: Where the course checkpoint lives, with its record (``.json``: SHA-256, configuration, training and
#: measurements) beside it; ``VoiceCloner.shipped()`` loads it.
SHIPPED_CHECKPOINT = Path(__file__).resolve().parents[1] / "weights" / "cloner_speaking.pt"
INJECTIONS = ("encoder", "film", "both")
SPEAKER_ENCODERS = ("course", "pretrained")
PAD, UNK = "<pad>", "<unk>"
CHECKPOINT_VERSION = 1


class CloningError(ValueError):
    """Bad input to the cloner (text, audio, speaker, checkpoint); the message says what to do.

    Raised by the cloner's methods (used by cloning.cloner.VoiceCloner).
    """


class DamagedCheckpoint(CloningError):
    """A checkpoint file that is unreadable, not a cloner's, or whose weights are not the ones
    written (checksum, shapes, NaN) (used by cloning.cloner.VoiceCloner)."""


# ----------------------------------------------------------------------------------------------
# configuration
# ----------------------------------------------------------------------------------------------

@dataclass
class ClonerConfig:
    """Everything that defines a cloner: features, model sizes, training and data (notebook 08).

    ``for_profile("quick")`` fits a 2-core CPU (training in a few minutes), ``"full"`` a GPU.
    Stored in every checkpoint, so a checkpoint rebuilds its own model.
    """

    profile: str = "quick"
    # features: 16 kHz log-mel, 80 channels, 64 ms window, 16 ms hop (cheap to train and to vocode)
    sr: int = 16000
    n_fft: int = 1024
    hop_length: int = 256
    n_mels: int = 80
    fmax: float = 8000.0
    log_floor: float = 1e-5
    # model
    symbols: list = field(default_factory=list)
    encoder_embedding: int = 128
    encoder_lstm: int = 64
    encoder_convs: int = 3
    encoder_dropout: float = 0.1
    speaker_encoder: str = "pretrained"
    speaker_dim: int = 256
    injection: str = "film"
    duration_channels: int = 128
    decoder_channels: int = 128
    decoder_dilations: list = field(default_factory=lambda: [1, 3, 9, 1])
    decoder_kernel: int = 5
    postnet_channels: int = 128
    postnet_layers: int = 2
    dropout: float = 0.0
    # training
    steps: int = 1500
    batch_size: int = 16
    lr: float = 3e-3
    warmup: int = 60
    duration_weight: float = 1.0
    references_per_embedding: int = 5
    seed: int = 0
    # data: a voices.build_corpus call
    n_speakers: int = 206
    utterances_per_speaker: int = 8
    corpus_seed: int = 0
    embed_utterances: int = 4
    # real speech: a second stage on the bundled LibriSpeech readers (0 steps: espeak-ng voices only)
    real_steps: int = 0
    real_repeat: int = 4
    real_lr: float = 1e-3
    real_warmup: int = 30
    # synthesis: give clones the references' spectrum (model.match_statistics; off: gv_postfilter)
    match_spectrum: bool = False
    # ... then give each frame the mean log magnitude of its nearest_k nearest reference frames
    # (model.nearest_frames, VoiceCloner.spectrum; 0: off)
    nearest_k: int = 0
    accent: str = "en-us"
    griffin_lim_iters: int = 16
    # the vocoder: Griffin-Lim (notebook 08 builds it) or the pretrained HiFi-GAN (22.05 kHz features only)
    vocoder: str = "griffin-lim"

    def __post_init__(self):
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, not {self.profile!r}")
        if self.injection not in INJECTIONS:
            raise ValueError(f"injection must be one of {INJECTIONS}, not {self.injection!r}")
        if self.vocoder not in VOCODERS:
            raise ValueError(f"vocoder must be one of {VOCODERS}, not {self.vocoder!r}")
        if self.speaker_encoder not in SPEAKER_ENCODERS:
            raise ValueError(f"speaker_encoder must be one of {SPEAKER_ENCODERS}, not {self.speaker_encoder!r}")
        self.symbols = list(self.symbols)
        self.decoder_dilations = list(self.decoder_dilations)

    @classmethod
    def for_profile(cls, profile: str = "quick", **overrides) -> "ClonerConfig":
        """The course's settings: ``"quick"`` (2 CPU cores, a few minutes) or ``"full"`` (GPU)."""
        if profile == "quick":
            base = {}
        elif profile == "full":
            base = dict(encoder_embedding=512, encoder_lstm=256, encoder_dropout=0.2, duration_channels=256,
                        decoder_channels=384, decoder_dilations=[1, 2, 4, 8, 1, 2, 4, 8], postnet_channels=256,
                        postnet_layers=5, dropout=0.1, steps=20000, batch_size=32, lr=1e-3, warmup=500,
                        speaker_dim=256, utterances_per_speaker=40, embed_utterances=20, griffin_lim_iters=48)
        else:
            raise ValueError(f"profile must be one of {PROFILES}, not {profile!r}")
        base.update(overrides)
        return cls(profile=profile, **base)

    @classmethod
    def speaking(cls, **overrides) -> "ClonerConfig":
        """The settings of the course checkpoint (:data:`SPEAKING`), a CPU-sized model trained long."""
        return cls.for_profile("quick", **{**SPEAKING, **overrides})

    @classmethod
    def with_real_speech(cls, profile: str = "quick", **overrides) -> "ClonerConfig":
        """The profile's settings plus the real-speech stage (notebook 09): ``REAL_SPEECH[profile]``."""
        return cls.for_profile(profile, **{**REAL_SPEECH.get(profile, {}), **overrides})

    def first_stage(self) -> "ClonerConfig":
        """This configuration without its real-speech stage: the espeak-ng cloner it starts from."""
        d = self.to_dict()
        d.update({f.name: f.default for f in fields(ClonerConfig) if f.name.startswith("real_")},
                 match_spectrum=False, nearest_k=0)
        return ClonerConfig.from_dict(d)

    @classmethod
    def tiny(cls, **overrides) -> "ClonerConfig":
        """A synthesiser of a few thousand weights (milliseconds per step): for tests and the DDP check.

        16 placeholder symbols, 8-d speakers, 20 mels, 2 steps of batch 4; ``overrides`` change any field.
        """
        sizes = dict(symbols=[PAD, UNK, "_"] + [f"s{i}" for i in range(13)], encoder_embedding=16,
                     encoder_lstm=8, encoder_convs=1, speaker_dim=8, duration_channels=16, decoder_channels=32,
                     decoder_dilations=[1, 2], postnet_channels=16, postnet_layers=2, n_mels=20,
                     griffin_lim_iters=2, steps=2, batch_size=4, lr=3e-3, warmup=2)
        sizes.update(overrides)
        return cls.for_profile("quick", **sizes)

    def features(self) -> audio.FeatureConfig:
        """The :class:`audio.FeatureConfig` of the model's log-mel frames."""
        return audio.FeatureConfig(sr=self.sr, n_fft=self.n_fft, hop_length=self.hop_length, n_mels=self.n_mels,
                                   fmax=self.fmax, power=1.0, log_floor=self.log_floor, trim=None,
                                   loudness_dbfs=None)

    def text_encoder(self) -> TextEncoderConfig:
        """The notebook 06 encoder's configuration (the quick one is narrower)."""
        return TextEncoderConfig(n_symbols=max(len(self.symbols), 2), embedding_dim=self.encoder_embedding,
                                 n_convolutions=self.encoder_convs, lstm_hidden=self.encoder_lstm,
                                 dropout=self.encoder_dropout, pad_id=0)

    def to_dict(self) -> dict:
        """Plain types only: safe for ``torch.load(weights_only=True)``."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, d: dict) -> "ClonerConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def key(self) -> str:
        """A short hash of everything but the vocabulary: names the cached checkpoint. A setting added
        after checkpoints were cached (``LATER_SETTINGS``) is left out at its default, so that the
        configurations without it keep their names and their checkpoints."""
        d = self.to_dict()
        d.pop("symbols")
        for name, default in LATER_SETTINGS.items():
            if d[name] == default:
                d.pop(name)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]

    def checkpoint_path(self) -> Path:
        """Where ``VoiceCloner.trained`` keeps the checkpoint of this configuration (notebook 08)."""
        return env.cache_dir("cloning") / f"cloner_{self.profile}_{self.key()}.pt"
