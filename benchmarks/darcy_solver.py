"""Darcy solves per second: sciml's batched Poisson-preconditioned CG against scipy's sparse direct solve.

Both sides solve the same systems: the FNO Darcy problem (``-div(a grad u) = 1``, ``u = 0`` on the
boundary, thresholded coefficients 3/12) discretized by the conservative 5-point scheme, in one
process under the same allocator settings. Our time covers everything from the coefficient tensor
to the solution (face averages, preconditioner, iterations) for a batch of samples; scipy's covers
only ``spsolve`` on the already assembled CSC matrix (assembly is reported apart), so the ratio
favours the reference. ``spsolve`` uses its default COLAMD ordering; ``spsolve[mmd]`` is the best
ordering we found for these matrices (``permc_spec="MMD_AT_PLUS_A"``). Times are medians of
interleaved rounds; ``rel diff`` is the worst ``||u - u_spsolve|| / ||u_spsolve||`` over samples.

    python benchmarks/darcy_solver.py --quick --json runs/darcy_solver.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import scipy.sparse.linalg as spla
import torch

from _timing import ensure_allocator_env, interleaved_medians, torch_threads
from sciml.problems import Darcy
from sciml.solvers import darcy_matrix

CPU = torch.device("cpu")


def measure(n: int, samples: int, repeats: int, clock: str = "wall", seed: int = 0) -> dict[str, float]:
    """Solves per second of both solvers on ``samples`` coefficient fields at ``n x n`` nodes, and their agreement."""
    problem = Darcy()
    grid = problem.grid(n)
    a = problem.sample_inputs(samples, grid, torch.Generator().manual_seed(seed))  # (samples, 1, n, n)
    start = time.perf_counter()
    matrices = [darcy_matrix(a[i, 0], grid).tocsc() for i in range(samples)]
    assembly = (time.perf_counter() - start) / samples
    rhs = np.full(matrices[0].shape[0], problem.forcing)
    outputs: dict[str, list[np.ndarray]] = {}

    def ours():
        u = problem.solve(a, grid)[:, 0, 1:-1, 1:-1]  # (samples, n - 2, n - 2)
        outputs["ours"] = [u[i].reshape(-1).numpy() for i in range(samples)]

    def scipy_direct(ordering: str):
        def call():
            outputs[ordering] = [spla.spsolve(m, rhs, permc_spec=ordering) for m in matrices]
        return call

    times = interleaved_medians({"ours": ours, "COLAMD": scipy_direct("COLAMD"), "MMD_AT_PLUS_A": scipy_direct("MMD_AT_PLUS_A")},
                                CPU, repeats=repeats, warmup=1, clock=clock)
    reference = outputs["COLAMD"]
    rel = max(np.linalg.norm(u - r) / np.linalg.norm(r) for u, r in zip(outputs["ours"], reference))
    rel_mmd = max(np.linalg.norm(u - r) / np.linalg.norm(r) for u, r in zip(outputs["MMD_AT_PLUS_A"], reference))
    return {
        "solves_per_s_ours": samples / times["ours"],
        "solves_per_s_spsolve": samples / times["COLAMD"],
        "solves_per_s_spsolve_mmd": samples / times["MMD_AT_PLUS_A"],
        "speedup_vs_spsolve": times["COLAMD"] / times["ours"],
        "speedup_vs_spsolve_mmd": times["MMD_AT_PLUS_A"] / times["ours"],
        "rel_diff_vs_spsolve": rel,
        "rel_diff_mmd_vs_spsolve": rel_mmd,
        "assembly_s_per_matrix": assembly,
    }


def rows(quick: bool, clock: str = "wall") -> dict[int, dict[str, float]]:
    """One :func:`measure` row per grid size: 421 x 421 (the FNO resolution) and 141 x 141.

    Torch runs on one thread here, like SuperLU, and is restored afterwards: a like-for-like
    comparison that a shared machine cannot skew through OpenMP threads waiting on each other;
    ``clock="cpu"`` also takes out the time the process waits for a core.
    """
    sizes = {421: (2, 1), 141: (4, 2)} if quick else {421: (8, 3), 141: (16, 3)}
    with torch_threads(1):
        return {n: measure(n, samples, repeats, clock) for n, (samples, repeats) in sizes.items()}


def flatten(table: dict[int, dict[str, float]]) -> dict[str, float]:
    """``darcy_<key>`` for 421 x 421 (so ``darcy_speedup_vs_spsolve``), ``darcy_<key>_n<n>`` otherwise."""
    summary = {}
    for n, row in table.items():
        suffix = "" if n == 421 else f"_n{n}"
        summary.update({f"darcy_{key}{suffix}": value for key, value in row.items()})
    return summary


def run(quick: bool, clock: str = "wall") -> dict[str, float]:
    """The flat summary merged by ``benchmarks/generate.py``; no side effects."""
    return flatten(rows(quick, clock))


def report(quick: bool, clock: str = "wall") -> dict[str, float]:
    """Measure, print the table, and return the flat summary of :func:`run`."""
    print(f"Darcy solver ({ensure_allocator_env()}; one thread each: torch and scipy's SuperLU; {clock} clock)")
    table = rows(quick, clock)
    print(f"{'n':>5} {'ours/s':>9} {'spsolve/s':>10} {'[mmd]/s':>9} {'x spsolve':>10} {'x [mmd]':>8} {'rel diff':>9} {'assembly s':>11}")
    for n, row in table.items():
        print(f"{n:>5} {row['solves_per_s_ours']:>9.2f} {row['solves_per_s_spsolve']:>10.2f} {row['solves_per_s_spsolve_mmd']:>9.2f} "
              f"{row['speedup_vs_spsolve']:>10.2f} {row['speedup_vs_spsolve_mmd']:>8.2f} {row['rel_diff_vs_spsolve']:>9.1e} "
              f"{row['assembly_s_per_matrix']:>11.3f}")
    return flatten(table)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and repeats (about 40 s)")
    parser.add_argument("--json", metavar="PATH", help="write the flat summary as one JSON object")
    parser.add_argument("--clock", default="wall", choices=("wall", "cpu"), help="cpu: process CPU seconds (for a shared machine)")
    args = parser.parse_args(argv)
    summary = report(args.quick, args.clock)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
