import dataclasses
import inspect
import json
import math

import pytest
import torch
from helpers import fitted_order
from sciml.problems import Burgers

from sciml.conditions import Dirichlet, Periodic
from sciml.diff import AutogradDiff, FiniteDiff, SpectralDiff
from sciml.domain import Domain
from sciml.spectral import Grid


pytestmark = pytest.mark.usefixtures("one_thread")


# the classic sine problem with a milder viscosity, so that the tests run in seconds on a CPU
SINE = Burgers(length=2.0, x_min=-1.0, viscosity=0.05, final_time=0.5, initial_condition="sine", min_solve_points=1)


def error_vs_cole_hopf(problem: Burgers, n: int) -> float:
    grid = problem.grid(n)
    u = problem.solve(problem.sample_inputs(1, grid, torch.Generator()), grid)[0, 0]
    x = problem.x_min + grid.axes()[0]
    exact = problem.exact_solution(torch.stack([torch.full_like(x, problem.final_time), x], dim=1))[:, 0]
    return (u - exact).abs().max().item()


def test_cole_hopf_quadrature_is_converged_and_matches_the_initial_condition():
    problem = Burgers.pinn_classic()
    x = torch.linspace(-1, 1, 201, dtype=torch.float64)
    for t in (0.0, 0.3, 1.0):
        points = torch.stack([torch.full_like(x, t), x], dim=1)
        coarse, fine = problem.exact_solution(points, nodes=801), problem.exact_solution(points, nodes=3201)
        assert (coarse - fine).abs().max() < 1e-13
    assert torch.allclose(problem.exact_solution(torch.stack([torch.zeros_like(x), x], 1))[:, 0], -torch.sin(math.pi * x), atol=1e-14)


def test_solver_matches_cole_hopf_at_fourth_order_in_time():
    steps = [5, 10, 20, 40]
    errors = [error_vs_cole_hopf(dataclasses.replace(SINE, max_dt=SINE.final_time / n), 128) for n in steps]
    assert fitted_order([1 / n for n in steps], errors) >= 3.9, errors
    assert errors[-1] < 1e-7


def test_solver_converges_spectrally_in_space():
    sizes = [16, 24, 32, 48, 64]
    errors = [error_vs_cole_hopf(SINE, n) for n in sizes]  # solved at 2n points, dt = 1e-3
    local_orders = [-math.log(e1 / e0) / math.log(n1 / n0) for n0, n1, e0, e1 in zip(sizes, sizes[1:], errors, errors[1:])]
    # geometric decay: the algebraic order keeps growing with n
    assert all(b > a for a, b in zip(local_orders, local_orders[1:])), local_orders
    assert local_orders[-1] > 15 and errors[-1] < 1e-9, errors


def test_residual_vanishes_on_the_exact_solution_with_all_three_differentiators(generator):
    problem = SINE
    t = 0.1 + 0.4 * torch.rand(300, dtype=torch.float64, generator=generator)
    x = -1 + 2 * torch.rand(300, dtype=torch.float64, generator=generator)
    points = torch.stack([t, x], dim=1).requires_grad_()  # (P, 2), columns (t, x)
    autograd = problem.residual(problem.exact_solution(points), None, AutogradDiff(points, time=True))
    assert autograd.abs().max() < 1e-11
    # on a space-time grid of the exact solution the grid backends converge to the same zero residual
    errors = {"spectral": [], "fd4": []}
    sizes = [8, 16, 32, 64]
    for n in sizes:
        space, time = problem.grid(4 * n), Grid((n + 1,), (0.4,), periodic=False)  # t in [0.1, 0.5]
        tt, xx = torch.meshgrid(time.axes()[0] + 0.1, space.axes()[0] + problem.x_min, indexing="ij")
        u = problem.exact_solution(torch.stack([tt.flatten(), xx.flatten()], 1)).reshape(1, 1, *tt.shape)
        errors["spectral"].append(problem.residual(u, None, SpectralDiff(space, time=time)).abs().max().item())
        errors["fd4"].append(problem.residual(u, None, FiniteDiff(space, order=4, time=time)).abs().max().item())
    h = [1 / n for n in sizes]
    assert fitted_order(h, errors["spectral"]) > 3.5 and fitted_order(h, errors["fd4"]) > 3.5, errors
    assert errors["spectral"][-1] < 1e-5 and errors["fd4"][-1] < 1e-3, errors


def test_trajectory_starts_at_the_input_including_its_nyquist_mode(generator):
    problem = Burgers(min_solve_points=1)
    for n in (32, 33):  # even: the Nyquist coefficient is shared by +-n/2 on the finer solve grid
        grid = problem.grid(n)
        a = problem.sample_inputs(2, grid, generator)
        u = problem.trajectory(a, grid, 3)
        assert u.shape == (2, 1, 3, n)
        assert torch.allclose(u[:, :, 0], a, atol=1e-14, rtol=0)


def test_fno_defaults_mean_zero_inputs_mean_conservation_and_energy_decay(generator):
    problem = Burgers()
    assert (problem.length, problem.viscosity, problem.final_time) == (1.0, 0.1, 1.0)
    json.dumps(problem.params())
    grid = problem.grid(64)
    a = problem.sample_inputs(3, grid, generator)
    assert a.shape == (3, 1, 64) and a.dtype == torch.float64
    assert a.mean(-1).abs().max() < 1e-15  # FNO convention: the constant mode is dropped
    u = problem.trajectory(a, grid, 11)  # (3, 1, 11, 64)
    assert u.mean(-1).abs().max() < 1e-14  # the mean is conserved
    energy = u.square().mean(-1)  # (3, 1, 11)
    assert (energy.diff(dim=-1) < 0).all()  # d/dt |u|^2 / 2 = -nu |u_x|^2 < 0


def test_solution_does_not_depend_on_the_sampling_resolution(generator):
    # a band-limited input sampled at 64 and at 128 points: both are solved on the same 256-point grid
    problem = Burgers(min_solve_points=256)
    fine = problem.sample_inputs(2, problem.grid(128), generator)
    k = torch.fft.rfftfreq(128, 1 / 128)
    fine = torch.fft.irfft(torch.fft.rfft(fine) * (k < 24), n=128)
    u_fine = problem.solve(fine, problem.grid(128))
    u_coarse = problem.solve(fine[..., ::2].contiguous(), problem.grid(64))
    assert torch.allclose(u_coarse, u_fine[..., ::2], atol=1e-13, rtol=0)


def test_same_seed_gives_identical_data_and_different_seeds_differ():
    problem, grid = Burgers(), Burgers().grid(64)

    def draw(seed):
        a = problem.sample_inputs(2, grid, torch.Generator().manual_seed(seed))
        return a, problem.solve(a, grid)

    (a0, u0), (a1, u1), (a2, u2) = draw(7), draw(7), draw(8)
    assert torch.equal(a0, a1) and torch.equal(u0, u1)
    assert (a0 - a2).abs().max() > 0.1 and (u0 - u2).abs().max() > 0.01


def test_pinn_classic_conditions(generator):
    problem = Burgers.pinn_classic()
    assert problem.domain == Domain(((-1.0, 1.0),), time=(0.0, 1.0))
    assert problem.viscosity == pytest.approx(0.01 / math.pi)
    conditions = problem.conditions()
    assert set(conditions) == {"bc", "ic"} and isinstance(conditions["bc"], Dirichlet)
    t = torch.linspace(0.05, 1, 20, dtype=torch.float64)
    left = torch.stack([t, torch.full_like(t, -1.0)], dim=1)  # (P, 2): points (t, x)
    u_left, u_right = problem.exact_solution(left), problem.exact_solution(left + torch.tensor([0.0, 2.0], dtype=torch.float64))
    assert torch.allclose(u_left, u_right, atol=1e-13) and u_left.abs().max() < 1e-13  # periodic and Dirichlet
    # so both conditions vanish on the exact solution: the Dirichlet one of the benchmark and periodicity
    assert conditions["bc"].residual(problem.exact_solution, conditions["bc"].sample(64, generator)).abs().max() < 1e-13
    periodic = Periodic(problem.domain)
    assert periodic.residual(problem.exact_solution, periodic.sample(64, generator)).abs().max() < 1e-10
    x = torch.linspace(-1, 1, 9, dtype=torch.float64)
    assert torch.allclose(problem.initial_value(x), -torch.sin(math.pi * x))
    with pytest.raises(ValueError, match="dirichlet"):
        Burgers(boundary="dirichlet")  # the GRF solution does not vanish at the ends


def test_pinn_classic_solver_matches_cole_hopf():
    problem = Burgers.pinn_classic()
    assert error_vs_cole_hopf(problem, 256) < 1e-9


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="viscosity"):
        Burgers(viscosity=0.0)
    with pytest.raises(ValueError, match="initial_condition"):
        Burgers(initial_condition="step")
    problem = Burgers()
    with pytest.raises(ValueError, match="length"):
        problem.solve(torch.zeros(1, 1, 16, dtype=torch.float64), Grid((16,), (2.0,)))
    with pytest.raises(ValueError, match=r"\(B, 1, 16\)"):
        problem.solve(torch.zeros(1, 16, dtype=torch.float64), problem.grid(16))
    with pytest.raises(ValueError, match="sine"):
        problem.exact_solution(torch.zeros(3, 2, dtype=torch.float64))


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"x_min": math.nan}, ValueError, "Burgers: x_min must be a finite number, got nan"),
    ({"grf_tau": -5.0}, ValueError, "Burgers: grf_tau must be a finite number > 0, got -5.0"),
    ({"grf_sigma": 0.0}, ValueError, "Burgers: grf_sigma must be a finite number > 0, got 0.0"),
    ({"grf_alpha": 0.5}, ValueError, "Burgers: grf_alpha must be a finite number > 0.5 (dim / 2: a finite pointwise variance), got 0.5"),
    ({"final_time": math.inf}, ValueError, "Burgers: final_time must be a finite number > 0, got inf"),
    ({"max_dt": -1e-3}, ValueError, "Burgers: max_dt must be a finite number > 0, got -0.001"),
    ({"n_frames": 0}, ValueError, "Burgers: n_frames must be an integer >= 1, got 0"),
    ({"n_frames": 2.0}, TypeError, "Burgers: n_frames must be an integer >= 1, got 2.0"),
    ({"min_solve_points": True}, TypeError, "Burgers: min_solve_points must be an integer >= 1, got True"),
])
def test_parameters_are_checked_where_constructed(kwargs, error, message):
    with pytest.raises(error) as info:
        Burgers(**kwargs)
    assert str(info.value) == message


def raissi_reference_vs_solver(t_max: float) -> float:
    """Max difference of the reference on Raissi's nodes and the spectral solver, times 0, 0.01, .., t_max.

    The periodic grid of 510 points holds Raissi's 256 nodes x_k = -1 + 2k/255 at its even points
    (x = 1 is the periodic image of x = -1), so no interpolation enters the comparison.
    """
    problem = Burgers.pinn_classic()
    n_times = round(t_max / 0.01) + 1
    solver = dataclasses.replace(problem, final_time=t_max)
    grid = solver.grid(510)
    trajectory = solver.trajectory(solver.sample_inputs(1, grid, torch.Generator()), grid, n_times)[0, 0]  # (n_t, 510)
    on_nodes = torch.cat([trajectory[:, ::2], trajectory[:, :1]], dim=1)  # (n_t, 256)
    _, values = problem.pinn_reference(n_times=n_times, t_max=t_max)
    return (on_nodes - values.reshape(n_times, 256)).abs().max().item()


def test_pinn_reference_is_on_raissis_grid_and_matches_the_solver():
    problem = Burgers.pinn_classic()
    defaults = inspect.signature(problem.pinn_reference).parameters
    assert (defaults["n_times"].default, defaults["n_points"].default, defaults["t_max"].default) == (100, 256, 0.99)
    points, values = problem.pinn_reference(n_times=11, t_max=0.1)
    assert points.shape == (11 * 256, 2) and values.shape == (11 * 256, 1) and values.dtype == torch.float64
    grid = points.reshape(11, 256, 2)  # time-major
    torch.testing.assert_close(grid[:, 0, 0], 0.01 * torch.arange(11, dtype=torch.float64), rtol=0, atol=1e-15)
    torch.testing.assert_close(grid[0, :, 1], torch.linspace(-1, 1, 256, dtype=torch.float64), rtol=0, atol=0)
    u = values.reshape(11, 256)
    torch.testing.assert_close(u[0], -torch.sin(math.pi * grid[0, :, 1]), rtol=0, atol=1e-15)
    assert u[:, [0, -1]].abs().max() < 1e-13  # u(t, +-1) = 0
    assert raissi_reference_vs_solver(0.1) < 1e-12
    with pytest.raises(ValueError, match="t_max"):
        problem.pinn_reference(t_max=1.5)
    with pytest.raises(ValueError, match="sine"):
        Burgers().pinn_reference()


@pytest.mark.slow
def test_pinn_reference_matches_the_solver_on_the_whole_grid():
    """Raissi's whole grid: measured 1.4e-10 (the solver's error once the front has formed, see the card), 20 s."""
    assert raissi_reference_vs_solver(0.99) < 5e-10
