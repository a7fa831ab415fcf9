"""Gauss-Newton / natural gradient: exact on linear least squares, matrix-free CG and the Gram matrix's Cholesky
solve equal to the dense solve, the Gram matrix by syrk equal to the product, Levenberg-Marquardt's damping rule,
and the PINN accuracy it is for on a 1-D Poisson problem."""

import itertools
import math

import pytest
import torch
from torch import nn

from sciml.diff import AutogradDiff
from sciml.optim import NaturalGradient, Residual, gauss_newton_direction
from sciml.optim.natural_gradient import _gram


def test_one_step_reaches_the_least_squares_minimizer_of_a_linear_problem(generator):
    x = torch.randn(30, 5, dtype=torch.float64, generator=generator)
    y = torch.randn(30, 1, dtype=torch.float64, generator=generator)
    model = nn.Linear(5, 1).double()
    optimizer = NaturalGradient(model.parameters(), ("data",), damping=0.0, line_search=1)
    optimizer.step(lambda: {"data": Residual(model(x) - y)})
    design = torch.cat([x, torch.ones(30, 1, dtype=torch.float64)], dim=1)  # (30, 6): weights and bias
    exact = torch.linalg.lstsq(design, y).solution[:, 0]
    torch.testing.assert_close(torch.cat([model.weight[0], model.bias]), exact, rtol=0, atol=1e-10)


def pinn_residual(model, points):
    """-u'' - pi^2 sin(pi x) at points (P, 1), through autograd in the input: second derivatives in the graph."""
    points = points.requires_grad_(True)
    u = model(points)
    return -AutogradDiff(points).dxx(u) - math.pi**2 * torch.sin(math.pi * points)


def network(seed, width=12):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(1, width), nn.Tanh(), nn.Linear(width, 1)).double()


def test_matrix_free_conjugate_gradients_equal_the_dense_solve():
    model = network(0)
    params = list(model.parameters())  # 37 parameters
    # fewer residuals than parameters: J has a null space, the damping makes the system definite
    few = pinn_residual(model, torch.linspace(0, 1, 25, dtype=torch.float64)[:, None])
    for damping in (1e-4, 1e-2):
        cg = gauss_newton_direction(few, params, damping=damping, solver="cg", tol=1e-15, maxiter=2000)
        dense = gauss_newton_direction(few, params, damping=damping, solver="dense")
        torch.testing.assert_close(cg, dense, rtol=0, atol=1e-10 * dense.abs().max().item())
    # more residuals than parameters: the column-by-column Jacobian path
    many = pinn_residual(model, torch.linspace(0, 1, 80, dtype=torch.float64)[:, None])
    dense = gauss_newton_direction(many, params, damping=1e-4, solver="dense")
    cg = gauss_newton_direction(many, params, damping=1e-4, solver="cg", tol=1e-15, maxiter=2000)
    torch.testing.assert_close(cg, dense, rtol=0, atol=1e-10 * dense.abs().max().item())


def test_the_cholesky_solve_of_the_damped_gram_matrix_equals_the_dense_solve():
    model = network(0)
    params = list(model.parameters())
    for count in (25, 80):  # J with a null space (damping makes the Gram matrix definite), and without
        residual = pinn_residual(model, torch.linspace(0, 1, count, dtype=torch.float64)[:, None])
        for damping in (1e-4, 1e-2):
            dense = gauss_newton_direction(residual, params, damping=damping, solver="dense", rcond=None)
            gram = gauss_newton_direction(residual, params, damping=damping, solver="gram")
            torch.testing.assert_close(gram, dense, rtol=0, atol=1e-10 * dense.abs().max().item())
    # damping below the Gram matrix's round-off where J has a null space: the factorization fails (measured), and
    # the direction is the dense solve's, the same bits
    few = pinn_residual(model, torch.linspace(0, 1, 25, dtype=torch.float64)[:, None])
    for rcond in (None, 1e-7):
        assert torch.equal(gauss_newton_direction(few, params, damping=1e-30, solver="gram", rcond=rcond),
                           gauss_newton_direction(few, params, damping=1e-30, solver="dense", rcond=rcond))
    with pytest.raises(ValueError, match="needs damping > 0"):
        gauss_newton_direction(residual, params, damping=0.0, solver="gram")
    with pytest.raises(ValueError, match="needs damping > 0"):
        NaturalGradient(params, ("pde",), damping=0.0, solver="gram")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("shape", [(700, 130), (40, 90), (1, 1)])
def test_the_gram_matrix_by_syrk_equals_the_product_and_is_exactly_symmetric(dtype, shape, generator):
    """The CPU path (BLAS's syrk on one triangle, mirrored) against ``J.T @ J``, also where ``J`` has more columns
    than rows (a rank-deficient Gram matrix) and for a transposed (non-contiguous) ``J``."""
    jacobian = torch.randn(*shape, dtype=torch.float64, generator=generator).to(dtype)
    for j in (jacobian, jacobian.T.contiguous().T):
        gram = _gram(j)
        assert gram.dtype == dtype and torch.equal(gram, gram.T)
        tolerance = 1e-13 if dtype == torch.float64 else 1e-5
        torch.testing.assert_close(gram, j.T @ j, rtol=0, atol=tolerance * (j.T @ j).abs().max().item())


def test_natural_gradient_solves_a_pinn_to_high_accuracy_where_the_loss_never_rises():
    model = network(1, width=16)
    interior = torch.linspace(0, 1, 40, dtype=torch.float64)[1:-1, None]
    ends = torch.tensor([[0.0], [1.0]], dtype=torch.float64)

    def closure():
        return {"pde": Residual(pinn_residual(model, interior.clone())), "bc": Residual(model(ends))}

    optimizer = NaturalGradient(model.parameters(), ("pde", "bc"), damping=1e-10)
    losses = [sum(optimizer.step(closure).values()).item() for _ in range(40)]
    assert all(b <= a for a, b in itertools.pairwise(losses))
    x = torch.linspace(0, 1, 201, dtype=torch.float64)[:, None]
    exact = torch.sin(math.pi * x)
    error = ((model(x) - exact).norm() / exact.norm()).item()
    assert error < 1e-5, error  # Adam stalls near 1e-3 on such problems


@pytest.mark.parametrize("solver", ["gram", "dense", "cg"])
def test_adaptive_damping_on_linear_least_squares_takes_the_damped_step_and_divides_the_damping(solver, generator):
    """A linear model predicts its own decrease exactly (gain ratio 1): every step is the damped Gauss-Newton step
    from the current damping, which is then divided by 3, one loss evaluation per step; the steps reach the minimizer."""
    x = torch.randn(30, 5, dtype=torch.float64, generator=generator)
    y = torch.randn(30, 1, dtype=torch.float64, generator=generator)
    model = nn.Linear(5, 1).double()
    design = torch.cat([x, torch.ones(30, 1, dtype=torch.float64)], dim=1) / math.sqrt(30)  # (30, 6): the scaled J
    calls = []

    def closure():
        calls.append(1)
        return {"data": Residual(model(x) - y)}

    optimizer = NaturalGradient(model.parameters(), ("data",), damping=0.3, solver=solver, adaptive_damping=True, cg_tol=1e-14)
    theta = torch.cat([model.weight[0], model.bias]).detach()
    r = (design @ theta - y[:, 0] / math.sqrt(30))
    expected = theta - torch.linalg.solve(design.T @ design + 0.3 * torch.eye(6, dtype=torch.float64), design.T @ r)
    optimizer.step(closure)
    torch.testing.assert_close(torch.cat([model.weight[0], model.bias]), expected, rtol=0, atol=1e-12)
    assert len(calls) == 2 and optimizer.param_groups[0]["damping"] == pytest.approx(0.1, rel=1e-15)
    for _ in range(4):
        optimizer.step(closure)
    assert len(calls) == 10 and optimizer.param_groups[0]["damping"] == pytest.approx(0.3 / 3**5, rel=1e-12)
    for _ in range(20):
        optimizer.step(closure)
    exact = torch.linalg.lstsq(design, y[:, 0] / math.sqrt(30)).solution
    torch.testing.assert_close(torch.cat([model.weight[0], model.bias]), exact, rtol=0, atol=1e-10)


def test_adaptive_damping_raises_the_damping_until_an_overlong_step_lowers_the_loss(generator):
    """lr = 3 overshoots the minimizer of linear least squares (the loss along d is (1 - eta)^2 times the excess while
    the damping is small): the step is rejected and solved again with the damping doubled until it is short enough;
    the loss never rises; where no step lowers the loss, the parameters and the damping stay as they were."""
    x = torch.randn(30, 5, dtype=torch.float64, generator=generator)
    y = torch.randn(30, 1, dtype=torch.float64, generator=generator)
    model = nn.Linear(5, 1).double()
    closure = lambda: {"data": Residual(model(x) - y)}
    optimizer = NaturalGradient(model.parameters(), ("data",), lr=3.0, damping=1e-6, solver="gram", adaptive_damping=True)
    losses = [optimizer.step(closure)["data"].item() for _ in range(30)]
    assert all(b < a for a, b in itertools.pairwise(losses))
    assert optimizer.param_groups[0]["damping"] > 1e-2  # raised from 1e-6: only a damped, shorter step is accepted
    flat = lambda: {"data": Residual(0 * model(x) + y)}  # J = 0: no step can lower the loss
    stuck = NaturalGradient(model.parameters(), ("data",), damping=1e-6, solver="dense", adaptive_damping=True)
    theta = torch.cat([model.weight[0], model.bias]).detach().clone()
    stuck.step(flat)
    assert torch.equal(torch.cat([model.weight[0], model.bias]).detach(), theta)
    assert stuck.param_groups[0]["damping"] == 1e-6  # kept: the 30 doublings are not carried into the next step
    with pytest.raises(ValueError, match="damping_min"):
        NaturalGradient(model.parameters(), ("data",), damping=1e-3, solver="gram", adaptive_damping=True, damping_min=0.0)


def test_terms_must_be_residuals():
    model = network(0)
    optimizer = NaturalGradient(model.parameters(), ("pde",))
    with pytest.raises(TypeError, match="Residual"):
        optimizer.step(lambda: {"pde": model(torch.zeros(2, 1, dtype=torch.float64)).square().mean()})
    with pytest.raises(ValueError, match="solver"):
        NaturalGradient(model.parameters(), ("pde",), solver="qr")


def test_the_line_search_takes_the_argmin_of_the_whole_grid(generator):
    """On linear least squares the loss along the Gauss-Newton direction is (1 - eta)^2 times the excess: from lr = 8
    the grid 8, 4, 2, 1, 1/2, ... (all 31 tried) has its minimum at eta = 1, the minimizer."""
    x = torch.randn(30, 5, dtype=torch.float64, generator=generator)
    y = torch.randn(30, 1, dtype=torch.float64, generator=generator)
    model = nn.Linear(5, 1).double()
    calls = []

    def closure():
        calls.append(1)
        return {"data": Residual(model(x) - y)}

    NaturalGradient(model.parameters(), ("data",), lr=8.0, damping=0.0, solver="dense", rcond=None).step(closure)
    design = torch.cat([x, torch.ones(30, 1, dtype=torch.float64)], dim=1)  # (30, 6): weights and bias
    exact = torch.linalg.lstsq(design, y).solution[:, 0]
    torch.testing.assert_close(torch.cat([model.weight[0], model.bias]), exact, rtol=0, atol=1e-10)
    assert len(calls) == 1 + 31
