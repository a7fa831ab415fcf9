"""Operator preconditioning on a model linear in its parameters: the condition number of the PINN Hessian grows
like K^4 with the number of Fourier modes K, and like K^0 after preconditioning, as De Ryck et al. state; the
preconditioned descent converges where plain descent crawls."""

import math

import pytest
import torch

from helpers import fitted_order
from sciml.diff import AutogradDiff
from sciml.nn import FourierExpansion
from sciml.optim import Residual, residual_jacobian
from sciml.optim.preconditioned import PreconditionedGD, condition_number, operator_preconditioner

ENDS = torch.tensor([[0.0], [1.0]], dtype=torch.float64)


def poisson_terms(model, n):
    """-u'' = 4 pi^2 sin(2 pi x) on (0, 1), u(0) = u(1) = 0 (exact: sin(2 pi x)), at n cell centres."""
    x = ((torch.arange(n, dtype=torch.float64) + 0.5) / n)[:, None].requires_grad_(True)
    pde = -AutogradDiff(x).dxx(model(x)) - 4 * math.pi**2 * torch.sin(2 * math.pi * x)
    return {"pde": Residual(pde), "bc": Residual(model(ENDS))}


def hessian(model, n, weight):
    """The constant Hessian J^T J of the loss mean(pde^2) + weight mean(bc^2), up to the factor 2."""
    terms = poisson_terms(model, n)
    stacked = torch.cat([terms["pde"].values.flatten() / math.sqrt(n), math.sqrt(weight / 2) * terms["bc"].values.flatten()])
    jacobian = residual_jacobian(stacked, [model.weight])
    return jacobian.T @ jacobian


@pytest.mark.parametrize("weight", [1.0, 100.0])
def test_condition_numbers_follow_the_theory(weight):
    modes = [4, 8, 16, 32]
    before, after = [], []
    for k in modes:
        model = FourierExpansion(1, k)
        a = hessian(model, 4 * (2 * k + 1), weight)
        p = operator_preconditioner(model.laplacian_symbol(), weight)
        before.append(condition_number(a))
        after.append(condition_number(p[:, None] * a * p[None, :]))  # P^T A P for diagonal P
    assert fitted_order(modes, before) == pytest.approx(4.0, abs=0.05), before  # kappa(A) ~ K^4
    assert abs(fitted_order(modes, after)) < 0.01 and max(after) < 3, after  # kappa(P^T A P) = O(1)


def test_preconditioned_descent_converges_where_plain_descent_crawls():
    k, n, weight, steps = 16, 132, 1.0, 60
    errors = {}
    x = torch.linspace(0, 1, 101, dtype=torch.float64)[:, None]
    for name in ("plain", "preconditioned"):
        model = FourierExpansion(1, k, generator=torch.Generator().manual_seed(0))
        a = hessian(model, n, weight)
        diagonal = operator_preconditioner(model.laplacian_symbol(), weight) if name == "preconditioned" else torch.ones(2 * k + 1, dtype=torch.float64)
        spectrum = torch.linalg.eigvalsh(diagonal[:, None] * a * diagonal[None, :])
        # the optimal fixed step 2 / (mu_min + mu_max) for a quadratic with Hessian 2 P^T A P (the loss has the factor 2)
        lr = 1 / (spectrum[0] + spectrum[-1]).item()
        optimizer = PreconditionedGD(model.parameters(), ("pde", "bc"), preconditioner=diagonal, weights={"bc": weight}, lr=lr)
        for _ in range(steps):
            optimizer.step(lambda: poisson_terms(model, n))
        exact = torch.sin(2 * math.pi * x)
        errors[name] = ((model(x) - exact).norm() / exact.norm()).item()
    assert errors["preconditioned"] < 1e-10 and errors["plain"] > 0.1, errors


def test_bad_preconditioner_shapes_raise():
    model = FourierExpansion(1, 2)
    with pytest.raises(ValueError, match=r"\(N,\) or \(N, N\) with N = 5"):
        PreconditionedGD(model.parameters(), ("pde",), preconditioner=torch.ones(4))
    with pytest.raises(ValueError, match="boundary_weight"):
        operator_preconditioner(model.laplacian_symbol(), 0.0)
