"""Automatic MOS: DNSMOS P.835, from the ONNX models in the speechmos wheel (notebook 10)."""

from __future__ import annotations

from functools import lru_cache as _lru_cache
from pathlib import Path as _Path

import numpy as np

from course_utils.metrics.spectral import _wav_and_rate


# ------------------------------------------------------------------------------ automatic MOS

DNSMOS_SR = 16_000


@_lru_cache(maxsize=1)
def _dnsmos_model():
    """speechmos's DNSMOS with the ONNX files of the wheel (local files only, nothing downloaded)."""
    import importlib.util

    spec = importlib.util.find_spec("speechmos")
    if spec is None or spec.origin is None:
        raise ImportError("speechmos is not installed: `pip install speechmos` (DNSMOS models inside)")
    folder = _Path(spec.origin).parent / "dnsmos_models"
    primary, p808 = folder / "sig_bak_ovr.onnx", folder / "model_v8.onnx"
    for path in (primary, p808):
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing from the speechmos installation; reinstall it")
    from speechmos.dnsmos import DNSMOS

    return DNSMOS(str(primary), str(p808))


def dnsmos(wav, sr: int | None = None) -> dict:
    """Automatic MOS with Microsoft's DNSMOS (P.835 and P.808 heads), offline (notebook 10).

    ``wav`` is a 1-D array at ``sr``, or a ``(wav, sr)`` pair; it is resampled to 16 kHz
    (``audio.resample``) and clipped to [-1, 1]. The ONNX models ship inside the ``speechmos``
    wheel and run with onnxruntime; nothing is downloaded. Clips shorter than 9.01 s are
    repeated to that length (as DNSMOS does); longer ones are scored in 9 s windows, 1 s apart,
    and averaged. Returns ``{"ovrl", "sig", "bak", "p808"}``, each a MOS on the 1..5 scale
    (overall, speech signal, background noise, P.808 overall). DNSMOS was trained on noisy
    recorded speech: on synthetic speech it is a proxy out of its domain, not a listening test.
    """
    from course_utils import audio

    wav, sr = _wav_and_rate(wav, sr, "wav")
    if float(np.max(np.abs(wav))) < audio.SILENCE_PEAK:
        raise ValueError("wav: silent (peak below -60 dBFS): DNSMOS needs speech")
    wav16 = np.clip(audio.resample(wav, sr, DNSMOS_SR), -1.0, 1.0).astype(np.float32)
    out = _dnsmos_model()(wav16, DNSMOS_SR, False)
    return {key: float(out[f"{key}_mos"]) for key in ("ovrl", "sig", "bak", "p808")}


