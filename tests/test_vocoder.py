"""Tests of course_utils.vocoder: mel pseudo-inverse and Griffin-Lim with momentum (notebook 08)."""

import numpy as np
import pytest
import torch

from course_utils import audio, vocoder

CFG = audio.FeatureConfig(sr=16000, n_fft=1024, hop_length=256, n_mels=80, fmax=8000.0, power=1.0,
                          trim=None, loudness_dbfs=None)


def _voiced(seconds: float = 1.0, f0: float = 140.0, sr: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))) / sr
    wav = sum(np.sin(k * phase) / k for k in range(1, 20)) * np.hanning(t.size)
    return (0.3 * wav / np.abs(wav).max()).astype(np.float32)


def test_pseudo_inverse_shape_and_least_squares():
    inv = vocoder.mel_pseudo_inverse(CFG)
    fb = audio.mel_filterbank(CFG)
    assert inv.shape == (CFG.n_freqs, CFG.n_mels)
    # M M+ M = M (Moore-Penrose)
    assert torch.allclose(fb @ inv @ fb, fb, atol=1e-4)


def test_mel_to_linear_is_non_negative_and_reproduces_the_mel():
    wav = _voiced()
    log_mel = torch.from_numpy(audio.log_mel(wav, CFG))
    linear = vocoder.mel_to_linear(log_mel, CFG)
    assert linear.shape == (CFG.n_freqs, log_mel.shape[1])
    assert float(linear.min()) >= 0.0
    again = torch.log(torch.clamp(audio.mel_filterbank(CFG) @ linear, min=CFG.log_floor))
    voiced = log_mel > np.log(1e-3)
    assert float((again - log_mel)[voiced].abs().median()) < 0.3


def test_griffin_lim_rebuilds_the_magnitude_and_momentum_helps():
    wav = _voiced()
    magnitude = torch.from_numpy(audio.spectrogram(wav, CFG))
    fast = vocoder.GriffinLimVocoder(CFG, n_iter=16, momentum=0.99, sharpen=1.0)
    plain = vocoder.GriffinLimVocoder(CFG, n_iter=16, momentum=0.0, sharpen=1.0)
    sc_fast = vocoder.spectral_convergence(fast.griffin_lim(magnitude, len(wav)).numpy(), magnitude, CFG)
    sc_plain = vocoder.spectral_convergence(plain.griffin_lim(magnitude, len(wav)).numpy(), magnitude, CFG)
    assert sc_fast < 0.35, sc_fast
    assert sc_fast < sc_plain, (sc_fast, sc_plain)


def test_vocoder_output_is_float32_bounded_and_deterministic():
    log_mel = audio.log_mel(_voiced(0.5), CFG)
    voc = vocoder.GriffinLimVocoder(CFG, n_iter=4)
    a, b = voc(log_mel), voc(torch.from_numpy(log_mel))
    assert a.dtype == np.float32 and a.ndim == 1
    assert np.abs(a).max() <= 0.95 + 1e-6
    assert np.array_equal(a, b)
    assert len(voc(log_mel, n_samples=8000)) == 8000
    assert np.array_equal(voc.from_magnitude(voc.magnitude(log_mel)), a)     # __call__ = mel inversion + this


def test_vocoder_rejects_bad_input():
    voc = vocoder.GriffinLimVocoder(CFG, n_iter=2)
    with pytest.raises(ValueError, match="n_mels=80"):
        voc(np.zeros((10, 80), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        voc(np.full((80, 10), np.nan, np.float32))
    with pytest.raises(ValueError, match="n_fft // 2 \\+ 1"):
        voc.from_magnitude(np.ones((80, 10), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        voc.from_magnitude(np.full((CFG.n_fft // 2 + 1, 10), np.inf, np.float32))
    with pytest.raises(ValueError, match="n_iter"):
        vocoder.GriffinLimVocoder(CFG, n_iter=0)
    with pytest.raises(ValueError, match="momentum"):
        vocoder.GriffinLimVocoder(CFG, momentum=1.0)


def test_torchaudio_transform_agrees_in_quality():
    wav = _voiced()
    magnitude = torch.from_numpy(audio.spectrogram(wav, CFG))
    out = vocoder.torchaudio_griffin_lim(magnitude, CFG, n_iter=16)
    assert vocoder.spectral_convergence(out.numpy(), magnitude, CFG) < 0.35


def test_vocoder_handles_very_short_input():
    voc = vocoder.GriffinLimVocoder(CFG, n_iter=2)
    for frames in (1, 2, 4):
        wav = voc(np.full((80, frames), -5.0, np.float32))
        assert wav.dtype == np.float32 and len(wav) == frames * CFG.hop_length
