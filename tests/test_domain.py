"""Domains and their samplers: points land where they should, fill the box as each method promises."""

import math

import pytest
import torch

from sciml.domain import METHODS, Domain, unit_samples
from sciml.spectral import Grid

BOX = Domain(((-1.0, 1.0), (0.0, 3.0)), time=(0.5, 2.0))  # points (t, x, y)


@pytest.mark.parametrize("method", METHODS)
def test_unit_samples_lie_in_the_cube_and_are_reproducible(method):
    first = unit_samples(256, 3, torch.Generator().manual_seed(5), method)
    assert first.shape == (256, 3) and first.dtype == torch.float64
    assert ((first >= 0) & (first < 1)).all()
    assert torch.equal(first, unit_samples(256, 3, torch.Generator().manual_seed(5), method))
    assert not torch.equal(first, unit_samples(256, 3, torch.Generator().manual_seed(6), method))
    # every method is uniform on the cube: the mean of 256 points is 1/2 within a few standard errors (1/sqrt(12 * 256))
    assert (first.mean(0) - 0.5).abs().max() < 4 / math.sqrt(12 * 256)


def test_latin_hypercube_puts_one_point_in_each_stratum_of_every_axis(generator):
    n = 50
    points = unit_samples(n, 4, generator, "lhs")
    strata = (points * n).floor().long()  # (n, 4)
    for axis in range(4):
        assert torch.equal(strata[:, axis].sort().values, torch.arange(n))


def test_sobol_points_fill_dyadic_boxes_exactly(generator):
    # a scrambled Sobol set of 2^10 points is a (0, 10, 2)-net: every dyadic box of volume 1/4 holds exactly n/4 of
    # them, where independent draws miss by about sqrt(n * 3/16) = 14 points
    n = 1024
    points = unit_samples(n, 2, generator, "sobol")
    for corner in ((0.0, 0.0), (0.5, 0.0), (0.0, 0.5), (0.5, 0.5)):
        low = torch.tensor(corner, dtype=torch.float64)
        assert ((points >= low) & (points < low + 0.5)).all(dim=1).sum().item() == n // 4


@pytest.mark.parametrize("method", METHODS)
def test_interior_boundary_and_initial_points_lie_where_they_should(method, generator):
    interior = BOX.sample_interior(100, generator, method)
    assert interior.shape == (100, 3) and BOX.contains(interior).all()
    boundary = BOX.sample_boundary(100, generator, method)
    assert boundary.shape == (100, 3) and BOX.on_boundary(boundary).all()
    initial = BOX.sample_initial(40, generator, method)
    assert BOX.contains(initial).all() and (initial[:, 0] == 0.5).all()
    assert not BOX.on_boundary(interior).any()  # a continuous draw does not hit a face


def test_boundary_points_are_shared_among_faces_by_measure(generator):
    # a face of x measures 1.5 (time) x 3 (y), a face of y 1.5 x 2 (x): 3 : 2
    points = BOX.sample_boundary(800, generator)
    low, high = BOX.bounds()
    on = [((points[:, c] == low[c]) | (points[:, c] == high[c])).sum().item() for c in (1, 2)]
    assert on == [480, 320]
    one_side = Domain(((0.0, 1.0), (0.0, 1.0))).sample_boundary(10, generator, axes=(1,), sides=(0,))
    assert (one_side[:, 1] == 0).all()


def test_one_dimensional_steady_boundary_is_its_two_end_points(generator):
    points = Domain(((2.0, 5.0),)).sample_boundary(7, generator)
    assert points[:, 0].tolist() == [2.0] * 4 + [5.0] * 3  # equal measures: the remainder goes to the first face


def test_grid_points_are_the_physical_coordinates_of_grid_nodes():
    domain = Domain(((-1.0, 1.0),), time=(0.0, 1.0))
    grid = Grid((8,), (2.0,))
    points = domain.grid_points(grid, torch.tensor([0.0, 0.5]))  # (2, 8, 2)
    assert points.shape == (2, 8, 2)
    assert torch.equal(points[1, :, 0], torch.full((8,), 0.5, dtype=torch.float64))
    assert torch.allclose(points[0, :, 1], -1 + torch.arange(8, dtype=torch.float64) / 4)
    with pytest.raises(ValueError, match="span"):
        domain.grid_points(Grid((8,), (1.0,)), torch.zeros(1))


def test_bad_domains_and_arguments_raise(generator):
    with pytest.raises(ValueError, match="low < high"):
        Domain(((1.0, 0.0),))
    with pytest.raises(ValueError, match="time"):
        Domain(((0.0, 1.0),), time=(0.0, math.inf))
    with pytest.raises(ValueError, match="initial"):
        Domain(((0.0, 1.0),)).sample_initial(3, generator)
    with pytest.raises(ValueError, match="method"):
        BOX.sample_interior(3, generator, "halton")
    with pytest.raises(ValueError, match="axes"):
        BOX.sample_boundary(3, generator, axes=(2,))
    with pytest.raises(ValueError, match=r"\(P, 3\)"):
        BOX.contains(torch.zeros(4, 2))
