import math

import pytest
import torch
from helpers import fitted_order

from sciml.solvers import ETDRK4, CrankNicolsonEuler, PseudoSpectralSolver, VorticityEquation, stream_function
from sciml.spectral import GaussianRandomField, Grid, spectral_derivative

TWO_PI = 2 * math.pi
GRID = Grid.uniform(32, 2)


def coords(grid=GRID):
    return grid.coords()  # (2, H, W): x along axis 0, y along axis 1


def smooth_vorticity(grid=GRID):
    """Three low modes in different shells, so advection does not vanish; (1, H, W)."""
    x, y = coords(grid)
    return (2 * torch.cos(TWO_PI * x) + 1.5 * torch.sin(TWO_PI * (x + 2 * y)) - torch.cos(2 * TWO_PI * y))[None]


def relative_error(a, b):
    return ((a - b).norm() / b.norm()).item()


def test_velocity_is_divergence_free_and_its_curl_is_the_vorticity(generator):
    # without its Nyquist modes (which carry no odd derivative) w is exactly the curl of the computed velocity
    w_hat = torch.fft.rfft2(GaussianRandomField(GRID, 2.5, 7).sample(3, generator))
    w_hat[..., GRID.shape[0] // 2, :] = 0
    w_hat[..., GRID.shape[1] // 2] = 0
    w = torch.fft.irfft2(w_hat, s=GRID.shape)
    u_hat, v_hat = VorticityEquation(GRID, 1e-3).velocity_hat(w_hat)
    u, v = torch.fft.irfft2(u_hat, s=GRID.shape), torch.fft.irfft2(v_hat, s=GRID.shape)
    div = spectral_derivative(u, GRID, (1, 0)) + spectral_derivative(v, GRID, (0, 1))
    curl = spectral_derivative(v, GRID, (1, 0)) - spectral_derivative(u, GRID, (0, 1))
    assert div.abs().max() < 1e-12 * w.abs().max()
    assert torch.allclose(curl, w, atol=1e-12)
    assert torch.allclose(u, spectral_derivative(stream_function(w, GRID), GRID, (0, 1)), atol=1e-13)


def test_nonlinear_term_matches_the_analytic_advection():
    # w = cos(2 pi x) + cos(4 pi y): psi = cos(2 pi x) / (2 pi)^2 + cos(4 pi y) / (4 pi)^2, so
    # u = psi_y = -sin(4 pi y) / (4 pi), v = -psi_x = sin(2 pi x) / (2 pi) and u w_x + v w_y = -1.5 sin(2 pi x) sin(4 pi y)
    x, y = coords()
    w = torch.cos(TWO_PI * x) + torch.cos(2 * TWO_PI * y)
    n = VorticityEquation(GRID, 1e-3).nonlinear(torch.fft.rfft2(w, norm="forward"))
    assert torch.allclose(torch.fft.irfft2(n, s=GRID.shape, norm="forward"), 1.5 * torch.sin(TWO_PI * x) * torch.sin(2 * TWO_PI * y), atol=1e-14)


@pytest.mark.parametrize("stepper", [CrankNicolsonEuler, ETDRK4])
def test_manufactured_steady_state_with_active_advection(stepper):
    # f = u . grad w_s - nu Lap w_s makes w_s steady; the advection is O(1), so a wrong sign or velocity would drift
    nu, (x, y) = 0.05, coords()
    w_s = torch.cos(TWO_PI * x) + torch.cos(2 * TWO_PI * y)
    f = -1.5 * torch.sin(TWO_PI * x) * torch.sin(2 * TWO_PI * y) + nu * TWO_PI**2 * (torch.cos(TWO_PI * x) + 4 * torch.cos(2 * TWO_PI * y))
    frames = PseudoSpectralSolver(VorticityEquation(GRID, nu, f), stepper, 0.01)(w_s[None], 2, 0.1)
    assert (frames - w_s).abs().max() < 1e-12
    drift = PseudoSpectralSolver(VorticityEquation(GRID, nu, -f), stepper, 0.01)(w_s[None], 1, 0.2)
    assert (drift - w_s).abs().max() > 0.1


def taylor_green(t, nu):
    x, y = coords()
    k = TWO_PI
    return (2 * k * torch.cos(k * x) * torch.cos(k * y) * math.exp(-2 * nu * k**2 * t))[None]


def kolmogorov_transient(t, nu):
    # w0 = 0 under the FNO forcing f (one shell |k|^2 = 8 pi^2, so advection vanishes): w = f (1 - e^{-nu K^2 t}) / (nu K^2)
    x, y = coords()
    f = 0.1 * (torch.sin(TWO_PI * (x + y)) + torch.cos(TWO_PI * (x + y)))
    k2 = 2 * TWO_PI**2
    return (f * -math.expm1(-nu * k2 * t) / (nu * k2))[None], f


@pytest.mark.parametrize("case", ["taylor_green", "kolmogorov"])
def test_exact_single_shell_solutions(case):
    # advection vanishes on one shell: ETDRK4 integrates the rest exactly at any step, and the FNO scheme reduces
    # to Crank-Nicolson, second order (its declared first order comes from the explicit advection)
    nu, t_final = 0.01, 1.0
    if case == "taylor_green":
        w0, f, exact = taylor_green(0.0, nu), None, taylor_green(t_final, nu)
    else:
        (w0, f), exact = kolmogorov_transient(0.0, nu), kolmogorov_transient(t_final, nu)[0]
    equation = VorticityEquation(GRID, nu, f)
    assert relative_error(PseudoSpectralSolver(equation, ETDRK4, 0.25)(w0, 1, t_final), exact) < 1e-13
    dts = [0.1, 0.05, 0.025, 0.0125]
    errors = [relative_error(PseudoSpectralSolver(equation, CrankNicolsonEuler, dt)(w0, 1, t_final), exact) for dt in dts]
    assert fitted_order(dts, errors) == pytest.approx(2.0, abs=0.05)


@pytest.mark.parametrize("stepper, steps", [(CrankNicolsonEuler, [25, 50, 100, 200]), (ETDRK4, [5, 10, 20, 40])])
def test_convergence_order_with_advection_matches_the_declared_order(stepper, steps):
    nu, t_final = 1e-2, 0.5
    x, y = coords()
    f = 0.1 * (torch.sin(TWO_PI * (x + y)) + torch.cos(TWO_PI * (x + y)))
    equation, w0 = VorticityEquation(GRID, nu, f), smooth_vorticity()
    reference = PseudoSpectralSolver(equation, ETDRK4, t_final / 160)(w0, 1, t_final)
    dts = [t_final / m for m in steps]
    errors = [relative_error(PseudoSpectralSolver(equation, stepper, dt)(w0, 1, t_final), reference) for dt in dts]
    assert fitted_order(dts, errors) == pytest.approx(stepper.order, abs=0.15)


def test_energy_balance_without_forcing(generator):
    # the 2/3-dealiased Galerkin system conserves energy under advection, so dE/dt = -2 nu Z exactly, with
    # E = 1/2 int |u|^2 and Z = 1/2 int w^2; integrate the right side over fine frames with Simpson's rule
    nu, frames, interval = 2e-3, 40, 0.025
    w0 = 8 * GaussianRandomField(GRID, 2.5, 7).sample(2, generator)
    equation = VorticityEquation(GRID, nu)
    w = torch.cat((w0[:, None], PseudoSpectralSolver(equation, ETDRK4, interval)(w0, frames, interval)), dim=1)  # (B, T + 1, H, W)
    psi = stream_function(w, GRID)
    energy = 0.5 * (psi * w).mean(dim=(-2, -1))  # (B, T + 1): 1/2 int |u|^2 = 1/2 int psi w on the unit torus
    enstrophy = 0.5 * w.square().mean(dim=(-2, -1))
    assert (energy.diff(dim=1) < 0).all() and (enstrophy.diff(dim=1) < 0).all()
    simpson = torch.tensor([1.0] + [4.0, 2.0] * (frames // 2 - 1) + [4.0, 1.0], dtype=torch.float64) * interval / 3
    dissipated = 2 * nu * (enstrophy * simpson).sum(dim=1)
    assert torch.allclose(energy[:, 0] - energy[:, -1], dissipated, rtol=1e-6)
    # and advection matters here: the enstrophy does not decay like the linear (Stokes) flow's
    stokes = PseudoSpectralSolver(equation, ETDRK4, interval)
    stokes.step = ETDRK4(equation.linear, lambda v: torch.zeros_like(v), interval)
    linear = stokes(w0, frames, interval)
    assert relative_error(linear[:, -1], w[:, -1]) > 0.1


def test_solver_rejects_bad_steps_and_reports_blow_up(generator):
    equation = VorticityEquation(Grid.uniform(16, 2), 1e-4)
    with pytest.raises(ValueError, match="must divide"):
        PseudoSpectralSolver(equation, ETDRK4, 0.3)(torch.zeros(1, 16, 16, dtype=torch.float64), 1, 1.0)
    with pytest.raises(ValueError, match="dtype"):
        PseudoSpectralSolver(equation, ETDRK4, 0.5)(torch.zeros(1, 16, 16, dtype=torch.float32), 1, 1.0)
    w0 = 50 * GaussianRandomField(Grid.uniform(16, 2), 2.5, 7).sample(1, generator)
    with pytest.raises(FloatingPointError, match="blow-up"):
        PseudoSpectralSolver(equation, CrankNicolsonEuler, 0.1)(w0, 5, 1.0)
