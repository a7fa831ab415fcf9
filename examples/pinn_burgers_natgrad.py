"""Burgers' equation (nu = 0.01/pi) by a PINN trained with natural gradient, to about 1e-5 relative L2.

The setup of the Burgers row of benchmarks/pinn_optimizers.py: a float64 3 x 30 tanh network with the
initial and boundary conditions built in (HardConstraint, so the loss is the residual alone), energy
natural gradient (Gauss-Newton with Levenberg-Marquardt's damping, adapted from 1e-4; the damped Gram
matrix solved by Cholesky, the Jacobian from the network's jets) and 6000 interior points redrawn every
50 steps where the residual is large, by quasi-Monte Carlo on 10^5 cells, with the importance weights that
keep the loss the uniform mean square of the residual (residual_importance). The error is measured on
Raissi's 256 x 100 grid against the Cole-Hopf solution; the script writes burgers_natgrad.png (the
solution at three times, the error over time).

    python examples/pinn_burgers_natgrad.py     # 840 CPU seconds: 6.44e-6 measured (907 steps; 1.8e-6 to 4.2e-6 over the last 150 s)
    SCIML_EXAMPLE_TINY=1 python examples/pinn_burgers_natgrad.py

With glibc, ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1099511627776`` in front keeps the Jacobian's and the
Gram matrix's blocks of tens of MB mapped between steps instead of page-faulting them in again at every step
(the benchmarks run so).
"""

from __future__ import annotations

import os
import time

import matplotlib.pyplot as plt
import torch
from sciml.problems import Burgers

from sciml.optim import NaturalGradient
from sciml.pinn import (
    PINN,
    HardConstraint,
    PINNObjective,
    relative_l2,
    residual_importance,
)


def main() -> None:
    tiny = os.environ.get("SCIML_EXAMPLE_TINY") == "1"
    torch.set_num_threads(1)
    width, points, seconds, every = (10, 300, 5.0, 5) if tiny else (30, 6000, 840.0, 50)
    problem = Burgers.pinn_classic()
    grid, reference = problem.pinn_reference()  # (25600, 2) rows (t, x), and u there
    model = PINN(problem.domain, hidden_features=width, n_layers=4, constraint=HardConstraint.from_problem(problem),
                 generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    objective = PINNObjective(problem, conditions=())  # the conditions hold exactly: the residual term alone
    optimizer = NaturalGradient(model.parameters(), objective.terms, solver="gram", damping=1e-4, adaptive_damping=True)
    generator = torch.Generator().manual_seed(0)
    batch = {"pde": problem.domain.sample_interior(points, generator, "sobol").double()}
    scale = torch.ones(points, dtype=torch.float64)  # each point's residual times the root of its importance weight

    def closure() -> dict:
        terms = objective(model, batch)
        return {"pde": terms["pde"].scaled(scale)}

    history, step, start = [], 0, time.process_time()
    while time.process_time() - start < seconds:
        if step and step % every == 0:  # new points where the residual is large, weighted back to the uniform mean
            batch["pde"], weights = residual_importance(problem, lambda p: objective.residual(model, p), points,
                                                        cells=100_000, generator=generator, dtype=torch.float64)
            scale = weights.sqrt()
        terms = optimizer.step(closure)
        step += 1
        if step % 10 == 0:
            history.append((time.process_time() - start, relative_l2(model, grid, reference)))
            print(f"step {step}: residual term {terms['pde'].item():.2e}, relative L2 {history[-1][1]:.2e}, "
                  f"{history[-1][0]:.0f} CPU s", flush=True)
    error = relative_l2(model, grid, reference)
    print(f"Burgers PINN, natural gradient: relative L2 error {error:.2e} after {step} steps, "
          f"{time.process_time() - start:.0f} CPU s")

    plt.switch_backend("Agg")  # a file, no display
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    t, x = grid[:, 0].reshape(100, 256), grid[:, 1].reshape(100, 256)
    with torch.no_grad():
        predicted = model(grid).reshape(100, 256)
    for row in (25, 50, 75):
        left.plot(x[row], reference.reshape(100, 256)[row], "k-", lw=1)
        left.plot(x[row], predicted[row], "--", label=f"t = {t[row, 0]:.2f}")
    left.set(xlabel="x", ylabel="u", title="PINN (dashed) and Cole-Hopf (black)")
    left.legend()
    if history:
        right.semilogy(*zip(*history), ".-")
    right.set(xlabel="CPU seconds", ylabel="relative L2 error", title=f"{error:.2e} at the end")
    figure.tight_layout()
    figure.savefig("burgers_natgrad.png", dpi=120)
    print("wrote burgers_natgrad.png")


if __name__ == "__main__":
    main()
