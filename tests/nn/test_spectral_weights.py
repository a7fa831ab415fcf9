"""Real-stored complex weights: factorizations equal their rebuilt dense weight; optimizers see the complex step."""

import pytest
import torch

from sciml.models import FNO, FNOOptions
from sciml.nn import MLP, SpectralConv, complex_pair_parameters, reference_spectral_conv


@pytest.mark.parametrize("factorization", ["cp", "tucker"])
@pytest.mark.parametrize("implementation", ["factorized", "rebuilt"])
@pytest.mark.parametrize(
    "shape,out_shape,modes", [((16, 15), None, (4, 5)), ((8, 9, 10), (12, 7, 11), (2, 3, 2)), ((9,), (6,), (5,))]
)
def test_factorized_contraction_equals_rebuilt_dense(factorization, implementation, shape, out_shape, modes, generator):
    layer = SpectralConv(3, 4, modes, factorization=factorization, rank=0.4, generator=generator).double()
    layer.weight.implementation = implementation
    x = torch.randn(2, 3, *shape, dtype=torch.float64, generator=generator, requires_grad=True)
    y = layer(x, out_shape)
    ref = reference_spectral_conv(x, layer.full_weight(), layer.modes, out_shape)
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-10)
    probe = torch.randn(y.shape, dtype=torch.float64, generator=generator)
    params = [x, *layer.weight.parameters()]
    for g, r in zip(torch.autograd.grad((y * probe).sum(), params), torch.autograd.grad((ref * probe).sum(), params)):
        torch.testing.assert_close(g, r, rtol=0, atol=1e-10)


@pytest.mark.parametrize("factorization", ["cp", "tucker"])
def test_float_rank_sets_the_parameter_fraction_and_init_scale(factorization, generator):
    dense = SpectralConv(16, 16, (6, 6), generator=generator)
    layer = SpectralConv(16, 16, (6, 6), factorization=factorization, rank=0.25, generator=generator)
    fraction = sum(p.numel() for p in layer.parameters()) / sum(p.numel() for p in dense.parameters())
    assert 0.2 < fraction <= 0.26
    # The rebuilt weight has the dense initialization's E|W|^2 = 2 / (C_in + C_out), within sampling error.
    power = layer.full_weight().abs().pow(2).mean()
    assert 0.6 < power / (2 / 32) < 1.6


def test_adam_on_the_real_parametrization_takes_the_complex_step(generator):
    """Two Adam steps on our real (re, im) weight equal Adam on the complex weight itself."""
    layer = SpectralConv(3, 2, (3, 4), generator=generator).double()
    x = torch.randn(4, 3, 10, 11, dtype=torch.float64, generator=generator)
    target = torch.randn(4, 2, 10, 11, dtype=torch.float64, generator=generator)
    complex_weight = torch.view_as_complex(layer.weight.weight.detach().clone()).requires_grad_()
    ours = torch.optim.Adam(layer.parameters(), lr=1e-2)
    theirs = torch.optim.Adam([complex_weight], lr=1e-2)
    for _ in range(2):
        ours.zero_grad()
        theirs.zero_grad()
        (layer(x) - target).pow(2).mean().backward()
        (reference_spectral_conv(x, complex_weight, layer.modes) - target).pow(2).mean().backward()
        expected_grad = torch.view_as_real(complex_weight.grad)
        torch.testing.assert_close(layer.weight.weight.grad, expected_grad, rtol=0, atol=1e-14)
        ours.step()
        theirs.step()
    torch.testing.assert_close(layer.weight.weight, torch.view_as_real(complex_weight).detach(), rtol=0, atol=1e-14)
    assert all(not p.is_complex() for p in layer.state_dict().values())


@pytest.mark.parametrize("factorization", [None, "cp", "tucker"])
def test_complex_pair_parameters_are_every_spectral_weight_and_nothing_else(factorization, generator):
    """Every parameter of a spectral weight, viewed as complex in forward; not the real ones that end in 2 too."""
    model = FNO(1, 1, (3, 3), 4, n_layers=2, options=FNOOptions(factorization=factorization), generator=generator)
    found = complex_pair_parameters(model)
    names = {id(p): name for name, p in model.named_parameters()}
    expected = [name for name, _ in model.named_parameters() if ".spectral.weight." in name]
    assert [names[id(p)] for p in found] == expected and len(expected) >= 2
    assert all(p.shape[-1] == 2 for p in found)
    assert any(p.shape[-1] == 2 for name, p in model.named_parameters() if name not in expected)  # mlp.fc2: (4, 2), real
    layer = SpectralConv(3, 2, (3, 4), factorization=factorization, generator=generator)
    assert complex_pair_parameters(layer) == list(layer.weight.parameters())
    assert complex_pair_parameters(MLP(2, 2, 8)) == []
