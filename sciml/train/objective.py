"""The loss terms of operator learning: data misfit and, optionally, the problem's residual on the prediction."""

from __future__ import annotations

from torch import Tensor, nn

from sciml.data import UnitGaussianNormalizer
from sciml.diff import FiniteDiff
from sciml.losses import relative_h1, relative_lp, residual_loss
from sciml.problem import AbstractProblem
from sciml.spectral import Grid

__all__ = ["DATA_NORMS", "OperatorObjective"]

DATA_NORMS = ("l2", "h1", "h1_periodic")


class OperatorObjective:
    r"""Per-sample named loss terms of an operator's prediction ``model(a)`` against the reference ``u``.

    - ``"data"``: the relative :math:`L^2` (``data="l2"``) or :math:`H^1` (``"h1"``, second-order
      central differences, one-sided at a nodal grid's ends; ``"h1_periodic"``, differences that wrap
      around with spacing ``L / n`` on any grid, exactly neuraloperator's ``H1Loss``) error of the
      decoded prediction;
    - ``"pde"``: the mean square of ``problem.solution_residual`` on the decoded prediction (PINO).

    Each term is multiplied by its weight; terms of weight 0 are not computed. The model sees
    normalized inputs; its output is decoded before any term, so the errors are in physical units,
    unless ``normalized``: then the data term compares the model's raw output with the encoded
    reference (the errors in normalized units, as neuraloperator's recipes train).

    Parameters
    ----------
    weights
        ``{"data": w_data, "pde": w_pde}``.
    data
        ``"l2"``, ``"h1"`` or ``"h1_periodic"`` (:data:`DATA_NORMS`).
    grid
        The grid of the fields (for the H1 norms and ``"pde"``).
    problem
        Needed for ``"pde"``.
    input_normalizer, output_normalizer
        Fitted on the training split, or ``None``.
    normalized
        The data term in normalized units (needs ``output_normalizer``).
    """

    def __init__(self, weights: dict[str, float], data: str = "l2", grid: Grid | None = None,
                 problem: AbstractProblem | None = None, input_normalizer: UnitGaussianNormalizer | None = None,
                 output_normalizer: UnitGaussianNormalizer | None = None, normalized: bool = False):
        self.weights = {name: float(w) for name, w in weights.items() if w > 0}
        unknown = set(self.weights) - {"data", "pde"}
        if unknown or not self.weights:
            raise ValueError(f"OperatorObjective: weights must give data and/or pde a positive weight, got {weights}")
        if data not in DATA_NORMS:
            raise ValueError(f"OperatorObjective: data must be one of {DATA_NORMS}, got {data!r}")
        if (data != "l2" or "pde" in self.weights) and grid is None:
            raise ValueError("OperatorObjective: the h1 and pde terms need the grid")
        if "pde" in self.weights and problem is None:
            raise ValueError("OperatorObjective: the pde term needs the problem")
        if normalized and output_normalizer is None:
            raise ValueError("OperatorObjective: a data term in normalized units needs the output normalizer")
        self.data, self.grid, self.problem, self.normalized = data, grid, problem, normalized
        self.input_normalizer, self.output_normalizer = input_normalizer, output_normalizer
        if data == "h1_periodic":
            grid = Grid(grid.shape, grid.lengths, periodic=True)
        self.diff = None if data == "l2" else FiniteDiff(grid, order=2)

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(self.weights)

    def __call__(self, model: nn.Module, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        """``{term: (B,)}`` for a batch of normalized inputs ``a`` and reference solutions ``u`` in physical units."""
        a, u = batch
        output = model(a)
        prediction = output if self.output_normalizer is None else self.output_normalizer.decode(output)
        terms = {}
        if "data" in self.weights:
            v, w = (output, self.output_normalizer.encode(u)) if self.normalized else (prediction, u)
            error = relative_lp(v, w) if self.diff is None else relative_h1(v, w, self.diff)
            terms["data"] = self.weights["data"] * error
        if "pde" in self.weights:
            raw = a if self.input_normalizer is None else self.input_normalizer.decode(a)
            terms["pde"] = self.weights["pde"] * residual_loss(self.problem, prediction.float(), raw.float(), self.grid)
        return terms
