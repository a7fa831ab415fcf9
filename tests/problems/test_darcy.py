"""The Darcy problem: FNO coefficient distribution, seeding, the solver's consistency and the residual."""

import math

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import torch
from sciml.problems import Darcy

from sciml.diff import AutogradDiff
from sciml.solvers import darcy_matrix
from sciml.spectral import GaussianRandomField, Grid


def test_thresholded_coefficient_takes_only_the_values_3_and_12(generator):
    problem = Darcy()
    a = problem.sample_inputs(4, problem.grid(85), generator)
    assert a.shape == (4, 1, 85, 85) and a.dtype == torch.float64
    assert set(a.unique().tolist()) == {3.0, 12.0}
    # both phases occupy a sizeable part of every sample (the GRF has zero mean)
    high_fraction = (a == 12).double().mean(dim=(1, 2, 3))
    assert ((high_fraction > 0.1) & (high_fraction < 0.9)).all()


def test_lognormal_coefficient_is_the_exponential_of_the_same_field(generator):
    problem = Darcy(coefficient="lognormal")
    grid = problem.grid(33)
    a = problem.sample_inputs(2, grid, torch.Generator().manual_seed(7))
    g = GaussianRandomField(grid, 2.0, 3.0, boundary="neumann").sample(2, torch.Generator().manual_seed(7))
    torch.testing.assert_close(a[:, 0].log(), g, rtol=1e-13, atol=1e-13)
    threshold = Darcy().sample_inputs(2, grid, torch.Generator().manual_seed(7))
    torch.testing.assert_close(threshold[:, 0], torch.where(g >= 0, 12.0, 3.0).double())


def test_same_seed_is_bit_identical_and_different_seeds_differ():
    problem = Darcy()
    grid = problem.grid(29)
    first = problem.sample_inputs(3, grid, torch.Generator().manual_seed(5))
    again = problem.sample_inputs(3, grid, torch.Generator().manual_seed(5))
    other = problem.sample_inputs(3, grid, torch.Generator().manual_seed(6))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    assert torch.equal(problem.solve(first, grid), problem.solve(again, grid))


@pytest.mark.parametrize("coefficient", ["threshold", "lognormal"])
def test_solution_matches_spsolve_and_subsamples_from_421_style_grids(coefficient, generator):
    problem = Darcy(coefficient=coefficient)
    grid = problem.grid(41)  # 40 cells: subsamples to 21, 11, 9 like 421 -> 211, 141, 85
    assert [grid.subsample(f).shape[0] for f in (2, 4, 5)] == [21, 11, 9]
    a = problem.sample_inputs(2, grid, generator)
    u = problem.solve(a, grid)
    assert u.shape == a.shape
    assert u[..., 0, :].abs().max() == 0 and u[..., :, -1].abs().max() == 0
    for i in range(2):
        matrix = darcy_matrix(a[i, 0], grid)
        reference = spla.spsolve(matrix.tocsc(), np.full(matrix.shape[0], problem.forcing))
        np.testing.assert_allclose(u[i, 0, 1:-1, 1:-1].reshape(-1).numpy(), reference, rtol=1e-8, atol=1e-12)
    # -div(a grad u) = f > 0 with u = 0 on the boundary: the maximum principle makes u positive inside
    assert (u[..., 1:-1, 1:-1] > 0).all()


def test_residual_vanishes_on_an_exact_solution_at_points(generator):
    """a = e^x, u = (x - 1) e^{-x} (a u' = -x): -(a u')' = 1 exactly; a perturbed u has a residual."""
    problem = Darcy()
    points = torch.rand(50, 2, generator=generator, dtype=torch.float64).requires_grad_(True)
    d = AutogradDiff(points)
    x = points[:, :1]
    a = torch.exp(x)
    u = (x - 1) * torch.exp(-x) + points[:, 1:] * 0
    assert problem.residual(u, a, d).abs().max() < 1e-13
    perturbed = u + 0.01 * torch.sin(math.pi * points[:, 1:])
    residual = problem.residual(perturbed, a, d)  # = 0.01 pi^2 e^x sin(pi y)
    torch.testing.assert_close(residual, 0.01 * math.pi**2 * a * torch.sin(math.pi * points[:, 1:]))


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="resolution"):
        Darcy().grid(2)
    with pytest.raises(ValueError, match="coefficient"):
        Darcy(coefficient="uniform")
    with pytest.raises(ValueError, match="low"):
        Darcy(low=0.0)
    problem = Darcy()
    with pytest.raises(ValueError, match="nodal"):
        problem.sample_inputs(1, Grid.uniform(9, 2, periodic=True), torch.Generator())
    with pytest.raises(ValueError, match=r"\(B, 1, 9, 9\)"):
        problem.solve(torch.ones(1, 9, 9, dtype=torch.float64), problem.grid(9))


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"rtol": -1.0}, ValueError, "Darcy: rtol must be a finite number > 0 and < 1 (the solver's relative residual target), got -1.0"),
    ({"rtol": 1.0}, ValueError, "Darcy: rtol must be a finite number > 0 and < 1"),
    ({"grf_alpha": math.nan}, ValueError, "Darcy: grf_alpha must be a finite number > 1 (dim / 2: a finite pointwise variance), got nan"),
    ({"grf_alpha": 1.0}, ValueError, "Darcy: grf_alpha must be a finite number > 1"),
    ({"grf_tau": -3.0}, ValueError, "Darcy: grf_tau must be a finite number > 0, got -3.0"),
    ({"high": math.inf}, ValueError, "Darcy: high must be a finite number > 0, got inf"),
    ({"forcing": math.nan}, ValueError, "Darcy: forcing must be a finite number, got nan"),
    ({"low": "3"}, TypeError, "Darcy: low must be a finite number > 0, got '3'"),
])
def test_parameters_are_checked_where_constructed(kwargs, error, message):
    with pytest.raises(error) as info:
        Darcy(**kwargs)
    assert str(info.value).startswith(message)
