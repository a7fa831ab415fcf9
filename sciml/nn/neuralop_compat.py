"""Loading neuraloperator 2.0 ``SpectralConv`` weights into :class:`sciml.nn.SpectralConv`.

neuraloperator's ``SpectralConv(n_modes=(2K_1, ..., 2K_d))`` stores a complex weight of shape
``(C_in, C_out, 2K_1, ..., 2K_{d-1}, K_d + 1)``. On an even grid it reads the rfftn spectrum after
an ``fftshift`` of the full axes, so weight index ``j`` of a full axis multiplies frequency
``k = j - K`` (``-K..K-1``) and index ``j`` of the last axis frequency ``j`` (``0..K``). That is our
kept set without ``k = +K``; with a zero there our layer computes the same function. (On odd grids
neuraloperator shifts forward twice instead of forward then back, which moves its output spectrum
by one index and breaks translation equivariance; the conversion targets the even-grid function.)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sciml.nn.modes import to_mode_major
from sciml.nn.spectral_conv import SpectralConv
from sciml.nn.spectral_weights import DenseSpectralWeight


def weight_from_neuralop(weight: Tensor) -> Tensor:
    """neuraloperator's ``(C_in, C_out, 2K_1, ..., K_d+1)`` weight as ours, ``(2K_1+1, ..., K_d+1, C_in, C_out)``.

    Each full axis gains a zero slab at its end, the frequency ``k = +K`` neuraloperator does not keep.
    """
    d = weight.ndim - 2
    for axis in range(2, d + 1):
        if weight.shape[axis] % 2:
            raise ValueError(
                f"weight_from_neuralop: full mode axes must have even size 2K, got shape {tuple(weight.shape)}"
            )
        pad = list(weight.shape)
        pad[axis] = 1
        weight = torch.cat([weight, weight.new_zeros(pad)], dim=axis)
    return to_mode_major(weight)  # (*m, C_in, C_out)


def load_neuralop_spectral_conv(ours: SpectralConv, theirs: nn.Module) -> None:
    """Copy a neuraloperator ``SpectralConv`` (any factorization, rebuilt) into a dense ``ours`` in place.

    Raises if the modes, channels, normalization or layout do not describe the same function.
    """
    if not isinstance(ours.weight, DenseSpectralWeight):
        raise TypeError("load_neuralop_spectral_conv: `ours` needs dense weights (factorization=None)")
    if theirs.separable or theirs.complex_data or theirs.fft_norm != "forward":
        raise ValueError(
            "load_neuralop_spectral_conv: only non-separable, real-data, fft_norm='forward' layers convert"
        )
    weight = weight_from_neuralop(theirs.weight.to_tensor().detach())
    expected = ours.full_weight().shape
    if weight.shape != expected:
        raise ValueError(
            f"load_neuralop_spectral_conv: their weight converts to {tuple(weight.shape)}, ours is {tuple(expected)} "
            f"(their n_modes=(2K_1, ..., 2K_d) must match our modes={ours.modes}, and the channels)"
        )
    if (theirs.bias is None) != (ours.bias is None):
        raise ValueError("load_neuralop_spectral_conv: both layers must have a bias, or neither")
    with torch.no_grad():
        ours.weight.weight.copy_(torch.view_as_real(weight.to(torch.view_as_complex(ours.weight.weight).dtype)))
        if ours.bias is not None:
            ours.bias.copy_(theirs.bias.detach().reshape(-1))
