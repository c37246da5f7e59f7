"""Tests of course_utils.finetune: alignment (known spans), adapters, the copy semantics of
``finetune`` (the original cloner is bit-identical afterwards), strategies and input checks
(notebook 09).  Tiny models only; the alignment test on the trained model runs when the quick
checkpoint is cached."""

import numpy as np
import pytest
import torch

from course_utils import audio, cloning, finetune, speaker, voices

SYMBOLS = [cloning.PAD, cloning.UNK, "_", "h", "ə", "l", "oʊ", "ð", "ɛ", "ɹ"]


def tiny_config(**overrides) -> cloning.ClonerConfig:
    return cloning.ClonerConfig.tiny(**{"symbols": SYMBOLS, "speaker_dim": 256, "injection": "both", **overrides})


@pytest.fixture(scope="module")
def cloner():
    torch.manual_seed(0)
    return cloning.VoiceCloner(cloning.AcousticModel(tiny_config()), speaker.SpeakerEncoder.pretrained())


@pytest.fixture(scope="module")
def pairs():
    spec = voices.speakers("heldout")[0]
    texts = ["Hello there.", "The rain fell on the hill.", "Good morning to you all."]
    return [(voices.synthesize(t, spec).wav, t) for t in texts]


@pytest.fixture(scope="module")
def prepared(cloner, pairs):
    examples, voice, _ = finetune.prepare(cloner, pairs, voices.SAMPLE_RATE)
    return {"examples": examples, "speaker": voice}


# -- alignment ---------------------------------------------------------------------------------

def test_warp_durations_identity_and_stretch():
    d = np.array([2, 3, 0, 4])
    identity = np.stack([np.arange(9), np.arange(9)], 1)
    assert finetune.warp_durations(d, identity, 9).tolist() == d.tolist()
    doubled = np.stack([np.repeat(np.arange(9), 2), np.arange(18)], 1)  # each source frame -> 2 target frames
    assert finetune.warp_durations(d, doubled, 18).tolist() == [4, 6, 0, 8]
    with pytest.raises(finetune.FinetuneError, match="sum"):
        finetune.warp_durations(d, identity, 12)


def test_dtw_alignment_recovers_known_spans_of_a_warped_utterance():
    """A real espeak utterance, its true spans, and a copy whose phonemes are slowed or sped up
    by known factors (plus a timbre offset): the DTW alignment must find the new spans."""
    utt = voices.synthesize("The quick brown fox jumps over the lazy dog.", voices.speakers("heldout")[1])
    cfg = audio.FeatureConfig(sr=utt.sr, n_fft=1024, hop_length=256, n_mels=40, power=1.0, trim=None,
                              loudness_dbfs=None)
    mel = audio.log_mel(utt.wav, cfg).T                                   # (F, 40)
    true = audio.durations_in_frames(utt.phonemes, len(utt.wav), cfg)
    rng = np.random.default_rng(0)
    factors = rng.choice([0.5, 1.0, 2.0], size=len(true))
    new = np.maximum(np.round(true * factors).astype(int), (true > 0).astype(int))
    # frames of the warped copy: each phoneme's frames resampled to its new length
    starts = np.concatenate([[0], np.cumsum(true)])
    rows = []
    for k, n in enumerate(new):
        src = np.arange(starts[k], starts[k + 1])
        if n:
            rows.append(mel[src[np.minimum((np.arange(n) * len(src)) // n, len(src) - 1)]])
    warped = np.concatenate(rows) + 0.7                                   # a level/timbre offset
    src = mel - mel.mean(0)
    dst = warped - warped.mean(0)
    durations, path = finetune.align_features(src, true, dst)
    assert durations.sum() == len(warped)
    error = finetune.boundary_error_ms(durations, new, 256, utt.sr)
    naive = finetune.boundary_error_ms(finetune.stretch_durations(true, len(warped)), new, 256, utt.sr)
    frame_ms = 256 / utt.sr * 1000
    print(f"\nboundary error on a warped utterance: DTW {error:.1f} ms, uniform stretch {naive:.1f} ms "
          f"(frame {frame_ms:.1f} ms, {len(true)} phonemes)")
    assert error < frame_ms, f"DTW boundary error {error:.1f} ms is more than one frame"
    assert error < naive / 3


def test_alignment_of_the_trained_model_on_heldout_speakers():
    try:
        trained = cloning.VoiceCloner.trained("quick", train_if_missing=False)
    except FileNotFoundError:
        pytest.skip("the quick cloner is not cached (run notebook 08)")
    corpus = cloning.heldout_speakers(8, 8, progress=False)
    result = finetune.corpus_alignment_errors(trained, corpus, [0, 9, 18, 27])
    print(f"\nheld-out boundary error: DTW {result['dtw_ms']:.1f} ms, uniform stretch {result['stretch_ms']:.1f} ms")
    assert result["dtw_ms"] < 2 * result["frame_ms"]
    assert result["dtw_ms"] < result["stretch_ms"]


def test_align_returns_durations_that_cover_the_recording(cloner, pairs):
    wav, text = pairs[0]
    result = finetune.align(cloner, wav, voices.SAMPLE_RATE, text)
    assert len(result.durations) == len(result.symbols) == len(result.predicted)
    assert result.durations.sum() == len(result.mel) and (result.durations >= 0).all()
    spans = result.spans(cloner.config.hop_length, 10 ** 6)
    assert spans[0][1] == 0 and all(a[2] == b[1] for a, b in zip(spans, spans[1:]))


def test_align_asks_a_cloner_only_for_what_its_protocol_names(cloner, pairs):
    """cloning.alignment sits below the cloner (issue 31): anything with the members of ``Aligner``
    aligns exactly as the VoiceCloner it stands for."""
    from types import SimpleNamespace

    members = {name: getattr(cloner, name) for name in cloning.alignment.Aligner.__annotations__}
    members.update(phonemes=cloner.phonemes, enroll=cloner.enroll)
    stand_in = SimpleNamespace(**members)
    wav, text = pairs[1]
    a = finetune.align(cloner, wav, voices.SAMPLE_RATE, text)
    b = finetune.align(stand_in, wav, voices.SAMPLE_RATE, text)
    assert a.symbols == b.symbols and np.array_equal(a.durations, b.durations) and np.array_equal(a.path, b.path)


# -- adapters ----------------------------------------------------------------------------------

def test_adapter_starts_as_identity_and_keeps_outputs():
    torch.manual_seed(0)
    model = cloning.AcousticModel(tiny_config()).eval()
    ids, lengths, spk = torch.tensor([[3, 4, 5, 6]]), torch.tensor([4]), torch.randn(1, 256)
    d = torch.tensor([[1, 2, 2, 1]])
    with torch.no_grad():
        before = model(ids, lengths, spk, d)["mel_post"]
        params = finetune.add_adapters(model, bottleneck=4)
        after = model(ids, lengths, spk, d)["mel_post"]
    assert torch.equal(before, after)
    assert finetune.count_parameters(params) == len(model.decoder) * (32 * 4 + 4 + 4 * 32 + 32)


# -- fine-tuning -------------------------------------------------------------------------------

@pytest.mark.parametrize("strategy", ["embedding", "adapter", "full"])
def test_finetune_leaves_the_original_bit_identical(cloner, pairs, prepared, strategy):
    before = {k: v.clone() for k, v in cloner.model.state_dict().items()}
    fingerprint = finetune.state_fingerprint(cloner.model)
    tuned = finetune.finetune(cloner, pairs, voices.SAMPLE_RATE, steps=3, strategy=strategy)
    after = cloner.model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert finetune.state_fingerprint(cloner.model) == fingerprint
    assert tuned is not cloner and tuned.model is not cloner.model
    assert all(p.requires_grad for p in cloner.model.parameters())   # the original's flags are untouched
    r = tuned.finetune_result
    assert r.strategy == strategy and r.steps == 3 and len(r.losses) == 3 and r.trainable > 0
    if strategy == "full":
        assert not finetune.parameters_equal(tuned.model, cloner.model)
    if strategy == "embedding":
        assert not np.array_equal(tuned.finetuned_speaker.embedding, prepared["speaker"].embedding)
    wav, sr = tuned.synthesize("Hello.", tuned.finetuned_speaker, watermark=False)
    assert sr == cloner.sr and np.isfinite(wav).all()


def test_finetune_learns_the_recordings(cloner, pairs):
    tuned = finetune.finetune(cloner, pairs, voices.SAMPLE_RATE, steps=15, strategy="full", lr=3e-3)
    losses = tuned.finetune_result.losses
    assert np.mean(losses[-3:]) < 0.8 * np.mean(losses[:3])


def test_zero_shot_is_a_copy_without_training(cloner, pairs):
    tuned = finetune.finetune(cloner, pairs, voices.SAMPLE_RATE, strategy="zero-shot")
    assert tuned.finetune_result.steps == 0 and finetune.parameters_equal(tuned.model, cloner.model)


def test_finetune_with_bf16_autocast_and_accumulation(cloner, pairs):
    tuned = finetune.finetune(cloner, pairs, voices.SAMPLE_RATE, steps=2, strategy="adapter", precision="bf16",
                              accumulate=2, batch_size=2)
    assert all(np.isfinite(tuned.finetune_result.losses))
    assert all(p.dtype == torch.float32 for p in tuned.model.parameters())


def test_finetune_is_seeded_and_leaves_the_callers_random_state_alone(cloner, pairs):
    """Dropout draws from ``seed`` alone: the same call gives the same weights whatever ran before."""
    torch.manual_seed(123)
    a = finetune.finetune(cloner, pairs, voices.SAMPLE_RATE, steps=3, seed=1)
    after_a = torch.rand(3)
    torch.manual_seed(456)
    b = finetune.finetune(cloner, pairs, voices.SAMPLE_RATE, steps=3, seed=1)
    c = finetune.finetune(cloner, pairs, voices.SAMPLE_RATE, steps=3, seed=2)
    assert finetune.parameters_equal(a.model, b.model) and not finetune.parameters_equal(a.model, c.model)
    torch.manual_seed(123)
    assert torch.equal(torch.rand(3), after_a)       # finetune drew nothing from the caller's generator


# -- the global-variance post-filter --------------------------------------------------------------

def test_gv_postfilter_scales_each_channels_spread_and_keeps_its_mean():
    rng = np.random.default_rng(0)
    mel = (rng.normal(size=(20, 50)) + np.linspace(-5, 0, 20)[:, None]).astype(np.float32)
    assert np.array_equal(cloning.gv_postfilter(mel, 1.0), mel)
    out = cloning.gv_postfilter(mel, 1.3)
    assert out.dtype == np.float32 and out.shape == mel.shape
    np.testing.assert_allclose(out.mean(1), mel.mean(1), atol=1e-5)
    np.testing.assert_allclose(out.std(1), 1.3 * mel.std(1), rtol=1e-5)


def test_gv_scale_is_the_ratio_of_real_to_predicted_spread(cloner, pairs, prepared):
    wavs = [w for w, _ in pairs]
    scale = finetune.gv_scale(cloner, prepared["speaker"], wavs, voices.SAMPLE_RATE)
    assert np.isfinite(scale) and scale > 0

    class Wider(cloning.VoiceCloner):                  # frames that vary twice as much
        def mel(self, text, speaker, pace=1.0):
            return cloning.gv_postfilter(super().mel(text, speaker, pace), 2.0)

    wider = Wider(cloner.model, cloner.speaker_encoder)
    assert finetune.gv_scale(wider, prepared["speaker"], wavs, voices.SAMPLE_RATE) == pytest.approx(scale / 2, rel=1e-4)


def test_finetune_sets_the_post_filter_only_when_asked(cloner, pairs):
    on = finetune.finetune(cloner, pairs, voices.SAMPLE_RATE, steps=2)
    off = finetune.finetune(cloner, pairs, voices.SAMPLE_RATE, steps=2, postfilter=False)
    assert on.gv_scale == on.finetune_result.gv_scale != 1.0
    assert off.gv_scale == off.finetune_result.gv_scale == 1.0 and cloner.gv_scale == 1.0
    assert finetune.parameters_equal(on.model, off.model)           # the post-filter is not training
    text = "Hello there."
    wav_on, _ = on.synthesize(text, on.finetuned_speaker, watermark=False)
    wav_off, _ = off.synthesize(text, off.finetuned_speaker, watermark=False)
    expected = off.vocoder(cloning.gv_postfilter(off.mel(text, off.finetuned_speaker), on.gv_scale))
    np.testing.assert_array_equal(wav_on, expected)
    assert not np.array_equal(wav_on, wav_off)


def test_finetune_rejects_bad_input(cloner, pairs):
    with pytest.raises(finetune.FinetuneError, match="strategy"):
        finetune.finetune(cloner, pairs, voices.SAMPLE_RATE, strategy="lora")
    with pytest.raises(finetune.FinetuneError, match="no recordings given"):
        finetune.finetune(cloner, [], voices.SAMPLE_RATE)
    with pytest.raises(finetune.FinetuneError, match="str transcript or None"):
        finetune.finetune(cloner, [(pairs[0][0], 42)], voices.SAMPLE_RATE)
    # a bare waveform is a recording without its transcript: tests/test_transcribe.py
    with pytest.raises(finetune.FinetuneError, match="steps"):
        finetune.finetune(cloner, pairs, voices.SAMPLE_RATE, steps=-1)


