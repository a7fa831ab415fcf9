"""Navier-Stokes accuracy per second: ETDRK4 against the FNO generator's scheme at the same error.

Both schemes run the same pseudo-spectral right-hand side (sciml.solvers.VorticityEquation, 2/3
dealiasing, FNO forcing, nu = 1e-3) from the same initial vorticities, drawn by NavierStokes.sample_inputs.
The baseline is the FNO data generator's scheme (forward Euler advection, Crank-Nicolson viscosity,
dt = 1e-4); the reference is ETDRK4 with a tiny step. ETDRK4 runs on a ladder of steps, and the
reported speedup is the baseline's time over the time of the largest ETDRK4 step whose error is no
larger than the baseline's. Both schemes share every line of code but the stepper, so the ratio is
the time-stepping algorithm's, not an implementation's.

    python benchmarks/ns_solver.py --quick --json out.json
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from _timing import ensure_allocator_env, torch_threads
from sciml.problems import NavierStokes
from sciml.solvers import ETDRK4, CrankNicolsonEuler, PseudoSpectralSolver, VorticityEquation

BASELINE_DT = 1e-4
NU = 1e-3


def _setup(quick: bool) -> dict:
    """Sizes: the quick run fits in ~30 s on two cores; the full one uses the FNO's 256^2 solver grid."""
    if quick:
        return {"resolution": 64, "batch": 1, "final_time": 0.5, "reference_steps": 250, "ladder": (1, 2, 4, 8, 16, 32, 64)}
    return {"resolution": 256, "batch": 2, "final_time": 1.0, "reference_steps": 1000, "ladder": (4, 8, 16, 32, 64, 128, 256)}


def _timed(equation: VorticityEquation, stepper, dt: float, w0: torch.Tensor, final_time: float) -> tuple[torch.Tensor, float]:
    """The state at ``final_time`` ``(B, 1, n, n)`` and the wall time of building the stepper and running it."""
    start = time.perf_counter()
    w = PseudoSpectralSolver(equation, stepper, dt)(w0, 1, final_time)
    return w, time.perf_counter() - start


def measure(quick: bool) -> tuple[list[dict], dict[str, float]]:
    """Rows ``{scheme, dt, seconds, error}`` for the table, and the flat summary of :func:`run`."""
    cfg = _setup(quick)
    problem = NavierStokes(nu=NU, solver_resolution=cfg["resolution"])
    grid = problem.grid(cfg["resolution"])
    equation = VorticityEquation(grid, NU, problem.forcing(grid))
    w0 = problem.sample_inputs(cfg["batch"], grid, torch.Generator().manual_seed(0))[:, 0]  # (B, n, n)
    t_final = cfg["final_time"]
    reference, _ = _timed(equation, ETDRK4, t_final / cfg["reference_steps"], w0, t_final)

    def error(w: torch.Tensor) -> float:
        return ((w - reference).norm() / reference.norm()).item()

    baseline, baseline_s = _timed(equation, CrankNicolsonEuler, BASELINE_DT, w0, t_final)
    rows = [{"scheme": "FNO Euler/CN (baseline)", "dt": BASELINE_DT, "seconds": baseline_s, "error": error(baseline)}]
    base = rows[0]
    for steps in cfg["ladder"]:  # largest step first; stop at the first one as accurate as the baseline
        try:
            w, seconds = _timed(equation, ETDRK4, t_final / steps, w0, t_final)
        except FloatingPointError:  # past the advective stability limit: no row, the next step is smaller
            continue
        rows.append({"scheme": "ETDRK4", "dt": t_final / steps, "seconds": seconds, "error": error(w)})
        if rows[-1]["error"] <= base["error"]:
            break
    ours = rows[-1]
    if ours is base or ours["error"] > base["error"]:
        raise RuntimeError(f"ns_solver: no ETDRK4 step in {cfg['ladder']} reached the baseline error {base['error']:.2e}")
    summary = {
        "ns_speedup_same_error": base["seconds"] / ours["seconds"],
        "ns_baseline_seconds": base["seconds"],
        "ns_baseline_rel_error": base["error"],
        "ns_etdrk4_seconds": ours["seconds"],
        "ns_etdrk4_rel_error": ours["error"],
        "ns_etdrk4_dt": ours["dt"],
        "ns_step_ratio": ours["dt"] / BASELINE_DT,
        "ns_resolution": float(cfg["resolution"]),
        "ns_batch": float(cfg["batch"]),
        "ns_final_time": float(t_final),
        "ns_nu": NU,
    }
    return rows, summary


def run(quick: bool) -> dict[str, float]:
    """The flat summary: ``ns_speedup_same_error`` = baseline seconds / ETDRK4 seconds at no larger error."""
    with torch_threads(1):
        return measure(quick)[1]


def report(quick: bool) -> dict[str, float]:
    """Measure, print the table, and return the flat summary of :func:`run`."""
    with torch_threads(1):
        rows, summary = measure(quick)
    base = rows[0]
    print(f"Navier-Stokes ({ensure_allocator_env()}; one torch thread)")
    print(f"nu={NU:g}, {int(summary['ns_resolution'])}^2, batch {int(summary['ns_batch'])}, "
          f"T={summary['ns_final_time']:g}; errors relative to ETDRK4 with a tiny step")
    print(f"{'scheme':<26}{'dt':>10}{'steps':>8}{'seconds':>10}{'rel. error':>12}{'speedup':>10}{'error ratio':>13}")
    for r in rows:
        steps = round(summary["ns_final_time"] / r["dt"])
        print(f"{r['scheme']:<26}{r['dt']:>10.2e}{steps:>8d}{r['seconds']:>10.3f}{r['error']:>12.2e}"
              f"{base['seconds'] / r['seconds']:>10.1f}{r['error'] / base['error']:>13.2e}")
    print(f"ns_speedup_same_error = {summary['ns_speedup_same_error']:.1f}x "
          f"(ETDRK4 dt={summary['ns_etdrk4_dt']:.3g}, error {summary['ns_etdrk4_rel_error']:.1e} <= {base['error']:.1e})")
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="64^2, T = 0.5, one sample: about 10 s on two idle cores")
    parser.add_argument("--json", metavar="PATH", help="write the flat summary as one JSON object")
    args = parser.parse_args(argv)
    summary = report(args.quick)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
