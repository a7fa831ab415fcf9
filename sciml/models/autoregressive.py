r"""Autoregressive rollout of a one-step operator: the FNO paper's recurrent Navier-Stokes setting."""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["Autoregressive"]


class Autoregressive(nn.Module):
    r"""Predict ``frames`` frames from ``in_frames`` by applying ``model`` repeatedly, ``step`` frames at a time.

    With :math:`w_{1..k}` the input frames and :math:`G` the model (``k`` frames in, ``s`` out),

    .. math:: w_{k+1..k+s} = G(w_{1..k}), \quad w_{k+s+1..k+2s} = G(w_{s+1..k+s}), \dots

    each call sees the last ``k`` frames, inputs first and its own predictions after; the result is
    the ``frames`` predicted frames. Gradients flow through the whole rollout (no teacher forcing), as in
    the FNO paper's ``fourier_2d_time.py`` (Li et al. 2021).

    Parameters
    ----------
    model
        Maps ``(B, in_frames, *S) -> (B, step, *S)``: frames on the channels.
    in_frames, step, frames
        ``k``, ``s`` and the number of frames to predict, a multiple of ``s``.
    """

    def __init__(self, model: nn.Module, in_frames: int, step: int, frames: int):
        super().__init__()
        if min(in_frames, step, frames) < 1 or frames % step:
            raise ValueError(f"Autoregressive: need in_frames, step, frames >= 1 with step dividing frames, "
                             f"got {in_frames}, {step}, {frames}")
        self.model, self.in_frames, self.step, self.frames = model, in_frames, step, frames

    def forward(self, x: Tensor) -> Tensor:
        """``(B, in_frames, *S) -> (B, frames, *S)``."""
        if x.ndim < 3 or x.shape[1] != self.in_frames:
            raise ValueError(f"Autoregressive: expected x of shape (B, {self.in_frames}, *S), got {tuple(x.shape)}")
        window, predicted = x, []
        for _ in range(self.frames // self.step):
            new = self.model(window)  # (B, step, *S)
            predicted.append(new)
            window = torch.cat([window[:, self.step :], new], dim=1)  # (B, in_frames, *S): the latest frames
        return torch.cat(predicted, dim=1)  # (B, frames, *S)
