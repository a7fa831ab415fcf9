"""Hard constraints: the built-in conditions hold exactly for any network, whatever its weights."""

import pytest
import torch
from sciml.problems import Burgers, Poisson

from sciml.conditions import Dirichlet, Initial
from sciml.domain import Domain
from sciml.pinn import PINN, HardConstraint, PINNObjective

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("problem", [Burgers.pinn_classic(), Poisson.pinn_classic(), Poisson.pinn_classic(5),
                                     Poisson(dim=3, length=2.0)], ids=["burgers", "poisson2d", "poisson5d", "poisson3d_L2"])
def test_conditions_of_a_problem_hold_exactly_for_a_random_network(problem, generator):
    constraint = HardConstraint.from_problem(problem)
    assert constraint.names == tuple(problem.conditions())
    model = PINN(problem.domain, constraint=constraint, generator=torch.Generator().manual_seed(0)).double()
    for name, condition in problem.conditions().items():
        assert condition.residual(model, condition.sample(128, generator, "sobol")).abs().max() < 1e-14, name
    # the network still has to learn the PDE
    assert PINNObjective(problem, conditions=())(model, {"pde": problem.domain.sample_interior(64, generator)})["pde"].loss() > 1e-3


def test_time_dependent_dirichlet_data_with_a_compatible_initial_value(generator):
    domain = Domain(((0.0, 2.0), (-1.0, 1.0)), time=(0.5, 1.5))

    def g(p):  # nonzero and time-dependent on the faces, defined in the whole box
        return torch.exp(-p[:, :1]) * (1 + p[:, 1:2] * p[:, 2:3]) + p[:, 1:2] ** 2

    def u0(p):  # equal to g(t0, .) on the faces, different inside
        x, y = p[:, 1:2], p[:, 2:3]
        return g(p) + torch.sin(torch.pi * x / 2) * (1 - y**2)

    conditions = {"bc": Dirichlet(domain, g), "ic": Initial(domain, u0)}
    model = PINN(domain, constraint=HardConstraint(conditions), generator=torch.Generator().manual_seed(1)).double()
    for name, condition in conditions.items():
        assert condition.residual(model, condition.sample(256, generator)).abs().max() < 1e-14, name
    # on one axis only: the faces of axis 0 hold, those of axis 1 do not
    model = PINN(domain, constraint=HardConstraint({"bc": Dirichlet(domain, 0.0, axes=(0,))}),
                 generator=torch.Generator().manual_seed(1)).double()
    assert Dirichlet(domain, 0.0, axes=(0,)).residual(model, domain.sample_boundary(64, generator, axes=(0,))).abs().max() < 1e-14
    assert Dirichlet(domain, 0.0, axes=(1,)).residual(model, domain.sample_boundary(64, generator, axes=(1,))).abs().max() > 1e-3


def test_conditions_that_cannot_be_built_in_raise():
    domain = Domain(((0.0, 1.0),), time=(0.0, 1.0))
    with pytest.raises(ValueError, match="'bc' is Periodic"):
        HardConstraint.from_problem(Burgers())
    with pytest.raises(ValueError, match="second Dirichlet"):
        HardConstraint({"left": Dirichlet(domain, 0.0), "right": Dirichlet(domain, 1.0)})
    with pytest.raises(ValueError, match="differs from the Dirichlet value"):
        HardConstraint({"bc": Dirichlet(domain, 0.0), "ic": Initial(domain, lambda p: torch.cos(p[:, 1:]))})
    with pytest.raises(ValueError, match="none"):
        HardConstraint({})
    with pytest.raises(ValueError, match="one domain"):
        HardConstraint({"bc": Dirichlet(domain, 0.0), "ic": Initial(Domain(((0.0, 2.0),), time=(0.0, 1.0)), torch.sin)})
