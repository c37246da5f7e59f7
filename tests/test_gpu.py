"""Tests of course_utils.gpu: autocast on CPU (bf16), the fp16 pitfalls of ``model.half()``,
gradient accumulation (equal to a large batch; the article's bug without zero_grad), loaders,
throughput (notebook 09).  CPU only; CUDA-only checks skip cleanly."""

import pytest
import torch
from torch import nn

from course_utils import gpu


def _data(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0, 0.0]) + 0.1 * torch.randn(n, generator=g)
    return x, y


def _loss(model, x, y):
    return ((model(x).squeeze(-1) - y) ** 2).mean()


def _model():
    torch.manual_seed(0)
    return nn.Linear(5, 1)


def test_accumulation_equals_a_large_batch():
    x, y = _data(32)
    big, acc = _model(), _model()
    gpu.accumulation_run(big, [(x[i:i + 16], y[i:i + 16]) for i in range(0, 32, 16)], _loss, accumulate=1)
    micro = [(x[i:i + 4], y[i:i + 4]) for i in range(0, 32, 4)]          # 2 steps of 4 micro-batches
    gpu.accumulation_run(acc, micro, _loss, accumulate=4)
    for a, b in zip(big.parameters(), acc.parameters()):
        assert torch.allclose(a, b, atol=1e-6), (a, b)


def test_forgetting_zero_grad_grows_the_steps():
    x, y = _data(64)
    micro = [(x[i:i + 4], y[i:i + 4]) for i in range(0, 64, 4)]
    right = gpu.accumulation_run(_model(), micro, _loss, accumulate=4, lr=0.01)
    wrong = gpu.accumulation_run(_model(), micro, _loss, accumulate=4, lr=0.01, zero_after_step=False)
    assert len(right["updates"]) == len(wrong["updates"]) == 4
    assert right["updates"][0] == pytest.approx(wrong["updates"][0])     # the first step is the same
    # later steps carry every earlier step's gradient: they grow, the correct ones shrink
    assert wrong["grad_norms"][-1] > 2 * right["grad_norms"][-1]
    assert wrong["updates"][-1] > right["updates"][-1]


def test_bf16_autocast_runs_on_cpu_and_keeps_fp32_weights():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = _data(16)
    with gpu.autocast("cpu", "bf16"):
        out = model(x)
        loss = ((out.squeeze(-1).float() - y) ** 2).mean()
    assert out.dtype == torch.bfloat16
    loss.backward()
    opt.step()
    assert model.weight.dtype == torch.float32 and model.weight.grad.dtype == torch.float32
    assert torch.isfinite(loss)


def test_autocast_choices():
    with gpu.autocast("cpu", "fp32"):
        assert _model()(torch.ones(1, 5)).dtype == torch.float32
    with pytest.raises(ValueError, match="bf16"):
        gpu.autocast("cpu", "fp16")
    with pytest.raises(ValueError, match="precision"):
        gpu.autocast("cpu", "int8")
    scaler = gpu.make_scaler("cpu", "fp16")
    assert not scaler.is_enabled()


def test_half_weights_lose_small_updates():
    r = gpu.half_weight_update(1.0, 1e-4, steps=100)
    assert r["fp16"] == 1.0                                  # every update rounded away
    assert r["fp32"] == pytest.approx(1.01, abs=1e-5)


def test_fp16_gradients_underflow_without_scaling():
    r = gpu.fp16_underflow(1e-8)
    assert r["fp16"] == 0.0
    assert r["fp16_scaled"] == pytest.approx(1e-8, rel=0.01)
    assert r["bf16"] == pytest.approx(1e-8, rel=0.01)       # bf16 has fp32's exponent range


def test_loader_pins_only_for_cuda():
    data = list(range(10))
    assert gpu.make_loader(data, 4, "cpu").pin_memory is False
    batch = gpu.to_device({"a": torch.ones(2), "b": [torch.zeros(1)]}, "cpu")
    assert batch["a"].device.type == "cpu"


def test_throughput_counts_items():
    r = gpu.throughput(lambda: 3, "cpu", warmup=1, repeats=3)
    assert r["steps"] == 3 and r["items_per_s"] > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_pinned_copy_bandwidth_on_cuda():  # pragma: no cover - no GPU in the suite
    r = gpu.copy_bandwidth(16, repeats=2)
    assert r["pinned"] > 0 and r["pageable"] > 0


def test_copy_bandwidth_without_cuda_is_none():
    if torch.cuda.is_available():  # pragma: no cover
        pytest.skip("CUDA present")
    assert gpu.copy_bandwidth() is None
