"""Safeguards for voice cloning: explicit consent and an inaudible, keyed watermark.

Introduced in ``11_ethics_safety_and_applications.ipynb``. The command line refuses to clone
without consent, and the cloner watermarks everything it synthesises::

    record = safety.require_consent("I, Ada Lovelace, consent to cloning my voice for the "
                                    "course demo on 2026-11-25")
    marked = safety.embed_watermark(wav, sr)            # same length, float32, >= 30 dB below wav
    found, score = safety.detect_watermark(marked, sr)  # (True, z-score well above threshold)

How the watermark works (spread spectrum in the time-frequency plane):

* The audio is resampled to 16 kHz (the mark is added back at the original rate), cut into
  20 ms frames every 10 ms (sqrt-Hann windows, so analysis followed by synthesis gives the
  signal back exactly) and its spectrum into ``BAND_HZ`` bands between ``LOW_HZ`` and
  ``HIGH_HZ`` (below 7 kHz, so it survives resampling to 16 kHz). The grid is in seconds and
  hertz, so a mark made at 48 kHz is found in a 16 kHz copy.
* The key seeds a random +-1 pattern over (frame, band) tiles. Embedding scales each tile's
  spectrum by ``1 + alpha * pattern``: the mark is the signal's own sound, slightly louder or
  softer (at most ``MAX_ALPHA``, about 1.6 dB), so it follows the envelope and is masked by
  it, and there is none in silence. Quieter tiles get a relatively larger ``alpha``
  (``SHAPING``); the overall scale puts the mark's energy ``WSR_DB`` below the signal's.
* Detection needs the key but not the original: it takes the log energy of every tile,
  removes the slowly varying speech envelope with a local high-pass, and correlates the rest
  with the key's pattern. The correlation is linear in the +-1 pattern, so for audio without
  this key's mark it is a sum of many independent random signs: its z-score is close to a
  standard normal whatever the audio, and ``THRESHOLD`` fixes the false-alarm rate.
* The pattern is tied to the time grid: audio trimmed at the start (10 ms is enough) loses the
  mark unless ``detect_watermark(..., search_s=...)`` tries every alignment, which raises the
  bar for the best of many tries so that false alarms stay as rare.

Limits worth discussing in the notebook (measured on espeak speech): a one-semitone pitch shift
removes the mark; a 5 % phase-vocoder time stretch (``librosa.effects.time_stretch``) kept it
in 4 of 4 clips in notebook 11 (a small sample); re-synthesis from an 80-band mel spectrogram (what
a vocoder sees) mostly removes it, while Griffin-Lim from the full STFT magnitude keeps it;
noise at 10 dB SNR is found only about two times in three; lossy codecs were not measured.
A watermark shows where audio came from when nobody tried hard to remove it; it proves nothing
when it is absent.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from dataclasses import asdict, dataclass

from math import gcd
from pathlib import Path

import numpy as np
from scipy.signal import convolve2d, resample_poly

#: Key of the course's cloner output (``cloning.VoiceCloner.synthesize`` marks with it).
DEFAULT_KEY = "cloning-in-python"
#: Watermark energy this many dB below the signal's (the issue asks for at least 30).
WSR_DB = 31.0
#: The mark is made and looked for at 16 kHz (other rates are resampled exactly, polyphase).
WORK_SR = 16000
#: Frame hop in seconds (the window is two hops, 20 ms, with 50 % overlap).
HOP_S = 0.01
#: Watermarked band and tile width, in Hz: below 16 kHz audio's Nyquist frequency.
LOW_HZ, HIGH_HZ, BAND_HZ = 200.0, 7000.0, 100.0
#: Detection threshold on the z-score (a standard normal exceeds it 3 times in 100 000).
THRESHOLD = 4.0
#: Shortest clip that can carry (and be tested for) a mark, in seconds.
MIN_SECONDS = 0.5
#: Lowest sample rate: the band must fit below Nyquist.
MIN_SR = 16000
#: Largest change of a tile's amplitude (+-20 %, about 1.6 dB).
MAX_ALPHA = 0.2
#: How much more (relative) mark quiet tiles get: gain ~ (tile energy)^-SHAPING.
SHAPING = 0.35


# --------------------------------------------------------------------------- consent


class ConsentError(Exception):
    """Cloning was refused: no consent, or consent that does not say who, when and for what
    (notebook 11). The message says what is missing and how to give consent."""


@dataclass(frozen=True)
class ConsentRecord:
    """Who gave permission (``granted_by``) to clone whose voice (``speaker``), on which date
    (ISO ``YYYY-MM-DD``) and for what purpose; ``source`` says where it came from (notebook 11)."""

    speaker: str
    granted_by: str
    date: str
    purpose: str
    statement: str = ""
    source: str = ""

    def to_dict(self) -> dict:
        """The record as a plain dict (to store next to the audio it allowed)."""
        return asdict(self)

    def describe(self) -> str:
        """One line: who allowed what, when."""
        who = self.speaker if self.speaker == self.granted_by else f"{self.speaker} (granted by {self.granted_by})"
        return f"consent of {who} on {self.date} for: {self.purpose}"


HOW_TO_CONSENT = (
    'Pass --consent "I, <name>, consent to <what, e.g. cloning my voice for the course demo> on '
    '<date, e.g. 2026-11-25>" (the speaker\'s own words), or --consent-file PATH: a JSON object or '
    '"key: value" lines with the fields speaker, granted_by, date and purpose. '
    "Notebook 11 explains why."
)

_FIELDS = ("speaker", "granted_by", "date", "purpose")
_TRIVIAL = {"", "y", "yes", "ok", "okay", "sure", "true", "1", "i consent", "consent", "agree",
            "i agree", "yes i consent", "granted", "fine", "...", "-", "n/a", "na", "none", "x"}
_PLACEHOLDER = re.compile(r"<\s*(name|date|purpose|what|who|speaker|your)\b[^>]*>|\.\.\.|…", re.IGNORECASE)
_DATE_FORMATS = ("%Y-%m-%d", "%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y", "%d/%m/%Y",
                 "%Y/%m/%d", "%d.%m.%Y")
_STATEMENT = re.compile(
    r"^\s*i\s*,?\s+(?P<name>[^,]+?)\s*,\s*(?:hereby\s+)?(?:give\s+(?:my\s+)?consent|consent)\s+"
    r"(?:to|for)\s+(?P<purpose>.+)\s*,?\s+on\s+(?P<date>.+?)\s*[.!]?\s*$",
    re.IGNORECASE | re.DOTALL)


def _refuse(why: str) -> ConsentError:
    return ConsentError(f"Refusing to clone a voice: {why}. {HOW_TO_CONSENT}")


def _parse_date(text: str, what: str) -> str:
    cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", str(text).strip().rstrip(".")).replace(",", " ")
    cleaned = " ".join(cleaned.split())
    for fmt in _DATE_FORMATS:
        try:
            day = _dt.datetime.strptime(cleaned, fmt).date()
            break
        except ValueError:
            continue
    else:
        raise _refuse(f"{what} has no readable date ({text!r}); write it like 2026-11-25")
    if day > _dt.date.today() + _dt.timedelta(days=1):
        raise _refuse(f"{what} is dated {day.isoformat()}, in the future: consent must already be given")
    return day.isoformat()


def _check_text(value: object, field: str, what: str, min_words: int = 1) -> str:
    if not isinstance(value, str):
        raise _refuse(f"{what}: field {field!r} must be text, got {type(value).__name__}")
    text = " ".join(value.split())
    if (text.lower().strip(" .!") in _TRIVIAL or _PLACEHOLDER.search(text)
            or len(text.split()) < min_words or not re.search(r"[A-Za-z]", text)):
        raise _refuse(f"{what}: {field} {value!r} is empty, a placeholder or too vague")
    return text


def _from_statement(statement: str) -> ConsentRecord:
    if not isinstance(statement, str):
        raise _refuse(f"the consent statement must be text, got {type(statement).__name__}")
    text = " ".join(statement.split())
    if text.lower().strip(" .!") in _TRIVIAL or len(text.split()) < 5:
        raise _refuse(f"the consent statement {statement!r} is empty or trivial: it must say who "
                      "consents, to what, and when")
    match = _STATEMENT.match(text)
    if not match:
        raise _refuse(f"the consent statement {statement!r} does not have the form "
                      "\"I, <name>, consent to <purpose> on <date>\"")
    name = _check_text(match["name"], "name", "the consent statement")
    purpose = _check_text(match["purpose"], "purpose", "the consent statement", min_words=2)
    date = _parse_date(match["date"], "the consent statement")
    return ConsentRecord(speaker=name, granted_by=name, date=date, purpose=purpose,
                         statement=text, source="--consent")


def _read_fields(path: Path) -> dict:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _refuse(f"the consent file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _refuse(f"the consent file {str(path)!r} cannot be read ({exc})") from None
    if raw.lstrip().startswith("{"):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise _refuse(f"the consent file {str(path)!r} is not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise _refuse(f"the consent file {str(path)!r} must hold a JSON object")
        return {str(k).strip().lower().replace("-", "_").replace(" ", "_"): v for k, v in data.items()}
    fields = {}
    for line in raw.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise _refuse(f"the consent file {str(path)!r} has a line that is not 'key: value': {line!r}")
        fields[key.strip().lower().replace("-", "_").replace(" ", "_")] = value.strip()
    return fields


def _from_file(consent_file: str | Path) -> ConsentRecord:
    path = Path(consent_file).expanduser()
    fields = _read_fields(path)
    what = f"the consent file {path.name!r}"
    missing = [f for f in _FIELDS if f not in fields]
    if missing:
        raise _refuse(f"{what} lacks the field(s) {', '.join(missing)}")
    speaker = _check_text(fields["speaker"], "speaker", what)
    granted_by = _check_text(fields["granted_by"], "granted_by", what)
    purpose = _check_text(fields["purpose"], "purpose", what, min_words=2)
    date = _parse_date(fields["date"], what)
    if fields.get("expires"):
        expires = _dt.date.fromisoformat(_parse_date_any(fields["expires"], what))
        if expires < _dt.date.today():
            raise _refuse(f"{what} expired on {expires.isoformat()}")
    statement = fields.get("statement", "")
    return ConsentRecord(speaker=speaker, granted_by=granted_by, date=date, purpose=purpose,
                         statement=statement if isinstance(statement, str) else "", source=str(path))


def _parse_date_any(text: str, what: str) -> str:
    """Like ``_parse_date`` but future dates are allowed (expiry dates)."""
    cleaned = " ".join(re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", str(text).strip().rstrip(".")).replace(",", " ").split())
    for fmt in _DATE_FORMATS:
        try:
            return _dt.datetime.strptime(cleaned, fmt).date().isoformat()
        except ValueError:
            continue
    raise _refuse(f"{what} has an unreadable expiry date ({text!r}); write it like 2027-11-25")


def require_consent(consent: str | None = None, consent_file: str | Path | None = None) -> ConsentRecord:
    """Return the :class:`ConsentRecord` that allows cloning, or raise :class:`ConsentError`.

    ``consent`` is a statement such as ``"I, Ada Lovelace, consent to cloning my voice for the
    course demo on 2026-11-25"``; ``consent_file`` a JSON or ``key: value`` file with the fields
    ``speaker``, ``granted_by``, ``date`` and ``purpose`` (optional ``expires``, ``statement``).
    Nothing, a trivial statement ("yes"), a placeholder or an invalid file is refused with a
    message that says why and how. When both are given, both must be valid; the file's record
    is returned with the statement attached. Notebook 11.
    """
    if consent_file is not None and str(consent_file).strip() == "":
        consent_file = None
    if consent is None and consent_file is None:
        raise _refuse("no consent was given")
    from_statement = _from_statement(consent) if consent is not None else None
    if consent_file is None:
        return from_statement
    record = _from_file(consent_file)
    if from_statement is not None:
        record = ConsentRecord(**{**record.to_dict(), "statement": from_statement.statement})
    return record


# --------------------------------------------------------------------------- watermark


def _check_audio(wav: object, sr: object, what: str) -> tuple[np.ndarray, int]:
    if (isinstance(sr, bool) or not isinstance(sr, (int, np.integer, float, np.floating))
            or not np.isfinite(sr) or sr != int(sr) or int(sr) < MIN_SR or int(sr) > 384_000):
        raise ValueError(f"{what}: sample rate must be a whole number of Hz from {MIN_SR} to 384000 "
                         f"(the watermark band reaches {HIGH_HZ:.0f} Hz), got {sr!r}")
    sr = int(sr)
    if not isinstance(wav, np.ndarray):
        try:
            wav = np.asarray(wav)
        except Exception as exc:
            raise ValueError(f"{what}: wav must be a 1-D float array, got {type(wav).__name__}") from exc
    if wav.ndim != 1:
        raise ValueError(f"{what}: wav must be mono (1-D), got shape {wav.shape}; "
                         "mix channels down first, e.g. wav.mean(axis=1) for (samples, channels)")
    if wav.size == 0:
        raise ValueError(f"{what}: wav is empty")
    if not np.issubdtype(wav.dtype, np.floating):
        raise ValueError(f"{what}: wav must hold floats in [-1, 1], got dtype {wav.dtype}; "
                         "convert 16-bit PCM with wav.astype(np.float32) / 32768")
    if not np.all(np.isfinite(wav)):
        raise ValueError(f"{what}: wav contains NaN or infinite values")
    if wav.size < MIN_SECONDS * sr:
        raise ValueError(f"{what}: {wav.size / sr:.2f} s is too short to carry a watermark; "
                         f"give at least {MIN_SECONDS:g} s")
    return wav.astype(np.float32, copy=False), sr


def _key_seed(key: int | str) -> int:
    if isinstance(key, bool) or not isinstance(key, (int, np.integer, str)):
        raise ValueError(f"key must be an int or a str, got {type(key).__name__}")
    digest = hashlib.sha256(f"{type(key).__name__}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def _pattern(key: int | str, n_frames: int, n_bands: int) -> np.ndarray:
    """+-1 pattern of shape (frames, bands); a prefix of a longer one for the same key."""
    rng = np.random.default_rng(_key_seed(key))
    return np.where(rng.random((n_frames, n_bands)) < 0.5, -1.0, 1.0)


def _to_work(x: np.ndarray, sr: int) -> np.ndarray:
    """Resample to the working rate (exact polyphase ratio; the mark lives below 7 kHz)."""
    if sr == WORK_SR:
        return x
    g = gcd(sr, WORK_SR)
    return resample_poly(x, WORK_SR // g, sr // g)


def _from_work(x: np.ndarray, sr: int, length: int) -> np.ndarray:
    if sr == WORK_SR:
        return x[:length]
    g = gcd(sr, WORK_SR)
    y = resample_poly(x, sr // g, WORK_SR // g)
    return np.pad(y, (0, max(0, length - y.size)))[:length]


_HOP = int(round(HOP_S * WORK_SR))
_BIN_HZ = WORK_SR / (2 * _HOP)
_BAND = np.floor((np.arange(_HOP + 1) * _BIN_HZ - LOW_HZ) / BAND_HZ).astype(int)
_BAND[(np.arange(_HOP + 1) * _BIN_HZ < LOW_HZ) | (np.arange(_HOP + 1) * _BIN_HZ >= HIGH_HZ)] = -1
_INSIDE = _BAND >= 0
N_BANDS = int(_BAND.max()) + 1
_WINDOW = np.sqrt(0.5 - 0.5 * np.cos(np.pi * np.arange(2 * _HOP) / _HOP))  # periodic sqrt-Hann


def _stft(x: np.ndarray) -> np.ndarray:
    """Spectra (frames, bins) of x padded by one hop on each side; frame t starts at (t-1)*hop."""
    n_frames = -(-x.size // _HOP) + 1
    padded = np.zeros((n_frames + 1) * _HOP)
    padded[_HOP:_HOP + x.size] = x
    frames = np.lib.stride_tricks.sliding_window_view(padded, 2 * _HOP)[::_HOP][:n_frames]
    return np.fft.rfft(frames * _WINDOW, axis=1)


def _istft(spec: np.ndarray, length: int) -> np.ndarray:
    """Inverse of :func:`_stft` (sqrt-Hann at 50 % overlap reconstructs exactly)."""
    frames = np.fft.irfft(spec, n=2 * _HOP, axis=1) * _WINDOW
    out = np.zeros((spec.shape[0] + 1) * _HOP)
    out[:spec.shape[0] * _HOP] += frames[:, :_HOP].reshape(-1)
    out[_HOP:] += frames[:, _HOP:].reshape(-1)
    return out[_HOP:_HOP + length]


def _tile_energy(spec: np.ndarray) -> np.ndarray:
    """Energy of every (frame, band) tile."""
    energy = np.zeros((spec.shape[0], N_BANDS))
    np.add.at(energy.T, _BAND[_INSIDE], (np.abs(spec[:, _INSIDE]) ** 2).T)
    return energy


def embed_watermark(wav: np.ndarray, sr: int, key: int | str = DEFAULT_KEY) -> np.ndarray:
    """Return ``wav`` with an inaudible watermark for ``key`` (float32, same length; notebook 11).

    The mark is at least ``WSR_DB`` dB below the signal, changes no tile by more than
    ``MAX_ALPHA`` of its amplitude, follows the signal's envelope between ``LOW_HZ`` and
    ``HIGH_HZ`` and is deterministic: the same audio and key give the same output. Raises
    ``ValueError`` on empty, non-finite, stereo or integer audio, on clips shorter than
    ``MIN_SECONDS`` and on audio that is silent in the watermark band.
    """
    x, sr = _check_audio(wav, sr, "embed_watermark")
    x64 = x.astype(np.float64)
    work = _to_work(x64, sr)
    spec = _stft(work)
    energy = _tile_energy(spec)
    signal_energy = float(np.sum(x64 ** 2))
    if signal_energy <= 0 or not np.any(energy > 1e-12 * signal_energy):
        raise ValueError("embed_watermark: the audio is silent between "
                         f"{LOW_HZ:.0f} and {HIGH_HZ:.0f} Hz, so there is nothing to carry a watermark")
    ref = float(np.percentile(energy[energy > 0], 90))
    shaping = (np.maximum(energy, 1e-12 * ref) / ref) ** -SHAPING   # quieter tiles: relatively more
    signs = _pattern(key, spec.shape[0], N_BANDS)
    target = 10 ** (-WSR_DB / 20) * np.sqrt(signal_energy)
    rate_ratio = np.sqrt(sr / WORK_SR)      # a band-limited signal's energy grows with the rate
    scale, gains = 0.01, np.zeros(spec.shape)
    for _ in range(4):   # scale to the WSR target; tiles that would exceed MAX_ALPHA are capped
        gains[:, _INSIDE] = (signs * np.minimum(scale * shaping, MAX_ALPHA))[:, _BAND[_INSIDE]]
        norm = float(np.sqrt(np.sum(_istft(spec * gains, work.size) ** 2))) * rate_ratio
        if norm == 0.0:
            raise ValueError("embed_watermark: the audio is silent between "
                             f"{LOW_HZ:.0f} and {HIGH_HZ:.0f} Hz, so there is nothing to carry a watermark")
        scale *= target / norm
    mark = _from_work(_istft(spec * gains, work.size), sr, x.size)
    norm = float(np.sqrt(np.sum(mark ** 2)))
    if norm > target:
        mark *= target / norm                # never louder than the target
    return (x64 + mark).astype(np.float32)


_HIGHPASS = np.array([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]]) / 4.0


def _evidence(work: np.ndarray) -> np.ndarray:
    """Per-tile evidence g: the score for a pattern p is <p, g> / ||g|| (16 kHz audio in)."""
    energy = _tile_energy(_stft(work))
    log_e = np.log(energy + 1e-12 + 1e-9 * float(energy.max()))
    residual = convolve2d(log_e, _HIGHPASS, mode="same")          # remove the speech envelope
    weight = np.clip(log_e - np.percentile(log_e, 10), 0.0, 3.0)  # silence carries no mark
    # <H(pattern), weight * H(log_e)> = <pattern, H(weight * H(log_e))> because the
    # zero-padded high-pass H is symmetric; with random +-1 signs its variance is ||g||^2.
    return convolve2d(weight * residual, _HIGHPASS, mode="same")


def _aligned_scores(g: np.ndarray, key: int | str, max_shift: int) -> np.ndarray:
    """z-scores of the pattern shifted by -max_shift..max_shift frames against g."""
    n_frames = g.shape[0]
    pattern = _pattern(key, n_frames + max_shift, g.shape[1])
    row_energy = np.concatenate([[0.0], np.cumsum(np.sum(g ** 2, axis=1)[::-1])])[::-1]
    scores = []
    for shift in range(-max_shift, max_shift + 1):   # frame t of the audio is frame t+shift of the mark
        first = max(0, -shift)
        if first >= n_frames:
            scores.append(0.0)
            continue
        norm = np.sqrt(row_energy[first])
        dot = float(np.sum(pattern[first + shift:n_frames + shift] * g[first:]))
        scores.append(dot / norm if norm > 0 else 0.0)
    return np.asarray(scores)


def detect_watermark(wav: np.ndarray, sr: int, key: int | str = DEFAULT_KEY, *,
                     search_s: float = 0.0) -> tuple[bool, float]:
    """Look for ``key``'s watermark: ``(detected, score)`` (notebook 11).

    ``score`` is a z-score: about standard normal for audio without this key's mark (clean
    audio, or marked with another key), large and positive for marked audio; ``detected`` is
    ``score > THRESHOLD``. Silent audio gives ``(False, 0.0)``. Raises ``ValueError`` on the
    same bad input as :func:`embed_watermark`.

    The mark is looked for where it was put: cutting 10 ms off the start loses it. With
    ``search_s > 0`` every alignment up to that many seconds either way is tried (in steps of
    a quarter of a 10 ms frame) and the best z is corrected for the number of tries, so the
    false-alarm rate stays the same and the same ``THRESHOLD`` applies; the price is that a
    weak mark (short or noisy clip) needs a higher raw z to be found.
    """
    x, sr = _check_audio(wav, sr, "detect_watermark")
    if isinstance(search_s, bool) or not isinstance(search_s, (int, float)) or not 0 <= search_s <= 60:
        raise ValueError(f"search_s must be a number of seconds between 0 and 60, got {search_s!r}")
    if not np.any(x):
        return False, 0.0
    work = _to_work(x.astype(np.float64), sr)
    if search_s == 0:
        g = _evidence(work)
        norm = float(np.sqrt(np.sum(g ** 2)))
        score = float(np.sum(_pattern(key, *g.shape) * g) / norm) if norm > 0 else 0.0
        return bool(score > THRESHOLD), score
    max_shift = int(round(search_s / HOP_S))
    offsets = [o * _HOP // 4 for o in range(4)]
    best = max(float(_aligned_scores(_evidence(np.concatenate([np.zeros(o), work])), key, max_shift).max())
               for o in offsets)
    tries = len(offsets) * (2 * max_shift + 1)
    score = _bonferroni_z(best, tries)
    return bool(score > THRESHOLD), score


def _bonferroni_z(z: float, tries: int) -> float:
    """The z-score whose tail probability equals ``tries`` times that of ``z`` (at least 0)."""
    from scipy.stats import norm

    log_p = np.log(tries) + norm.logsf(z)
    if log_p >= np.log(0.5):
        return 0.0
    if log_p > -700:
        return float(norm.isf(np.exp(log_p)))
    return float(np.sqrt(max(z * z - 2 * np.log(tries), 0.0)))   # far tail: Gaussian asymptotics


def watermark_to_signal_db(original: np.ndarray, marked: np.ndarray) -> float:
    """Watermark-to-signal ratio in dB, reported positive: how far ``marked - original`` lies
    below ``original`` (notebook 11; the course asks for at least 30 dB)."""
    a, b = np.asarray(original, np.float64), np.asarray(marked, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"original and marked must have the same shape, got {a.shape} and {b.shape}")
    diff = float(np.sum((b - a) ** 2))
    return float("inf") if diff == 0 else 10 * np.log10(float(np.sum(a ** 2)) / diff)


def robustness_attacks(wav: np.ndarray, sr: int, seed: int = 0) -> dict[str, np.ndarray]:
    """The everyday changes a watermark must survive, applied to ``wav`` (notebook 11).

    Returns float32 arrays of the same length: ``"none"``, ``"resample 16 kHz"`` (down and back
    up, polyphase with a Kaiser window), ``"noise 20 dB SNR"`` (white, seeded), ``"low-pass 5 kHz"``
    (4th-order Butterworth, causal), ``"FIR 3 taps"`` ([0.25, 0.5, 0.25], a one-sample delay),
    ``"gain -6 dB"`` and ``"16-bit PCM"`` (what saving to a WAV file does).
    """
    from scipy.signal import butter, sosfilt

    x, sr = _check_audio(wav, sr, "robustness_attacks")
    x64 = x.astype(np.float64)
    noise = np.random.default_rng(seed).standard_normal(x.size)
    noise *= np.sqrt(np.mean(x64 ** 2) / np.mean(noise ** 2)) * 10 ** (-20 / 20)
    g = gcd(sr, 16000)   # a sharper anti-aliasing filter than the detector's own resampler
    down = resample_poly(x64, 16000 // g, sr // g, window=("kaiser", 8.6))
    back = resample_poly(down, sr // g, 16000 // g, window=("kaiser", 8.6))
    out = {
        "none": x64,
        "resample 16 kHz": np.pad(back, (0, max(0, x.size - back.size)))[:x.size],
        "noise 20 dB SNR": x64 + noise,
        "low-pass 5 kHz": sosfilt(butter(4, 5000, fs=sr, output="sos"), x64),
        "FIR 3 taps": np.convolve(x64, [0.25, 0.5, 0.25])[:x.size],
        "gain -6 dB": x64 * 0.5,
        "16-bit PCM": np.round(np.clip(x64, -1, 1) * 32767) / 32767,
    }
    return {name: np.asarray(y, dtype=np.float32) for name, y in out.items()}
