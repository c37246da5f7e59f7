"""Tests of course_utils.text_encoder (notebook 06): shapes, masks, padding independence."""

import pytest
import torch

from course_utils import text_encoder as te


def small(**kw):
    return te.TextEncoder(te.TextEncoderConfig(n_symbols=20, embedding_dim=16, lstm_hidden=8, **kw)).eval()


def test_same_padding_keeps_length():
    for k in (1, 3, 5, 7):
        conv = torch.nn.Conv1d(4, 4, k, padding=te.same_padding(k))
        assert conv(torch.zeros(2, 4, 11)).shape == (2, 4, 11)
    with pytest.raises(ValueError, match="odd"):
        te.same_padding(4)


def test_mask():
    mask = te.lengths_to_mask(torch.tensor([3, 1, 4]))
    assert mask.dtype == torch.bool and mask.shape == (3, 4)
    assert mask.sum(1).tolist() == [3, 1, 4]
    assert mask.tolist()[1] == [True, False, False, False]
    assert te.lengths_to_mask(torch.tensor([2]), max_len=5).shape == (1, 5)


def test_pad_batch():
    ids, lengths = te.pad_batch([[1, 2, 3], [4]], pad_id=0)
    assert ids.tolist() == [[1, 2, 3], [4, 0, 0]] and lengths.tolist() == [3, 1]
    with pytest.raises(ValueError, match="at least one symbol"):
        te.pad_batch([[1], []])


@pytest.mark.parametrize("profile,width", [("quick", 128), ("full", 512)])
def test_profiles_and_output_shape(profile, width):
    config = te.TextEncoderConfig.for_profile(profile, n_symbols=30)
    model = te.TextEncoder(config).eval()
    assert config.embedding_dim == width and config.kernel_size == 5 and config.n_convolutions == 3
    ids, lengths = te.pad_batch([[1, 2, 3, 4, 5, 6], [7, 8]])
    out = model(ids, lengths)
    assert out.shape == (2, 6, config.output_dim)
    assert config.output_dim == (512 if profile == "full" else 128)


def test_paper_sizes():
    config = te.TextEncoderConfig(n_symbols=100)
    assert (config.embedding_dim, config.lstm_hidden, config.output_dim) == (512, 256, 512)
    model = te.TextEncoder(config)
    conv = model.convolutions[0].conv
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.padding) == (512, 512, (5,), (2,))
    assert model.lstm.bidirectional and model.lstm.batch_first and model.lstm.hidden_size == 256


def test_padding_is_zero_and_does_not_change_valid_outputs():
    torch.manual_seed(0)
    model = small()
    a, b = [1, 2, 3, 4, 5, 6, 7], [8, 9, 10]
    ids, lengths = te.pad_batch([a, b])
    out = model(ids, lengths)
    alone = model(torch.tensor([b]))
    assert torch.allclose(out[1, :3], alone[0], atol=1e-5)
    assert torch.all(out[1, 3:] == 0)
    # more padding (a longer neighbour) changes nothing either
    ids2, lengths2 = te.pad_batch([a + [1] * 5, b])
    assert torch.allclose(model(ids2, lengths2)[1, :3], alone[0], atol=1e-5)


def test_every_output_depends_on_the_whole_sentence():
    """BiLSTM: the first position sees the last symbol (backward direction) and vice versa."""
    torch.manual_seed(0)
    model = small()
    x = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]])
    y = x.clone()
    y[0, -1] = 11
    assert not torch.allclose(model(x)[0, 0], model(y)[0, 0])


def test_bad_inputs_have_clear_errors():
    model = small()
    with pytest.raises(TypeError, match="symbols, not mel"):
        model(torch.randn(2, 80, 10))
    with pytest.raises(ValueError, match="batch, time"):
        model(torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="lengths must lie"):
        model(torch.tensor([[1, 2]]), torch.tensor([3]))
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        te.TextEncoderConfig(n_symbols=10, kernel_size=4)
    with pytest.raises(ValueError, match="profile"):
        te.TextEncoderConfig.for_profile("medium", 10)


def test_checkpoint_round_trip(tmp_path):
    model = small()
    path = tmp_path / "enc.pt"
    torch.save(model.checkpoint(), path)
    again = te.TextEncoder.from_checkpoint(torch.load(path, weights_only=True)).eval()
    ids = torch.tensor([[1, 2, 3]])
    assert torch.equal(model(ids), again(ids))


def test_gradients_flow_to_embedding():
    model = te.TextEncoder(te.TextEncoderConfig(n_symbols=20, embedding_dim=16, lstm_hidden=8)).train()
    ids, lengths = te.pad_batch([[1, 2, 3], [4, 5]])
    model(ids, lengths).sum().backward()
    grad = model.embedding.weight.grad
    assert grad[1:6].abs().sum() > 0 and grad[0].abs().sum() == 0  # padding row gets none
