"""Boundary and initial conditions: zero on functions that satisfy them, the right nonzero value on ones that do not."""

import math

import pytest
import torch

from sciml.conditions import Dirichlet, Initial, Neumann, Periodic
from sciml.domain import Domain

TORUS = Domain(((0.0, 1.0), (0.0, 2.0)), time=(0.0, 1.0))  # points (t, x, y)


def periodic_field(points):
    """Periodic in x (period 1) and y (period 2), two channels."""
    t, x, y = points.unbind(1)
    u = torch.exp(-t) * torch.sin(2 * math.pi * x) * torch.cos(math.pi * y)
    return torch.stack([u, u**2 + t], dim=1)


def test_periodic_condition_vanishes_on_periodic_fields_and_measures_jumps(generator):
    condition = Periodic(TORUS)
    points = condition.sample(200, generator, "lhs")
    assert ((points[:, 1] == 0) | (points[:, 2] == 0)).all()  # the low faces
    residual = condition.residual(periodic_field, points)
    assert residual.shape == (200, 4) and residual.abs().max() < 1e-13
    # u = x is continuous in value across no seam: its jump is -1 on the x faces, its derivative jump 0
    ramp = lambda p: p[:, 1:2]  # noqa: E731
    jumps = condition.residual(ramp, points)
    on_x = points[:, 1] == 0
    assert torch.allclose(jumps[on_x, 0], torch.full_like(jumps[on_x, 0], -1.0))
    assert jumps[~on_x].abs().max() == 0 and jumps[:, 1].abs().max() == 0


def test_periodic_condition_sees_a_kink_that_matching_values_miss(generator):
    # x (1 - x) extended periodically matches its values at x = 0 and 1, but its slope goes 1 -> -1 across the seam
    domain = Domain(((0.0, 1.0),))
    kink = lambda p: p[:, :1] * (1 - p[:, :1])  # noqa: E731
    points = Periodic(domain).sample(4, generator)
    assert Periodic(domain, derivative=False).residual(kink, points).abs().max() == 0
    torch.testing.assert_close(Periodic(domain).residual(kink, points)[:, 1], torch.full((4,), 2.0, dtype=torch.float64))


def test_dirichlet_and_initial_conditions(generator):
    domain = Domain(((0.0, 1.0), (0.0, 1.0)))
    bump = lambda p: (p[:, :1] * (1 - p[:, :1]) * p[:, 1:] * (1 - p[:, 1:]))  # noqa: E731
    bc = Dirichlet(domain, 0.0)
    assert bc.residual(bump, bc.sample(64, generator)).abs().max() == 0
    g = lambda p: p.sum(dim=1, keepdim=True)  # noqa: E731
    points = Dirichlet(domain, g).sample(32, generator)
    torch.testing.assert_close(Dirichlet(domain, g).residual(bump, points), -g(points))
    ic = Initial(TORUS, lambda p: periodic_field(p.detach()) * 1.0)
    points = ic.sample(16, generator, "sobol")
    assert (points[:, 0] == 0).all() and ic.residual(periodic_field, points).abs().max() == 0


def test_neumann_condition_takes_the_outward_normal_derivative(generator):
    # u = x^2 y on [0, 1] x [0, 2]: outward derivatives -2xy (x = 0: 0), 2xy (x = 1: 2y), -x^2 (y = 0), x^2 (y = 2)
    domain = Domain(((0.0, 1.0), (0.0, 2.0)))
    u = lambda p: (p[:, :1] ** 2 * p[:, 1:])  # noqa: E731
    points = Neumann(domain).sample(200, generator, "lhs")
    x, y = points[:, :1], points[:, 1:]
    expected = torch.where(x == 1, 2 * y, torch.where(x == 0, 0.0, torch.where(y == 2, x**2, -(x**2))))
    torch.testing.assert_close(Neumann(domain).residual(u, points), expected)
    assert Neumann(domain, lambda p: expected).residual(u, points).abs().max() < 1e-15
    cosine = lambda p: torch.cos(math.pi * p[:, :1]) * torch.cos(math.pi * p[:, 1:])  # noqa: E731 (zero normal slope)
    assert Neumann(domain).residual(cosine, points).abs().max() < 1e-14


def test_bad_conditions_raise(generator):
    with pytest.raises(ValueError, match="time"):
        Initial(Domain(((0.0, 1.0),)), lambda p: p)
    with pytest.raises(TypeError, match="Domain"):
        Dirichlet(((0.0, 1.0),))
    with pytest.raises(ValueError, match="low face"):
        Periodic(TORUS).residual(periodic_field, TORUS.sample_interior(3, generator))
    with pytest.raises(ValueError, match=r"\(P, 3\)"):
        Dirichlet(TORUS).residual(periodic_field, torch.zeros(3, 2))
