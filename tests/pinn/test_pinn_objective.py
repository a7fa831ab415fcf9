"""The PINN objective: the problem's own residual and conditions, named, at round-off on exact solutions."""

import dataclasses

import pytest
import torch
from sciml.problems import Burgers, Poisson

from sciml.optim import (
    LBFGS,
    Adam,
    ConFIG,
    MConFIG,
    MultiAdam,
    default_groups,
    residual_jacobian,
)
from sciml.optim.natural_gradient import pointwise_jacobian
from sciml.pinn import PINN, Collocation, PINNObjective
from sciml.pinn.pointwise import PointDiff
from sciml.train import fit

pytestmark = pytest.mark.usefixtures("one_thread")

CLASSIC = {"poisson2d": Poisson.pinn_classic(), "poisson5d": Poisson.pinn_classic(5), "burgers": Burgers.pinn_classic()}


@pytest.mark.parametrize("name", sorted(CLASSIC))
def test_exact_solutions_have_round_off_residual_and_conditions(name):
    problem = CLASSIC[name]
    objective = PINNObjective(problem)
    batch = Collocation(problem, 1024, 128, dtype=torch.float64).points(0)
    residuals = objective(problem.exact_solution, batch)
    assert objective.terms == tuple(residuals) == ("pde", *problem.conditions())
    assert {name: r.values.shape for name, r in residuals.items()} == {name: (len(p), 1) for name, p in batch.items()}
    terms = {name: r.loss() for name, r in residuals.items()}
    # Poisson's forcing is O(d pi^2) and Burgers' u u_x is O(100) at the front: mean squares at round-off
    assert terms["pde"] < 1e-24, terms
    assert all(terms[c] < 1e-28 for c in problem.conditions()), terms
    perturbed = {name: r.loss() for name, r in objective(lambda p: 1.01 * problem.exact_solution(p), batch).items()}
    assert perturbed["pde"] > 1e-5 and perturbed["bc"] < 1e-28  # the check can fail; the Dirichlet data are zero


def test_residual_of_polynomial_fields_by_hand(generator):
    points = torch.rand(40, 2, generator=generator, dtype=torch.float64)
    x, y = points[:, :1], points[:, 1:]
    poisson = Poisson.pinn_classic()  # -lap(x^2 y) - f = -2 y - 2 pi^2 sin(pi x) sin(pi y)
    residual = PINNObjective(poisson).residual(lambda p: p[:, :1] ** 2 * p[:, 1:], points)
    torch.testing.assert_close(residual, -2 * y - poisson.exact_forcing(points), rtol=0, atol=1e-12)
    burgers = Burgers.pinn_classic()  # u = t x: u_t + u u_x - nu u_xx = x + t^2 x
    t, x = points[:, :1], 2 * points[:, 1:] - 1
    residual = PINNObjective(burgers).residual(lambda p: p[:, :1] * p[:, 1:], torch.cat([t, x], dim=1))
    torch.testing.assert_close(residual, x + t**2 * x, rtol=0, atol=1e-12)


def test_rescaling_the_box_scales_the_residual_term_by_the_fourth_power():
    """MultiAdam's domain-scaling experiment: the same network function on [0, L]^2, the pde term times L^-4."""
    terms = {}
    for length in (1.0, 8.0):
        problem = Poisson.pinn_classic(length=length)
        model = PINN(problem.domain, generator=torch.Generator().manual_seed(0)).double()
        batch = {name: length * p for name, p in Collocation(Poisson.pinn_classic(), 256, 64, dtype=torch.float64).points(0).items()}
        terms[length] = {name: value.loss().item() for name, value in PINNObjective(problem)(model, batch).items()}
    assert terms[8.0]["pde"] / terms[1.0]["pde"] == pytest.approx(8.0**-4, rel=1e-10)
    assert terms[8.0]["bc"] == pytest.approx(terms[1.0]["bc"], rel=1e-12)


def test_data_term(generator):
    problem = Poisson.pinn_classic()
    points = torch.rand(30, 2, generator=generator, dtype=torch.float64)
    objective = PINNObjective(problem, conditions=(), data=(points, problem.exact_solution(points)))
    assert objective.terms == ("pde", "data")
    batch = {"pde": points}
    assert objective(problem.exact_solution, batch)["data"].loss() < 1e-30
    shifted = objective(lambda p: problem.exact_solution(p) + 0.1, batch)["data"]
    torch.testing.assert_close(shifted.values, torch.full((30, 1), 0.1, dtype=torch.float64), rtol=0, atol=1e-15)


@pytest.mark.parametrize("optimizer", [Adam, LBFGS, MultiAdam, ConFIG, MConFIG], ids=lambda c: c.__name__)
def test_every_optimizer_trains_on_the_named_terms_through_fit(optimizer):
    problem = Burgers.pinn_classic()
    objective = PINNObjective(problem)
    model = PINN(problem.domain, hidden_features=8, n_layers=3, generator=torch.Generator().manual_seed(0))
    collocation = Collocation(problem, 64, 16, steps_per_epoch=3)
    opt = optimizer(model.parameters(), objective.terms, **({"max_eval": 10} if optimizer is LBFGS else {}))
    before = [p.detach().clone() for p in model.parameters()]
    progress = fit(model, opt, objective, collocation, epochs=2, show_progress=False)
    assert progress.step == 6
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert default_groups(objective.terms) == {"pde": ("pde",), "boundary": ("bc", "ic")}


def test_bad_arguments_raise(generator):
    problem = Burgers.pinn_classic()
    with pytest.raises(ValueError, match="among"):
        PINNObjective(problem, conditions=("wall",))
    with pytest.raises(ValueError, match="data must be"):
        PINNObjective(problem, data=(torch.zeros(4, 3), torch.zeros(4, 1)))
    with pytest.raises(ValueError, match=r"no points for \['ic'\]"):
        PINNObjective(problem)(problem.exact_solution, {"pde": torch.rand(4, 2, generator=generator), "bc": torch.rand(4, 2)})


@pytest.mark.parametrize("name", ["poisson2d", "burgers"])
def test_the_pointwise_jacobian_equals_the_autograd_jacobian_of_every_term(name, generator):
    """vmap(jacrev) of the residual one point at a time (forward-mode derivatives in the inputs) against autograd products."""
    problem = CLASSIC[name]
    data = torch.rand(7, problem.domain.columns, generator=generator, dtype=torch.float64)
    objective = PINNObjective(problem, data=(data, problem.exact_solution(data)[:, :1]))
    model = PINN(problem.domain, hidden_features=8, n_layers=3, generator=torch.Generator().manual_seed(0)).double()
    params = list(model.parameters())
    residuals = objective(model, Collocation(problem, 40, 9, dtype=torch.float64).points(0))
    for term, residual in residuals.items():
        assert residual.pointwise is not None, term
        fast, reference = pointwise_jacobian(residual.pointwise, params), residual_jacobian(residual.values, params)
        assert fast.shape == (residual.values.numel(), sum(p.numel() for p in params))
        torch.testing.assert_close(fast, reference, rtol=0, atol=1e-12 * reference.abs().max().item())
    scaled = residuals["pde"].scaled(3.0)  # a weight scales the pointwise form with the values
    torch.testing.assert_close(pointwise_jacobian(scaled.pointwise, params), 3 * residual_jacobian(residuals["pde"].values, params))
    # a weight per point (importance weights): the values' rows, the jet Jacobian's and vmap(jacrev)'s all scaled alike
    factor = torch.rand(40, generator=generator, dtype=torch.float64) + 0.5
    weighted = residuals["pde"].scaled(factor)
    torch.testing.assert_close(weighted.values, factor[:, None] * residuals["pde"].values, rtol=0, atol=0)
    reference = residual_jacobian(weighted.values, params)
    for pointwise in (weighted.pointwise, dataclasses.replace(weighted.pointwise, jacobian=None)):
        torch.testing.assert_close(pointwise_jacobian(pointwise, params), reference, rtol=0, atol=1e-12 * reference.abs().max().item())
    with pytest.raises(ValueError, match="shape \\(40,\\)"):
        residuals["pde"].scaled(factor[:-1])


def test_point_diff_differentiates_only_the_network_output():
    problem = Poisson.pinn_classic()
    objective = PINNObjective(problem)
    with pytest.raises(ValueError, match="only the network's output u itself"):
        d = PointDiff(lambda x: x.sin().sum()[None], torch.zeros(2, dtype=torch.float64))
        d.dx(2 * d.u)
    assert objective(problem.exact_solution, {"pde": torch.rand(4, 2), "bc": torch.zeros(4, 2)})["pde"].pointwise is None
