"""The Poisson problem: manufactured solution, discrete exactness, convergence, seeding, the PINN setups."""

import math

import pytest
import torch
from helpers import fitted_order
from sciml.problems import Poisson

from sciml.diff import AutogradDiff, FiniteDiff, SpectralDiff

CASES = [(dim, boundary) for dim in (1, 2, 3) for boundary in ("dirichlet", "periodic")]


def fields(problem, grid):
    """The manufactured forcing and solution on ``grid``, each ``(1, 1, *S)``."""
    x = grid.coords().movedim(0, -1)  # (*S, dim)
    return [t.movedim(-1, 0)[None] for t in (problem.exact_forcing(x), problem.exact_solution(x))]


@pytest.mark.parametrize("dim, boundary", CASES)
def test_manufactured_pair_satisfies_the_pde_and_the_boundary_condition(dim, boundary, generator):
    problem = Poisson(dim=dim, boundary=boundary)
    x = torch.rand(40, dim, generator=generator, dtype=torch.float64).requires_grad_(True)
    u = problem.exact_solution(x)
    residual = problem.residual(u, problem.exact_forcing(x), AutogradDiff(x))
    assert residual.abs().max() < 1e-11
    assert problem.residual(u, 1.01 * problem.exact_forcing(x), AutogradDiff(x)).abs().max() > 0.1
    faces = x.detach().clone()
    faces[:, 0] = 0.0
    if boundary == "dirichlet":
        assert problem.exact_solution(faces).abs().max() < 1e-15
    else:
        shifted = faces.clone()
        shifted[:, 0] = 1.0
        torch.testing.assert_close(problem.exact_solution(faces), problem.exact_solution(shifted))


@pytest.mark.parametrize("dim, boundary", CASES)
def test_fd2_solution_satisfies_the_discrete_system(dim, boundary, generator):
    problem = Poisson(dim=dim, boundary=boundary)
    grid = problem.grid(12)
    f = problem.sample_inputs(2, grid, generator)
    u = problem.solve(f, grid)
    residual = problem.residual(u, f, FiniteDiff(grid))
    if boundary == "dirichlet":
        residual = residual[(..., *(slice(1, -1),) * dim)]
    assert residual.abs().max() < 1e-10 * f.abs().max() * 12**2


@pytest.mark.parametrize("dim, boundary", CASES)
def test_fd2_converges_at_order_two_and_spectral_is_exact(dim, boundary):
    problem = Poisson(dim=dim, boundary=boundary)
    ns = [9, 17, 33, 65] if dim == 3 else [9, 17, 33, 65, 129]
    if boundary == "periodic":
        ns = [n - 1 for n in ns]
    errors = []
    for n in ns:
        grid = problem.grid(n)
        f, exact = fields(problem, grid)
        errors.append((problem.solve(f, grid) - exact).abs().max().item())
    h = [grid.lengths[0] / (n if boundary == "periodic" else n - 1) for n in ns]
    assert fitted_order(h, errors) == pytest.approx(2.0, abs=0.1)
    spectral = Poisson(dim=dim, boundary=boundary, discretization="spectral")
    grid = spectral.grid(9)
    f, exact = fields(spectral, grid)
    torch.testing.assert_close(spectral.solve(f, grid), exact, rtol=0, atol=1e-12)


def test_spectral_periodic_solution_has_zero_spectral_residual(generator):
    problem = Poisson(dim=2, boundary="periodic", discretization="spectral")
    grid = problem.grid(16)
    f = problem.sample_inputs(3, grid, generator)
    assert f.mean(dim=(2, 3)).abs().max() < 1e-14  # periodic forcings have no constant mode
    u = problem.solve(f, grid)
    assert problem.residual(u, f, SpectralDiff(grid)).abs().max() < 1e-10 * f.abs().max()


def test_same_seed_is_bit_identical_and_different_seeds_differ():
    problem = Poisson(dim=3)
    grid = problem.grid(9)
    first = problem.sample_inputs(2, grid, torch.Generator().manual_seed(3))
    assert first.shape == (2, 1, 9, 9, 9)
    assert torch.equal(first, problem.sample_inputs(2, grid, torch.Generator().manual_seed(3)))
    assert not torch.equal(first, problem.sample_inputs(2, grid, torch.Generator().manual_seed(4)))


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="dim must be 1 to 5"):
        Poisson(dim=6)
    with pytest.raises(ValueError, match="grid solver covers dim 1 to 3"):
        Poisson(dim=4).grid(9)
    with pytest.raises(ValueError, match="length"):
        Poisson(length=0.0)
    with pytest.raises(ValueError, match="exact_amplitudes"):
        Poisson(exact_amplitudes=())
    with pytest.raises(ValueError, match=r"exact_amplitudes\[1\]"):
        Poisson(exact_amplitudes=(1.0, float("nan")))
    with pytest.raises(ValueError, match="boundary"):
        Poisson(boundary="neumann")
    with pytest.raises(ValueError, match="grf_alpha"):
        Poisson(dim=3, grf_alpha=1.5)
    with pytest.raises(ValueError, match="resolution"):
        Poisson().grid(2)
    problem = Poisson(dim=2)
    with pytest.raises(ValueError, match="nodal"):
        problem.solve(torch.zeros(1, 1, 8, 8, dtype=torch.float64), Poisson(boundary="periodic").grid(8))
    with pytest.raises(ValueError, match="points"):
        problem.exact_solution(torch.zeros(5, 3, dtype=torch.float64))


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"grf_alpha": float("nan")}, ValueError, "Poisson: grf_alpha must be a finite number > 1.0 (dim / 2: a finite pointwise variance), got nan"),
    ({"dim": 3, "grf_alpha": 1.5}, ValueError, "Poisson: grf_alpha must be a finite number > 1.5"),
    ({"grf_tau": -1.0}, ValueError, "Poisson: grf_tau must be a finite number > 0, got -1.0"),
    ({"grf_tau": float("inf")}, ValueError, "Poisson: grf_tau must be a finite number > 0, got inf"),
])
def test_parameters_are_checked_where_constructed(kwargs, error, message):
    with pytest.raises(error) as info:
        Poisson(**kwargs)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("dim", [2, 5])
def test_pinn_classic_is_the_product_of_sines_with_round_off_residual(dim, generator):
    problem = Poisson.pinn_classic(dim)
    assert problem.domain.space == ((0.0, 1.0),) * dim and set(problem.conditions()) == {"bc"}
    x = torch.rand(64, dim, generator=generator, dtype=torch.float64).requires_grad_(True)
    u = problem.exact_solution(x)
    torch.testing.assert_close(u, torch.sin(math.pi * x).prod(dim=1, keepdim=True), rtol=0, atol=1e-15)
    torch.testing.assert_close(problem.exact_forcing(x), dim * math.pi**2 * u, rtol=0, atol=1e-13)
    # -lap u = f by autograd to round-off (f is O(d pi^2)), and u = 0 on the boundary
    assert problem.residual(u, problem.exact_input(x), AutogradDiff(x)).abs().max() < 1e-12
    bc = problem.conditions()["bc"]
    assert bc.residual(problem.exact_solution, bc.sample(128, generator, "sobol")).abs().max() < 1e-15


def test_the_sum_form_is_the_engd_papers_5d_problem_with_its_own_boundary_values(generator):
    problem = Poisson.pinn_classic(5, exact_form="sum")
    x = torch.rand(64, 5, generator=generator, dtype=torch.float64).requires_grad_(True)
    u = problem.exact_solution(x)
    torch.testing.assert_close(u, torch.sin(math.pi * x).sum(dim=1, keepdim=True), rtol=0, atol=1e-15)
    torch.testing.assert_close(problem.exact_forcing(x), math.pi**2 * u, rtol=0, atol=1e-13)  # each sine has one axis
    assert problem.residual(u, problem.exact_input(x), AutogradDiff(x)).abs().max() < 1e-12
    bc = problem.conditions()["bc"]
    faces = bc.sample(128, generator, "sobol")
    assert problem.exact_solution(faces).abs().min() > 0  # nonzero on the boundary, and the condition holds it
    assert bc.residual(problem.exact_solution, faces).abs().max() == 0
    assert bc.residual(lambda p: torch.zeros(p.shape[0], 1, dtype=p.dtype), faces).abs().max() > 1
    with pytest.raises(ValueError, match="exact_form must be one of"):
        Poisson(exact_form="cosine")


def test_a_box_of_side_length_rescales_the_manufactured_pair_and_the_solver(generator):
    unit, large = Poisson(dim=2), Poisson(dim=2, length=2.0)
    x = torch.rand(30, 2, generator=generator, dtype=torch.float64)
    torch.testing.assert_close(large.exact_solution(2 * x), unit.exact_solution(x), rtol=0, atol=1e-15)
    torch.testing.assert_close(large.exact_forcing(2 * x), unit.exact_forcing(x) / 4, rtol=0, atol=1e-13)
    assert large.domain.space == ((0.0, 2.0), (0.0, 2.0)) and large.grid(9).lengths == (2.0, 2.0)
    spectral = Poisson(dim=2, length=2.0, discretization="spectral")
    grid = spectral.grid(9)
    f, exact = fields(spectral, grid)
    torch.testing.assert_close(spectral.solve(f, grid), exact, rtol=0, atol=1e-12)
