"""The spectral convolution of Fourier neural operators (Li et al. 2021, Kossaifi et al. 2024).

``y = F^{-1}_{S_out}[ W(k) . F_S[x](k) for kept k ] + b``: transform, keep a few modes, mix
channels per mode, transform back, possibly onto another grid.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from sciml.nn.modes import as_modes, mode_sizes, mode_slices, resolved_modes
from sciml.nn.path_policy import FORWARD, INVERSE, AbstractPathPolicy, as_policy
from sciml.nn.spectral_weights import make_spectral_weight

_LOW_PRECISION = (torch.float16, torch.bfloat16)


class SpectralConv(nn.Module):
    r"""Fourier-space convolution with learned weights on a few modes.

    .. math::
        y(t) = \sum_{k \in \mathcal K} W(k)\, \hat x(k)\, e^{2\pi i k\cdot t} + b,
        \qquad \hat x(k) = \frac{1}{N} \sum_j x_j e^{-2\pi i k \cdot t_j},

    with ``\mathcal K = {|k_i| <= K_i (i < d), 0 <= k_d <= K_d}``, the real part taken through the
    Hermitian (irfft) inverse, and ``t`` the points of the output grid (the input grid unless
    ``output_shape`` is given). Modes a grid cannot resolve are dropped (see :mod:`sciml.nn.modes`).

    Parameters
    ----------
    in_channels, out_channels
        ``C_in`` and ``C_out``.
    modes
        ``K`` per axis (an int needs ``dim``). ``K`` counts frequencies per sign: the layer keeps
        ``2K+1`` modes on full axes and ``K+1`` on the last.
    dim
        Number of spatial axes, when ``modes`` is an int.
    factorization
        ``None``/``"dense"`` (one free matrix per mode), ``"tucker"`` or ``"cp"`` (TFNO).
    rank
        Factorization rank: a float is the fraction of the dense parameter count, an int the rank
        itself. Ignored for dense weights.
    path
        ``"fft"`` (pruned FFTs), ``"dft"`` (truncated DFT matrix products), ``"auto"`` (the faster
        transform for the shape and device, forward and inverse chosen separately: the measured
        rule on CPUs, an autotune elsewhere) or a path policy object, e.g.
        :class:`sciml.nn.Autotune` to time the paths on CPUs too, or one policy shared by several
        layers (see :mod:`sciml.nn.path_policy`). An attribute: it may be changed after
        construction. Under ``torch.func`` transforms use ``"dft"`` (the FFT path's
        compact-backward custom operator does not support them).
    bias
        Add a learned per-channel constant.
    generator
        Seeds the weight initialization.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        modes: int | tuple[int, ...],
        *,
        dim: int | None = None,
        factorization: str | None = None,
        rank: float | int = 0.5,
        path: str | AbstractPathPolicy = "auto",
        bias: bool = False,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"SpectralConv: channels must be positive, got {in_channels} -> {out_channels}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.modes = as_modes(modes, dim)
        self.dim = len(self.modes)
        self.path = path
        std = math.sqrt(2.0 / (in_channels + out_channels))
        self.weight = make_spectral_weight(
            factorization, in_channels, out_channels, mode_sizes(self.modes), rank, std, generator
        )
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    @property
    def path(self) -> str | AbstractPathPolicy:
        """``"auto"``, ``"fft"``, ``"dft"`` or a policy, as given; may be changed after construction."""
        return self._path

    @path.setter
    def path(self, path: str | AbstractPathPolicy) -> None:
        self.policy = as_policy(path)  # raises, naming `path`, on anything else
        self._path = path

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, modes={self.modes}, path={self.path!r}"

    def forward(self, x: Tensor, output_shape: tuple[int, ...] | None = None) -> Tensor:
        """Apply the layer.

        Parameters
        ----------
        x
            Real input, shape ``(B, C_in, *S)`` with ``len(S) == dim``.
        output_shape
            Output grid ``S_out`` (super-resolution or down-sampling); defaults to ``S``.

        Returns
        -------
        Tensor
            Shape ``(B, C_out, *S_out)``; float32 when ``x`` is float16/bfloat16 or autocast is on
            (the transforms always run in at least float32), else ``x.dtype``.
        """
        if not x.is_floating_point():
            raise TypeError(f"SpectralConv: x must be a real floating tensor, got {x.dtype}")
        if x.ndim != self.dim + 2 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"SpectralConv: expected x of shape (B, {self.in_channels}, <{self.dim} spatial axes>), "
                f"got {tuple(x.shape)}"
            )
        in_shape = tuple(x.shape[2:])
        out_shape = in_shape if output_shape is None else tuple(int(n) for n in output_shape)
        if len(out_shape) != self.dim:
            raise ValueError(f"SpectralConv: output_shape {out_shape} must have {self.dim} entries")
        kept = resolved_modes(self.modes, in_shape, out_shape)
        with torch.autocast(x.device.type, enabled=False):
            if x.dtype in _LOW_PRECISION:
                x = x.float()
            wants_grad = x.requires_grad or any(p.requires_grad for p in self.parameters())
            training = torch.is_grad_enabled() and wants_grad
            forward, inverse = self.policy.choose(x, kept, out_shape, self.out_channels, training)
            z = FORWARD[forward](x, kept)  # (*m, B, C_in)
            z = self.weight.contract(z, mode_slices(self.modes, kept))  # (*m, B, C_out)
            if self.bias is not None:
                # a constant is the k = 0 coefficient (norm="forward"): added there, on the small
                # spectrum, it costs no pass over the output field and its gradient no reduction
                z[(*kept[:-1], 0)] += self.bias
            y = INVERSE[inverse](z, kept, out_shape)  # (B, C_out, *S_out)
        return y

    def full_weight(self) -> Tensor:
        """The complex weight of every mode, natural order, shape ``(2K_1+1, ..., K_d+1, C_in, C_out)``."""
        return self.weight.full(mode_slices(self.modes, self.modes))
