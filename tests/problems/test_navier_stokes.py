import json
import math

import pytest
import torch
from helpers import fitted_order
from sciml.problems import NavierStokes

from sciml.diff import AutogradDiff, FiniteDiff, SpectralDiff
from sciml.solvers import ETDRK4, CrankNicolsonEuler
from sciml.spectral import Grid

TWO_PI = 2 * math.pi


def small(**kw):
    """A problem small enough for unit tests: 16^2 solver grid, four frames (five time nodes with w0)."""
    return NavierStokes(**{"final_time": 2.0, "frame_interval": 0.5, "solver_resolution": 16, "time_step": 0.05, **kw})


def time_grid(problem):
    return Grid((problem.n_frames + 1,), (problem.final_time,), periodic=False)


def smooth_vorticity(grid):
    x, y = grid.coords()
    return (2 * torch.cos(TWO_PI * x) + 1.5 * torch.sin(TWO_PI * (x + 2 * y)) - torch.cos(2 * TWO_PI * y))[None, None]


def test_defaults_match_the_fno_benchmark_and_params_are_json():
    p = NavierStokes()
    assert (p.nu, p.n_frames, p.solver_resolution, p.alpha, p.tau) == (1e-3, 50, 256, 2.5, 7.0)
    params = json.loads(json.dumps(p.params()))
    assert params["stepper"] == "ETDRK4" and params["nu"] == 1e-3


def test_inputs_are_seeded_mean_zero_and_differ_across_seeds():
    p, grid = small(), Grid.uniform(16, 2)
    a = p.sample_inputs(3, grid, torch.Generator().manual_seed(7))
    assert a.shape == (3, 1, 16, 16) and a.dtype == torch.float64
    assert torch.equal(a, p.sample_inputs(3, grid, torch.Generator().manual_seed(7)))
    assert not torch.allclose(a, p.sample_inputs(3, grid, torch.Generator().manual_seed(8)))
    assert a.mean(dim=(-2, -1)).abs().max() < 1e-14
    assert (a[0] - a[1]).abs().max() > 0.1  # independent samples within a batch


def test_input_variance_is_the_fno_generators():
    # FNO: variance 2 sigma^2 (4 pi^2 |k|^2 + tau^2)^(-alpha) per mode k != 0, sigma = tau^(alpha - 1); the pointwise
    # variance is their sum. 400 fields at 16^2 estimate it to a few percent; sigma without sqrt(2) is 50 % low.
    p, grid = small(), Grid.uniform(16, 2)
    k = torch.fft.fftfreq(16, 1 / 16, dtype=torch.float64)
    k2 = k[:, None] ** 2 + k[None, :] ** 2
    per_mode = 2 * p.tau ** (2 * p.alpha - 2) * (4 * math.pi**2 * k2 + p.tau**2) ** -p.alpha
    expected = per_mode.sum() - per_mode[0, 0]
    a = p.sample_inputs(400, grid, torch.Generator().manual_seed(3))
    assert a.square().mean().item() == pytest.approx(expected.item(), rel=0.1)


def test_solve_is_deterministic_and_depends_on_the_input(generator):
    p, grid = small(), Grid.uniform(8, 2)
    a = p.sample_inputs(2, grid, generator)
    u = p.solve(a, grid)
    assert u.shape == (2, 4, 8, 8)
    assert torch.equal(u, p.solve(a, grid))
    assert torch.allclose(u[:1], p.solve(a[:1], grid), rtol=0, atol=1e-14)  # batching does not change a sample
    assert (u[0] - u[1]).abs().max() > 0.1


def test_float32_inputs_give_float32_frames_close_to_float64(generator):
    p, grid = small(), Grid.uniform(8, 2)
    a = p.sample_inputs(2, grid, generator)
    u64, u32 = p.solve(a, grid), p.solve(a.float(), grid)
    assert u32.dtype == torch.float32
    assert torch.allclose(u32.double(), u64, rtol=0, atol=1e-5 * u64.abs().max().item())


@pytest.mark.gpu
def test_cuda_solve_matches_cpu(generator):
    p, grid = small(), Grid.uniform(8, 2)
    a = p.sample_inputs(2, grid, generator)
    assert torch.allclose(p.solve(a.cuda(), grid).cpu(), p.solve(a, grid), atol=1e-12)


def test_taylor_green_decays_exactly_through_the_problem_api():
    # no forcing, one shell: ETDRK4 is exact at any step; frames at t = 0.5..2 subsampled from 16^2 to 8^2
    nu = 0.01
    p, grid = small(nu=nu, forcing_amplitude=0.0, time_step=0.5), Grid.uniform(8, 2)
    x, y = grid.coords()
    w0 = (2 * TWO_PI * torch.cos(TWO_PI * x) * torch.cos(TWO_PI * y))[None, None]
    decay = torch.tensor([math.exp(-2 * nu * TWO_PI**2 * t) for t in (0.5, 1.0, 1.5, 2.0)], dtype=torch.float64)
    assert torch.allclose(p.solve(w0, grid), w0 * decay[:, None, None], atol=1e-12)


def test_kolmogorov_steady_state_is_kept_and_has_zero_residual():
    # w = f / (nu |k|^2), |k|^2 = 8 pi^2, balances the forcing; advection vanishes on one shell
    p, grid = small(nu=0.02), Grid.uniform(16, 2)
    w_s = (p.forcing(grid) / (p.nu * 2 * TWO_PI**2))[None, None]
    u = p.solve(w_s, grid)
    assert torch.allclose(u, w_s.expand_as(u), atol=1e-13)
    r = p.solution_residual(u, w_s, grid, SpectralDiff(grid, time=time_grid(p)))
    assert r.shape == (1, 1, 5, 16, 16) and r.abs().max() < 1e-12
    # the residual sees the forcing: the same field under twice the forcing is not a solution
    assert small(nu=0.02, forcing_amplitude=0.2).solution_residual(u, w_s, grid).abs().max() > 0.1


def test_coarse_and_fine_inputs_of_one_field_give_one_solution(generator):
    # a 16^2 input that is the trigonometric interpolant of an 8^2 input starts the 16^2 solver from the same field
    p, coarse, fine = small(), Grid.uniform(8, 2), Grid.uniform(16, 2)
    a = p.sample_inputs(2, coarse, generator)
    a_hat = torch.fft.rfft2(a)
    a_hat[..., 4, :] = 0  # drop the coarse Nyquist modes so that zero padding is the interpolant
    a_hat[..., 4] = 0
    a = torch.fft.irfft2(a_hat, s=coarse.shape)
    padded = torch.zeros((2, 1, 16, 9), dtype=a_hat.dtype)
    padded[..., :4, :4], padded[..., -3:, :4] = a_hat[..., :4, :4], a_hat[..., -3:, :4]
    a_fine = torch.fft.irfft2(padded * 4, s=fine.shape)
    assert torch.allclose(a_fine[..., ::2, ::2], a, atol=1e-14)
    assert torch.allclose(p.solve(a_fine, fine)[..., ::2, ::2], p.solve(a, coarse), atol=1e-12)


@pytest.mark.parametrize("stepper, steps", [(CrankNicolsonEuler, [25, 50, 100, 200]), (ETDRK4, [5, 10, 20, 40])])
def test_residual_of_solver_output_shrinks_at_the_solver_order(stepper, steps):
    # frames at every step and fourth-order time differences: the residual is the scheme's defect, O(dt^order)
    t_final, grid = 0.5, Grid.uniform(32, 2)
    a = smooth_vorticity(grid)
    residuals, dts = [], [t_final / m for m in steps]
    for dt in dts:
        p = NavierStokes(nu=1e-2, final_time=t_final, frame_interval=dt, time_step=dt, solver_resolution=32, stepper=stepper)
        r = p.solution_residual(p.solve(a, grid), a, grid, SpectralDiff(grid, time=time_grid(p)))
        residuals.append(r.square().mean().sqrt().item())
    assert fitted_order(dts, residuals) == pytest.approx(stepper.order, abs=0.25)


@pytest.mark.parametrize("order", [2, 4])
def test_finite_difference_residual_of_the_steady_state_converges_at_the_stencil_order(order):
    # the Kolmogorov steady state solves the PDE exactly, so its residual is the stencils' error, O(h^order)
    p, errors, hs = small(nu=0.02), [], []
    for n in (8, 16, 32, 64):
        grid = Grid.uniform(n, 2)
        w_s = (p.forcing(grid) / (p.nu * 2 * TWO_PI**2))[None, None]
        u = w_s.expand(1, p.n_frames, n, n)
        d = FiniteDiff(grid, order=order, time=time_grid(p))
        errors.append(p.residual(p.space_time(u, w_s), w_s, d).abs().max().item())
        hs.append(1 / n)
    assert fitted_order(hs, errors) == pytest.approx(order, abs=0.15)


def test_errors_name_the_argument(generator):
    p = small()
    with pytest.raises(ValueError, match="resolution"):
        p.grid(12)
    with pytest.raises(ValueError, match="frame_interval"):
        NavierStokes(final_time=1.0, frame_interval=0.3)
    with pytest.raises(ValueError, match="nu"):
        NavierStokes(nu=0.0)
    with pytest.raises(ValueError, match="a must be"):
        p.solve(torch.zeros(1, 2, 8, 8, dtype=torch.float64), Grid.uniform(8, 2))
    coords = torch.rand(4, 3, dtype=torch.float64, generator=generator, requires_grad=True)
    with pytest.raises(TypeError, match="grid differentiator"):
        p.residual(coords[:, :1] * 0, None, AutogradDiff(coords, time=True))  # the vorticity alone, at points


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"nu": math.inf}, ValueError, "NavierStokes: nu must be a finite number > 0, got inf"),
    ({"time_step": 0.0}, ValueError, "NavierStokes: time_step must be a finite number > 0, got 0.0"),
    ({"time_step": -0.005}, ValueError, "NavierStokes: time_step must be a finite number > 0, got -0.005"),
    ({"time_step": 0.003}, ValueError, "NavierStokes: time_step=0.003 must divide frame_interval=1.0 a whole number of times"),
    ({"final_time": math.inf}, ValueError, "NavierStokes: final_time must be a finite number > 0, got inf"),
    ({"final_time": 1e300, "frame_interval": 1e-300}, ValueError,
     "NavierStokes: frame_interval=1e-300 must divide final_time=1e+300 a whole number of times"),
    ({"frame_interval": 0.3}, ValueError, "NavierStokes: frame_interval=0.3 must divide final_time=50.0 a whole number of times"),
    ({"tau": math.nan}, ValueError, "NavierStokes: tau must be a finite number > 0, got nan"),
    ({"alpha": 1.0}, ValueError, "NavierStokes: alpha must be a finite number > 1 (dim / 2: a finite pointwise variance), got 1.0"),
    ({"forcing_amplitude": math.inf}, ValueError, "NavierStokes: forcing_amplitude must be a finite number, got inf"),
    ({"solver_resolution": 4}, ValueError, "NavierStokes: solver_resolution must be an integer >= 8, got 4"),
])
def test_parameters_are_checked_where_constructed(kwargs, error, message):
    with pytest.raises(error) as info:
        NavierStokes(**kwargs)
    assert str(info.value) == message
