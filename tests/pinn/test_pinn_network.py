"""The PINN network: input scaling, Xavier initialisation, random Fourier features, checks."""

import math

import pytest
import torch

from sciml.domain import Domain
from sciml.pinn import PINN, FourierFeatures

pytestmark = pytest.mark.usefixtures("one_thread")


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


def test_output_shape_and_input_scaling_onto_the_unit_box(generator):
    unit = PINN(Domain(((0.0, 1.0), (0.0, 1.0))), out_features=3, generator=seeded()).double()
    # the same network on a box 8 times larger, shifted in time: the same function of the scaled coordinates
    large = PINN(Domain(((0.0, 8.0), (0.0, 8.0))), out_features=3, generator=seeded()).double()
    points = torch.rand(50, 2, generator=generator, dtype=torch.float64)
    u = unit(points)
    assert u.shape == (50, 3)
    torch.testing.assert_close(large(8 * points), u, rtol=0, atol=1e-14)
    # time first: (t, x) in [2, 3] x [-1, 1] is the affine image of the unit square
    evolving = PINN(Domain(((-1.0, 1.0),), time=(2.0, 3.0)), out_features=3, generator=seeded()).double()
    image = torch.stack([2 + points[:, 0], -1 + 2 * points[:, 1]], dim=1)  # (50, 2)
    torch.testing.assert_close(evolving(image), u, rtol=0, atol=1e-14)


def test_initialisation_is_seeded_xavier_normal_with_zero_biases():
    domain = Domain(((0.0, 1.0),), time=(0.0, 1.0))
    first, second = PINN(domain, hidden_features=200, generator=seeded(3)), PINN(domain, hidden_features=200, generator=seeded(3))
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))
    assert not torch.equal(first.mlp.layers[1].weight, PINN(domain, hidden_features=200, generator=seeded(4)).mlp.layers[1].weight)
    hidden = first.mlp.layers[2].weight  # (200, 200): Glorot's std sqrt(2 / (fan_in + fan_out)) = 0.0707
    assert hidden.std().item() == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    assert all((layer.bias == 0).all() for layer in first.mlp.layers)
    assert len(first.mlp.layers) == 6 and first.mlp.activation is torch.tanh


def test_a_float64_network_is_drawn_in_float64_not_cast_up():
    domain = Domain(((0.0, 1.0), (0.0, 1.0)))
    drawn = PINN(domain, hidden_features=64, fourier_features=8, generator=seeded(1), dtype=torch.float64)
    cast = PINN(domain, hidden_features=64, fourier_features=8, generator=seeded(1)).double()
    assert all(t.dtype == torch.float64 for t in [*drawn.parameters(), *drawn.buffers()])
    weight = drawn.mlp.layers[1].weight  # (64, 64)
    # a float32 draw cast up is exactly representable in float32; a float64 draw (almost surely) is not
    assert torch.equal(cast.mlp.layers[1].weight.float().double(), cast.mlp.layers[1].weight)
    assert (weight.float().double() != weight).float().mean() > 0.99
    assert weight.std().item() == pytest.approx(math.sqrt(2 / 128), rel=0.05)  # Glorot's std all the same
    assert drawn(torch.rand(5, 2, dtype=torch.float64)).dtype == torch.float64
    assert PINN(domain, generator=seeded(1)).mlp.layers[0].weight.dtype == torch.get_default_dtype()


def test_fourier_features_lie_on_the_torus_and_are_seeded_buffers(generator):
    features = FourierFeatures(3, 64, scale=2.0, generator=seeded()).double()
    x = torch.randn(20, 3, generator=generator, dtype=torch.float64)
    gamma = features(x)  # (20, 128): cos^2 + sin^2 = 1 per frequency
    assert gamma.shape == (20, 128)
    torch.testing.assert_close(gamma.square().sum(dim=1), torch.full((20,), 64.0, dtype=torch.float64))
    # at the origin every phase is zero: cos = 1, sin = 0
    torch.testing.assert_close(features(torch.zeros(1, 3, dtype=torch.float64)), torch.cat([torch.ones(1, 64), torch.zeros(1, 64)], 1).double())
    assert FourierFeatures(3, 20000, scale=2.0, generator=seeded()).frequencies.std().item() == pytest.approx(2.0, rel=0.02)
    model = PINN(Domain(((0.0, 1.0),) * 2), fourier_features=16, fourier_scale=2.0, generator=seeded())
    assert model.mlp.layers[0].in_features == 32 and "features.frequencies" in model.state_dict()
    assert "low" not in model.state_dict()  # derived from the domain, not state
    assert model(torch.rand(7, 2, generator=generator)).shape == (7, 1)


def test_bad_arguments_and_points_raise(generator):
    domain = Domain(((0.0, 1.0),), time=(0.0, 1.0))
    with pytest.raises(TypeError, match="domain"):
        PINN(((0.0, 1.0),))
    with pytest.raises(ValueError, match="fourier_features"):
        PINN(domain, fourier_features=-1)
    with pytest.raises(TypeError, match="constraint"):
        PINN(domain, constraint=3)
    with pytest.raises(ValueError, match="scale"):
        FourierFeatures(2, 4, scale=0.0)
    model = PINN(domain)
    with pytest.raises(ValueError, match=r"\(P, 2\) torch.float32"):
        model(torch.rand(5, 3, generator=generator))
    with pytest.raises(ValueError, match="model's dtype"):
        model(torch.rand(5, 2, generator=generator, dtype=torch.float64))
