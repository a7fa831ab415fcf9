"""Data-generation speed: the Darcy and Navier-Stokes reference solvers against their baselines.

One process, one allocator setting for every comparison, ratios only (this machine is shared):

- ``darcy_speedup_vs_spsolve``: Darcy solves per second of sciml's batched Poisson-preconditioned CG
  over ``scipy.sparse.linalg.spsolve`` on the same 421 x 421 matrices (target >= 3x, same solution
  to 1e-8 relative; see benchmarks/darcy_solver.py);
- ``ns_speedup_same_error``: time of the FNO reference scheme (explicit advection, Crank-Nicolson
  viscosity, dt = 1e-4) over the time of ETDRK4 at no larger error against a fine reference
  (target >= 5x; see benchmarks/ns_solver.py).

    python benchmarks/generate.py --quick --json runs/generate.json
"""

from __future__ import annotations

import argparse
import json

import darcy_solver
import ns_solver
from _timing import ensure_allocator_env


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes: about a minute on two cores")
    parser.add_argument("--json", metavar="PATH", help="write all figures as one flat JSON object")
    args = parser.parse_args(argv)
    print(f"allocator: {ensure_allocator_env()}\n")
    summary = darcy_solver.report(args.quick)
    print()
    summary.update(ns_solver.report(args.quick))
    print(f"\n{'target':<28}{'measured':>10}{'goal':>8}")
    for key, goal in (("darcy_speedup_vs_spsolve", 3.0), ("ns_speedup_same_error", 5.0)):
        verdict = "met" if summary[key] >= goal else "NOT met"
        print(f"{key:<28}{summary[key]:>9.1f}x{goal:>7.0f}x  {verdict}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
