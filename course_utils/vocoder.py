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

from course_utils import audio


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
    Deterministic: the initial phase is zero.  The cloner's vocoder (used by cloning.cloner.VoiceCloner).
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
        log_mel = torch.as_tensor(np.asarray(log_mel) if not torch.is_tensor(log_mel) else log_mel,
                                  dtype=torch.float32).detach().cpu()
        if log_mel.dim() != 2 or log_mel.shape[0] != self.config.n_mels:
            raise ValueError(f"log_mel must be (n_mels={self.config.n_mels}, frames), got shape "
                             f"{tuple(log_mel.shape)}; transpose a (frames, n_mels) array with .T")
        if not torch.isfinite(log_mel).all():
            raise ValueError("log_mel contains NaN or infinite values")
        return mel_to_linear(log_mel, self.config, self._inverse)

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
