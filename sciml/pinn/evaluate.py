r"""The error of a trained PINN against an exact or reference solution at points."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sciml.losses import relative_lp

__all__ = ["predict", "relative_l2"]


@torch.no_grad()
def predict(model: nn.Module, points: Tensor, *, batch_size: int = 16384) -> Tensor:
    """``model(points)`` for points ``(P, D)`` of any dtype, in chunks, without a graph: ``(P, C)`` in ``points``' dtype.

    The points are cast to the model's dtype and device (a float32 model is evaluated at float64
    reference points); a hard-constrained model needs no gradient for its output.
    """
    parameter = next(model.parameters())
    chunks = [model(chunk.to(dtype=parameter.dtype, device=parameter.device)) for chunk in points.split(batch_size)]
    return torch.cat(chunks).to(dtype=points.dtype, device=points.device)  # (P, C)


def relative_l2(model: nn.Module, points: Tensor, reference: Tensor, *, batch_size: int = 16384) -> float:
    r"""The relative error :math:`\|u_\theta - u\|_2 / \|u\|_2` over the points, the metric of Raissi et al. (2019).

    Parameters
    ----------
    model
        The network, ``(P, D) -> (P, C)``.
    points
        ``(P, D)``, e.g. a uniform grid (:meth:`Burgers.pinn_reference`) or a Sobol set of the domain.
    reference
        ``(P, C)``: the exact solution or a reference at the points.
    """
    if points.ndim != 2 or reference.ndim != 2 or reference.shape[0] != points.shape[0]:
        raise ValueError(f"relative_l2: need points (P, D) and reference (P, C), got {tuple(points.shape)} and {tuple(reference.shape)}")
    prediction = predict(model, points, batch_size=batch_size).to(reference.dtype)
    if prediction.shape != reference.shape:
        raise ValueError(f"relative_l2: the model returns {tuple(prediction.shape)} values, the reference is {tuple(reference.shape)}")
    return relative_lp(prediction[None], reference[None])[0].item()  # one "sample" (1, P, C)
