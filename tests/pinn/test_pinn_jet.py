"""Jets of a PINN: the derivatives autograd gives, and the Jacobian vmap(jacrev) gives, from one forward and one backward pass."""

import dataclasses

import pytest
import torch
from sciml.problems import Burgers, Poisson

from sciml.diff import AutogradDiff
from sciml.optim.natural_gradient import pointwise_jacobian
from sciml.pinn import PINN, Collocation, HardConstraint, PINNObjective
from sciml.pinn.jet import JetDiff, jet, jet_jacobian

pytestmark = pytest.mark.usefixtures("one_thread")

BURGERS, POISSON5 = Burgers.pinn_classic(), Poisson.pinn_classic(5, exact_form="sum")
VARIANTS = {
    "plain": {},
    "fourier": {"fourier_features": 6, "fourier_scale": 2.0},
    "hard": {"constraint": HardConstraint.from_problem(BURGERS)},
    "sin": {"activation": torch.sin},  # not tanh: sigma' and sigma'' by autograd
}


def model_for(problem, seed=0, out_features=1, **options):
    return PINN(problem.domain, out_features, hidden_features=7, n_layers=4, generator=torch.Generator().manual_seed(seed),
                dtype=torch.float64, **options)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_jet_holds_the_derivatives_autograd_takes(variant, generator):
    model = model_for(BURGERS, **VARIANTS[variant])
    points = BURGERS.domain.sample_interior(50, generator, "uniform").double()
    expansion = jet(model, points, 2)
    coords = points.clone().requires_grad_(True)
    u = model(coords)
    d = AutogradDiff(coords, time=True)
    expected = {(0, 1): d.dt(u), (1, 1): d.dx(u, 0), (1, 2): d.dxx(u, 0)}
    (u_t,) = torch.autograd.grad(d.dt(u).sum(), coords, create_graph=True)
    expected[(0, 2)] = u_t[:, :1]
    scale = u.abs().max().item()
    torch.testing.assert_close(expansion.value, u, rtol=0, atol=1e-13 * scale)
    for (column, order), value in expected.items():
        got = expansion.partial(column, order)
        torch.testing.assert_close(got, value, rtol=0, atol=1e-11 * value.abs().max().item(), msg=f"{column}, {order}")
    assert jet(model, points, 0).components.shape == (1, 50, 1) and jet(model, points, 1).components.shape == (3, 50, 1)


@pytest.mark.parametrize("problem, variant", [(BURGERS, "plain"), (BURGERS, "hard"), (BURGERS, "fourier"), (BURGERS, "sin"),
                                              (POISSON5, "plain")], ids=["burgers", "burgers-hard", "burgers-fourier",
                                                                         "burgers-sin", "poisson5d"])
def test_the_jet_jacobian_of_every_term_equals_vmap_jacrev(problem, variant, generator):
    model = model_for(problem, **VARIANTS[variant])
    data = torch.rand(9, problem.domain.columns, generator=generator, dtype=torch.float64)
    objective = PINNObjective(problem, data=(data, torch.rand(9, 1, generator=generator, dtype=torch.float64)))
    params = list(model.parameters())[::-1][:5]  # a subset, out of the model's order
    for term, residual in objective(model, Collocation(problem, 60, 12, dtype=torch.float64).points(0)).items():
        assert residual.pointwise.jacobian is not None, term
        fast = pointwise_jacobian(residual.pointwise, params)
        reference = pointwise_jacobian(dataclasses.replace(residual.pointwise, jacobian=None), params)
        assert fast.shape == (residual.values.numel(), sum(p.numel() for p in params))
        torch.testing.assert_close(fast, reference, rtol=0, atol=1e-12 * reference.abs().max().item(), msg=term)


def test_the_rows_of_a_residual_with_several_channels_interleave_as_its_values(generator):
    """Row p C + c: channel c at point p, as values.reshape(-1) orders them."""
    model = model_for(BURGERS, out_features=2)
    points = torch.rand(11, 2, generator=generator, dtype=torch.float64)
    params = list(model.parameters())
    fast = jet_jacobian(model, points, lambda expansion: expansion.value * expansion.value, params, order=0)
    reference = torch.func.jacrev(lambda *ps: torch.func.functional_call(
        model, dict(zip([n for n, _ in model.named_parameters()], ps)), (points,)).square().reshape(-1), argnums=tuple(range(len(params))))(*params)
    reference = torch.cat([block.reshape(22, -1) for block in reference], dim=1)
    torch.testing.assert_close(fast, reference, rtol=0, atol=1e-13 * reference.abs().max().item())


def test_bad_inputs_raise(generator):
    model = model_for(BURGERS)
    points = torch.rand(5, 2, generator=generator, dtype=torch.float64)
    with pytest.raises(ValueError, match="not a weight or bias"):
        jet_jacobian(model, points, lambda expansion: expansion.value, [torch.zeros(3, requires_grad=True)])
    with pytest.raises(ValueError, match="order must be"):
        jet(model, points, 3)
    with pytest.raises(ValueError, match="no constraint or a HardConstraint"):
        jet(model_for(BURGERS, constraint=lambda p, raw: raw), points)
    with pytest.raises(ValueError, match="not computed"):
        jet(model, points, 1).partial(0, 2)
    d = JetDiff(jet(model, points), time=True)
    with pytest.raises(ValueError, match="only the network's output"):
        d.dx(2 * d.u)
    with pytest.raises(ValueError, match="needs time=True"):
        JetDiff(jet(model, points)).dt(d.u)
