"""The Gauss-Newton Jacobian of a PINN: jets (``sciml.pinn.jet``) against ``vmap(jacrev)``, and a natural-gradient step.

For each setup, the Jacobian of every term of ``PINNObjective`` in all parameters is built both ways
(``pointwise_jacobian`` with the form's jet builder, and with it removed: ``vmap(jacrev)`` over the points
with ``PointDiff``'s forward-mode input derivatives), checked equal, and timed as interleaved medians of CPU
seconds on one thread, in this process, under the same allocator settings (glibc malloc with
``MALLOC_MMAP_MAX_=0`` and a large trim threshold: :mod:`_timing`). A whole ``NaturalGradient`` step
(Jacobian, the Gram solve, the 31-step line search) is timed for the ``gram`` and ``dense`` solvers.

Setups (float64, tanh): the Burgers row of ``pinn_optimizers.py`` (3 x 20 network, 6000 + 2 x 300 Sobol points),
its hard-constrained form (the residual term alone), and the ENGD paper's 2-D Poisson PINN (2-32-1 network,
30 x 30 grid and 120 boundary points).

    python benchmarks/pinn_jacobian.py --json runs/bench/pinn_jacobian.json
    python benchmarks/pinn_jacobian.py --quick

JSON keys: ``<setup>_jet_speedup_vs_vmap`` (vmap's seconds over the jets'), ``<setup>_jet_seconds``,
``<setup>_vmap_seconds``, ``<setup>_max_relative_difference``, ``<setup>_step_seconds_gram`` and
``_dense``, ``<setup>_rows``, ``<setup>_parameters``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os

import _pinn_setups as pre
import torch
from _timing import ensure_allocator_env, interleaved_medians
from sciml.problems import Burgers, Poisson

from sciml.optim import NaturalGradient
from sciml.optim.natural_gradient import pointwise_jacobian
from sciml.pinn import PINNObjective


def setups(quick: bool) -> dict[str, tuple]:
    """``name: (problem, model, objective, points)``."""
    burgers, poisson = Burgers.pinn_classic(), Poisson.pinn_classic()
    interior, boundary = (600, 60) if quick else (6000, 300)
    points = pre.sobol_points(burgers, interior, boundary, 0)
    return {
        "burgers": (pre.pinn_model(burgers, (20, 20, 20), 0), PINNObjective(burgers), points),
        "burgers_hard": (pre.pinn_model(burgers, (20, 20, 20), 0, hard=True), PINNObjective(burgers, conditions=()),
                         {"pde": points["pde"]}),
        "poisson2d_engd": (pre.pinn_model(poisson, (32,), 0), PINNObjective(poisson), pre.square_points(10 if quick else 30)),
    }


def measure(model, objective: PINNObjective, points: dict[str, torch.Tensor], repeats: int) -> dict[str, float]:
    """Both Jacobians of every term (checked equal, then timed) and a damped natural-gradient step with each dense solver."""
    params = list(model.parameters())
    forms = [term.pointwise for term in objective(model, points).values()]
    plain = [dataclasses.replace(form, jacobian=None) for form in forms]  # vmap(jacrev) over the points
    jets = torch.cat([pointwise_jacobian(form, params) for form in forms])
    reference = torch.cat([pointwise_jacobian(form, params) for form in plain])
    times = interleaved_medians({"jets": lambda: [pointwise_jacobian(form, params) for form in forms],
                                 "vmap": lambda: [pointwise_jacobian(form, params) for form in plain]},
                                torch.device("cpu"), repeats, warmup=1, clock="cpu")
    start = [p.detach().clone() for p in params]

    def step(optimizer: NaturalGradient) -> None:
        optimizer.step(lambda: objective(model, points))
        with torch.no_grad():  # every timed step from the same parameters
            for p, p0 in zip(params, start):
                p.copy_(p0)

    optimizers = {solver: NaturalGradient(params, objective.terms, solver=solver, damping=1e-4, rcond=1e-7)
                  for solver in ("gram", "dense")}
    steps = interleaved_medians({solver: (lambda o=o: step(o)) for solver, o in optimizers.items()}, torch.device("cpu"),
                                max(1, repeats // 2), warmup=1, clock="cpu")
    return {"jet_seconds": times["jets"], "vmap_seconds": times["vmap"], "jet_speedup_vs_vmap": times["vmap"] / times["jets"],
            "max_relative_difference": ((jets - reference).abs().max() / reference.abs().max()).item(),
            "step_seconds_gram": steps["gram"], "step_seconds_dense": steps["dense"], "rows": jets.shape[0],
            "parameters": jets.shape[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a tenth of the Burgers points, a 10 x 10 Poisson grid, 3 repeats")
    parser.add_argument("--json", metavar="PATH", help="write the figures as one flat JSON object")
    args = parser.parse_args()
    allocator = ensure_allocator_env()
    torch.set_num_threads(1)
    repeats = 3 if args.quick else 7
    flat: dict[str, object] = {"torch": torch.__version__, "allocator": allocator, "threads": 1}
    print(f"torch {torch.__version__}, one thread, {allocator}; CPU seconds, medians of {repeats} interleaved rounds")
    print(f"| {'setup':<15} | {'rows x params':>14} | {'jets s':>8} | {'vmap s':>8} | {'speedup':>7} | {'max rel. diff':>13} "
          f"| {'step gram s':>11} | {'step dense s':>12} |")
    print(f"|{'-' * 17}|{'-' * 16}|{'-' * 10}|{'-' * 10}|{'-' * 9}|{'-' * 15}|{'-' * 13}|{'-' * 14}|")
    for name, (model, objective, points) in setups(args.quick).items():
        row = measure(model, objective, points, repeats)
        flat.update({f"{name}_{key}": value for key, value in row.items()})
        size = f"{row['rows']} x {row['parameters']}"
        print(f"| {name:<15} | {size:>14} | {row['jet_seconds']:8.3f} | "
              f"{row['vmap_seconds']:8.3f} | {row['jet_speedup_vs_vmap']:6.1f}x | {row['max_relative_difference']:13.1e} | "
              f"{row['step_seconds_gram']:11.3f} | {row['step_seconds_dense']:12.3f} |", flush=True)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as handle:
            json.dump(flat, handle, indent=1)


if __name__ == "__main__":
    main()
