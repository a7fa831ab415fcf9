"""A PDE that sciml does not ship, defined in a few dozen lines, solved by a PINN.

The heat equation u_t = kappa u_xx on [0, 1] x [0, 1] with u = 0 at both ends and
u(0, x) = sin(pi x) + sin(3 pi x) / 2, whose exact solution decays mode by mode. The problem is a
frozen dataclass against sciml's public contract (the residual written once, the domain, the named
conditions, the exact solution, and a reference solver for operator data); the PINN is assembled
from it by sciml.pinn with nothing specific to the heat equation.

    python examples/pinn_heat.py          # about a minute of CPU time; relative L2 error about 7e-4
    SCIML_EXAMPLE_TINY=1 python examples/pinn_heat.py
"""

from __future__ import annotations

import dataclasses
import math
import os

import torch
import torch.nn.functional as F

from sciml.conditions import Dirichlet, Initial
from sciml.domain import Domain
from sciml.optim import Adam
from sciml.pinn import PINN, Collocation, HardConstraint, PINNObjective, relative_l2
from sciml.problem import AbstractEvolutionProblem
from sciml.solvers import dst1
from sciml.spectral import Grid
from sciml.train import fit


@dataclasses.dataclass(frozen=True)
class Heat(AbstractEvolutionProblem):
    """u_t = kappa u_xx, u(t, 0) = u(t, 1) = 0, u(0, x) = sin(pi x) + sin(3 pi x) / 2; points (t, x)."""

    diffusivity: float = 0.1
    final_time: float = 1.0
    n_frames: int = 10

    name = "heat"
    dim = 1

    @property
    def domain(self):
        return Domain(((0.0, 1.0),), time=(0.0, self.final_time))

    def residual(self, u, a, d):  # the PDE, once: grids and points alike
        return d.dt(u) - self.diffusivity * d.dxx(u, 0)

    def initial_value(self, x):
        return torch.sin(math.pi * x) + 0.5 * torch.sin(3 * math.pi * x)

    def conditions(self):
        return {"bc": Dirichlet(self.domain, 0.0), "ic": Initial(self.domain, lambda p: self.initial_value(p[:, 1:]))}

    @property
    def has_exact_solution(self):
        return True

    def exact_solution(self, points):  # (P, 2) -> (P, 1): each sine mode decays at its own rate
        t, x = points[:, :1], points[:, 1:]
        rate = self.diffusivity * math.pi**2
        return torch.exp(-rate * t) * torch.sin(math.pi * x) + 0.5 * torch.exp(-9 * rate * t) * torch.sin(3 * math.pi * x)

    # operator data: the nodal grid, the initial state, and the exact decay of its sine modes
    def grid(self, n):
        return Grid((n,), (1.0,), periodic=False)

    def sample_inputs(self, n, grid, generator):
        return self.initial_value(grid.axes()[0]).expand(n, 1, -1).clone()

    def trajectory(self, a, grid, n_times):  # (B, 1, N) -> (B, 1, n_times, N)
        self.check_input(a, grid)
        m = grid.shape[0] - 2
        k = torch.arange(1, m + 1, dtype=a.dtype)
        t = self.time_grid(n_times).axes(a.dtype)[0]
        modes = dst1(a[..., 1:-1]) * 2 / (m + 1)  # (B, 1, m): the sine coefficients of the interior values
        decay = torch.exp(-self.diffusivity * (math.pi * k) ** 2 * t[:, None])  # (n_times, m)
        return F.pad(dst1(modes[:, :, None] * decay), (1, 1))  # (B, 1, n_times, N), zero at both ends


def main() -> None:
    tiny = os.environ.get("SCIML_EXAMPLE_TINY") == "1"
    torch.set_num_threads(1)
    problem = Heat()
    # the conditions are built into the output, so the loss has the residual alone
    model = PINN(problem.domain, hidden_features=32, n_layers=4, constraint=HardConstraint.from_problem(problem),
                 generator=torch.Generator().manual_seed(0))
    objective = PINNObjective(problem, conditions=())
    steps, epochs = (20, 2) if tiny else (500, 6)
    collocation = Collocation(problem, 256 if tiny else 2000, 0, conditions=(), method="lhs", steps_per_epoch=steps)
    optimizer = Adam(model.parameters(), objective.terms, lr=3e-3)
    test = problem.domain.sample_interior(4096, torch.Generator().manual_seed(1), "sobol")
    exact = problem.exact_solution(test)
    fit(model, optimizer, objective, collocation, epochs=epochs, show_progress=not tiny,
        evaluate=lambda: {"rel_l2": relative_l2(model, test, exact)})
    grid = problem.grid(65)  # the reference solver agrees with the exact solution to round-off
    points = problem.domain.grid_points(grid, problem.time_grid(11).axes()[0]).reshape(-1, 2)  # (11 * 65, 2)
    solver = problem.trajectory(problem.sample_inputs(1, grid, None), grid, 11).reshape(-1, 1)
    print(f"heat equation PINN: relative L2 error {relative_l2(model, test, exact):.2e} after {steps * epochs} Adam steps; "
          f"reference solver vs exact: {(solver - problem.exact_solution(points)).abs().max():.1e}")


if __name__ == "__main__":
    main()
