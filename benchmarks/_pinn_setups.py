"""The preconditioned rows of benchmarks/pinn_optimizers.py: natural gradient (ENGD) and operator-preconditioned GD.

Each has its own setup, the one its method is meant for, stated in the table: natural gradient on the ENGD
paper's small float64 networks and fixed points (a 2-32-1 tanh network on a 30 x 30 grid for Poisson 2-D),
operator preconditioning on a model linear in its parameters (a Fourier expansion) for Poisson 2-D. Adam on
the natural gradient's setup gives the time-to-1e-4 comparison.
"""

from __future__ import annotations

import dataclasses
import math
import time

import torch
from sciml.problems import Poisson

from sciml.nn import FourierExpansion
from sciml.optim import (
    Adam,
    NaturalGradient,
    PreconditionedGD,
    condition_number,
    operator_preconditioner,
    residual_jacobian,
)
from sciml.pinn import (
    PINN,
    Collocation,
    HardConstraint,
    PINNObjective,
    relative_l2,
    residual_adaptive,
    residual_importance,
)
from sciml.problem import AbstractProblem


@dataclasses.dataclass(frozen=True)
class Run:
    """A trained run: final relative L2 and mean-square error, wall and CPU seconds, iterations, and the error
    history ``[(cpu_seconds, rel_l2)]``. Limits and times-to-target count CPU seconds (one thread): on a shared
    machine the wall time depends on the other jobs, the CPU time much less."""

    rel_l2: float
    mse: float
    seconds: float
    cpu_seconds: float
    iterations: int
    history: list[tuple[float, float]]

    def time_to(self, target: float) -> float:
        """CPU seconds until the error first reached ``target`` (``inf`` if never)."""
        return next((seconds for seconds, error in self.history if error <= target), math.inf)

    def best_within(self, seconds: float) -> float:
        """The smallest error seen within ``seconds`` of CPU time."""
        return min((error for t, error in self.history if t <= seconds), default=math.inf)


def square_points(n: int = 30) -> dict[str, torch.Tensor]:
    """The ENGD paper's Poisson 2-D points: an ``n x n`` grid strictly inside the unit square and ``4 n`` on its edges (float64)."""
    side = torch.linspace(0, 1, n + 2, dtype=torch.float64)[1:-1]
    interior = torch.stack(torch.meshgrid(side, side, indexing="ij"), dim=-1).reshape(-1, 2)  # (n^2, 2)
    s = torch.linspace(0, 1, n + 1, dtype=torch.float64)[:-1]
    zero, one = torch.zeros_like(s), torch.ones_like(s)
    edges = [torch.stack(pair, dim=1) for pair in ((s, zero), (one, s), (1 - s, one), (zero, 1 - s))]
    return {"pde": interior, "bc": torch.cat(edges)}  # (4 n, 2) counter-clockwise


def sobol_points(problem: AbstractProblem, interior: int, per_condition: int, seed: int) -> dict[str, torch.Tensor]:
    """Fixed float64 Sobol points in the domain and on each condition's part of it."""
    collocation = Collocation(problem, interior, per_condition, method="sobol", resample=False, seed=seed, dtype=torch.float64)
    return collocation.points(0)


def _timed(model, step, steps: int, seconds: float, test_points, reference, every: int) -> Run:
    """Run ``step()`` up to ``steps`` times or ``seconds`` of CPU time, the error measured every ``every`` steps (untimed)."""
    history, wall, cpu, done = [], 0.0, 0.0, 0
    while done < steps and cpu < seconds:
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(min(every, steps - done)):
            step()
            done += 1
        wall += time.perf_counter() - wall_start
        cpu += time.process_time() - cpu_start
        history.append((cpu, relative_l2(model, test_points, reference)))
    error = history[-1][1]
    return Run(error, (error * reference.norm()).item() ** 2 / reference.numel(), wall, cpu, done, history)


def pinn_model(problem: AbstractProblem, widths: tuple[int, ...], seed: int, *, hard: bool = False) -> PINN:
    """A float64 tanh PINN with ``len(widths)`` hidden layers of those widths (they must be equal), its weights drawn in
    float64; ``hard``: the problem's conditions built in (:class:`~sciml.pinn.HardConstraint`)."""
    if len(set(widths)) != 1:
        raise ValueError(f"pinn_model: hidden layers of one width, got {widths}")
    generator = torch.Generator().manual_seed(seed)
    return PINN(problem.domain, hidden_features=widths[0], n_layers=len(widths) + 1, generator=generator, dtype=torch.float64,
                constraint=HardConstraint.from_problem(problem) if hard else None)


def natgrad(problem: AbstractProblem, points: dict[str, torch.Tensor], widths: tuple[int, ...], seed: int, steps: int,
            seconds: float, test_points, reference, *, damping: float = 0.0, every: int = 5, hard: bool = False,
            resample_every: int = 0, pool: int = 100_000, adaptive: bool = False, importance: bool = False) -> Run:
    """Energy natural gradient (ENGD): Gauss-Newton steps with the 31-step line search; ``damping`` 0 as in the ENGD paper
    (the dense solve, truncated SVD at rcond 1e-7), or Levenberg-Marquardt's (the damped Gram matrix's Cholesky solve).
    ``hard``: the conditions built into the network, the residual term alone; ``resample_every``: the interior points
    redrawn every that many steps where the residual is large, ``k = c = 1``: by RAD (:func:`~sciml.pinn.residual_adaptive`,
    from ``pool`` candidates) or, with ``importance``, by quasi-Monte Carlo on ``pool`` cells with the residual weighted
    by the importance weights (:func:`~sciml.pinn.residual_importance`); ``adaptive``: Levenberg-Marquardt's damping,
    from ``damping``, in place of the line search."""
    model = pinn_model(problem, widths, seed, hard=hard)
    objective = PINNObjective(problem, conditions=() if hard else None)
    points = {name: p for name, p in points.items() if name == "pde" or not hard}
    optimizer = NaturalGradient(model.parameters(), objective.terms, solver="gram" if damping > 0 else "dense", damping=damping,
                                rcond=1e-7, adaptive_damping=adaptive)
    generator, done, scale = torch.Generator().manual_seed(1000 + seed), 0, None

    def closure() -> dict:
        terms = objective(model, points)
        if scale is not None:
            terms["pde"] = terms["pde"].scaled(scale)
        return terms

    def step() -> None:
        nonlocal done, scale
        if resample_every and done and done % resample_every == 0:
            residual, n = (lambda p: objective.residual(model, p)), len(points["pde"])
            if importance:
                points["pde"], weights = residual_importance(problem, residual, n, cells=pool, generator=generator, dtype=torch.float64)
                scale = weights.sqrt()
            else:
                points["pde"] = residual_adaptive(problem, residual, n, pool=pool, generator=generator, dtype=torch.float64)
        optimizer.step(closure)
        done += 1

    return _timed(model, step, steps, seconds, test_points, reference, every)


def adam(problem: AbstractProblem, points: dict[str, torch.Tensor], widths: tuple[int, ...], seed: int, steps: int,
         seconds: float, test_points, reference, *, lr: float = 1e-3, every: int = 100) -> Run:
    """Adam at a fixed learning rate on the same network and points as :func:`natgrad`."""
    model = pinn_model(problem, widths, seed)
    objective = PINNObjective(problem)
    optimizer = Adam(model.parameters(), objective.terms, lr=lr)
    return _timed(model, lambda: optimizer.step(lambda: objective(model, points)), steps, seconds, test_points, reference, every)


def opgd(modes: int, steps: int, *, boundary_weight: float = 1.0, preconditioned: bool = True,
         every: int = 50) -> tuple[Run, float, float]:
    """Gradient descent on a Fourier expansion of ``modes`` per axis for Poisson on the unit square with
    ``u = sin(2 pi x) sin(2 pi y)`` (the expansion holds the 1-periodic functions; ``sin(pi x) sin(pi y)`` is
    not one), preconditioned by the Laplacian's symbol (or not), with the optimal fixed step ``1 / (mu_min +
    mu_max)`` of the (preconditioned) Hessian. The interior points are the cell centres of a uniform grid
    of ``4 modes + 2`` per axis, on which the modes are orthogonal. Returns the run and the condition
    numbers of the Hessian before and after preconditioning."""
    problem = Poisson.pinn_classic(exact_amplitudes=(0.0, 1.0))
    test_points = problem.domain.sample_interior(10_000, torch.Generator().manual_seed(12345), "sobol")
    n = 4 * modes + 2
    centres = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    points = {"pde": torch.stack(torch.meshgrid(centres, centres, indexing="ij"), dim=-1).reshape(-1, 2),  # (n^2, 2)
              "bc": square_points(n)["bc"]}
    model = FourierExpansion(2, modes, generator=torch.Generator().manual_seed(0))
    objective = PINNObjective(problem)
    weights = {"bc": boundary_weight}
    terms = objective(model, points)
    rows = torch.cat([math.sqrt(weights.get(name, 1.0) / r.values.numel()) * r.values.reshape(-1) for name, r in terms.items()])
    jacobian = residual_jacobian(rows, [model.weight])  # (M, F): the loss is |rows|^2, its Hessian 2 J^T J
    hessian = jacobian.T @ jacobian
    diagonal = operator_preconditioner(model.laplacian_symbol(), boundary_weight)
    scaled = diagonal[:, None] * hessian * diagonal[None, :]  # P^T A P
    spectrum = torch.linalg.eigvalsh(scaled if preconditioned else hessian)
    preconditioner = diagonal if preconditioned else torch.ones_like(diagonal)
    optimizer = PreconditionedGD(model.parameters(), objective.terms, preconditioner=preconditioner, weights=weights,
                                 lr=1 / (spectrum[0] + spectrum[-1]).item())
    run = _timed(model, lambda: optimizer.step(lambda: objective(model, points)), steps, math.inf, test_points,
                 problem.exact_solution(test_points), every)
    return run, condition_number(hessian), condition_number(scaled)
