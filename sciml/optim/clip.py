r"""Gradient clipping by global L2 norm, shared by every optimizer in :mod:`sciml.optim`.

Each optimizer clips the vector its update applies (the weighted-sum gradient of the baselines,
ConFIG's combined direction, each MultiAdam group's gradient, ...) with :func:`clip_norm_`, the rule
of ``torch.nn.utils.clip_grad_norm_``, so that a baseline with ``grad_clip=c`` takes exactly the
steps of torch's optimizer after ``clip_grad_norm_(params, c)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["check_grad_clip", "clip_norm_"]


def check_grad_clip(grad_clip: float | None, who: str) -> float | None:
    """``grad_clip`` as a float, after checking it is a positive finite number, or ``None`` (no clipping)."""
    if grad_clip is None:
        return None
    if not isinstance(grad_clip, (int, float)) or isinstance(grad_clip, bool):
        raise TypeError(f"{who}: grad_clip must be a positive number or None, got {grad_clip!r}")
    if not (math.isfinite(grad_clip) and grad_clip > 0):
        raise ValueError(f"{who}: grad_clip must be positive and finite, got {grad_clip}")
    return float(grad_clip)


@torch.no_grad()
def clip_norm_(grads: Sequence[Tensor], max_norm: float | None, who: str) -> None:
    r"""Scale ``grads`` in place so that their global L2 norm is at most ``max_norm``.

    With :math:`G = \big(\sum_i |g_i|_2^2\big)^{1/2}` the norm of all the tensors read as one vector,

    .. math:: g_i \leftarrow g_i \, \min\Big(1, \frac{c}{G + 10^{-6}}\Big),

    computed as ``torch.nn.utils.clip_grad_norm_`` computes it (the norm of the per-tensor norms, the
    same :math:`10^{-6}`), so the results agree bit for bit on the CPU. A clipped gradient has norm
    :math:`c\, G / (G + 10^{-6})`, which is :math:`c` to a relative :math:`10^{-6} / G`; a gradient
    of norm at most :math:`c - 10^{-6}` is multiplied by exactly 1, i.e. left as it is.

    Parameters
    ----------
    grads
        The tensors that together form the gradient, of any shapes, dtypes and devices; the norm is
        accumulated on the first one's device.
    max_norm
        :math:`c > 0`, as checked by :func:`check_grad_clip`; ``None`` leaves ``grads`` alone.
    who
        The optimizer, for the error message.

    Raises
    ------
    FloatingPointError
        When :math:`G` is NaN or infinite. Scaling by :math:`c / G` would turn an infinite gradient
        into zeros, or a finite but overflowing one into a wrong finite one, and hide the failure; the
        error is raised before the update (``grads`` are then left as they were), as
        ``clip_grad_norm_(..., error_if_nonfinite=True)`` does. The check waits for the device.
    """
    if max_norm is None or not grads:
        return
    device = grads[0].device
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g).to(device) for g in grads]))
    if not torch.isfinite(total):
        raise FloatingPointError(
            f"{who}: the gradient has norm {total.item()}, which grad_clip cannot scale to {max_norm}; "
            "a loss term or its gradient is not finite"
        )
    coefficient = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(coefficient.to(g.device))
