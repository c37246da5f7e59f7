"""Real speech for training and cloning (issue 14, notebook 09): the bundled LibriSpeech readers and
their splits, cutting a recording at its pauses, statistics matching, the real-speech stage's
configuration and its examples. Notebook 09 trains the real-speech cloner end to end."""

import copy

import numpy as np
import pytest
import torch

from course_utils import audio, cloning, speaker, voices


@pytest.fixture(scope="module")
def splits():
    return {split: voices.librispeech_readers(split) for split in voices.READER_SPLITS}


def test_reader_splits_are_disjoint_and_complete(splits):
    readers = {split: {item.speaker for item in corpus} for split, corpus in splits.items()}
    assert {split: len(r) for split, r in readers.items()} == {"train": 211, "validation": 20, "test": 20}
    assert not readers["train"] & readers["validation"] and not readers["train"] & readers["test"]
    assert not readers["validation"] & readers["test"]
    assert all(item.text.strip() for item in splits["train"])            # recognised words for training
    wav, sr = splits["train"].load(0)
    assert sr == 16000 and len(wav) == splits["train"].items[0].num_samples
    with pytest.raises(ValueError, match="split must be one of"):
        voices.librispeech_readers("dev")


def test_split_at_pauses_cuts_in_the_silences():
    sr = 16000
    burst = (0.3 * np.sin(np.arange(sr) * 2 * np.pi * 220 / sr)).astype(np.float32)
    gap = np.zeros(sr // 2, np.float32)
    wav = np.concatenate([burst, gap, burst, gap, burst])               # 4 s: sound, pause, sound, ...
    parts = audio.split_at_pauses(wav, sr, n=3)
    assert len(parts) == 3 and np.array_equal(np.concatenate(parts), wav)
    for part in parts[1:]:
        assert np.abs(part[:800]).max() == 0.0                         # each cut lands in a pause


def test_reader_parts_are_references_and_own_recordings_of_each_reader(splits):
    refs, own = voices.reader_parts("test")
    assert list(refs) == list(own) == [item.speaker for item in splits["test"]]     # all 20 last 10 s or more
    first = splits["test"].items[0].speaker
    assert len(refs[first]) == 4 and len(own[first]) == 2
    wav, sr = splits["test"].load(0)
    assert np.array_equal(np.concatenate([p for p, _ in refs[first] + own[first]]), wav)
    assert {part_sr for parts in refs.values() for _, part_sr in parts} == {sr}


def test_match_statistics_gives_the_references_spectrum():
    rng = np.random.default_rng(0)
    predicted = rng.normal(-4.0, 0.5, (20, 200)).astype(np.float32)
    mean = np.linspace(-6, -2, 20).astype(np.float32)
    std = np.full(20, 0.8, np.float32)
    out = cloning.match_statistics(predicted, mean, std)
    got_mean, got_std = cloning.speech_statistics(out)
    np.testing.assert_allclose(got_mean, mean, atol=0.05)
    np.testing.assert_allclose(got_std, std, rtol=0.05)
    own_mean, own_std = cloning.speech_statistics(predicted)
    np.testing.assert_allclose(cloning.match_statistics(predicted, own_mean, own_std), predicted, atol=1e-5)
    wide = cloning.match_statistics(predicted, mean, np.full(20, 50.0, np.float32))   # spread ratio is clipped
    assert cloning.speech_statistics(wide)[1].max() <= 2.0 * own_std.max() * 1.05


def test_the_real_speech_stage_starts_from_the_espeak_cloner():
    real = cloning.ClonerConfig.with_real_speech("quick", seed=3)
    plain = cloning.ClonerConfig.for_profile("quick", seed=3)
    assert real.real_steps > 0 and real.match_spectrum and not plain.real_steps and not plain.match_spectrum
    assert real.nearest_k == 2 and plain.nearest_k == 0
    assert real.first_stage().key() == plain.key() and real.key() != plain.key()


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return cloning.VoiceCloner(cloning.AcousticModel(cloning.ClonerConfig.tiny(speaker_dim=256, match_spectrum=True)),
                               speaker.SpeakerEncoder.pretrained())


def test_enrolment_carries_the_spectrum_and_the_post_filter_uses_it(tiny, splits):
    wav, sr = splits["test"].load(0)
    voice = tiny.enroll(audio.split_at_pauses(wav, sr)[:4], sr)
    assert voice.mel_mean.shape == voice.mel_std.shape == (tiny.config.n_mels,)
    predicted = np.full((tiny.config.n_mels, 50), -5.0, np.float32) + np.linspace(0, 1, 50, dtype=np.float32)
    matched = tiny.postfilter(predicted, voice)
    np.testing.assert_allclose(cloning.speech_statistics(matched)[0], voice.mel_mean, atol=1e-3)
    assert np.array_equal(tiny.postfilter(predicted, voice.embedding), predicted)   # no statistics: gv (scale 1)
    assert voice.frames.shape[0] == tiny.config.n_mels and voice.frames.shape[1] > 100
    assert voice.spectra.shape == (tiny.config.n_fft // 2 + 1, voice.frames.shape[1])   # frame for frame


def test_nearest_frames_builds_the_output_from_the_references_frames(tiny, splits):
    """kNN-VC matched on log-mels: every output frame is a mean of the values of k reference frames, as many
    frames as given; the cloner averages the references' log magnitudes and gives them to the vocoder."""
    rng = np.random.default_rng(0)
    frames = rng.standard_normal((8, 40)).astype(np.float32)
    assert np.allclose(cloning.nearest_frames(frames[:, :5], frames, 1), frames[:, :5], atol=1e-5)
    query = frames[:, :5] + 0.01
    two = cloning.nearest_frames(query, frames, 2)
    assert two.shape == query.shape
    for t in range(5):                                   # the frame itself and its nearest other frame
        d = ((frames - query[:, [t]]) ** 2).sum(0)
        np.testing.assert_allclose(two[:, t], frames[:, np.argsort(d)[:2]].mean(1), atol=1e-5)
    values = rng.standard_normal((3, 40)).astype(np.float32)            # one column per reference frame
    np.testing.assert_allclose(cloning.nearest_frames(frames[:, :5], frames, 1, values), values[:, :5], atol=1e-6)
    with pytest.raises(ValueError, match="one value per reference frame"):
        cloning.nearest_frames(frames, frames, 2, values[:, :39])
    wav, sr = splits["test"].load(0)
    voice = tiny.enroll(audio.split_at_pauses(wav, sr)[:4], sr)
    knn = copy.deepcopy(tiny)
    knn.model.config.nearest_k = 4
    predicted = np.full((tiny.config.n_mels, 30), -5.0, np.float32) + np.linspace(0, 1, 30, dtype=np.float32)
    out = knn.spectrum(predicted, voice)
    assert out.shape == (tiny.config.n_fft // 2 + 1, 30) and np.log(out).max() <= voice.spectra.max() + 1e-4
    plain = tiny.spectrum(predicted, voice)                             # nearest_k 0: the mel inversion
    assert plain.shape == out.shape and not np.allclose(out, plain)
    assert np.array_equal(knn.postfilter(predicted, voice), tiny.postfilter(predicted, voice))
    wav = knn.vocoder.from_magnitude(out)
    assert wav.dtype == np.float32 and len(wav) > 0 and np.isfinite(wav).all()


def test_real_examples_align_recognised_words_and_skip_what_cannot_be(tiny, splits):
    corpus = splits["train"]
    wrong = voices.CorpusItem(**{**corpus.items[1].__dict__, "text": "Banana."})
    sample = voices.Corpus(corpus.root, [corpus.items[0], wrong, corpus.items[2]])
    examples, embeddings, skipped = cloning.real_examples(tiny, sample, progress=False)
    assert [e.speaker for e in examples] == [sample.items[0].speaker, sample.items[2].speaker]
    assert list(skipped) == [wrong.wav] and "does not match" in skipped[wrong.wav]
    for e in examples:
        assert int(e.durations.sum()) == len(e.mel) and len(e.durations) == len(e.ids)
        assert embeddings[e.speaker].shape[1] == 256 and len(embeddings[e.speaker]) >= 2
