"""Collocation point sets: where the points lie, how they are seeded and reused, the batch protocol of fit."""

import pytest
import torch
from sciml.problems import Burgers, Poisson

from sciml.pinn import Collocation

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
