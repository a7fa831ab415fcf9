r"""One Fourier layer of FNO, computed two ways: measured fusions, and the plain reference.

.. math:: v \mapsto \sigma\big(M(\sigma(K v + b + W v)) + g \odot v\big)

with ``K v + b`` the spectral convolution (bias on its ``k = 0`` coefficient), ``W`` a pointwise
linear skip, ``M`` a two-layer channel MLP, ``g`` a per-channel soft gate and ``sigma`` the GELU
(skipped in the last layer). :meth:`FourierBlock.reference_forward` computes it with the plain
layers of :mod:`sciml.nn`, term by term. :meth:`FourierBlock.forward` computes the same numbers
(tested equal, values and gradients, in float64) with the fusions that were measured to pay on CPU,
all confined to this module and the FNO lifting:

* every pointwise layer is one ``torch.baddbmm`` over ``(B, C, N)`` views (:func:`pointwise`), with
  the term added to it accumulated by the same GEMM call: the spectral output ``K v + b`` is the
  addend of the skip GEMM ``W v``, and the gated input ``b_2 + g v`` (one ``addcmul``) the addend
  of the MLP's last GEMM, accumulated into in place;
* one input channel is an outer product, one ``addcmul`` pass instead of a GEMM with inner
  dimension 1 (the lifting of scalar inputs, up to 6% of an FNO step).

So the block makes no pass over the field beyond the transforms, the GEMMs, the gate and the GELUs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sciml.nn import ChannelMLP, PointwiseLinear, SpectralConv
from sciml.nn.path_policy import AbstractPathPolicy

if TYPE_CHECKING:
    from sciml.models.fno import FNOOptions


def pointwise(weight: Tensor, u: Tensor, base: Tensor, overwrite: bool = False) -> Tensor:
    """``base + W u`` at every point: ``out[b, :, n] = base[b, :, n] + weight @ u[b, :, n]``.

    Parameters
    ----------
    weight
        ``(C_out, C_in)``.
    u
        ``(B, C_in, N)`` channels-first field with flattened space.
    base
        Broadcastable to ``(B, C_out, N)``: ``(C_out, 1)`` for a bias, ``(B, C_out, N)`` for a skip branch.
    overwrite
        The caller hands over ``base`` (a temporary of its own): the GEMM accumulates into it in place,
        saving the copy of ``base`` into a new output (a third of the call's time at FNO sizes). Taken
        only where it is exact: same shape and dtype as the output, outside autocast (which does not
        cast in-place operations). ``base`` must not be a view (a reshape of another output): autograd
        would then clone the whole gradient of the viewed tensor in backward (``CopySlices``), which
        costs more than the copy saved (measured 5 to 15% of an FNO training step).

    Returns
    -------
    Tensor
        ``(B, C_out, N)``.
    """
    if weight.shape[1] == 1:
        # one input channel: an outer product, one broadcast multiply-add pass instead of a GEMM with
        # inner dimension 1 (up to 6% of an FNO step measured); (C_out, 1) * (B, 1, N) + base -> (B, C_out, N)
        return torch.addcmul(base, weight, u)
    batch_weight = weight.expand(u.shape[0], -1, -1)  # (B, C_out, C_in), no copy
    in_place = (
        overwrite
        and base.shape == (u.shape[0], weight.shape[0], u.shape[2])
        and base.dtype == u.dtype == weight.dtype
        and not torch.is_autocast_enabled(u.device.type)
    )
    if in_place:
        return base.baddbmm_(batch_weight, u)
    return torch.baddbmm(base, batch_weight, u)


class FourierBlock(nn.Module):
    """One FNO layer ``v -> sigma(M(sigma(K v + b + W v)) + g * v)`` on ``(B, C, *S)`` fields.

    Parameters
    ----------
    width
        Channels ``C`` in and out.
    modes
        Kept Fourier modes per axis of the spectral convolution ``K``.
    options
        The model's :class:`sciml.models.FNOOptions` (factorization, rank, channel-MLP expansion,
        spectral path).
    generator
        Seeds the initialization.
    path
        The spectral convolution's path or path policy, overriding ``options.spectral_path`` (a
        model hands one policy to all its blocks).
    """

    def __init__(
        self,
        width: int,
        modes: tuple[int, ...],
        options: FNOOptions,
        generator: torch.Generator | None = None,
        path: str | AbstractPathPolicy | None = None,
    ):
        super().__init__()
        self.spectral = SpectralConv(
            width,
            width,
            modes,
            factorization=options.factorization,
            rank=options.rank,
            path=options.spectral_path if path is None else path,
            bias=True,
            generator=generator,
        )
        self.skip = PointwiseLinear(width, width, bias=False, generator=generator)
        hidden = round(width * options.channel_mlp_expansion)
        self.mlp = ChannelMLP(width, hidden, width, generator=generator) if hidden > 0 else None
        self.gate = nn.Parameter(torch.ones(width)) if self.mlp is not None else None

    def forward(self, v: Tensor, activate: bool) -> Tensor:
        """``(B, C, *S) -> (B, C, *S)``; ``activate=False`` skips the GELUs (last layer). Fused, see the module."""
        batch, width = v.shape[:2]
        v3 = v.reshape(batch, width, -1)  # (B, C, N)
        h = pointwise(self.skip.weight, v3, self.spectral(v).reshape(batch, width, -1))  # (B, C, N)
        if activate:
            h = F.gelu(h)
        if self.mlp is not None:
            fc1, fc2 = self.mlp.fc1, self.mlp.fc2
            hidden = self.mlp.activation(pointwise(fc1.weight, h, fc1.bias[:, None]))  # (B, C_mlp, N)
            gated = torch.addcmul(fc2.bias[:, None], self.gate[:, None], v3)  # b_2 + g * v, (B, C, N), our own
            h = pointwise(fc2.weight, hidden, gated, overwrite=True)  # (B, C, N)
            if activate:
                h = F.gelu(h)
        return h.view(v.shape)

    def reference_forward(self, v: Tensor, activate: bool) -> Tensor:
        """The block written plainly, term by term; equal to :meth:`forward` (tested, values and gradients)."""
        h = self.spectral(v) + self.skip(v)  # K v + b + W v, (B, C, *S)
        if activate:
            h = F.gelu(h)
        if self.mlp is not None:
            gate = self.gate.view(-1, *[1] * (v.dim() - 2))  # (C, 1, ..., 1)
            h = self.mlp(h) + gate * v
            if activate:
                h = F.gelu(h)
        return h
