"""Collocation point sets: where the points lie, how they are seeded and reused, the batch protocol of fit."""

import pytest
import torch
from sciml.problems import Burgers, Poisson

from sciml.domain import unit_samples
from sciml.pinn import Collocation, residual_adaptive, residual_importance
from sciml.pinn.collocation import grid_shape, sample_cells

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("method", ["uniform", "lhs", "sobol"])
def test_each_term_gets_its_own_points_where_it_holds(method):
    problem = Burgers.pinn_classic()
    domain = problem.domain
    points = Collocation(problem, 300, {"bc": 40, "ic": 30}, method=method).points(0)
    assert set(points) == {"pde", "bc", "ic"}
    assert [p.shape for p in points.values()] == [(300, 2), (40, 2), (30, 2)]
    assert all(p.dtype == torch.float32 for p in points.values())
    interior, boundary, initial = (p.double() for p in points.values())
    assert domain.contains(interior).all() and not domain.on_boundary(interior, atol=1e-9).any()
    assert domain.on_boundary(boundary, atol=1e-6).all() and (boundary[:, 1].abs() == 1).all()
    assert (boundary[:, 1] == -1).sum() == 20  # the two faces share the points equally
    assert (initial[:, 0] == 0).all() and domain.contains(initial).all()


def test_sets_are_functions_of_seed_and_epoch_and_are_reused_for_the_epochs_steps():
    problem = Poisson.pinn_classic()
    collocation = Collocation(problem, 64, 16, steps_per_epoch=3, seed=5)
    assert len(collocation) == 3
    batches = list(collocation.epoch(2))
    assert len(batches) == 3 and all(size == 1 for _, size in batches)
    assert all(batch is batches[0][0] for batch, _ in batches)  # one set for the whole epoch
    assert len(list(collocation.epoch(2, start=2))) == 1  # a resumed epoch yields its remaining steps
    again = Collocation(problem, 64, 16, steps_per_epoch=3, seed=5)
    for epoch in (2, 0, 7):
        assert all(torch.equal(a, b) for a, b in zip(collocation.points(epoch).values(), again.points(epoch).values()))
    assert not torch.equal(collocation.points(1)["pde"], collocation.points(2)["pde"])
    assert not torch.equal(Collocation(problem, 64, 16, seed=6).points(2)["pde"], collocation.points(2)["pde"])
    fixed = Collocation(problem, 64, 16, resample=False, seed=5)
    assert all(torch.equal(a, b) for a, b in zip(fixed.points(9).values(), collocation.points(0).values()))


def test_a_subset_of_conditions_and_the_points_dtype():
    problem = Burgers.pinn_classic()
    points = Collocation(problem, 8, 4, conditions=("ic",), dtype=torch.float64).points(0)
    assert set(points) == {"pde", "ic"} and points["ic"].dtype == torch.float64


def test_bad_arguments_raise():
    problem = Burgers.pinn_classic()
    with pytest.raises(ValueError, match="among"):
        Collocation(problem, 8, 4, conditions=("bc", "wall"))
    with pytest.raises(ValueError, match="exactly the conditions"):
        Collocation(problem, 8, {"bc": 4})
    with pytest.raises(ValueError, match=r"n_condition\['ic'\]"):
        Collocation(problem, 8, {"bc": 4, "ic": 0})
    with pytest.raises(ValueError, match="n_interior"):
        Collocation(problem, 0, 4)
    with pytest.raises(ValueError, match="method"):
        Collocation(problem, 8, 4, method="grid")
    with pytest.raises(ValueError, match="steps_per_epoch"):
        Collocation(problem, 8, 4, steps_per_epoch=0)


def test_residual_adaptive_points_follow_the_rad_density():
    """RAD's density |r|^k / mean + c: a residual of 1 on a tenth of the domain and 0 elsewhere."""
    problem = Poisson.pinn_classic()
    inside = lambda p: (p[:, :1] < 0.1).to(p.dtype)  # (P, 1): 1 on x < 0.1
    concentrated = residual_adaptive(problem, inside, 500, pool=20_000, generator=torch.Generator().manual_seed(0), c=0.0)
    assert concentrated.shape == (500, 2) and bool((concentrated[:, 0] < 0.1).all())
    # c = 1: weights 1/0.1 + 1 = 11 inside, 1 outside: 0.1 * 11 / (0.1 * 11 + 0.9) = 0.55 of the mass inside
    mixed = residual_adaptive(problem, inside, 1000, pool=100_000, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert mixed.dtype == torch.float64 and bool(((mixed >= 0) & (mixed <= 1)).all())
    assert (mixed[:, 0] < 0.1).double().mean().item() == pytest.approx(0.55, abs=0.05)
    again = residual_adaptive(problem, inside, 1000, pool=100_000, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert torch.equal(mixed, again)
    uniform = residual_adaptive(problem, inside, 1000, pool=100_000, generator=torch.Generator().manual_seed(2), k=0.0)
    assert (uniform[:, 0] < 0.1).double().mean().item() == pytest.approx(0.1, abs=0.04)


def test_residual_adaptive_bad_arguments_raise(generator):
    problem = Poisson.pinn_classic()
    with pytest.raises(ValueError, match="n <= pool"):
        residual_adaptive(problem, lambda p: p[:, :1], 10, pool=5, generator=generator)
    with pytest.raises(ValueError, match="not both zero"):
        residual_adaptive(problem, lambda p: p[:, :1], 5, pool=10, generator=generator, k=0.0, c=0.0)


@pytest.mark.parametrize("shape", [(7,), (4, 5), (3, 4, 5)])
def test_sample_cells_follows_a_piecewise_constant_density_and_skips_empty_cells(shape, generator):
    density = torch.rand(shape, generator=generator, dtype=torch.float64)
    density.reshape(-1)[::3] = 0  # every third cell empty
    points, cell = sample_cells(density, unit_samples(2**15, len(shape), generator, "sobol"))
    assert points.shape == (2**15, len(shape)) and bool(((points >= 0) & (points < 1)).all())
    index = (points * torch.tensor(shape)).floor().long()  # each point's cell from its coordinates, row-major
    flat = torch.zeros_like(cell)
    for axis, cells in enumerate(shape):
        flat = flat * cells + index[:, axis]
    assert torch.equal(flat, cell)
    share = torch.bincount(cell, minlength=density.numel()).double() / len(cell)
    assert share.reshape(-1)[::3].sum() == 0
    # a Sobol set through the inverse map stratifies: each cell's share within 10 / n of its mass (random points: about sqrt(mass / n), 8e-4 here)
    torch.testing.assert_close(share, density.reshape(-1) / density.sum(), rtol=0, atol=10 / len(cell))
    within = points * torch.tensor(shape) - index  # the position inside the cell is uniform: mean 1/2
    assert within.mean(dim=0).sub(0.5).abs().max() < 0.01


def test_residual_importance_follows_the_density_and_its_weights_give_the_uniform_mean():
    """Residual 1 on x < 0.1 of the unit square, 0 elsewhere: density 11 there and 1 elsewhere (c = 1), mean 2."""
    problem = Poisson.pinn_classic()
    inside = lambda p: (p[:, :1] < 0.1).to(p.dtype)
    points, weights = residual_importance(problem, inside, 4096, cells=10_000, generator=torch.Generator().manual_seed(0),
                                          dtype=torch.float64)
    assert grid_shape((1.0, 1.0), 10_000) == (100, 100) and grid_shape((1.0, 2.0), 200) == (10, 20)
    near = points[:, 0] < 0.1
    assert near.double().mean().item() == pytest.approx(0.55, abs=2e-3)  # 0.1 * 11 / 2 of the points, to QMC's precision
    torch.testing.assert_close(weights, torch.where(near, 2 / 11, 2.0).double())
    # the weighted mean of a smooth function is its integral over the square; the unweighted one is far off
    f = lambda p: torch.exp(p[:, 0]) * torch.cos(p[:, 1])
    exact = (torch.e - 1) * torch.sin(torch.tensor(1.0, dtype=torch.float64))
    assert abs((weights * f(points)).mean() - exact) < 1e-3 * exact
    assert abs(f(points).mean() - exact) > 0.1 * exact
    again, _ = residual_importance(problem, inside, 4096, cells=10_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.equal(points, again)
    _, ones = residual_importance(problem, inside, 256, cells=100, generator=torch.Generator().manual_seed(1), k=0.0)
    assert ones.dtype == torch.float32 and torch.equal(ones, torch.ones(256))  # k = 0: Sobol points, weight 1


def test_residual_importance_on_a_space_time_box():
    """Burgers' box t in [0, 1], x in [-1, 1]: the cells follow the sides and the points stay in the box."""
    problem = Burgers.pinn_classic()
    front = lambda p: torch.exp(-(p[:, 1:] / 0.05) ** 2)  # a residual concentrated at x = 0
    points, weights = residual_importance(problem, front, 2048, cells=5000, generator=torch.Generator().manual_seed(0),
                                          dtype=torch.float64)
    assert problem.domain.contains(points).all() and grid_shape((1.0, 2.0), 5000) == (50, 100)
    assert (points[:, 1].abs() < 0.1).double().mean() > 0.5  # (1 + 0.1) / 2 of the mass on the front, 10% of the box
    assert weights.max() <= 2 and (weights * (points[:, 1].abs() < 0.1)).mean() == pytest.approx(0.1, abs=2e-3)


def test_residual_importance_and_sample_cells_bad_arguments_raise(generator):
    problem = Poisson.pinn_classic()
    with pytest.raises(ValueError, match="c > 0"):
        residual_importance(problem, lambda p: p[:, :1], 8, cells=16, generator=generator, c=0.0)
    with pytest.raises(ValueError, match="n >= 1"):
        residual_importance(problem, lambda p: p[:, :1], 0, cells=16, generator=generator)
    with pytest.raises(ValueError, match="non-negative"):
        sample_cells(-torch.ones(3, 3), torch.rand(4, 2))
    with pytest.raises(ValueError, match="D = 3"):
        sample_cells(torch.ones(3, 3), torch.rand(4, 3))
    with pytest.raises(ValueError, match="positive sides"):
        grid_shape((1.0, 0.0), 10)
