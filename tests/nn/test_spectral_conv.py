"""SpectralConv: every path equals the plain reference; the layer is the operator it claims to be."""

import math

import pytest
import torch

from sciml.nn import SpectralConv, reference_spectral_conv
from sciml.spectral import Grid, spectral_derivative

CASES = [  # (spatial shape, output shape, modes)
    ((16, 15), None, (4, 5)),
    ((9,), (20,), (3,)),
    ((8, 9, 10), (12, 7, 11), (2, 3, 2)),
    ((16, 16), (6, 5), (7, 7)),
    ((12, 13), (25, 24), (3, 3)),
]


def _trig_polynomial(shape, modes, batch, channels, generator):
    """A random real band-limited field of the kept modes, as a callable on any grid."""
    d = len(shape)
    freqs = torch.stack(
        torch.meshgrid(*[torch.arange(-k, k + 1) for k in modes], indexing="ij"), dim=-1
    ).reshape(-1, d)  # (M, d)
    coef = torch.randn(batch, channels, freqs.shape[0], 2, generator=generator, dtype=torch.float64)

    def sample(grid_shape):
        t = Grid(grid_shape, (1.0,) * d).coords()  # (d, *S)
        phase = 2 * math.pi * torch.einsum("md,d...->m...", freqs.double(), t)  # (M, *S)
        return torch.einsum("bcm,m...->bc...", coef[..., 0], phase.cos()) + torch.einsum(
            "bcm,m...->bc...", coef[..., 1], phase.sin()
        )

    return sample


@pytest.mark.parametrize("path", ["fft", "dft"])
@pytest.mark.parametrize("shape,out_shape,modes", CASES)
def test_paths_match_reference_values_and_gradients(path, shape, out_shape, modes, generator):
    layer = SpectralConv(3, 2, modes, path=path, bias=True, generator=generator).double()
    with torch.no_grad():
        layer.bias.normal_(generator=generator)
    x = torch.randn(2, 3, *shape, dtype=torch.float64, generator=generator, requires_grad=True)
    y = layer(x, out_shape)
    weight = layer.full_weight()
    ref = reference_spectral_conv(x, weight, layer.modes, out_shape) + layer.bias.reshape(-1, *[1] * len(shape))
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-10)
    probe = torch.randn(y.shape, dtype=torch.float64, generator=generator)
    grads = torch.autograd.grad((y * probe).sum(), (x, layer.weight.weight, layer.bias))
    ref_grads = torch.autograd.grad((ref * probe).sum(), (x, layer.weight.weight, layer.bias))
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, rtol=0, atol=1e-10)


@pytest.mark.parametrize("path", ["fft", "dft"])
@pytest.mark.parametrize("n", [15, 16])
def test_exactly_translation_equivariant_on_odd_and_even_grids(path, n, generator):
    layer = SpectralConv(2, 2, (5, 5), path=path, generator=generator).double()
    x = torch.randn(1, 2, n, n + 1, dtype=torch.float64, generator=generator)
    for shift in [(1, 0), (0, 3), (4, 7)]:
        shifted = layer(x.roll(shift, dims=(-2, -1)))
        torch.testing.assert_close(shifted, layer(x).roll(shift, dims=(-2, -1)), rtol=0, atol=1e-12)


@pytest.mark.parametrize("path", ["fft", "dft"])
def test_super_resolution_and_downsampling_of_band_limited_input_are_exact(path, generator):
    """Band-limited in, band-limited out: the output is one trigonometric polynomial on every grid."""
    modes = (3, 4)
    layer = SpectralConv(2, 3, modes, path=path, generator=generator).double()
    field = _trig_polynomial((9, 9), modes, 2, 2, generator)
    coarse, fine = field((9, 10)), field((32, 27))
    torch.testing.assert_close(layer(coarse, (32, 27)), layer(fine), rtol=0, atol=1e-11)
    torch.testing.assert_close(layer(fine, (9, 10)), layer(coarse), rtol=0, atol=1e-11)


@pytest.mark.parametrize("path", ["fft", "dft"])
def test_derivative_weights_give_the_spectral_derivative(path, generator):
    """W(k) = 2 pi i k_1 (identity in channels) makes the layer d/dx_1 on band-limited fields."""
    modes = (4, 3)
    layer = SpectralConv(1, 1, modes, path=path).double()
    k1 = torch.arange(-modes[0], modes[0] + 1, dtype=torch.float64)[:, None].expand(-1, modes[1] + 1)
    with torch.no_grad():
        layer.weight.weight.copy_(torch.view_as_real(2j * math.pi * k1.to(torch.complex128))[..., None, None, :])
    u = _trig_polynomial((9, 7), modes, 2, 1, generator)((9, 7))
    torch.testing.assert_close(layer(u), spectral_derivative(u, Grid((9, 7), (1.0, 1.0)), (1, 0)), rtol=0, atol=1e-10)


def test_bad_arguments_raise(generator):
    with pytest.raises(ValueError, match="dim"):
        SpectralConv(2, 2, 4)
    with pytest.raises(ValueError, match="path"):
        SpectralConv(2, 2, 4, dim=2, path="fast")
    with pytest.raises(ValueError, match="factorization"):
        SpectralConv(2, 2, 4, dim=2, factorization="tt")
    layer = SpectralConv(2, 2, 4, dim=2)
    with pytest.raises(ValueError, match="path"):
        layer.path = "cufft"
    with pytest.raises(ValueError, match="expected x of shape"):
        layer(torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="output_shape"):
        layer(torch.zeros(1, 2, 8, 8), (8,))


@pytest.mark.parametrize("path", ["fft", "dft"])
def test_double_backward(path, generator):
    """Second derivatives (physics losses on gradients) go through both paths."""
    layer = SpectralConv(1, 2, (1, 2), path=path, generator=generator).double()
    x = torch.randn(1, 1, 4, 5, dtype=torch.float64, generator=generator, requires_grad=True)
    assert torch.autograd.gradgradcheck(layer, (x,))
