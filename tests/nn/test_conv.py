"""The grid convolution and interpolation helpers of the attention operators."""

import math

import pytest
import torch

from sciml.nn import conv, interpolate


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_conv_keeps_the_grid_and_draws_torch_s_default_range_from_the_generator(dim):
    layer = conv(dim, 3, 5, 3, generator=torch.Generator().manual_seed(0))
    again = conv(dim, 3, 5, 3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(layer.weight, again.weight) and torch.equal(layer.bias, again.bias)
    bound = 1 / math.sqrt(3 * 3**dim)
    assert layer.weight.abs().max() <= bound and layer.weight.abs().max() > 0.8 * bound
    assert layer(torch.zeros(2, 3, *([7] * dim))).shape == (2, 5, *([7] * dim))
    assert conv(dim, 3, 5, 1, bias=False).bias is None


@pytest.mark.parametrize("shape, size", [((9,), (5,)), ((9, 7), (17, 4)), ((4, 5, 6), (7, 3, 11))])
def test_interpolate_reproduces_multilinear_fields_with_the_ends_aligned(shape, size):
    # align_corners: node j of n sits at j / (n - 1); a field linear along every axis is kept exactly
    def field(points):
        axes = torch.meshgrid(*[torch.linspace(0, 1, n, dtype=torch.float64) for n in points], indexing="ij")
        return (1 + sum((i + 2) * x for i, x in enumerate(axes)) + (axes[0] * axes[-1] if len(axes) > 1 else 0))[None, None]

    torch.testing.assert_close(interpolate(field(shape), size), field(size), rtol=0, atol=1e-13)
    u = field(shape)
    assert interpolate(u, shape) is u


def test_helpers_refuse_bad_arguments():
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        conv(2, 1, 1, 2)
    with pytest.raises(ValueError, match="dim must be 1, 2 or 3"):
        conv(4, 1, 1)
    with pytest.raises(ValueError, match="one size per axis"):
        interpolate(torch.zeros(1, 1, 4, 4), (3,))
