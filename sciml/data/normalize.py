"""Per-channel unit-Gaussian normalization, fitted on the training split."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class UnitGaussianNormalizer(nn.Module):
    r"""The affine map :math:`x_c \mapsto (x_c - \mu_c) / (\sigma_c + \varepsilon)` per channel ``c``.

    One mean and one standard deviation per channel (not per grid point), so the same normalizer
    serves every resolution, as zero-shot super-resolution needs. Fit it on the training split only
    and save it with the model: its ``state_dict`` holds ``mean``, ``std`` and ``eps``.

    Parameters
    ----------
    mean, std
        Per-channel statistics, shape ``(C,)``; ``std >= 0``.
    eps
        Added to ``std`` so that a constant channel maps to zero instead of dividing by zero.
    """

    def __init__(self, mean: Tensor, std: Tensor, eps: float = 1e-7):
        super().__init__()
        if mean.ndim != 1 or mean.shape != std.shape:
            raise ValueError(f"UnitGaussianNormalizer: mean and std must both be (C,), got {tuple(mean.shape)}, {tuple(std.shape)}")
        if (std < 0).any():
            raise ValueError(f"UnitGaussianNormalizer: std must be non-negative, got min {std.min().item():g}")
        if eps < 0:
            raise ValueError(f"UnitGaussianNormalizer: eps must be non-negative, got {eps}")
        self.register_buffer("mean", mean.detach().clone())
        self.register_buffer("std", std.detach().clone())
        self.register_buffer("eps", torch.tensor(float(eps), dtype=mean.dtype))

    @classmethod
    def fit(cls, x: Tensor, eps: float = 1e-7) -> "UnitGaussianNormalizer":
        """Channel statistics of ``x`` ``(n, C, *S)`` over samples and grid points, computed in float64.

        ``std`` is the population standard deviation, so ``encode(x)`` has mean 0 and standard
        deviation ``std / (std + eps)`` (1 up to ``eps``) in every channel.
        """
        if x.ndim < 2:
            raise ValueError(f"UnitGaussianNormalizer.fit: x must be (n, C, *S), got shape {tuple(x.shape)}")
        flat = x.detach().to(torch.float64).transpose(0, 1).reshape(x.shape[1], -1)  # (C, n * prod(S))
        return cls(flat.mean(dim=1), flat.std(dim=1, correction=0), eps)

    @classmethod
    def from_state_dict(cls, state: dict[str, Tensor]) -> "UnitGaussianNormalizer":
        """Rebuild a saved normalizer (e.g. from ``torch.load(..., weights_only=True)``)."""
        return cls(state["mean"], state["std"], float(state["eps"]))

    def _view(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if x.ndim < 2 or x.shape[1] != self.mean.shape[0]:
            raise ValueError(f"UnitGaussianNormalizer: expected (B, {self.mean.shape[0]}, *S), got {tuple(x.shape)}")
        shape = (1, -1) + (1,) * (x.ndim - 2)  # (C,) -> (1, C, 1, ..., 1)
        scale = self.std + self.eps
        return self.mean.to(x.dtype).reshape(shape), scale.to(x.dtype).reshape(shape)

    def encode(self, x: Tensor) -> Tensor:
        """``(B, C, *S) -> (B, C, *S)``: subtract the channel mean, divide by the channel scale."""
        mean, scale = self._view(x)
        return (x - mean) / scale

    def decode(self, x: Tensor) -> Tensor:
        """The inverse of :meth:`encode`, e.g. for a model's normalized prediction ``(B, C, *S)``."""
        mean, scale = self._view(x)
        return x * scale + mean
