"""Evaluation of a trained operator: relative errors, the PDE residual of its predictions beside the
residual of the reference solutions (the floor the data reach), and the same at other resolutions."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sciml.data import UnitGaussianNormalizer
from sciml.diff import FiniteDiff
from sciml.losses import relative_h1, relative_lp, residual_loss
from sciml.problem import AbstractProblem
from sciml.spectral import Grid

__all__ = ["evaluate_operator", "predict"]


@torch.no_grad()
def predict(model: nn.Module, inputs: Tensor, *, batch_size: int = 32, input_normalizer: UnitGaussianNormalizer | None = None,
            output_normalizer: UnitGaussianNormalizer | None = None) -> Tensor:
    """The model's decoded predictions for raw ``inputs`` ``(n, C_in, *S)``, batch by batch, in eval mode."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    outputs = []
    for start in range(0, inputs.shape[0], batch_size):
        a = inputs[start : start + batch_size].to(device)
        if input_normalizer is not None:
            a = input_normalizer.encode(a)
        u = model(a)
        outputs.append((u if output_normalizer is None else output_normalizer.decode(u)).cpu())
    model.train(was_training)
    return torch.cat(outputs)


def evaluate_operator(
    model: nn.Module,
    inputs: Tensor,
    targets: Tensor,
    grid: Grid,
    *,
    problem: AbstractProblem | None = None,
    input_normalizer: UnitGaussianNormalizer | None = None,
    output_normalizer: UnitGaussianNormalizer | None = None,
    batch_size: int = 32,
) -> dict[str, float]:
    r"""Mean per-sample errors of the model's predictions on ``(inputs, targets)`` at ``grid``.

    Returns ``rel_l2`` and ``rel_h1`` (:mod:`sciml.losses`), and where ``problem`` offers a residual
    of its solutions' layout (``problem.has_solution_residual``): ``residual_pred`` and ``residual_ref``, the root-mean-square of
    ``problem.solution_residual`` of the predictions and of the reference ``targets``. The reference's
    residual is the discretization's own floor (time differences over frames, jumps of coefficients):
    a prediction cannot be asked to beat it.
    """
    prediction = predict(model, inputs, batch_size=batch_size, input_normalizer=input_normalizer,
                         output_normalizer=output_normalizer).to(targets.dtype)
    metrics = {
        "rel_l2": relative_lp(prediction, targets).mean().item(),
        "rel_h1": relative_h1(prediction, targets, FiniteDiff(grid, order=2)).mean().item(),
    }
    if problem is not None and problem.has_solution_residual:
        metrics["residual_pred"] = residual_loss(problem, prediction.double(), inputs.double(), grid).mean().sqrt().item()
        metrics["residual_ref"] = residual_loss(problem, targets.double(), inputs.double(), grid).mean().sqrt().item()
    return metrics
