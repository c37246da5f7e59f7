"""Tests of course_utils.cloning: durations, length regulator, masking, training, enrolment,
checkpoints and the cloning score (notebook 08).  Each test is small and runs in seconds."""

import numpy as np
import pytest
import torch

from course_utils import audio, cloning, env, speaker, voices

SYMBOLS = [cloning.PAD, cloning.UNK, "_", "a", "b", "c", "d", "e"]


def tiny_config(**overrides) -> cloning.ClonerConfig:
    return cloning.ClonerConfig.tiny(**{"symbols": SYMBOLS, **overrides})


@pytest.fixture(scope="module")
def encoder():
    return speaker.SpeakerEncoder.pretrained()


@pytest.fixture(scope="module")
def cloner(encoder):
    torch.manual_seed(0)
    return cloning.VoiceCloner(cloning.AcousticModel(tiny_config(speaker_dim=256)), encoder)


# -- durations and the length regulator -------------------------------------------------------

def test_durations_sum_to_the_frames():
    """The synthesiser's duration targets (audio.durations_in_frames, the course's one rule)."""
    def hop(h):
        return audio.FeatureConfig(sr=16000, n_fft=2 * h, hop_length=h, n_mels=20)

    spans = [("_", 0, 300), ("a", 300, 700), ("b", 700, 710), ("c", 710, 1024)]
    d = audio.durations_in_frames(spans, 1024, hop(256))
    assert d.tolist() == [2, 1, 0, 2]           # frame centres 0, 256, 512, 768, 1024
    assert d.sum() == 1 + 1024 // 256
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(300, 20000))
        cuts = np.sort(rng.choice(np.arange(1, n), size=8, replace=False))
        bounds = [0, *cuts.tolist(), n]
        spans = [("a", a, b) for a, b in zip(bounds[:-1], bounds[1:])]
        d = audio.durations_in_frames(spans, n, hop(200))
        assert d.sum() == 1 + n // 200 and (d >= 0).all()


def test_length_regulator_repeats_and_pads():
    h = torch.arange(1, 7, dtype=torch.float32).reshape(2, 3, 1)       # (B=2, T=3, C=1)
    d = torch.tensor([[2, 0, 1], [1, 3, 0]])
    frames, lengths = cloning.length_regulate(h, d)
    assert lengths.tolist() == [3, 4]
    assert frames[..., 0].tolist() == [[1, 1, 3, 0], [4, 5, 5, 5]]
    frames, _ = cloning.length_regulate(h, d, max_frames=6)
    assert frames.shape == (2, 6, 1) and frames[:, 4:].abs().sum() == 0


def test_length_regulator_matches_repeat_interleave():
    torch.manual_seed(0)
    h = torch.randn(3, 7, 5)
    d = torch.randint(0, 4, (3, 7))
    frames, lengths = cloning.length_regulate(h, d)
    for b in range(3):
        ref = torch.repeat_interleave(h[b], d[b], dim=0)
        assert torch.equal(frames[b, : len(ref)], ref) and int(lengths[b]) == len(ref)


def test_position_in_symbol():
    pos = cloning.position_in_symbol(torch.tensor([[2, 1, 4]]), 7)
    assert torch.allclose(pos[0], torch.tensor([0.25, 0.75, 0.5, 0.125, 0.375, 0.625, 0.875]))


# -- masking -----------------------------------------------------------------------------------

def test_masked_losses_ignore_padding():
    pred, target = torch.zeros(2, 4, 3), torch.ones(2, 4, 3)
    pred[1, 2:] = 100.0                                  # garbage in padded frames
    target[1, 2:] = -100.0
    mask = torch.tensor([[True] * 4, [True, True, False, False]])
    assert float(cloning.masked_l1(pred, target, mask)) == pytest.approx(1.0)
    assert float(cloning.masked_mse(pred[..., 0], target[..., 0], mask)) == pytest.approx(1.0)


def test_model_output_does_not_depend_on_padding():
    torch.manual_seed(0)
    model = cloning.AcousticModel(tiny_config()).eval()
    spk = torch.randn(2, 8)
    ids, lengths = torch.tensor([[3, 4, 5, 6, 2], [3, 4, 5, 0, 0]]), torch.tensor([5, 3])
    d = torch.tensor([[1, 2, 3, 1, 2], [1, 2, 3, 0, 0]])
    with torch.no_grad():
        both = model(ids, lengths, spk, d)
        alone = model(ids[1:, :3], lengths[1:], spk[1:], d[1:, :3])
    n = int(both["frame_lengths"][1])
    assert n == 6 and both["frame_mask"][1].sum() == 6
    assert torch.allclose(both["mel_post"][1, :n], alone["mel_post"][0], atol=1e-5)
    assert both["mel_post"][1, n:].abs().sum() == 0


def test_film_starts_as_identity_and_conditions():
    film = cloning.FiLM(4, 3)
    x, z = torch.randn(2, 5, 3), torch.randn(2, 4)
    assert torch.equal(film(x, z), x)
    torch.nn.init.normal_(film.proj.weight)
    out = film(x, z)
    assert not torch.allclose(out[0], x[0]) and out.shape == x.shape


# -- training ----------------------------------------------------------------------------------

def test_tiny_model_overfits_one_batch():
    torch.manual_seed(0)
    model = cloning.AcousticModel(tiny_config(injection="both")).train()
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(2, len(SYMBOLS), (4, 6), generator=g)
    d = torch.randint(1, 4, (4, 6), generator=g)
    n = int(d.sum(1).max())
    mel = torch.zeros(4, n, 20)
    for b in range(4):                                    # each symbol a fixed spectrum per speaker
        rows = torch.repeat_interleave(ids[b], d[b])
        mel[b, : len(rows)] = torch.sin(rows[:, None] * torch.arange(20) * 0.3 + b)
    batch = {"ids": ids, "lengths": torch.full((4,), 6), "durations": d, "mel": mel,
             "speaker": torch.randn(4, 8, generator=g)}
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    with cloning.single_thread():                         # tiny tensors: threads only add overhead
        parts = _overfit(model, batch, opt)
    assert parts["loss"] < 0.15 * parts["first"], parts
    assert parts["duration"] < 0.05


def _overfit(model, batch, opt):
    first = None
    for _ in range(150):
        loss, parts = model.loss(batch)
        first = first or parts["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {**parts, "first": first}


def test_train_model_on_a_small_corpus_of_examples():
    rng = np.random.default_rng(0)
    examples = []
    for i in range(6):
        ids = torch.tensor(rng.integers(2, len(SYMBOLS), 5))
        d = torch.tensor(rng.integers(1, 4, 5))
        examples.append(cloning.Example(f"s{i % 2}", ids, d, torch.randn(int(d.sum()), 20)))
    emb = {f"s{k}": rng.standard_normal((3, 8)).astype(np.float32) for k in range(2)}
    calls = []
    model, history = cloning.train_model(examples, emb, tiny_config(steps=3, batch_size=4), progress=False,
                                         callback=lambda step, parts: calls.append(step))
    assert calls == [0, 1, 2] and len(history["loss"]) == 3 and not model.training
    assert torch.allclose(model.mel_std, torch.cat([e.mel for e in examples]).std(0), atol=1e-5)


def _small_examples():
    rng = np.random.default_rng(0)
    examples = []
    for i in range(12):
        d = torch.from_numpy(rng.integers(1, 4, int(rng.integers(3, 8))))
        examples.append(cloning.Example(f"s{i % 3}", torch.from_numpy(rng.integers(2, len(SYMBOLS), len(d))), d,
                                        torch.randn(int(d.sum()), 20, generator=torch.Generator().manual_seed(i))))
    return examples, {f"s{k}": rng.standard_normal((3, 8)).astype(np.float32) for k in range(3)}


def test_a_stopped_run_resumes_to_the_same_weights(tmp_path):
    """The course checkpoint's training (python -m course_utils train-checkpoint) stops and goes on."""
    examples, emb = _small_examples()
    config = tiny_config(steps=6, batch_size=4)
    torch.manual_seed(0)
    straight, history = cloning.train_model(examples, emb, config, progress=False)

    class Stop(Exception):
        pass

    def stop_at_4(step, parts):
        if step == 3:
            raise Stop
    run = tmp_path / "run.pt"
    torch.manual_seed(0)
    with pytest.raises(Stop):
        cloning.train_model(examples, emb, config, progress=False, resume=run, save_every=2, callback=stop_at_4,
                            snapshots=(2,))
    assert run.exists() and cloning.snapshot_path(run, 2).exists()
    torch.manual_seed(99)                          # another seed: the state file, not the seed, decides
    resumed, resumed_history = cloning.train_model(examples, emb, config, progress=False, resume=run, save_every=2)
    assert resumed_history["loss"] == history["loss"]
    for name, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name
    with pytest.raises(RuntimeError, match="other settings.*lr"):
        cloning.train_model(examples, emb, tiny_config(steps=6, batch_size=4, lr=1e-4), progress=False, resume=run)
    # synthesis settings may change between the stop and the resumption
    cloning.train_model(examples, emb, tiny_config(steps=6, batch_size=4, griffin_lim_iters=5), progress=False,
                        resume=run)
    run.write_bytes(b"garbage")
    with pytest.raises(RuntimeError, match="not a training state"):
        cloning.train_model(examples, emb, config, progress=False, resume=run)


# -- the cloner: enrolment, synthesis, checkpoints --------------------------------------------

def test_enroll_rejects_bad_audio(cloner):
    sr = 16000
    good = voices.synthesize("A short sentence for enrolment.", voices.VoiceSpec()).wav
    bad = {
        "no reference": [],
        "empty": [np.zeros(0, np.float32)],
        "silent": [np.zeros(sr, np.float32)],
        "NaN": [np.full(sr, np.nan, np.float32)],
        "mono": [np.zeros((sr, 2), np.float32) + 0.1],
        "too short": [good[:2000]],
    }
    for what, wavs in bad.items():
        with pytest.raises(audio.AudioError) as info:
            cloner.enroll(wavs, sr)
        assert str(info.value), what
    with pytest.raises(audio.AudioError, match="reference 2 of 2"):
        cloner.enroll([good, np.zeros(sr, np.float32)], 22050)
    with pytest.raises(audio.AudioError, match="sample rate|sr"):
        cloner.enroll([good], 0)


def test_enroll_and_synthesize(cloner):
    utt = voices.synthesize("A short sentence for enrolment.", voices.VoiceSpec())
    voice = cloner.enroll([utt.wav, utt.wav[::-1].copy()], utt.sr)
    assert voice.embedding.shape == (256,) and voice.n_references == 2
    assert np.linalg.norm(voice.embedding) == pytest.approx(1.0, abs=1e-4)
    wav, sr = cloner.synthesize("Hello, 2 worlds!", voice, watermark=False)
    assert sr == 16000 and wav.dtype == np.float32 and wav.ndim == 1 and len(wav) > 0
    with pytest.raises(cloning.CloningError, match="enroll"):
        cloner.synthesize("Hello.", np.zeros(3, np.float32))
    with pytest.raises(cloning.CloningError, match="nothing to say"):
        cloner.synthesize("  ", voice)


def test_checkpoint_round_trip(cloner, tmp_path):
    path = cloner.save(tmp_path / "cloner.pt")
    assert [p.name for p in tmp_path.iterdir()] == ["cloner.pt"]      # no temporary left behind
    raw = torch.load(path, weights_only=True)
    assert raw["config"]["symbols"] == SYMBOLS
    again = cloning.VoiceCloner.load(path)
    assert again.config == cloner.config
    voice = cloning.Speaker(np.ones(256, np.float32) / 16)
    assert np.array_equal(again.mel("Hello there.", voice), cloner.mel("Hello there.", voice))
    (tmp_path / "broken.pt").write_bytes(path.read_bytes()[:100])
    with pytest.raises(cloning.DamagedCheckpoint, match="broken.pt is not a cloner checkpoint"):
        cloning.VoiceCloner.load(tmp_path / "broken.pt")


def test_atomic_save_leaves_the_old_checkpoint_when_interrupted(cloner, tmp_path, monkeypatch):
    path = cloner.save(tmp_path / "cloner.pt")
    before = path.read_bytes()

    def crash(obj, f, *a, **k):
        with open(f, "wb") as handle:
            handle.write(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        cloner.save(path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["cloner.pt"]


def test_cloner_deep_copies(cloner):
    import copy

    twin = copy.deepcopy(cloner)
    with torch.no_grad():
        next(twin.model.parameters()).add_(1.0)
    assert not torch.equal(next(twin.model.parameters()), next(cloner.model.parameters()))


def test_config_round_trip_and_errors():
    config = cloning.ClonerConfig.for_profile("full", symbols=SYMBOLS)
    assert cloning.ClonerConfig.from_dict(config.to_dict()) == config
    assert config.key() != cloning.ClonerConfig.for_profile("quick").key()
    with pytest.raises(ValueError, match="profile"):
        cloning.ClonerConfig.for_profile("huge")
    with pytest.raises(ValueError, match="injection"):
        cloning.ClonerConfig(injection="everywhere")


def test_a_setting_added_later_keeps_the_cached_checkpoints_names():
    """nearest_k and vocoder came after the course's checkpoints: at their defaults they are not part of
    the key, so a learner's cached espeak-ng cloner is still found; set, they name another checkpoint."""
    import hashlib
    import json

    config = cloning.ClonerConfig.for_profile("quick")
    old = config.to_dict()
    old.pop("symbols")
    for name in ("nearest_k", "vocoder"):
        old.pop(name)
    assert config.key() == hashlib.sha256(json.dumps(old, sort_keys=True).encode()).hexdigest()[:10]
    assert cloning.ClonerConfig.for_profile("quick", nearest_k=8).key() != config.key()
    assert cloning.ClonerConfig.for_profile("quick", vocoder="hifigan").key() != config.key()


# -- the cloning score -------------------------------------------------------------------------

def test_cloning_score_is_one_for_own_recordings_and_zero_for_others(encoder):
    specs = [voices.VoiceSpec(variant="m3", pitch=35, name="a"), voices.VoiceSpec(variant="f2", pitch=65, name="b"),
             voices.VoiceSpec(accent="en-gb-scotland", variant="m7", pitch=50, name="c")]
    texts = voices.prompts("train")[:4]
    rec = {s.name: [(u.wav, u.sr) for u in (voices.synthesize(t, s) for t in texts)] for s in specs}
    refs = {k: v[:2] for k, v in rec.items()}
    own = {k: v[2:3] for k, v in rec.items()}
    same = cloning.cloning_score({k: v[3:] for k, v in rec.items()}, refs, own, encoder=encoder)
    names = list(rec)
    swapped = cloning.cloning_score({k: rec[names[(i + 1) % 3]][3:] for i, k in enumerate(names)},
                                    refs, own, encoder=encoder)
    assert same.score > 0.7, same
    assert swapped.score < 0.3, swapped
    with pytest.raises(ValueError, match="two speakers"):
        cloning.cloning_score({"a": rec["a"]}, {"a": rec["a"]}, {"a": rec["a"]}, encoder=encoder)


def test_the_shipped_checkpoint_is_checked_before_it_loads(tmp_path, cloner):
    """VoiceCloner.shipped: SHA-256 against its record, float16 weights, a clear refusal otherwise."""
    import json

    path = tmp_path / "cloner_speaking.pt"
    cloner.save(path, half=True)
    path.with_suffix(".json").write_text(json.dumps({"sha256": env.file_sha256(path)}))
    loaded = cloning.VoiceCloner.shipped(path)
    for name, value in cloner.model.state_dict().items():      # float16 on disk, float32 in the model
        assert loaded.model.state_dict()[name].dtype == value.dtype
        assert torch.allclose(loaded.model.state_dict()[name], value, atol=1e-3, rtol=1e-3), name
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(cloning.DamagedCheckpoint, match="not the course checkpoint its record describes"):
        cloning.VoiceCloner.shipped(path)
    path.with_suffix(".json").unlink()
    with pytest.raises(FileNotFoundError, match="train-checkpoint"):
        cloning.VoiceCloner.shipped(path)
    assert path.exists()                                        # refused, never replaced
