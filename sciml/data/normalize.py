"""Per-channel unit-Gaussian normalization, fitted on the training split."""

from __future__ import annotations

from collections.abc import Iterable

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
    def fit(cls, x: Tensor, eps: float = 1e-7) -> UnitGaussianNormalizer:
        """Channel statistics of ``x`` ``(n, C, *S)`` over samples and grid points, computed in float64.

        ``std`` is the population standard deviation, so ``encode(x)`` has mean 0 and standard
        deviation ``std / (std + eps)`` (1 up to ``eps``) in every channel.
        """
        return cls.fit_blocks([x], eps)

    def pooled(self, channels: int) -> UnitGaussianNormalizer:
        r"""One mean and one standard deviation for ``channels`` channels: this normalizer's channels taken together.

        With equal counts per channel (frames of one field), the pooled statistics are
        :math:`\bar\mu = \operatorname{mean}_c \mu_c` and :math:`\bar\sigma^2 = \operatorname{mean}_c
        (\sigma_c^2 + (\mu_c - \bar\mu)^2)`, those of all the values at once. Frames normalized by one
        affine map keep the relation between frames that an autoregressive model steps in time.
        """
        if channels < 1:
            raise ValueError(f"UnitGaussianNormalizer.pooled: channels must be >= 1, got {channels}")
        mean = self.mean.mean()
        std = (self.std.square() + (self.mean - mean).square()).mean().sqrt()
        return UnitGaussianNormalizer(mean.expand(channels), std.expand(channels), float(self.eps))

    @classmethod
    def fit_blocks(cls, blocks: Iterable[Tensor], eps: float = 1e-7) -> UnitGaussianNormalizer:
        r"""As :meth:`fit` on the concatenation of ``blocks`` ``(n_b, C, *S)``, reading each block once.

        For data larger than memory (:meth:`sciml.data.H5Stream.blocks`). Each block's count
        :math:`n_b`, mean :math:`\mu_b` and sum of squared deviations :math:`M_b` per channel are merged into
        the running ones (Chan, Golub & LeVeque 1979), which needs no second pass and does not cancel:

        .. math:: \delta = \mu_b - \mu, \quad \mu \leftarrow \mu + \delta \frac{n_b}{n + n_b}, \quad
                  M \leftarrow M + M_b + \delta^2 \frac{n\, n_b}{n + n_b}, \quad n \leftarrow n + n_b.

        The result equals :meth:`fit` of the whole up to float64 round-off (exactly for one block).
        """
        count, mean, m2 = 0, None, None
        for x in blocks:
            if x.ndim < 2 or (mean is not None and x.shape[1] != mean.shape[0]):
                expected = "(n, C, *S)" if mean is None else f"(n, {mean.shape[0]}, *S) like the first block"
                raise ValueError(f"UnitGaussianNormalizer.fit: x must be {expected}, got shape {tuple(x.shape)}")
            flat = x.detach().to(torch.float64).transpose(0, 1).reshape(x.shape[1], -1)  # (C, n_b * prod(S))
            n_b = flat.shape[1]
            mean_b = flat.mean(dim=1)
            m2_b = (flat - mean_b[:, None]).square().sum(dim=1)
            if mean is None:
                count, mean, m2 = n_b, mean_b, m2_b
            else:
                delta, total = mean_b - mean, count + n_b
                mean = mean + delta * (n_b / total)
                m2 = m2 + m2_b + delta.square() * (count * n_b / total)
                count = total
        if mean is None:
            raise ValueError("UnitGaussianNormalizer.fit_blocks: no blocks to fit")
        return cls(mean, (m2 / count).sqrt(), eps)

    @classmethod
    def from_state_dict(cls, state: dict[str, Tensor]) -> UnitGaussianNormalizer:
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
