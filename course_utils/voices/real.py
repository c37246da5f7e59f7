"""Real corpora through the same ``Corpus``: LibriTTS, VCTK and your own recordings (notebook 04)."""

from __future__ import annotations

import os
from pathlib import Path

from course_utils.voices.corpus import Corpus, CorpusItem


# Real corpora ---------------------------------------------------------------------------------

def _missing(name: str, root: Path, how: str) -> FileNotFoundError:
    return FileNotFoundError(f"{name} was not found under {root}. {how} Nothing is downloaded "
                             f"unless you ask: pass download=True (several GB) or download it "
                             f"yourself and point root= at the folder that contains it.")


def load_libritts(root: str | os.PathLike, subset: str = "dev-clean", download: bool = False) -> Corpus:
    """LibriTTS (24 kHz, 2456 speakers) through ``torchaudio.datasets.LIBRITTS`` (notebook 04).

    ``root`` holds ``LibriTTS/<subset>/<speaker>/<chapter>/*.wav`` (from openslr.org/60).
    ``download=False`` (default) never downloads; a missing folder raises a FileNotFoundError
    that says how to get it.  Audio is read with soundfile by :meth:`Corpus.load`.
    """
    from torchaudio.datasets import LIBRITTS

    root = Path(root)
    folder = root / "LibriTTS" / subset
    if not download and not folder.is_dir():
        raise _missing(f"LibriTTS subset {subset!r}", root,
                       f"Get it with voices.load_libritts({str(root)!r}, {subset!r}, download=True) "
                       f"or from https://www.openslr.org/60/ ({subset}.tar.gz, extracted in root).")
    dataset = LIBRITTS(str(root), url=subset, download=download)
    base = Path(dataset._path)
    items = []
    for fileid in dataset._walker:
        spk, chapter = fileid.split("_")[:2]
        rel = Path(spk) / chapter / f"{fileid}.wav"
        text_file = base / spk / chapter / f"{fileid}.normalized.txt"
        text = text_file.read_text(encoding="utf-8").strip() if text_file.exists() else ""
        items.append(CorpusItem(speaker=spk, utterance=fileid, text=text, wav=rel.as_posix(), sr=24000))
    return Corpus(root=base, items=items)


def load_vctk(root: str | os.PathLike, mic: str = "mic2", download: bool = False) -> Corpus:
    """VCTK 0.92 (110 English speakers, 48 kHz FLAC) through ``torchaudio.datasets.VCTK_092``
    (tests only: tests/test_voices.py).

    ``root`` holds ``VCTK-Corpus-0.92/`` (``txt/`` and ``wav48_silence_trimmed/``).
    ``download=False`` (default) never downloads; a missing folder raises a FileNotFoundError
    that says how to get it.
    """
    from torchaudio.datasets import VCTK_092

    root = Path(root)
    folder = root / "VCTK-Corpus-0.92"
    if not download and not folder.is_dir():
        raise _missing("VCTK 0.92", root,
                       f"Get it with voices.load_vctk({str(root)!r}, download=True) or from "
                       "https://datashare.ed.ac.uk/handle/10283/3443 (VCTK-Corpus-0.92.zip, "
                       "extracted as root/VCTK-Corpus-0.92).")
    dataset = VCTK_092(str(root), mic_id=mic, download=download)
    base = Path(dataset._path)
    items = []
    for spk, utt in dataset._sample_ids:
        rel = Path("wav48_silence_trimmed") / spk / f"{spk}_{utt}_{mic}{dataset._audio_ext}"
        text_file = Path(dataset._txt_dir) / spk / f"{spk}_{utt}.txt"
        text = text_file.read_text(encoding="utf-8").strip() if text_file.exists() else ""
        items.append(CorpusItem(speaker=spk, utterance=f"{spk}_{utt}", text=text, wav=rel.as_posix(), sr=48000))
    return Corpus(root=base, items=items)


AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


def load_recordings(folder: str | os.PathLike, speaker_name: str = "me") -> Corpus:
    """Your own recordings with transcripts (notebook 04).

    Either ``name.wav`` files each with a ``name.txt`` transcript beside it, or a
    ``metadata.csv`` with ``file|text`` or ``file,text[,speaker]`` rows (LJSpeech style ids
    without extension are accepted).  Sub-folders are read too (their name is the speaker when
    there is no speaker column).  A missing folder, no audio, or audio without transcript
    raises an error that names the files.
    """
    import csv

    import soundfile as sf

    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder: put your .wav files (and .txt transcripts "
                                "or a metadata.csv) in one folder and pass its path")
    items: list[CorpusItem] = []
    metadata = root / "metadata.csv"
    if metadata.exists():
        raw = metadata.read_text(encoding="utf-8-sig")
        delimiter = "|" if "|" in raw.splitlines()[0] else ","
        rows = [r for r in csv.reader(raw.splitlines(), delimiter=delimiter) if r and any(c.strip() for c in r)]
        if rows and rows[0][0].strip().lower() in ("file", "filename", "path", "id", "wav"):
            rows = rows[1:]
        for number, row in enumerate(rows, 1):
            if len(row) < 2 or not row[1].strip():
                raise ValueError(f"{metadata}, row {number}: expected `file{delimiter}text`, got {row!r}")
            name = row[0].strip()
            path = root / name
            if not path.suffix:
                found = [path.with_suffix(s) for s in AUDIO_SUFFIXES if path.with_suffix(s).exists()]
                found += [root / "wavs" / f"{name}{s}" for s in AUDIO_SUFFIXES if (root / "wavs" / f"{name}{s}").exists()]
                path = found[0] if found else path.with_suffix(".wav")
            if not path.exists():
                raise FileNotFoundError(f"{metadata}, row {number}: audio file {path.name} not found in {path.parent}")
            spk = row[2].strip() if len(row) > 2 and row[2].strip() else speaker_name
            items.append(_own_item(root, path, row[1].strip(), spk))
    else:
        audio = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
        if not audio:
            raise FileNotFoundError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) in {root}")
        missing = [p.name for p in audio if not p.with_suffix(".txt").exists()]
        if missing:
            raise FileNotFoundError(f"no transcript for {', '.join(missing[:5])}"
                                    f"{' ...' if len(missing) > 5 else ''}: add a same-name .txt file "
                                    f"with the words spoken, or a metadata.csv (file|text) in {root}")
        for path in audio:
            text = path.with_suffix(".txt").read_text(encoding="utf-8").strip()
            if not text:
                raise ValueError(f"{path.with_suffix('.txt')} is empty: write the words spoken in it")
            spk = path.parent.name if path.parent != root else speaker_name
            items.append(_own_item(root, path, text, spk))
    for item in items:
        try:
            info = sf.info(str(root / item.wav))
        except Exception as exc:
            raise ValueError(f"{root / item.wav} is not readable audio: {exc}") from None
        object.__setattr__(item, "sr", int(info.samplerate))
        object.__setattr__(item, "num_samples", int(info.frames))
    return Corpus(root=root, items=items)


def _own_item(root: Path, path: Path, text: str, spk: str) -> CorpusItem:
    rel = path.relative_to(root).as_posix()
    return CorpusItem(speaker=spk, utterance=path.stem, text=text, wav=rel)


# The LibriSpeech readers bundled with the course -----------------------------------------------

#: Splits of :func:`librispeech_readers`.
READER_SPLITS = ("train", "validation", "test")


def librispeech_readers(split: str = "train") -> Corpus:
    """Real LibriSpeech readers bundled in ``data/real_speech``, one recording each (notebook 09).

    ``"train"``: the readers the cloner's real-speech stage learns from; ``"validation"``: readers
    held out of training to choose its settings; ``"test"``: 20 readers held out of everything
    (``data/real_speech/librispeech``), on which the course reports. The training and
    validation items carry the words pocketsphinx recognised in them (``text``, see
    ``data/real_speech/README.md``); test items have no text.
    """
    import csv

    import soundfile as sf

    from course_utils import env

    if split not in READER_SPLITS:
        raise ValueError(f"split must be one of {READER_SPLITS}, not {split!r}")
    root = env.DATA_DIR / "real_speech" / ("librispeech" if split == "test" else "librispeech_train")
    table = root / ("speakers.csv" if split == "test" else "readers.csv")
    with open(table, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if split == "test" or r["split"] == split]
    items = [CorpusItem(speaker=f"LS{r['reader']}", utterance=Path(r["file"]).stem, text=r.get("text", ""),
                        wav=r["file"], num_samples=int(sf.info(str(root / r["file"])).frames), sr=16000)
             for r in rows]
    return Corpus(root=root, items=items)


def reader_parts(split: str = "test", references: int = 4) -> tuple[dict, dict]:
    """``({reader: references}, {reader: own})`` for the readers of a split whose recording lasts 10 s or
    more (all 20 test readers do): each recording cut at its pauses into 6 parts
    (``audio.split_at_pauses``), the first ``references`` parts to clone from and the rest the
    reader's own recordings a clone is compared with, each a ``(wav, sr)`` pair (notebook 09).
    """
    from course_utils import audio

    corpus = librispeech_readers(split)
    refs, own = {}, {}
    for i, item in enumerate(corpus.items):
        wav, sr = corpus.load(i)
        if len(wav) >= 10 * sr:
            parts = [(p, sr) for p in audio.split_at_pauses(wav, sr)]
            refs[item.speaker], own[item.speaker] = parts[:references], parts[references:]
    return refs, own
