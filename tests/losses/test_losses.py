"""Relative data losses against their formulas and against neuraloperator's, and the residual loss on exact data."""

import math

import pytest
import torch

from sciml.diff import FiniteDiff
from sciml.losses import relative_h1, relative_lp, residual_loss
from sciml.problems import Poisson
from sciml.spectral import Grid


def test_relative_lp_is_the_per_sample_ratio_of_norms(generator):
    target = torch.randn(3, 2, 8, 8, generator=generator, dtype=torch.float64)
    pred = target + 0.1 * torch.randn(3, 2, 8, 8, generator=generator, dtype=torch.float64)
    expected = torch.stack([(pred[i] - target[i]).norm() / target[i].norm() for i in range(3)])
    torch.testing.assert_close(relative_lp(pred, target, eps=0.0), expected, rtol=1e-14, atol=0)
    assert relative_lp(target, target).abs().max() == 0
    torch.testing.assert_close(relative_lp(2 * target, target, p=1.0, eps=0.0), torch.ones(3, dtype=torch.float64))


def test_relative_h1_of_a_sine_uses_its_derivative(generator):
    # u = sin(2 pi x): on a fine periodic grid |u|^2 + |u'|^2 ~ (1 + 4 pi^2) / 2 per point; the error of 0 * u is 1
    grid = Grid((256,), (1.0,))
    x = grid.axes()[0]
    u = torch.sin(2 * math.pi * x)[None, None]
    d = FiniteDiff(grid, order=2)
    assert relative_h1(torch.zeros_like(u), u, d, eps=0.0).item() == pytest.approx(1.0, rel=1e-12)
    # an error that is a constant has no derivative: H1 < L2-relative by the factor sqrt((1 + 0) / (1 + 4 pi^2)), up to O(h^2)
    shifted = u + 0.1
    ratio = relative_h1(shifted, u, d, eps=0.0) / relative_lp(shifted, u, eps=0.0)
    assert ratio.item() == pytest.approx(1 / math.sqrt(1 + 4 * math.pi**2), rel=1e-3)


@pytest.mark.parametrize("dim", [1, 2])
def test_losses_equal_neuraloperators_on_periodic_grids(dim, generator):
    losses = pytest.importorskip("neuralop.losses")
    shape = (4, 1) + (16,) * dim
    target = torch.randn(shape, generator=generator, dtype=torch.float64)
    pred = target + 0.3 * torch.randn(shape, generator=generator, dtype=torch.float64)
    theirs_l2 = losses.LpLoss(d=dim, p=2, reduction="sum")(pred, target)
    torch.testing.assert_close(relative_lp(pred, target).sum(), theirs_l2, rtol=1e-12, atol=0)
    theirs_h1 = losses.H1Loss(d=dim, reduction="sum")(pred, target)
    ours_h1 = relative_h1(pred, target, FiniteDiff(Grid.uniform(16, dim), order=2)).sum()
    torch.testing.assert_close(ours_h1, theirs_h1, rtol=1e-12, atol=0)


def test_residual_loss_is_round_off_on_the_discrete_solution_and_sees_an_error(generator):
    problem = Poisson(dim=2)
    grid = problem.grid(17)
    f = problem.sample_inputs(2, grid, generator)
    u = problem.solve(f, grid)
    assert residual_loss(problem, u, f, grid).max() < 1e-20 * f.abs().max() ** 2
    assert residual_loss(problem, 1.01 * u, f, grid).min() > 1e-6


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="same shape"):
        relative_lp(torch.zeros(2, 1, 4), torch.zeros(2, 1, 5))
