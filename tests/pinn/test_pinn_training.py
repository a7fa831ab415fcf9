"""End to end: a PINN trained through sciml.train.fit converges to the exact solution; the error metric."""

import pytest
import torch
from sciml.problems import Poisson

from sciml.nn import FourierExpansion
from sciml.optim import LBFGS, NaturalGradient, Residual
from sciml.pinn import PINN, Collocation, HardConstraint, PINNObjective, relative_l2
from sciml.train import fit

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("hard", [False, True], ids=["soft", "hard"])
def test_lbfgs_pinn_converges_to_the_exact_solution_of_poisson_1d(hard):
    """-u'' = pi^2 sin(pi x), u(0) = u(1) = 0: 100 L-BFGS iterations on 64 fixed points reach 1e-3 and better."""
    problem = Poisson.pinn_classic(dim=1)
    constraint = HardConstraint.from_problem(problem) if hard else None
    conditions = () if hard else None
    model = PINN(problem.domain, hidden_features=16, n_layers=3, constraint=constraint, generator=torch.Generator().manual_seed(0))
    objective = PINNObjective(problem, conditions=conditions)
    collocation = Collocation(problem, 64, 2, conditions=conditions, method="lhs", steps_per_epoch=50, resample=False)
    # one iteration per step; max_eval leaves room for the strong-Wolfe line search
    optimizer = LBFGS(model.parameters(), objective.terms, max_iter=1, max_eval=25, line_search_fn="strong_wolfe")
    test = problem.domain.sample_interior(512, torch.Generator().manual_seed(1), "sobol")
    exact = problem.exact_solution(test)
    progress, errors = None, []
    for epochs in (1, 2):  # 50 iterations, then 50 more from where the run stopped
        progress = fit(model, optimizer, objective, collocation, epochs=epochs, progress=progress, show_progress=False)
        errors.append(relative_l2(model, test, exact))
    assert errors[1] < 1e-3 and errors[1] < errors[0] / 3, errors


def test_relative_l2_of_exact_and_scaled_solutions(generator):
    problem = Poisson.pinn_classic(dim=3)
    points = problem.domain.sample_interior(1000, generator)
    exact = problem.exact_solution(points)

    class Scaled(torch.nn.Module):
        def __init__(self, factor):
            super().__init__()
            self.factor = torch.nn.Parameter(torch.tensor(factor, dtype=torch.float32))

        def forward(self, p):
            return self.factor * problem.exact_solution(p)

    assert relative_l2(Scaled(1.0), points, exact) < 1e-6  # float32 model at float64 points
    assert relative_l2(Scaled(1.01), points, exact) == pytest.approx(0.01, rel=1e-4)
    with pytest.raises(ValueError, match="reference"):
        relative_l2(Scaled(1.0), points, exact[:10])


def test_natural_gradient_through_fit_sees_the_pointwise_residuals_of_a_linear_model():
    """One Gauss-Newton step on a model linear in its parameters lands on the weighted least-squares minimizer of
    (1/N_r) |Phi S theta - f|^2 + (w/N_b) |Phi_b theta|^2: only with the N-point residuals, not with sqrt(loss)."""
    problem = Poisson.pinn_classic(dim=1)
    objective = PINNObjective(problem)
    collocation = Collocation(problem, 32, 2, method="sobol", steps_per_epoch=1, resample=False, dtype=torch.float64)
    batch, weight = collocation.points(0), 10.0
    interior, ends = batch["pde"], batch["bc"]
    model = FourierExpansion(1, 4, generator=torch.Generator().manual_seed(0))
    rows = torch.cat([model.features(interior) * model.laplacian_symbol() / len(interior) ** 0.5,
                      (weight / len(ends)) ** 0.5 * model.features(ends)])  # (N_r + N_b, F): -lap phi_k = symbol_k phi_k
    target = torch.cat([problem.exact_forcing(interior) / len(interior) ** 0.5, torch.zeros(len(ends), 1, dtype=torch.float64)])
    exact = torch.linalg.lstsq(rows, target).solution  # (F, 1)
    optimizer = NaturalGradient(model.parameters(), objective.terms, weights={"bc": weight}, solver="dense", damping=0.0,
                                rcond=None, line_search=1)
    fit(model, optimizer, objective, collocation, epochs=1, show_progress=False)
    torch.testing.assert_close(model.weight.detach(), exact, rtol=0, atol=1e-10 * exact.abs().max().item())

    degenerate = FourierExpansion(1, 4, generator=torch.Generator().manual_seed(0))  # the terms as 1-element sqrt(loss)
    optimizer = NaturalGradient(degenerate.parameters(), objective.terms, weights={"bc": weight}, solver="dense",
                                damping=0.0, rcond=None, line_search=1)
    optimizer.step(lambda: {name: Residual(r.loss().sqrt().reshape(1)) for name, r in objective(degenerate, batch).items()})
    assert (degenerate.weight.detach() - exact).abs().max() > 1e-2 * exact.abs().max()
