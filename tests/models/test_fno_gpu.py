"""FNO checks on CUDA (skipped without a GPU by tests/conftest.py); run with ``pytest -m gpu``."""

import dataclasses
import warnings

import pytest
import torch

from sciml.models import FNO, FNOOptions, TFNO

pytestmark = pytest.mark.gpu

CUDA = torch.device("cuda")


def paired(options: FNOOptions, generator, cls=FNO):
    """The same model (same weights) with the pruned-FFT and with the truncated-DFT spectral path."""
    fft = cls(2, 1, (6, 6), 16, n_layers=3, options=dataclasses.replace(options, spectral_path="fft"), generator=generator)
    dft = cls(2, 1, (6, 6), 16, n_layers=3, options=dataclasses.replace(options, spectral_path="dft"))
    dft.load_state_dict(fft.state_dict())
    return fft.to(CUDA), dft.to(CUDA)


@pytest.mark.parametrize("cls", [FNO, TFNO])
@pytest.mark.parametrize("shape", [(64, 64), (45, 37)])
def test_fft_and_dft_paths_agree_on_cuda_in_values_and_gradients(cls, shape, generator):
    fft, dft = paired(cls.default_options, generator, cls)
    a = torch.randn(4, 2, *shape, generator=generator).to(CUDA)
    out_fft, out_dft = fft(a), dft(a)
    assert torch.allclose(out_fft, out_dft, atol=1e-4, rtol=1e-4)
    g_fft = torch.autograd.grad(out_fft.square().sum(), list(fft.parameters()))
    g_dft = torch.autograd.grad(out_dft.square().sum(), list(dft.parameters()))
    for a_grad, b_grad in zip(g_fft, g_dft):
        assert torch.allclose(a_grad, b_grad, atol=1e-3, rtol=1e-3)


def test_cuda_float32_matches_cpu_float64(generator):
    model = FNO(2, 1, (6, 6), 16, n_layers=3, options=FNOOptions(domain_padding=0.125), generator=generator)
    a = torch.randn(4, 2, 48, 40, generator=generator)
    expected = model.double()(a.double())
    got = model.float().to(CUDA)(a.to(CUDA)).cpu().double()
    assert torch.allclose(got, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast_on_cuda_at_odd_size_tracks_float32(dtype, generator):
    model = FNO(2, 1, (6, 6), 32, n_layers=4, generator=generator).to(CUDA)
    a = torch.randn(4, 2, 45, 37, generator=generator).to(CUDA)
    reference = model(a)
    with torch.autocast("cuda", dtype=dtype):
        low = model(a)
    assert (low.float() - reference).norm() / reference.norm() < 3e-2
    low.float().square().mean().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_matches_neuraloperator_on_cuda(generator):
    neuralop_models = pytest.importorskip("neuralop.models", reason="needs neuraloperator 2.0 (the 'bench' extra)")
    from sciml.models.neuralop_compat import load_neuralop_fno

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = neuralop_models.FNO(n_modes=(16, 16), in_channels=1, out_channels=1, hidden_channels=32)
    ours = FNO(1, 1, (8, 8), 32)
    load_neuralop_fno(ours, theirs)
    a = torch.randn(8, 1, 64, 64, generator=generator).to(CUDA)
    assert torch.allclose(ours.to(CUDA)(a), theirs.to(CUDA)(a), atol=1e-5, rtol=0)
