"""Mixed precision (FFTs in float32 under autocast) and torch.compile."""

import pytest
import torch

from sciml.nn import SpectralConv


@pytest.mark.parametrize("factorization", [None, "cp"])
def test_bf16_autocast_runs_the_transforms_in_float32(factorization, generator):
    """Odd grid (no power-of-2 FFT): the result is float32 and close to the float32 layer."""
    layer = SpectralConv(4, 4, (5, 6), factorization=factorization, bias=True, generator=generator)
    x = torch.randn(2, 4, 21, 23, generator=generator)
    exact = layer(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = layer(x)
        y_half_input = layer(x.bfloat16())
    assert y.dtype == y_half_input.dtype == torch.float32
    torch.testing.assert_close(y, exact, rtol=0, atol=1e-6 * exact.abs().max().item())
    # A bfloat16 input carries its own rounding (2^-9 relative), nothing more is lost inside.
    # (measured 1.5e-3 of the max; a transform done in bf16 would add the output's own 2.6-3.1e-3 rounding)
    torch.testing.assert_close(y_half_input, exact, rtol=0, atol=2.5e-3 * exact.abs().max().item())


@pytest.mark.parametrize("path", ["fft", "dft"])
def test_compiles_with_aot_autograd_and_matches_eager(path, generator):
    layer = SpectralConv(3, 2, (3, 4), path=path, factorization="tucker", generator=generator)
    x = torch.randn(2, 3, 12, 13, generator=generator, requires_grad=True)
    compiled = torch.compile(layer, backend="aot_eager", fullgraph=True)
    y, y_ref = compiled(x), layer(x)
    torch.testing.assert_close(y, y_ref, rtol=1e-5, atol=1e-6)
    g = torch.autograd.grad(y.square().sum(), x)[0]
    g_ref = torch.autograd.grad(y_ref.square().sum(), x)[0]
    torch.testing.assert_close(g, g_ref, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")  # inductor's own
@pytest.mark.filterwarnings("ignore:Torchinductor does not support code generation for complex:UserWarning")
def test_compiles_with_inductor(generator):
    layer = SpectralConv(3, 2, (3, 4), generator=generator)
    x = torch.randn(2, 3, 12, 13, generator=generator)
    torch.testing.assert_close(torch.compile(layer)(x), layer(x), rtol=1e-5, atol=1e-6)
