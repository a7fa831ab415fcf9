"""PINN optimizers on the classic problems: relative L2 error, wall time and iterations.

Every first-order optimizer of ``sciml.optim`` (Adam, L-BFGS, MultiAdam, ConFIG, M-ConFIG) trains the same
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

The preconditioned rows (``benchmarks/_pinn_setups.py``) use the setups their methods are meant for, in
float64, under a limit of steps and of CPU seconds (one thread; the table's seconds are wall time, the JSON
has both; networks drawn in float64): ``natgrad``, energy natural gradient (Gauss-Newton, with the 31-step
line search unless said; the Jacobian from the network's jets) on the ENGD paper's 2-32-1 tanh network on a 30 x 30 grid
and 120 boundary points (Poisson 2-D, undamped as in the paper: the dense solve, truncated SVD at rcond 1e-7),
its 5-D problem ``u = sum_i sin(pi x_i)`` with a 5-64-1 network on 4000 + 500 Sobol points (Poisson 5-D; the
paper resamples them every step) and a 3 x 30 tanh network with the initial and boundary conditions built in
(``HardConstraint``) on 6000 interior points, redrawn every 50 steps where the residual is large (by quasi-Monte
Carlo on 10^5 cells, the residual weighted by the importance weights that keep the loss the uniform mean square:
``residual_importance``) (Burgers), both damped (the Gram matrix's Cholesky solve) against overshooting first
steps (undamped, the 5-D run spent 60 steps between 1 and 2.3 and stood at 8e-3 after 150 CPU s): 5-D with
the fixed damping 1e-4 and the line search, Burgers with Levenberg-Marquardt's damping adapted from 1e-4 in
place of the line search (``adaptive_damping``; on 5-D it measured worse, 2.8e-3 and 2.6e-4 after 120 s);
Adam (lr 1e-3) on the 2-D natgrad setup for the time to reach 1e-4; ``opgd``, gradient
descent preconditioned by the Laplacian's symbol on a Fourier expansion (linear in its parameters) of
Poisson 2-D with ``u = sin(2 pi x) sin(2 pi y)``, beside the same descent unpreconditioned. All rows run under
the same allocator settings (glibc malloc with ``MALLOC_MMAP_MAX_=0`` and a large trim threshold, :mod:`_timing`),
so that the Jacobians and Gram matrices of tens of MB are not page-faulted back in at every step. opgd does not
apply to Burgers: its residual is nonlinear in u, so the loss is no quadratic whose Hessian the operator's
symbol diagonalizes.

Anchors (not reproduced at this budget): Raissi et al. (JCP 2019) report 6.7e-4 relative L2 on
Burgers with L-BFGS (9 x 20 tanh, 10^4 points, up to 5e4 iterations); ConFIG (Liu et al., ICLR 2025)
a test MSE of about 1.3e-4 (5 x 50 tanh, 30k epochs, 10^4 resampled points); MultiAdam keeps 2-4 %
across the domain scales where Adam degrades from 2.6 % to 70 %; ENGD (Mueller & Zeinhofer, ICML 2023) about
1e-7 on Poisson 2-D with the 2-32-1 network in under 100 iterations, where Adam stops near 1e-3.

    python benchmarks/pinn_optimizers.py --quick --json runs/pinn_optimizers.json
    python benchmarks/pinn_optimizers.py --json runs/pinn_optimizers.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import statistics
import time

import _pinn_setups as pre
import torch
from _timing import ensure_allocator_env
from sciml.problems import Burgers, Poisson

from sciml.optim import LBFGS, Adam, ConFIG, MConFIG, MultiAdam
from sciml.pinn import PINN, Collocation, PINNObjective, relative_l2
from sciml.problem import AbstractProblem
from sciml.train import fit

OPTIMIZERS = ("adam", "lbfgs", "multiadam", "config", "mconfig")
#: the box sides of the scaling experiment, and the optimizers it compares
SCALES, SCALING_OPTIMIZERS = (0.125, 8.0), ("adam", "multiadam")


@dataclasses.dataclass(frozen=True)
class Natgrad:
    """The preconditioned rows' budget: steps and wall seconds per run, networks (hidden widths) and points."""

    steps: int
    seconds: float
    poisson5d: tuple[tuple[int, ...], tuple[int, int]]
    poisson5d_seconds: float
    burgers: tuple[tuple[int, ...], tuple[int, int]]
    burgers_seconds: float
    burgers_resample_every: int  # new interior points where the residual is large every that many steps (0: fixed points)
    burgers_hard: bool  # the initial and boundary conditions built into the network
    burgers_adaptive: bool  # Levenberg-Marquardt's adapted damping (from ``damping``) instead of the line search
    burgers_importance: bool  # the new points by QMC on cells, importance-weighted (``residual_importance``), not RAD
    damping: float  # of the 5-D and Burgers rows (Poisson 2-D: none, as in the ENGD paper)
    opgd_modes: int
    opgd_steps: int


@dataclasses.dataclass(frozen=True)
class Budget:
    """What every optimizer gets: steps, seeds, the network, and the points (interior, per condition)."""

    steps: int
    seeds: int
    hidden: int
    layers: int
    poisson_points: tuple[int, int]
    burgers_points: tuple[int, int]
    natgrad: Natgrad


FULL = Budget(steps=2000, seeds=3, hidden=50, layers=6, poisson_points=(1000, 200), burgers_points=(2000, 100),
              natgrad=Natgrad(steps=1000, seconds=60, poisson5d=((64,), (4000, 500)), poisson5d_seconds=120,
                              burgers=((30, 30, 30), (6000, 300)), burgers_seconds=840, burgers_resample_every=50,
                              burgers_hard=True, burgers_adaptive=True, burgers_importance=True, damping=1e-4,
                              opgd_modes=8, opgd_steps=100))
QUICK = Budget(steps=150, seeds=2, hidden=20, layers=4, poisson_points=(300, 100), burgers_points=(500, 50),
               natgrad=Natgrad(steps=10, seconds=20, poisson5d=((16,), (200, 100)), poisson5d_seconds=20,
                               burgers=((10, 10), (200, 50)), burgers_seconds=20, burgers_resample_every=5,
                               burgers_hard=True, burgers_adaptive=True, burgers_importance=True, damping=1e-4,
                               opgd_modes=2, opgd_steps=20))


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


def print_row(name: str, optimizer_name: str, row: dict[str, float]) -> None:
    spread = f"[{row['rel_l2_min']:.2e}, {row['rel_l2_max']:.2e}]"
    print(f"| {name:<16} | {optimizer_name:<9} | {row['rel_l2']:>14.2e} | {spread:>22} | {row['mse']:>8.1e} "
          f"| {row['seconds']:>8.1f} | {row['iterations']:>10.0f} |", flush=True)


def run_row(runs: list[pre.Run]) -> dict[str, float]:
    """A preconditioned row in the format of :func:`summary`, with the CPU seconds beside the wall seconds."""
    row = summary([{"rel_l2": run.rel_l2, "mse": run.mse, "seconds": run.seconds, "iterations": run.iterations} for run in runs])
    return {**row, "cpu_seconds": statistics.fmean(run.cpu_seconds for run in runs)}


def preconditioned_rows(budget: Budget, flat: dict, json_path: str | None) -> None:
    """natgrad on Poisson 2-D, 5-D and Burgers, Adam's time to 1e-4 on the 2-D natgrad setup, opgd on Poisson 2-D."""
    ng = budget.natgrad

    def record(name: str, optimizer_name: str, row: dict[str, float]) -> None:
        flat.update({f"{name}_{optimizer_name}_{key}": value for key, value in row.items()})
        print_row(name, optimizer_name, row)
        if json_path:
            write_json(json_path, flat)

    poisson = Poisson.pinn_classic()
    test = poisson.domain.sample_interior(10_000, torch.Generator().manual_seed(12345), "sobol")
    exact = poisson.exact_solution(test)
    square = pre.square_points(30)
    natgrad = [pre.natgrad(poisson, square, (32,), seed, ng.steps, ng.seconds, test, exact) for seed in range(budget.seeds)]
    record("poisson2d", "natgrad", run_row(natgrad))
    # Adam on the same network and points, for as long as natgrad's longest run (CPU seconds)
    limit = max(run.cpu_seconds for run in natgrad)
    adam = [pre.adam(poisson, square, (32,), seed, 10**9, limit, test, exact) for seed in range(budget.seeds)]
    record("poisson2d_engd", "adam", run_row(adam))
    flat["poisson2d_natgrad_time_to_1e-4_cpu_seconds_per_seed"] = [run.time_to(1e-4) for run in natgrad]
    flat["poisson2d_adam_time_to_1e-4_cpu_seconds_per_seed"] = [run.time_to(1e-4) for run in adam]
    natgrad_time = statistics.fmean(run.time_to(1e-4) for run in natgrad)
    adam_time = statistics.fmean(run.time_to(1e-4) for run in adam)
    flat["poisson2d_natgrad_time_to_1e-4_cpu_seconds"] = natgrad_time
    flat["poisson2d_adam_time_to_1e-4_cpu_seconds"] = adam_time
    flat["poisson2d_time_to_1e-4_speedup_vs_adam"] = adam_time / natgrad_time if math.isfinite(adam_time) else None
    flat["poisson2d_adam_best_rel_l2_in_natgrad_time_to_1e-4"] = statistics.fmean(
        adam_run.best_within(run.time_to(1e-4)) for adam_run, run in zip(adam, natgrad))
    print(f"CPU time to 1e-4 on Poisson 2-D (natgrad setup): natgrad {natgrad_time:.1f} s, Adam "
          + (f"{adam_time:.1f} s (speedup {adam_time / natgrad_time:.1f}x)" if math.isfinite(adam_time) else
             f"never within {limit:.0f} s (best {flat['poisson2d_adam_best_rel_l2_in_natgrad_time_to_1e-4']:.2e} "
             f"in natgrad's time to 1e-4, {statistics.fmean(run.rel_l2 for run in adam):.2e} at the end)"), flush=True)

    poisson5 = Poisson.pinn_classic(5, exact_form="sum")
    test5 = poisson5.domain.sample_interior(10_000, torch.Generator().manual_seed(12345), "sobol")
    exact5 = poisson5.exact_solution(test5)
    widths, (interior, per_condition) = ng.poisson5d
    record("poisson5d", "natgrad", run_row([pre.natgrad(poisson5, pre.sobol_points(poisson5, interior, per_condition, seed), widths,
                                                        seed, ng.steps, ng.poisson5d_seconds, test5, exact5, damping=ng.damping)
                                            for seed in range(budget.seeds)]))

    burgers = Burgers.pinn_classic()
    grid, reference = burgers.pinn_reference()
    widths, (interior, per_condition) = ng.burgers
    runs = [pre.natgrad(burgers, pre.sobol_points(burgers, interior, per_condition, seed), widths, seed, 10**9,
                        ng.burgers_seconds, grid, reference, damping=ng.damping, every=10, hard=ng.burgers_hard,
                        resample_every=ng.burgers_resample_every, adaptive=ng.burgers_adaptive, importance=ng.burgers_importance)
            for seed in range(budget.seeds)]
    record("burgers", "natgrad", run_row(runs))
    flat["burgers_natgrad_history"] = [run.history for run in runs]  # per seed, [(CPU seconds, rel. L2)] every 10 steps

    opgd, kappa, kappa_preconditioned = pre.opgd(ng.opgd_modes, ng.opgd_steps)
    plain, _, _ = pre.opgd(ng.opgd_modes, ng.opgd_steps, preconditioned=False)
    flat.update({"poisson2d_opgd_kappa_before": kappa, "poisson2d_opgd_kappa_after": kappa_preconditioned,
                 "poisson2d_opgd_unpreconditioned_rel_l2": plain.rel_l2})
    record("poisson2d", "opgd", run_row([opgd]))
    print(f"opgd: Fourier expansion of {ng.opgd_modes} modes per axis, u = sin(2 pi x) sin(2 pi y); condition number "
          f"{kappa:.3g} -> {kappa_preconditioned:.3g} preconditioned; unpreconditioned GD: {plain.rel_l2:.2e} after "
          f"{plain.iterations} steps. Burgers: no opgd (a nonlinear residual: the loss is no quadratic)", flush=True)


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
    parser.add_argument("--rows", choices=("all", "first-order", "preconditioned"), default="all",
                        help="the first-order rows (with the scaling experiment), the preconditioned ones, or both")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: small autograd calls)")
    args = parser.parse_args()
    allocator = ensure_allocator_env()  # natgrad's Jacobians and Gram matrices are blocks of tens of MB
    torch.set_num_threads(args.threads)
    budget = QUICK if args.quick else FULL
    budget = dataclasses.replace(budget, **{k: v for k, v in (("steps", args.steps), ("seeds", args.seeds)) if v})
    flat: dict[str, object] = {"budget": dataclasses.asdict(budget), "torch": torch.__version__, "machine": platform.machine(),
                               "threads": torch.get_num_threads(), "allocator": allocator}
    print(f"budget: {budget}; torch {torch.__version__}, {torch.get_num_threads()} thread(s), {allocator}")
    print(f"| {'problem':<16} | {'optimizer':<9} | {'rel. L2 (mean)':>14} | {'[min, max] over seeds':>22} | {'MSE':>8} | {'seconds':>8} | {'iterations':>10} |")
    print(f"|{'-' * 18}|{'-' * 11}|{'-' * 16}|{'-' * 24}|{'-' * 10}|{'-' * 10}|{'-' * 12}|")
    started = time.perf_counter()
    for name, case in cases(budget).items() if args.rows != "preconditioned" else ():
        for optimizer_name in SCALING_OPTIMIZERS if name.startswith("poisson2dL") else OPTIMIZERS:
            row = summary([train(case, optimizer_name, seed, budget) for seed in range(budget.seeds)])
            flat.update({f"{name}_{optimizer_name}_{key}": value for key, value in row.items()})
            print_row(name, optimizer_name, row)
            if args.json:  # after every row, so that a run stopped part-way keeps what it measured
                write_json(args.json, flat)
    if args.rows != "first-order":
        preconditioned_rows(budget, flat, args.json)
    flat["total_seconds"] = time.perf_counter() - started
    print(f"total {flat['total_seconds']:.0f} s; poisson2dL<side>: the 2-D problem on [0, side]^2 "
          f"(residual term x side^-4 against the boundary term)")
    if args.json:
        write_json(args.json, flat)


if __name__ == "__main__":
    main()
