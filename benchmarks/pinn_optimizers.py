"""PINN optimizers on the classic problems: relative L2 error, wall time and iterations.

Every optimizer of ``sciml.optim`` (Adam, L-BFGS, MultiAdam, ConFIG, M-ConFIG) trains the same
network from the same initialisation on the same fixed collocation points for the same number of
iterations, per seed; only the optimizer differs. Problems: Poisson 2-D, ``u = sin(pi x) sin(pi y)``
on the unit square (``Poisson.pinn_classic()``), error against the exact solution at 10^4 Sobol
points; Burgers, ``nu = 0.01/pi`` on ``[-1, 1] x [0, 1]`` (``Burgers.pinn_classic()``), error against
the Cole-Hopf reference on Raissi's 256 x 100 grid (``Burgers.pinn_reference()``).

- network: ``sciml.pinn.PINN``, tanh, Xavier-normal, inputs scaled onto [-1, 1]; the loss terms
  ``pde``, ``bc`` (and ``ic``), unweighted;
- budget: ``--steps`` optimizer steps; L-BFGS takes one iteration (strong-Wolfe line search) per
  step, so every optimizer makes the same number of parameter updates. Seconds are the training wall
  time on one thread, and show what an iteration costs each optimizer (backward passes per step:
  Adam, M-ConFIG 1, MultiAdam 2, ConFIG one per term, L-BFGS 2 or more);
- learning rates: 1e-3 with cosine decay to 1e-4 over the run for the first-order optimizers
  (ConFIG's PINN schedule without its warm-up); L-BFGS lr 1.

The domain-scaling experiment of MultiAdam (Yao et al., ICML 2023) trains Adam and MultiAdam on the
2-D problem posed on boxes of side 1/8 and 8: the network sees the same scaled coordinates, so only
the residual term changes, by 8^4 = 4096 against the boundary term, either way.

Anchors (not reproduced at this budget): Raissi et al. (JCP 2019) report 6.7e-4 relative L2 on
Burgers with L-BFGS (9 x 20 tanh, 10^4 points, up to 5e4 iterations); ConFIG (Liu et al., ICLR 2025)
a test MSE of about 1.3e-4 (5 x 50 tanh, 30k epochs, 10^4 resampled points); MultiAdam keeps 2-4 %
across the domain scales where Adam degrades from 2.6 % to 70 %.

    python benchmarks/pinn_optimizers.py --quick --json runs/pinn_optimizers.json
    python benchmarks/pinn_optimizers.py --json runs/pinn_optimizers.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import time

import torch

from sciml.optim import LBFGS, Adam, ConFIG, MConFIG, MultiAdam
from sciml.pinn import PINN, Collocation, PINNObjective, relative_l2
from sciml.problem import AbstractProblem
from sciml.problems import Burgers, Poisson
from sciml.train import fit

OPTIMIZERS = ("adam", "lbfgs", "multiadam", "config", "mconfig")
#: the box sides of the scaling experiment, and the optimizers it compares
SCALES, SCALING_OPTIMIZERS = (0.125, 8.0), ("adam", "multiadam")


@dataclasses.dataclass(frozen=True)
class Budget:
    """What every optimizer gets: steps, seeds, the network, and the points (interior, per condition)."""

    steps: int
    seeds: int
    hidden: int
    layers: int
    poisson_points: tuple[int, int]
    burgers_points: tuple[int, int]


FULL = Budget(steps=2000, seeds=3, hidden=50, layers=6, poisson_points=(1000, 200), burgers_points=(2000, 100))
QUICK = Budget(steps=150, seeds=2, hidden=20, layers=4, poisson_points=(300, 100), burgers_points=(500, 50))


@dataclasses.dataclass(frozen=True)
class Case:
    """A problem, its collocation sizes and its test set: points ``(P, D)`` and the solution there ``(P, 1)``."""

    problem: AbstractProblem
    points: tuple[int, int]
    test_points: torch.Tensor
    reference: torch.Tensor


def cases(budget: Budget) -> dict[str, Case]:
    poisson = Poisson.pinn_classic()
    burgers = Burgers.pinn_classic()
    test = poisson.domain.sample_interior(10_000, torch.Generator().manual_seed(12345), "sobol")
    found = {"poisson2d": Case(poisson, budget.poisson_points, test, poisson.exact_solution(test)),
             "burgers": Case(burgers, budget.burgers_points, *burgers.pinn_reference())}
    for side in SCALES:  # the same problem on a box of side L: the test points scale with it
        scaled = Poisson.pinn_classic(length=side)
        found[f"poisson2dL{side:g}"] = Case(scaled, budget.poisson_points, side * test, poisson.exact_solution(test))
    return found


def make_optimizer(name: str, model: torch.nn.Module, terms: tuple[str, ...], steps: int):
    """The optimizer and its LR scheduler (``None`` for L-BFGS)."""
    params = model.parameters()
    if name == "lbfgs":  # max_eval: room for the line search (torch's default, 5/4 max_iter, leaves it none)
        return LBFGS(params, terms, max_iter=1, max_eval=25, line_search_fn="strong_wolfe"), None
    optimizer = {"adam": Adam, "multiadam": MultiAdam, "config": ConFIG, "mconfig": MConFIG}[name](params, terms, lr=1e-3)
    return optimizer, torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps, eta_min=1e-4)


def train(case: Case, optimizer_name: str, seed: int, budget: Budget) -> dict[str, float]:
    """One run: relative L2 and mean-square error on the test set, wall seconds, iterations."""
    problem = case.problem
    model = PINN(problem.domain, hidden_features=budget.hidden, n_layers=budget.layers, generator=torch.Generator().manual_seed(seed))
    objective = PINNObjective(problem)
    interior, per_condition = case.points
    collocation = Collocation(problem, interior, per_condition, method="sobol", steps_per_epoch=budget.steps, resample=False, seed=seed)
    optimizer, scheduler = make_optimizer(optimizer_name, model, objective.terms, budget.steps)
    collocation.points(0)  # drawn before the clock starts
    started = time.perf_counter()
    progress = fit(model, optimizer, objective, collocation, epochs=1, scheduler=scheduler, show_progress=False)
    seconds = time.perf_counter() - started
    iterations = optimizer.state[next(model.parameters())]["n_iter"] if optimizer_name == "lbfgs" else progress.step
    error = relative_l2(model, case.test_points, case.reference)
    mse = (error * case.reference.norm()) ** 2 / case.reference.numel()
    return {"rel_l2": error, "mse": mse.item(), "seconds": seconds, "iterations": iterations}


def summary(runs: list[dict[str, float]]) -> dict[str, float]:
    """Means over seeds, with the spread of the error."""
    errors = [run["rel_l2"] for run in runs]
    return {"rel_l2": statistics.fmean(errors), "rel_l2_min": min(errors), "rel_l2_max": max(errors),
            "mse": statistics.fmean(run["mse"] for run in runs), "seconds": statistics.fmean(run["seconds"] for run in runs),
            "iterations": statistics.fmean(run["iterations"] for run in runs)}


def write_json(path: str, flat: dict) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as handle:
        json.dump(flat, handle, indent=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"a smoke run: {QUICK}")
    parser.add_argument("--json", metavar="PATH", help="write one flat JSON object of all numbers")
    parser.add_argument("--steps", type=int, help="override the budget's optimizer steps")
    parser.add_argument("--seeds", type=int, help="override the budget's number of seeds (0, 1, ...)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: small autograd calls)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    budget = QUICK if args.quick else FULL
    budget = dataclasses.replace(budget, **{k: v for k, v in (("steps", args.steps), ("seeds", args.seeds)) if v})
    flat: dict[str, object] = {"budget": dataclasses.asdict(budget), "torch": torch.__version__, "machine": platform.machine(),
                               "threads": torch.get_num_threads()}
    print(f"budget: {budget}; torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print(f"| {'problem':<16} | {'optimizer':<9} | {'rel. L2 (mean)':>14} | {'[min, max] over seeds':>22} | {'MSE':>8} | {'seconds':>8} | {'iterations':>10} |")
    print(f"|{'-' * 18}|{'-' * 11}|{'-' * 16}|{'-' * 24}|{'-' * 10}|{'-' * 10}|{'-' * 12}|")
    started = time.perf_counter()
    for name, case in cases(budget).items():
        for optimizer_name in SCALING_OPTIMIZERS if name.startswith("poisson2dL") else OPTIMIZERS:
            row = summary([train(case, optimizer_name, seed, budget) for seed in range(budget.seeds)])
            flat.update({f"{name}_{optimizer_name}_{key}": value for key, value in row.items()})
            spread = f"[{row['rel_l2_min']:.2e}, {row['rel_l2_max']:.2e}]"
            print(f"| {name:<16} | {optimizer_name:<9} | {row['rel_l2']:>14.2e} | {spread:>22} | {row['mse']:>8.1e} "
                  f"| {row['seconds']:>8.1f} | {row['iterations']:>10.0f} |", flush=True)
            if args.json:  # after every row, so that a run stopped part-way keeps what it measured
                write_json(args.json, flat)
    flat["total_seconds"] = time.perf_counter() - started
    print(f"total {flat['total_seconds']:.0f} s; poisson2dL<side>: the 2-D problem on [0, side]^2 "
          f"(residual term x side^-4 against the boundary term)")
    if args.json:
        write_json(args.json, flat)


if __name__ == "__main__":
    main()
