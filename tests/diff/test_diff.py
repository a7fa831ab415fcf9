import math

import pytest
import torch
from helpers import fitted_order

from sciml.diff import AutogradDiff, FiniteDiff, SpectralDiff
from sciml.spectral import Grid

TWO_PI = 2 * math.pi
NU = 0.07


def trig_field(x, y):
    """A 2-D trigonometric polynomial on [0, 1) x [0, 2) with its exact derivatives."""
    a, b = TWO_PI * x, math.pi * y
    u = torch.sin(a) * torch.cos(2 * b) + 0.5 * torch.cos(3 * a + b)
    ux = TWO_PI * (torch.cos(a) * torch.cos(2 * b) - 1.5 * torch.sin(3 * a + b))
    uy = math.pi * (-2 * torch.sin(a) * torch.sin(2 * b) - 0.5 * torch.sin(3 * a + b))
    uxx = -(TWO_PI**2) * (torch.sin(a) * torch.cos(2 * b) + 4.5 * torch.cos(3 * a + b))
    uyy = -(math.pi**2) * (4 * torch.sin(a) * torch.cos(2 * b) + 0.5 * torch.cos(3 * a + b))
    return u, ux, uy, uxx, uyy


def space_time_field(t, x):
    """``u(t, x)``: quartic in t (order-4 time stencils are exact), trigonometric in x on [0, 1)."""
    return (1 - t + t**2 / 2 - t**3 / 6 + t**4 / 24) * torch.sin(TWO_PI * x) + 0.5 * t**2 * torch.cos(2 * TWO_PI * x)


def burgers_like(u, d):
    """One residual written once: ``u_t + u u_x - nu u_xx``."""
    return d.dt(u) + u * d.dx(u, 0) - NU * d.dxx(u, 0)


def flux_form(u, d):
    """A 2-D residual through grad, div and laplacian: ``div(u grad u) - laplacian(u)``."""
    return d.div(u * d.grad(u)) - d.laplacian(u)


def test_spectral_operators_are_exact_on_trig_polynomials():
    grid = Grid((16, 20), (1.0, 2.0))
    x, y = grid.coords()
    u, ux, uy, uxx, uyy = trig_field(x, y)
    d = SpectralDiff(grid)
    field = u.expand(3, 2, -1, -1)  # (B, C, X, Y)
    assert torch.allclose(d.dx(field, 0), ux.expand_as(field), atol=1e-11)
    assert torch.allclose(d.dx(field, 1), uy.expand_as(field), atol=1e-11)
    assert torch.allclose(d.dxx(field, 0), uxx.expand_as(field), atol=1e-9)
    assert torch.allclose(d.laplacian(field), (uxx + uyy).expand_as(field), atol=1e-9)
    grad = d.grad(field[:, :1])  # (B, 2, X, Y)
    assert torch.allclose(grad, torch.stack([ux, uy]).expand(3, 2, -1, -1), atol=1e-11)
    assert torch.allclose(d.div(grad), (uxx + uyy).expand(3, 1, -1, -1), atol=1e-9)


def test_autograd_operators_match_analytic_derivatives(generator):
    coords = torch.rand(50, 2, dtype=torch.float64, generator=generator).requires_grad_()
    d = AutogradDiff(coords)
    u, ux, uy, uxx, uyy = (f[:, None] for f in trig_field(coords[:, 0], coords[:, 1]))
    assert torch.allclose(d.dx(u, 0), ux, atol=1e-12) and torch.allclose(d.dx(u, 1), uy, atol=1e-12)
    assert torch.allclose(d.dxx(u, 0), uxx, atol=1e-10) and torch.allclose(d.dxx(u, 1), uyy, atol=1e-10)
    assert torch.allclose(d.laplacian(u), uxx + uyy, atol=1e-10)
    assert torch.allclose(d.div(d.grad(u)), uxx + uyy, atol=1e-10)
    two = torch.cat([u, u**2], dim=1)  # (P, 2): channels are differentiated separately
    assert torch.allclose(d.dx(two, 0), torch.cat([ux, 2 * u * ux], dim=1), atol=1e-12)
    # a field linear in the coords has a constant first derivative and a zero second derivative
    assert torch.equal(d.dxx(3 * coords[:, :1], 0), torch.zeros(50, 1, dtype=torch.float64))


def test_autograd_derivatives_backpropagate_to_parameters(generator):
    # u = a sin(b x): d/da of mean(u_xx) = mean(-b^2 sin(b x)), d/db = mean(-2ab sin(bx) - a b^2 x cos(bx))
    x = torch.rand(40, 1, dtype=torch.float64, generator=generator).requires_grad_()
    a = torch.tensor(1.3, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(2.1, dtype=torch.float64, requires_grad=True)
    AutogradDiff(x).dxx(a * torch.sin(b * x)).mean().backward()
    xd = x.detach()
    assert a.grad.item() == pytest.approx((-(2.1**2) * torch.sin(2.1 * xd)).mean().item(), rel=1e-12)
    expected_b = (-2 * 1.3 * 2.1 * torch.sin(2.1 * xd) - 1.3 * 2.1**2 * xd * torch.cos(2.1 * xd)).mean().item()
    assert b.grad.item() == pytest.approx(expected_b, rel=1e-12)


def test_one_residual_three_differentiators_space_time():
    space, time = Grid((24,), (1.0,)), Grid((11,), (0.5,), periodic=False)
    t, x = torch.meshgrid(*time.axes(), *space.axes(), indexing="ij")  # (T, X)
    u = space_time_field(t, x)[None, None]  # (1, 1, T, X)
    spectral = burgers_like(u, SpectralDiff(space, time=time))[0, 0]
    coords = torch.stack([t.flatten(), x.flatten()], dim=1).requires_grad_()  # (T * X, 2), columns (t, x)
    autograd = burgers_like(space_time_field(coords[:, :1], coords[:, 1:]), AutogradDiff(coords, time=True))
    # spectral in x and order-4 differences in t are exact for this field, so the two must agree to round-off
    assert torch.allclose(spectral, autograd.reshape(t.shape), atol=1e-11)
    # finite differences converge to the same residual at order 4
    errors, sizes = [], [16, 32, 64, 128]
    for n in sizes:
        space = Grid((n,), (1.0,))
        t, x = torch.meshgrid(*time.axes(), *space.axes(), indexing="ij")
        coords = torch.stack([t.flatten(), x.flatten()], dim=1).requires_grad_()
        exact = burgers_like(space_time_field(coords[:, :1], coords[:, 1:]), AutogradDiff(coords, time=True))
        fd = burgers_like(space_time_field(t, x)[None, None], FiniteDiff(space, order=4, time=time))[0, 0]
        errors.append((fd - exact.reshape(t.shape)).abs().max().item())
    assert fitted_order([1 / n for n in sizes], errors) > 3.75, errors


def test_one_residual_three_differentiators_in_two_dimensions():
    grid = Grid((32, 32), (1.0, 2.0))
    x, y = grid.coords()
    u = trig_field(x, y)[0][None, None]  # (1, 1, X, Y)
    spectral = flux_form(u, SpectralDiff(grid))[0, 0]
    coords = torch.stack([x.flatten(), y.flatten()], dim=1).requires_grad_()  # (X * Y, 2)
    autograd = flux_form(trig_field(coords[:, :1], coords[:, 1:])[0], AutogradDiff(coords)).reshape(x.shape)
    # u grad u has frequencies up to 6 pi x and 4 pi y, resolved on 32 x 32: spectral is exact
    assert torch.allclose(spectral, autograd, atol=1e-9)
    fd = flux_form(u, FiniteDiff(grid, order=4))[0, 0]
    assert (fd - autograd).abs().max() < 2e-2 * autograd.abs().max()


def test_differentiators_reject_bad_input():
    with pytest.raises(ValueError, match="periodic"):
        SpectralDiff(Grid((8,), (1.0,), periodic=False))
    with pytest.raises(ValueError, match="requires_grad"):
        AutogradDiff(torch.zeros(4, 2))
    d = AutogradDiff(torch.zeros(4, 2, requires_grad=True), time=True)
    assert d.dim == 1
    with pytest.raises(ValueError, match="autograd graph"):
        d.dx(torch.zeros(4, 1))
    with pytest.raises(ValueError, match="one channel"):
        SpectralDiff(Grid((8,), (1.0,))).grad(torch.zeros(1, 2, 8))
    with pytest.raises(ValueError, match="dt needs"):
        AutogradDiff(torch.zeros(4, 2, requires_grad=True)).dt(torch.zeros(4, 1))


@pytest.mark.parametrize("make", [lambda g: SpectralDiff(g), lambda g: FiniteDiff(g, order=2), lambda g: FiniteDiff(g, order=4)])
def test_periodic_backward_passes_are_the_adjoint_operators(make, generator):
    # on a periodic grid d/dx is skew-adjoint and d2/dx2 self-adjoint, so backpropagating w through
    # <w, D u> must give -dx(w) and dxx(w): a physics loss trains with the true adjoint
    grid = Grid((16, 12), (1.0, 2.0))
    d = make(grid)
    u = torch.randn(2, 1, 16, 12, dtype=torch.float64, generator=generator).requires_grad_()
    w = torch.randn(2, 1, 16, 12, dtype=torch.float64, generator=generator)
    (g1,) = torch.autograd.grad((w * d.dx(u, 1)).sum(), u)
    (g2,) = torch.autograd.grad((w * d.dxx(u, 0)).sum(), u)
    assert torch.allclose(g1, -d.dx(w, 1), atol=1e-12)
    assert torch.allclose(g2, d.dxx(w, 0), atol=1e-10)
