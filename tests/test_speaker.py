"""Tests of course_utils.speaker (notebook 07): preprocessing, pretrained parity, GE2E loss,
bad audio, checkpoints, a tiny training run."""

import math
import sys

import numpy as np
import pytest
import torch

from course_utils import audio, speaker, voices


@pytest.fixture(scope="module")
def utterances():
    """Three espeak utterances at 22.05 kHz: two speakers, one of them twice."""
    a, b = voices.speakers("heldout")[:2]
    return [voices.synthesize("The quick brown fox jumps over the lazy dog.", a),
            voices.synthesize("She sells seashells by the seashore every summer.", a),
            voices.synthesize("The quick brown fox jumps over the lazy dog.", b)]


@pytest.fixture(scope="module")
def pretrained():
    return speaker.SpeakerEncoder.pretrained()


# --- pkg_resources and the reference implementation -------------------------------------------

def test_shim_is_temporary():
    had = "pkg_resources" in sys.modules
    resemblyzer = speaker.import_resemblyzer()
    assert hasattr(resemblyzer, "VoiceEncoder")
    assert ("pkg_resources" in sys.modules) == had


def test_weights_load_without_importing_resemblyzer():
    path = speaker.pretrained_weights_path()
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    assert checkpoint["model_state"]["lstm.weight_ih_l0"].shape == (4 * 256, 40)


# --- features and windows ---------------------------------------------------------------------

def test_mel_power_equals_librosa():
    import librosa

    rng = np.random.default_rng(0)
    for n in (100, 399, 16_000, 37_123):
        wav = rng.normal(0, 0.1, n).astype(np.float32)
        ref = librosa.feature.melspectrogram(y=wav, sr=16000, n_fft=400, hop_length=160, n_mels=40).T
        ours = speaker.mel_power(wav)
        assert ours.shape == ref.shape == (1 + n // 160, 40)
        np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-7 * ref.max())


@pytest.mark.parametrize("n_samples", [1000, 16_000, 25_600, 40_000, 123_456])
def test_partial_slices_match_reference(n_samples):
    resemblyzer = speaker.import_resemblyzer()
    ref = resemblyzer.VoiceEncoder.compute_partial_slices(n_samples, 1.3, 0.75)
    assert speaker.partial_slices(n_samples) == ref


def test_preprocess_equals_reference(utterances):
    resemblyzer = speaker.import_resemblyzer()
    u = utterances[0]
    np.testing.assert_allclose(speaker.preprocess(u.wav, u.sr), resemblyzer.preprocess_wav(u.wav, u.sr), atol=1e-6)


# --- the pretrained encoder -------------------------------------------------------------------

def test_pretrained_embedding_is_unit_norm(pretrained, utterances):
    u = utterances[0]
    e = pretrained.embed_utterance(u.wav, u.sr)
    assert isinstance(e, np.ndarray) and e.shape == (256,) and e.dtype == np.float32
    assert np.linalg.norm(e) == pytest.approx(1.0, abs=1e-5)


def test_pretrained_parity_with_resemblyzer(pretrained, utterances):
    resemblyzer = speaker.import_resemblyzer()
    reference = resemblyzer.VoiceEncoder(device="cpu", verbose=False)
    for u in utterances:
        ours = pretrained.embed_utterance(u.wav, u.sr)
        theirs = reference.embed_utterance(resemblyzer.preprocess_wav(u.wav, u.sr))
        assert float(ours @ theirs) > 0.99
        np.testing.assert_allclose(ours, theirs, atol=1e-4)


def test_same_speaker_is_closer(pretrained, utterances):
    e = pretrained.embed_utterances([u.wav for u in utterances], utterances[0].sr)
    assert e.shape == (3, 256)
    assert e[0] @ e[1] > e[0] @ e[2]


def test_any_sample_rate(pretrained, utterances):
    import librosa

    u = utterances[0]
    at_16k = librosa.resample(u.wav, orig_sr=u.sr, target_sr=16000)
    assert float(pretrained.embed_utterance(at_16k, 16000) @ pretrained.embed_utterance(u.wav, u.sr)) > 0.99


# --- bad audio --------------------------------------------------------------------------------

@pytest.mark.parametrize("wav, sr, message", [
    (np.zeros(32000, np.float32), 16000, "silent"),
    (np.array([], np.float32), 16000, "empty"),
    (np.r_[np.full(100, np.nan), np.ones(16000)].astype(np.float32), 16000, "NaN"),
    (np.full(16000, np.inf, np.float32), 16000, "NaN/inf"),
    (0.3 * np.sin(np.arange(1600) / 5).astype(np.float32), 16000, "too short"),
    (np.ones((16000, 2), np.float32), 16000, "mono"),
    (np.ones(16000, np.float32), 0, "sample rate"),
    (np.array(["a", "b"]), 16000, "numeric"),
])
def test_bad_audio_is_rejected_clearly(pretrained, wav, sr, message):
    with pytest.raises(audio.AudioError, match=message):
        pretrained.embed_utterance(wav, sr)


def test_wrong_input_size_names_the_mel_channels(pretrained):
    with pytest.raises(ValueError, match="number of mel channels"):
        pretrained(torch.zeros(2, 100, 256))


# --- GE2E loss --------------------------------------------------------------------------------

def test_ge2e_hand_checkable():
    """Two speakers, two identical utterances each, orthogonal: every utterance has cosine 1 with
    its own (exclusive) centroid and 0 with the other: loss = log(1 + exp(-w))."""
    e = torch.tensor([[[1.0, 0.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]])
    loss = speaker.GE2ELoss(init_w=1.0, init_b=0.0)
    assert loss(e).item() == pytest.approx(math.log(1 + math.exp(-1)), rel=1e-6)
    s = loss.similarity(e)
    assert s.shape == (2, 2, 2)
    assert s[0, 0].tolist() == pytest.approx([1.0, 0.0])
    # the bias b cancels in the softmax
    assert float(speaker.GE2ELoss(1.0, -5.0)(e)) == pytest.approx(math.log(1 + math.exp(-1)), rel=1e-6)


def test_ge2e_uses_the_exclusive_centroid():
    """Speaker 0: utterances [1, 0], [0, 1], [1, 0]. For utterance 1 the centroid without it is
    [1, 0] (cosine 0), while the centroid with it would be [2, 1]/3 (cosine 1/sqrt(5))."""
    e = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]],
                      [[-1.0, 0.0], [-1.0, 0.0], [-1.0, 0.0]]])
    s = speaker.GE2ELoss(init_w=1.0, init_b=0.0).similarity(e)
    assert float(s[0, 1, 0]) == pytest.approx(0.0, abs=1e-6)
    assert float(s[0, 0, 0]) == pytest.approx(1 / math.sqrt(2), rel=1e-6)   # centroid of [0,1],[1,0]
    assert float(s[0, 1, 1]) == pytest.approx(0.0, abs=1e-6)                 # [0,1] vs [-1,0]
    assert float(s[1, 0, 0]) == pytest.approx(-2 / math.sqrt(5), rel=1e-6)   # [-1,0] vs [2,1]/3


def test_ge2e_matches_a_naive_loop():
    torch.manual_seed(0)
    e = torch.nn.functional.normalize(torch.randn(4, 3, 5), dim=-1)
    loss_fn = speaker.GE2ELoss(init_w=7.0, init_b=-2.0)
    total = 0.0
    for j in range(4):
        for i in range(3):
            logits = []
            for k in range(4):
                others = [e[k, u] for u in range(3) if not (k == j and u == i)]
                c = torch.stack(others).mean(0)
                logits.append(7.0 * torch.nn.functional.cosine_similarity(e[j, i], c, dim=0) - 2.0)
            logits = torch.stack(logits)
            total += float(torch.logsumexp(logits, 0) - logits[j])
    assert float(loss_fn(e)) == pytest.approx(total / 12, rel=1e-5)


def test_ge2e_scale_is_clamped_positive():
    e = torch.tensor([[[1.0, 0.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]])
    loss = speaker.GE2ELoss(init_w=-3.0, init_b=0.0)
    assert float(loss(e)) == pytest.approx(math.log(2), rel=1e-4)   # w clamped to ~0
    with pytest.raises(ValueError, match="speakers >= 2"):
        loss(torch.zeros(1, 3, 2))


# --- training, checkpoints, evaluation --------------------------------------------------------

def toy_features(n_speakers=6, n_utts=6, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (n_speakers, 40))
    return {f"s{k}": [(centres[k] + 0.5 * rng.normal(0, 1, (rng.integers(90, 140), 40))).astype(np.float32)
                      for _ in range(n_utts)] for k in range(n_speakers)}


@pytest.mark.parametrize("arch", ["lstm", "tdnn"])
def test_tiny_training_run_learns(arch):
    model_config = speaker.SpeakerEncoderConfig(arch, hidden=32, layers=1, embedding=16, partial_frames=40)
    config = speaker.TrainConfig(model_config, steps=40, speakers_per_batch=4, utterances_per_speaker=3,
                                 crop_frames=40, lr=1e-2)
    model, history = speaker.train(toy_features(), config, progress=False)
    assert len(history["loss"]) == 40 and history["seconds"] > 0
    assert np.mean(history["loss"][-5:]) < 0.5 * np.mean(history["loss"][:5])
    held = toy_features(seed=1)  # new speakers
    names = [s for s in held for _ in held[s]]
    emb = model.embed_features([f for s in held for f in held[s]])
    result, scores, labels = speaker.verification_eer(emb, names, n_enrol=2)
    assert result.eer < 0.2 and len(scores) == len(labels) == 6 * 6 * 4


def test_checkpoint_round_trip(tmp_path):
    model = speaker.SpeakerEncoder(speaker.SpeakerEncoderConfig("tdnn", hidden=16, embedding=8)).eval()
    path = model.save(tmp_path / "enc.pt", note="test")
    again = speaker.SpeakerEncoder.load(path)
    assert again.config == model.config
    x = torch.randn(2, 50, 40)
    assert torch.equal(model(x), again(x))
    assert torch.load(path, weights_only=True)["meta"] == {"note": "test"}


def test_enrol_and_test_split():
    emb = np.eye(4)[[0, 0, 0, 0, 1, 1, 1, 1]].astype(np.float32)
    enrol, enrol_spk, test, test_spk = speaker.enrol_and_test(emb, list("aaaabbbb"), n_enrol=3)
    assert enrol.shape == (2, 4) and test.shape == (2, 4)
    assert enrol_spk == ["a", "b"] and test_spk == ["a", "b"]
    with pytest.raises(ValueError, match="needs more than n_enrol"):
        speaker.enrol_and_test(emb, list("aaaabbbb"), n_enrol=4)


def test_profiles():
    quick = speaker.TrainConfig.for_profile("quick")
    full = speaker.TrainConfig.for_profile("full")
    assert quick.model.n_mels == full.model.n_mels == 40
    assert full.steps > quick.steps
    assert speaker.TrainConfig.from_dict(quick.to_dict()) == quick
    with pytest.raises(ValueError, match="profile"):
        speaker.TrainConfig.for_profile("medium")


def test_course_encoder_without_checkpoint_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    assert speaker.checkpoint_path("quick").parent == tmp_path / "speaker"
    with pytest.raises(FileNotFoundError, match="run notebook 07"):
        speaker.course_encoder("quick", train_if_missing=False)


def test_course_encoder_loads_a_saved_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    config = speaker.TrainConfig.for_profile("quick", speaker.COURSE_ARCH["quick"])
    model = speaker.SpeakerEncoder(config.model).eval()
    path = speaker.save_course_encoder(model, "quick", config.model.arch, {"seconds": 1.0, "loss": [0.5]})
    assert path == speaker.checkpoint_path("quick")
    loaded = speaker.course_encoder("quick", train_if_missing=False)
    x = torch.randn(1, 120, 40)
    assert torch.equal(loaded(x), model(x))
    assert torch.load(path, weights_only=True)["meta"]["train"] == config.to_dict()
