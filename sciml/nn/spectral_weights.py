"""Complex spectral weights stored as real tensors: dense, Tucker and CP.

A spectral convolution multiplies, at every kept mode ``m``, the input channels by a complex
matrix ``W[m] in C^{C_in x C_out}``. Every complex parameter here is stored as a real tensor with a
trailing axis of size 2 (real, imaginary) and viewed as complex inside ``forward`` with
``torch.view_as_complex``, so Adam's moments, weight decay, DDP all-reduce and torch.compile all see
ordinary real parameters. A real parameter pair ``(a, b)`` receives the gradient
``(dL/da, dL/db)``, exactly what PyTorch gives a complex parameter ``a + ib`` viewed as real, so
every optimizer step matches the complex one.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def _complex_normal(shape: tuple[int, ...], std: float, generator: torch.Generator | None) -> nn.Parameter:
    """A real ``(*shape, 2)`` parameter whose complex view has i.i.d. entries with ``E|w|^2 = std^2``."""
    data = torch.randn(*shape, 2, generator=generator) * (std / math.sqrt(2.0))
    return nn.Parameter(data)


def mix_modes(x_hat: Tensor, weight: Tensor) -> Tensor:
    """Per-mode channel mixing as one batched matrix product over the modes.

    Parameters
    ----------
    x_hat
        Complex spectrum, shape ``(B, C_in, *m)``.
    weight
        Complex weight, shape ``(*m, C_in, C_out)``.

    Returns
    -------
    Tensor
        ``y[b, o, m] = sum_i x_hat[b, i, m] W[m, i, o]``, shape ``(B, C_out, *m)``.
    """
    batch, c_in, *m = x_hat.shape
    c_out = weight.shape[-1]
    n_modes = math.prod(m)
    xm = x_hat.reshape(batch, c_in, n_modes).permute(2, 0, 1)  # (M, B, C_in)
    y = torch.bmm(xm, weight.reshape(n_modes, c_in, c_out))  # (M, B, C_out)
    return y.permute(1, 2, 0).reshape(batch, c_out, *m)  # (B, C_out, *m)


class DenseSpectralWeight(nn.Module):
    """One free complex ``C_in x C_out`` matrix per kept mode.

    Parameters
    ----------
    in_channels, out_channels
        Channel counts.
    sizes
        Kept modes per axis, natural frequency order (``k = j - K`` on full axes, ``k = j`` on the
        last).
    std
        Standard deviation of the complex entries at initialization, ``E|W|^2 = std^2``.
    generator
        Seeds the initialization.
    """

    def __init__(self, in_channels: int, out_channels: int, sizes: tuple[int, ...], std: float, generator=None):
        super().__init__()
        self.sizes = tuple(sizes)
        self.weight = _complex_normal((*self.sizes, in_channels, out_channels), std, generator)

    def full(self, slices: tuple[slice, ...]) -> Tensor:
        """The complex weight restricted to the modes ``slices``, shape ``(*m, C_in, C_out)``."""
        return torch.view_as_complex(self.weight)[slices]

    def contract(self, x_hat: Tensor, slices: tuple[slice, ...]) -> Tensor:
        """Mix ``x_hat`` ``(B, C_in, *m)`` with the weight at ``slices``; returns ``(B, C_out, *m)``."""
        return mix_modes(x_hat, self.full(slices).to(x_hat.dtype))


def make_spectral_weight(
    factorization: str | None,
    in_channels: int,
    out_channels: int,
    sizes: tuple[int, ...],
    rank: float | int,
    std: float,
    generator: torch.Generator | None = None,
) -> nn.Module:
    """The weight module for ``factorization`` (``None``/``"dense"``, ``"tucker"``, ``"cp"``)."""
    if factorization in (None, "dense"):
        return DenseSpectralWeight(in_channels, out_channels, sizes, std, generator)
    raise ValueError(f"SpectralConv: `factorization` must be None, 'dense', 'tucker' or 'cp', got {factorization!r}")
