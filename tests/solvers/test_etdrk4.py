import math

import pytest
import torch
from helpers import fitted_order

from sciml.solvers import ETDRK4, integrate

# one mode per entry: decaying, stiff, oscillatory, nearly zero (the phi-function cancellation regime)
LAMBDAS = torch.tensor([-1.0, -5.0 + 3.0j, 2.0j, -40.0, 1e-9], dtype=torch.complex128)


def bernoulli_exact(lam, v0, t):
    """Solution of ``v' = lam v - v^2``: ``v0 e^{lam t} / (1 + v0 (e^{lam t} - 1) / lam)``."""
    return v0 * torch.exp(lam * t) / (1 + v0 * phi1(lam, t))


def phi1(lam, t):
    """``(e^{lam t} - 1) / lam`` without cancellation for tiny ``lam``."""
    return torch.where((lam * t).abs() > 1e-6, torch.expm1(lam * t) / lam, t * (1 + lam * t / 2))


def test_exact_for_linear_problems_with_constant_forcing():
    # v' = L v + c has v(t) = e^{Lt} v0 + (e^{Lt} - 1) / L c; ETDRK4 integrates it exactly, which checks
    # f1 + 4 f2 + f3 = (e^{hL} - 1) / L, E and Q including the small-|hL| limit (lambda = 1e-9)
    lam = torch.cat([LAMBDAS, torch.tensor([-1e4], dtype=torch.complex128)])
    v0 = torch.linspace(0.5, 1.5, lam.numel(), dtype=torch.float64).to(torch.complex128)
    c = torch.tensor(0.3 - 0.2j, dtype=torch.complex128)
    step = ETDRK4(lam, lambda v: c.expand_as(v), dt=0.37)
    out = integrate(step, v0, 3)
    t = 3 * 0.37
    assert torch.allclose(out, torch.exp(lam * t) * v0 + phi1(lam, t) * c, rtol=1e-13, atol=1e-14)


def test_real_symbol_gives_real_coefficients_matching_complex_ones():
    lam = torch.tensor([-3.0, -0.5, 0.0, -200.0], dtype=torch.float64)
    real, cplx = ETDRK4(lam, lambda v: v, 0.1), ETDRK4(lam.to(torch.complex128), lambda v: v, 0.1)
    for name in ("E", "E2", "Q", "f1", "f2", "f3"):
        assert not getattr(real, name).is_complex()
        assert torch.allclose(getattr(real, name).to(torch.complex128), getattr(cplx, name), rtol=1e-14, atol=1e-16)


def test_fourth_order_convergence_on_bernoulli_equation():
    v0 = torch.full_like(LAMBDAS, 0.4)
    t_final = 1.0
    exact = bernoulli_exact(LAMBDAS, v0, t_final)
    steps = [8, 16, 32, 64, 128]
    errors = []
    for n in steps:
        out = integrate(ETDRK4(LAMBDAS, lambda v: -(v**2), dt=t_final / n), v0, n)
        errors.append((out - exact).abs().max().item())
    slope = fitted_order([t_final / n for n in steps], errors)
    assert 3.8 < slope < 4.3, (slope, errors)
    assert errors[-1] < 1e-8


def test_batched_step_equals_per_sample_steps():
    lam = torch.tensor([-1.0, -2.0, -7.0], dtype=torch.float64)
    step = ETDRK4(lam, lambda v: -0.5 * v * v.conj(), 0.05)
    v = torch.randn(4, 1, 3, dtype=torch.complex128, generator=torch.Generator().manual_seed(0))
    batched = integrate(step, v, 5)
    single = torch.cat([integrate(step, v[i : i + 1], 5) for i in range(4)])
    assert torch.equal(batched, single)


def test_integrate_saves_every_kth_state():
    lam = torch.tensor([-1.0], dtype=torch.float64)
    step = ETDRK4(lam, lambda v: torch.zeros_like(v), 0.1)
    v0 = torch.ones(1, dtype=torch.complex128)
    saved = integrate(step, v0, 6, save_every=2)
    assert saved.shape == (4, 1)
    assert torch.allclose(saved[:, 0].real, torch.exp(-0.2 * torch.arange(4, dtype=torch.float64)), rtol=1e-14)
    assert torch.equal(saved[-1], integrate(step, v0, 6))


@pytest.mark.parametrize("dt", [0.0, -1.0, math.inf])
def test_rejects_bad_step(dt):
    with pytest.raises(ValueError, match="dt"):
        ETDRK4(torch.zeros(2), lambda v: v, dt)


def test_integrate_rejects_non_divisor():
    with pytest.raises(ValueError, match="save_every"):
        integrate(lambda v: v, torch.zeros(1), 5, save_every=2)
