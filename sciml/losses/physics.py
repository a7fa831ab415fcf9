"""The physics loss of an operator's prediction: the mean square of its problem's residual."""

from __future__ import annotations

from torch import Tensor

from sciml.problem import AbstractProblem
from sciml.spectral import Grid

__all__ = ["residual_loss"]


def residual_loss(problem: AbstractProblem, u: Tensor, a: Tensor, grid: Grid) -> Tensor:
    r"""Per-sample mean square :math:`\frac{1}{N}\sum_j r_j^2` of ``problem.solution_residual(u, a, grid)``, ``(B,)``.

    ``u`` is a prediction in the layout of ``problem.solve`` on ``grid`` (decoded to physical units),
    ``a`` the input it was predicted from. This is the physics-informed operator loss (PINO) and,
    evaluated on reference solutions, the floor the data themselves reach.
    """
    return problem.solution_residual(u, a, grid).square().flatten(1).mean(dim=1)
