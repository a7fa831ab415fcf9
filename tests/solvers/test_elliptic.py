"""Elliptic solvers against mathematics: DST identities, discrete exactness, convergence orders, spsolve."""

import math

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import torch
from helpers import fitted_order

from sciml.diff import AutogradDiff, FiniteDiff
from sciml.solvers import (
    darcy_matrix,
    darcy_operator,
    dst1,
    poisson_dirichlet,
    poisson_periodic,
    solve_darcy,
)
from sciml.spectral import GaussianRandomField, Grid


def points(grid):
    """The grid's nodes as points ``(*S, dim)``."""
    return grid.coords().movedim(0, -1)


def interior(u, dim):
    return u[(..., *(slice(1, -1),) * dim)]


def bubble(x):
    """Smooth non-polynomial u = prod x(1 - x) e^x, zero on the unit box's boundary, and -Laplacian u; x (..., d)."""
    g = x * (1 - x) * torch.exp(x)
    g2 = -x * (3 + x) * torch.exp(x)  # g''
    u = g.prod(-1)
    lap = sum(g2[..., i] * torch.cat([g[..., :i], g[..., i + 1 :]], -1).prod(-1) for i in range(x.shape[-1]))
    return u, -lap


def test_dst1_matches_the_sine_matrix_and_is_an_involution(generator):
    m = 11
    x = torch.randn(3, m, 5, generator=generator, dtype=torch.float64)
    j = torch.arange(1, m + 1, dtype=torch.float64)
    sine = torch.sin(math.pi * j[:, None] * j[None, :] / (m + 1))  # (k, j)
    expected = torch.einsum("kj,bjc->bkc", sine, x)  # (3, m, 5)
    torch.testing.assert_close(dst1(x, dim=1), expected, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(dst1(dst1(x, 1), 1), (m + 1) / 2 * x, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_dirichlet_poisson_solves_the_discrete_system_to_round_off(dim, generator):
    grid = Grid.uniform(9, dim, periodic=False)
    f = torch.randn(2, 1, *grid.shape, generator=generator, dtype=torch.float64)
    u = poisson_dirichlet(f, grid)
    # the 3/5/7-point Laplacian from an independent code path: central differences of sciml.diff
    residual = -FiniteDiff(grid).laplacian(u) - f
    assert interior(residual, dim).abs().max() < 1e-11 * interior(f, dim).abs().max() * 9**2
    boundary = u.clone()
    interior(boundary, dim).zero_()
    assert boundary.abs().max() == 0


@pytest.mark.parametrize("dim, ns", [(1, [9, 17, 33, 65, 129]), (2, [9, 17, 33, 65, 129]), (3, [5, 9, 17, 33])])
def test_dirichlet_poisson_converges_at_order_two(dim, ns):
    errors = []
    for n in ns:
        grid = Grid.uniform(n, dim, periodic=False)
        exact, f = bubble(points(grid))
        errors.append((poisson_dirichlet(f, grid) - exact).abs().max().item())
    assert fitted_order([1 / (n - 1) for n in ns], errors) == pytest.approx(2.0, abs=0.1)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_spectral_dirichlet_poisson_is_exact_for_sine_polynomials(dim):
    grid = Grid.uniform(12, dim, periodic=False)
    x = points(grid)
    u = torch.sin(math.pi * x).prod(-1) + 0.3 * torch.sin(math.pi * torch.tensor([3.0, 7.0, 5.0][:dim], dtype=torch.float64) * x).prod(-1)
    f = math.pi**2 * dim * torch.sin(math.pi * x).prod(-1) + 0.3 * math.pi**2 * sum([9.0, 49.0, 25.0][:dim]) * torch.sin(
        math.pi * torch.tensor([3.0, 7.0, 5.0][:dim], dtype=torch.float64) * x
    ).prod(-1)
    torch.testing.assert_close(poisson_dirichlet(f, grid, "spectral"), u, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_periodic_poisson_fd2_solves_the_discrete_system_and_has_zero_mean(dim, generator):
    grid = Grid.uniform(8, dim)
    f = torch.randn(2, 1, *grid.shape, generator=generator, dtype=torch.float64)
    dims = tuple(range(2, 2 + dim))
    u = poisson_periodic(f, grid)
    residual = -FiniteDiff(grid).laplacian(u) - (f - f.mean(dims, keepdim=True))
    assert residual.abs().max() < 1e-11 * f.abs().max() * 8**2
    assert u.mean(dims).abs().max() < 1e-14


def test_periodic_poisson_converges_at_order_two_and_spectral_is_exact():
    ns, errors = [8, 16, 32, 64, 128], []
    for n in ns:
        grid = Grid.uniform(n, 2)
        x = points(grid)
        s = torch.sin(2 * math.pi * x).sum(-1)
        # u = exp(sum sin(2 pi x_i)), -Laplacian u = 4 pi^2 u sum_i (sin - cos^2)(2 pi x_i)
        u = torch.exp(s)
        f = 4 * math.pi**2 * u * (torch.sin(2 * math.pi * x) - torch.cos(2 * math.pi * x) ** 2).sum(-1)
        u_h = poisson_periodic(f, grid)
        errors.append((u_h - (u - u.mean())).abs().max().item())
    assert fitted_order([1 / n for n in ns], errors) == pytest.approx(2.0, abs=0.1)
    grid = Grid.uniform(16, 3)
    x = points(grid)
    u = torch.cos(2 * math.pi * (x[..., 0] + 3 * x[..., 2])) * torch.sin(4 * math.pi * x[..., 1])
    f = 4 * math.pi**2 * (1 + 9 + 4) * u
    torch.testing.assert_close(poisson_periodic(f, grid, "spectral"), u, rtol=0, atol=1e-13)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_darcy_operator_matches_the_assembled_matrix_and_the_laplacian(dim, generator):
    grid = Grid((7, 6, 5)[:dim], (1.0, 0.5, 2.0)[:dim], periodic=False)
    a = 1 + torch.rand(grid.shape, generator=generator, dtype=torch.float64)
    u = interior(torch.randn(grid.shape, generator=generator, dtype=torch.float64), dim)
    u = torch.nn.functional.pad(u, (1, 1) * dim)
    expected = darcy_matrix(a, grid) @ interior(u, dim).reshape(-1).numpy()
    np.testing.assert_allclose(interior(darcy_operator(u, a, grid), dim).reshape(-1).numpy(), expected, rtol=1e-12, atol=1e-9)
    lap = FiniteDiff(grid).laplacian(u[None, None])[0, 0]
    torch.testing.assert_close(interior(darcy_operator(u, torch.ones_like(a), grid), dim), -interior(lap, dim))


def darcy_manufactured(grid):
    """a = (1 + x^2) e^{y} (2 + cos(pi x y)), u* = sin(pi x) sin(pi y) (1 + x y); f = -div(a grad u*) by autograd."""
    x = points(grid).reshape(-1, 2).requires_grad_(True)  # (P, 2)
    a = ((1 + x[:, :1] ** 2) * torch.exp(x[:, 1:]) * (2 + torch.cos(math.pi * x[:, :1] * x[:, 1:])))
    u = torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:]) * (1 + x[:, :1] * x[:, 1:])
    d = AutogradDiff(x)
    f = -d.div(a * d.grad(u))
    return [t.detach().reshape(grid.shape) for t in (a, u, f)]


def test_darcy_fd_converges_at_order_two_with_smooth_coefficients():
    ns, errors = [9, 17, 33, 65, 129], []
    for n in ns:
        grid = Grid.uniform(n, 2, periodic=False)
        a, exact, f = darcy_manufactured(grid)
        u = solve_darcy(a, f, grid, rtol=1e-11)
        errors.append((u - exact).abs().max().item())
    assert fitted_order([1 / (n - 1) for n in ns], errors) == pytest.approx(2.0, abs=0.1)


def thresholded(n, batch, generator):
    grid = Grid.uniform(n, 2, periodic=False)
    g = GaussianRandomField(grid, 2.0, 3.0, boundary="neumann").sample(batch, generator)
    return grid, torch.where(g >= 0, 12.0, 3.0).to(torch.float64)


def test_solve_darcy_equals_spsolve_on_thresholded_coefficients(generator):
    grid, a = thresholded(65, 3, generator)
    u = solve_darcy(a, 1.0, grid)
    for i in range(3):
        matrix = darcy_matrix(a[i], grid)
        reference = spla.spsolve(matrix.tocsc(), np.ones(matrix.shape[0]))
        ours = interior(u[i], 2).reshape(-1).numpy()
        assert np.linalg.norm(ours - reference) <= 1e-8 * np.linalg.norm(reference)
    # the batch is solved as independent systems, and a float64 preconditioner changes nothing
    torch.testing.assert_close(solve_darcy(a[1:2], 1.0, grid), u[1:2], rtol=1e-10, atol=0)
    exact_preconditioner = solve_darcy(a, 1.0, grid, rtol=1e-12, preconditioner_dtype=torch.float64)
    torch.testing.assert_close(solve_darcy(a, 1.0, grid, rtol=1e-12), exact_preconditioner, rtol=1e-11, atol=0)


@pytest.mark.parametrize("n", [33, 65, 129])
def test_solve_darcy_iterations_do_not_grow_with_the_grid(n, generator):
    """The Poisson preconditioner bounds the condition number by max a / min a = 4 on every grid."""
    grid, a = thresholded(n, 3, generator)
    u = solve_darcy(a, 1.0, grid, rtol=1e-9, maxiter=30)
    residual = interior(darcy_operator(u, a, grid) - 1.0, 2)
    assert residual.norm(dim=(1, 2)).max() <= 1e-9 * (n - 2)


def test_solve_darcy_raises_loudly(generator):
    grid, a = thresholded(17, 1, generator)
    with pytest.raises(RuntimeError, match="no convergence"):
        solve_darcy(a, 1.0, grid, maxiter=2)
    with pytest.raises(ValueError, match="positive"):
        solve_darcy(a - 5, 1.0, grid)
    with pytest.raises(ValueError, match="rtol"):
        solve_darcy(a.float(), 1.0, grid, rtol=1e-10)
    with pytest.raises(ValueError, match="periodic=False"):
        solve_darcy(a, 1.0, Grid.uniform(17, 2))


def test_solve_darcy_refuses_a_forcing_off_the_grid():
    grid = Grid.uniform(9, 2, periodic=False)
    with pytest.raises(ValueError, match="f must"):
        solve_darcy(torch.ones(1, 9, 9, dtype=torch.float64), torch.ones(8, 8, dtype=torch.float64), grid)
