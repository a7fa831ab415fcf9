import math

import pytest
import torch
from helpers import fitted_order

from sciml.diff import FiniteDiff, fd_derivative, fd_weights
from sciml.spectral import Grid


def test_central_weights_are_the_classical_ones():
    assert fd_weights((-2, -1, 0, 1, 2), 1) == pytest.approx((1 / 12, -2 / 3, 0, 2 / 3, -1 / 12), abs=1e-14)
    assert fd_weights((-2, -1, 0, 1, 2), 2) == pytest.approx((-1 / 12, 4 / 3, -5 / 2, 4 / 3, -1 / 12), abs=1e-13)
    assert fd_weights((0, 1, 2), 1) == pytest.approx((-3 / 2, 2, -1 / 2), abs=1e-14)


@pytest.mark.parametrize("order", [2, 4])
@pytest.mark.parametrize("deriv", [1, 2])
def test_nodal_stencils_are_exact_on_polynomials_of_degree_order(order, deriv):
    # the central rows are exact up to degree order + 1, the one-sided boundary rows up to order + deriv - 1;
    # both contain degree `order`, so every row must differentiate x^order exactly
    n, length = 11, 2.0
    x = torch.linspace(0, length, n, dtype=torch.float64)
    u = (x - 0.3) ** order
    exact = math.perm(order, deriv) * (x - 0.3) ** (order - deriv)
    got = fd_derivative(u, 0, length / (n - 1), deriv, order, periodic=False)
    assert torch.allclose(got, exact, atol=1e-11, rtol=1e-12)


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("deriv", [1, 2])
@pytest.mark.parametrize("order", [2, 4])
def test_finite_differences_converge_at_their_order(order, deriv, periodic):
    length = 1.0 if periodic else 2.0
    sizes = [16, 32, 64, 128, 256]
    errors = []
    for n in sizes:
        grid = Grid((n if periodic else n + 1,), (length,), periodic=periodic)
        (x,) = grid.coords()
        if periodic:
            w = 2 * math.pi
            u = torch.exp(torch.sin(w * x))
            du = w * torch.cos(w * x) * u
            ddu = (w**2) * (torch.cos(w * x) ** 2 - torch.sin(w * x)) * u
        else:  # not periodic: the boundary rows must keep the order
            u = torch.exp(1.5 * x) * torch.sin(x)
            du = torch.exp(1.5 * x) * (1.5 * torch.sin(x) + torch.cos(x))
            ddu = torch.exp(1.5 * x) * (1.25 * torch.sin(x) + 3 * torch.cos(x))
        d = FiniteDiff(grid, order=order)
        got = d.dx(u[None, None]) if deriv == 1 else d.dxx(u[None, None])
        errors.append((got[0, 0] - (du if deriv == 1 else ddu)).abs().max().item())
    slope = fitted_order([1 / n for n in sizes], errors)
    assert abs(slope - order) < 0.25, (slope, errors)


def test_finite_differences_act_on_the_requested_axis_and_time():
    space = Grid((24, 30), (1.0, 1.5), periodic=False)
    time = Grid((9,), (0.8,), periodic=False)
    d = FiniteDiff(space, order=4, time=time)
    (t,) = time.coords()
    x, y = space.coords()
    # quartic in every variable: order-4 stencils (interior and boundary) are exact
    u = (t[:, None, None] ** 4) * (x**3) * (y**2) + y**4  # (T, X, Y)
    u = u[None, None].expand(2, 3, -1, -1, -1)  # (B, C, T, X, Y)
    t = t[:, None, None]
    assert torch.allclose(d.dt(u), (4 * t**3 * x**3 * y**2).expand_as(u), atol=1e-9)
    assert torch.allclose(d.dx(u, 0), (3 * t**4 * x**2 * y**2).expand_as(u), atol=1e-9)
    assert torch.allclose(d.dxx(u, 1), (2 * t**4 * x**3 + 12 * y**2).expand_as(u), atol=1e-9)


def test_finite_differences_reject_bad_input():
    grid = Grid((8,), (1.0,))
    with pytest.raises(ValueError, match="order"):
        FiniteDiff(grid, order=3)
    with pytest.raises(ValueError, match="trailing shape"):
        FiniteDiff(grid).dx(torch.zeros(1, 1, 9))
    with pytest.raises(ValueError, match="axis"):
        FiniteDiff(grid).dx(torch.zeros(1, 1, 8), axis=1)
    with pytest.raises(ValueError, match="time grid"):
        FiniteDiff(grid).dt(torch.zeros(1, 1, 8))
