"""The Problem contract, checked over every registered problem.

Each problem gets a cheap case here (a new registered problem fails the first test until it has
one): points sampled from its domain lie in it, its conditions and residual vanish on its exact
solution, the exact solution agrees with the reference solver on the grid, the residual of the
reference solution shrinks at the solver's order (or is round-off where the discretization is
exact), and the layouts of ``solve``, ``space_time`` and ``solution_residual`` are the documented ones.
"""

import dataclasses
import json
import math
from collections.abc import Callable

import pytest
import torch
from helpers import fitted_order
from sciml.problems import Burgers, Darcy, NavierStokes, Poisson

from sciml.conditions import Initial
from sciml.diff import AutogradDiff, FiniteDiff, SpectralDiff
from sciml.domain import METHODS
from sciml.problem import AbstractEvolutionProblem, AbstractProblem
from sciml.registry import PROBLEMS

TWO_PI = 2 * math.pi


pytestmark = pytest.mark.usefixtures("one_thread")


@dataclasses.dataclass(frozen=True)
class Case:
    problem: AbstractProblem  # a cheap instance: sampling, conditions, the exact solution
    resolution: int  # where the exact solution is compared with the reference solver
    exact_tol: float  # their largest allowed difference (unused without an exact solution)
    residuals: Callable[[], tuple[list[float], list[float]]]  # (h or dt, size of the residual of the reference solution)
    order: float | None  # the fitted order of those residuals; None: round-off (the discretization is exact)


def reference_residual(problem, grid, a):
    """The root-mean-square residual of the reference solution, with the problem's own differentiator."""
    return problem.solution_residual(problem.solve(a, grid), a, grid).square().mean().sqrt().item()


def burgers_residuals():
    # frames at every step, spectral in x, fourth-order differences in t: the ETDRK4 defect, O(dt^4)
    base, steps = CASES["burgers"].problem, [20, 40, 80, 160]
    grid = base.grid(128)
    a = base.sample_inputs(1, grid, torch.Generator())
    problems = [dataclasses.replace(base, n_frames=n, max_dt=base.final_time / n) for n in steps]
    return [base.final_time / n for n in steps], [reference_residual(p, grid, a) for p in problems]


def navier_stokes_residuals():
    steps, t_final = [5, 10, 20, 40], 0.5
    grid = NavierStokes(solver_resolution=32).grid(32)
    x, y = grid.coords()
    a = (2 * torch.cos(TWO_PI * x) + 1.5 * torch.sin(TWO_PI * (x + 2 * y)) - torch.cos(2 * TWO_PI * y))[None, None]
    problems = [NavierStokes(nu=1e-2, final_time=t_final, frame_interval=t_final / n, time_step=t_final / n, solver_resolution=32)
                for n in steps]
    return [t_final / n for n in steps], [reference_residual(p, grid, a) for p in problems]


def darcy_residuals():
    # a smooth coefficient; away from the corners, where f = 1 and u = 0 make u singular, the residual is O(h^2)
    problem, sizes, residuals = Darcy(), [17, 33, 65, 129], []
    for n in sizes:
        grid = problem.grid(n)
        x, y = grid.coords()
        a = ((1 + x**2) * torch.exp(y) * (2 + torch.cos(math.pi * x * y)))[None, None]
        r = problem.solution_residual(problem.solve(a, grid), a, grid)[0, 0]  # interior nodes
        q = (n - 1) // 4
        residuals.append(r[q:-q, q:-q].abs().max().item())
    return [1 / (n - 1) for n in sizes], residuals


def poisson_residuals():
    # the fd2 solve inverts the 5-point Laplacian exactly, which is the interior stencil of FiniteDiff(order=2)
    problem, sizes = Poisson(dim=2), [9, 17, 33, 65]
    residuals = []
    for n in sizes:
        grid = problem.grid(n)
        f = problem.sample_inputs(1, grid, torch.Generator().manual_seed(n))
        residuals.append(reference_residual(problem, grid, f) / f.abs().max().item())
    return [1 / (n - 1) for n in sizes], residuals


CASES = {
    "burgers": Case(Burgers(length=2.0, x_min=-1.0, viscosity=0.05, final_time=0.5, initial_condition="sine",
                            boundary="dirichlet", n_frames=4, min_solve_points=1), 64, 1e-9, burgers_residuals, 4.0),
    "darcy": Case(Darcy(), 17, 0.0, darcy_residuals, 2.0),
    "navier_stokes": Case(NavierStokes(nu=1e-2, final_time=1.0, frame_interval=0.25, time_step=0.25, solver_resolution=16),
                          16, 1e-12, navier_stokes_residuals, 4.0),
    "poisson": Case(Poisson(dim=2, discretization="spectral"), 17, 1e-12, poisson_residuals, None),
}
NAMES = sorted(PROBLEMS)


def test_every_registered_problem_has_a_case():
    assert set(CASES) == set(PROBLEMS)
    for name, case in CASES.items():
        assert isinstance(case.problem, PROBLEMS[name]) and case.problem.name == name


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("method", METHODS)
def test_points_sampled_from_the_domain_and_the_conditions_lie_where_they_should(name, method, generator):
    problem = CASES[name].problem
    domain = problem.domain
    assert domain.dim == problem.dim
    assert (domain.time is not None) == isinstance(problem, AbstractEvolutionProblem)
    assert domain.contains(domain.sample_interior(64, generator, method)).all()
    assert domain.on_boundary(domain.sample_boundary(64, generator, method)).all()
    for condition in problem.conditions().values():
        points = condition.sample(32, generator, method)
        assert points.shape == (32, domain.columns) and domain.contains(points).all()
        if isinstance(condition, Initial):
            assert (points[:, 0] == domain.time[0]).all()
        else:
            assert domain.on_boundary(points).all()


@pytest.mark.parametrize("name", NAMES)
def test_conditions_and_residual_vanish_on_the_exact_solution(name, generator):
    problem = CASES[name].problem
    if not problem.has_exact_solution:
        pytest.skip(f"{name} has no exact solution")
    assert "bc" in problem.conditions()
    for label, condition in problem.conditions().items():
        points = condition.sample(64, generator, "sobol")
        assert condition.residual(problem.exact_solution, points).abs().max() < 1e-10, label
    points = problem.domain.sample_interior(64, generator).requires_grad_(True)
    d = AutogradDiff(points, time=problem.domain.time is not None)
    u = problem.exact_solution(points)
    assert u.shape == (64, problem.point_channels)  # the solution at points, with any auxiliary fields
    assert problem.residual(u, problem.exact_input(points), d).abs().max() < 1e-9
    # and it is a real check: the residual of a perturbed solution is not small
    assert problem.residual(1.01 * u, problem.exact_input(points), d).abs().max() > 1e-4


@pytest.mark.parametrize("name", NAMES)
def test_exact_solution_agrees_with_the_reference_solver_on_the_grid(name):
    case = CASES[name]
    problem = case.problem
    if not problem.has_exact_solution:
        pytest.skip(f"{name} has no exact solution")
    grid, c = problem.grid(case.resolution), problem.solution_channels

    def exact_on_grid(times=None):  # (1, C, [T,] *S)
        points = problem.domain.grid_points(grid, times)  # ([T,] *S, D)
        values = problem.exact_solution(points.reshape(-1, points.shape[-1]))[:, :c]  # (N, C)
        return values.T.reshape(1, c, *points.shape[:-1])

    if isinstance(problem, AbstractEvolutionProblem):
        times = problem.time_grid(3).axes()[0]
        a = exact_on_grid(times[:1])[:, :, 0]  # (1, C, *S): the initial state
        error = problem.trajectory(a, grid, 3) - exact_on_grid(times)
    else:
        points = problem.domain.grid_points(grid)
        a = problem.exact_input(points.reshape(-1, problem.dim)).T.reshape(1, problem.input_channels, *grid.shape)
        error = problem.solve(a, grid) - exact_on_grid()
    assert error.abs().max() < case.exact_tol


@pytest.mark.parametrize("name", NAMES)
def test_residual_of_the_reference_solution_shrinks_at_the_solver_order(name):
    case = CASES[name]
    sizes, residuals = case.residuals()
    if case.order is None:
        assert max(residuals) < 1e-12, residuals
    else:
        assert fitted_order(sizes, residuals) == pytest.approx(case.order, abs=0.3), residuals


@pytest.mark.parametrize("name", NAMES)
def test_layouts_metadata_and_differentiator(name, generator):
    problem = CASES[name].problem
    params = json.loads(json.dumps(problem.params()))
    assert type(problem).from_params(params) == problem
    grid = problem.grid(CASES[name].resolution)
    d = problem.differentiator(grid)
    assert isinstance(d, (SpectralDiff, FiniteDiff)) and d.grid == grid and d.dim == problem.dim
    assert grid.periodic or isinstance(d, FiniteDiff)  # spectral derivatives need a periodic grid
    a = problem.sample_inputs(2, grid, generator)
    assert a.shape == (2, problem.input_channels, *grid.shape) and a.dtype == torch.float64
    u = problem.solve(a, grid)
    if isinstance(problem, AbstractEvolutionProblem):
        c, n = problem.solution_channels, problem.n_frames
        assert u.shape == (2, c * n, *grid.shape)
        trajectory = problem.space_time(u, a)  # (B, C, n + 1, *S)
        assert trajectory.shape == (2, c, n + 1, *grid.shape) and torch.equal(trajectory[:, :, 0], a)
        torch.testing.assert_close(trajectory, problem.trajectory(a, grid, n + 1), rtol=0, atol=1e-12)
        assert problem.solution_residual(u, a, grid).shape == (2, c, n + 1, *grid.shape)
    else:
        assert u.shape == (2, problem.solution_channels, *grid.shape)
        interior = grid.shape if grid.periodic else tuple(s - 2 for s in grid.shape)
        assert problem.solution_residual(u, a, grid).shape == (2, problem.solution_channels, *interior)
    with pytest.raises(ValueError, match="grid must be"):
        problem.solve(a, dataclasses.replace(grid, periodic=not grid.periodic))


def test_the_fno_burgers_benchmark_offers_no_residual_of_its_single_frame_output(generator):
    problem = Burgers(min_solve_points=64)
    grid = problem.grid(32)
    a = problem.sample_inputs(1, grid, generator)
    with pytest.raises(ValueError, match="n_frames >= 2"):
        problem.solution_residual(problem.solve(a, grid), a, grid)
    frames = dataclasses.replace(problem, n_frames=8)
    assert frames.solution_residual(frames.solve(a, grid), a, grid).shape == (1, 1, 9, 32)
