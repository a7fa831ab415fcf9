"""Truncated Fourier transforms with the FFT, and the plain reference spectral convolution.

Normalization is ``norm="forward"`` throughout: the forward transform of ``n`` samples is
``X_k = (1/n) sum_j x_j e^{-2 pi i k j / n}`` (the Fourier-series coefficient, independent of the
grid), and the inverse evaluates the trigonometric polynomial ``y(t) = sum_k Y_k e^{2 pi i k t}``
at ``t_j = j / n_out`` with no factor. So resampling to any output grid keeps amplitudes.

Spectra of the kept modes are in natural frequency order: on a full axis index ``j`` holds
``k = j - K``, on the last (half-spectrum) axis index ``j`` holds ``k = j``.
"""

from __future__ import annotations

import string

import torch
from torch import Tensor

from sciml.nn.modes import from_mode_major, mode_slices, resolved_modes, to_mode_major


def _gather(x: Tensor, dim: int, k: int) -> Tensor:
    """Frequencies ``-k..k`` of an FFT-ordered axis ``dim``, in natural order."""
    n = x.shape[dim]
    return torch.cat([x.narrow(dim, n - k, k), x.narrow(dim, 0, k + 1)], dim)


def _scatter(z: Tensor, dim: int, k: int, n: int) -> Tensor:
    """Inverse of :func:`_gather`: the natural-order ``-k..k`` axis ``dim`` zero-padded to FFT order of size ``n``."""
    pad_shape = list(z.shape)
    pad_shape[dim] = n - 2 * k - 1
    zeros = z.new_zeros(pad_shape)
    return torch.cat([z.narrow(dim, k, k + 1), zeros, z.narrow(dim, 0, k)], dim)


@torch.library.custom_op("sciml::rfft_modes", mutates_args=())
def rfft_modes(x: Tensor, k: int) -> Tensor:
    """``rfft(x, norm="forward")[..., :k+1]`` moved in front of the batch and channel axes.

    Real ``(B, C, *S)`` to complex ``(*S[:-1], k+1, B, C)``, contiguous. A custom operator so that
    its backward is compact: PyTorch differentiates a sliced rfft by zero-filling the full
    spectrum and running a full complex FFT, while the adjoint of the kept columns alone is one
    c2r transform of the compact gradient. For real ``x`` and
    ``X_k = (1/n) sum_j x_j e^{-2 pi i k j / n}``, ``dL/dx_j = (1/n) Re sum_k G_k e^{2 pi i k j / n}``:
    ``irfft`` (``norm="backward"``) of ``G`` with its ``k >= 1`` entries halved, since ``irfft``
    counts them twice (the Nyquist column is never kept).
    """
    z = torch.fft.rfft(x, dim=-1, norm="forward").narrow(-1, 0, k + 1)  # (B, C, *S[:-1], k+1)
    return to_mode_major(z).contiguous()  # (*S[:-1], k+1, B, C)


@rfft_modes.register_fake
def _(x: Tensor, k: int) -> Tensor:
    return x.new_empty((*x.shape[2:-1], k + 1, *x.shape[:2]), dtype=x.dtype.to_complex())


def _rfft_modes_setup(ctx, inputs, output) -> None:
    ctx.n = inputs[0].shape[-1]


def _rfft_modes_backward(ctx, grad: Tensor):
    grad = from_mode_major(grad)  # (B, C, *S[:-1], k+1)
    grad = torch.cat([grad.narrow(-1, 0, 1), 0.5 * grad.narrow(-1, 1, grad.shape[-1] - 1)], dim=-1)
    return torch.fft.irfft(grad, n=ctx.n, dim=-1, norm="backward"), None


rfft_modes.register_autograd(_rfft_modes_backward, setup_context=_rfft_modes_setup)


def fft_forward(x: Tensor, kept: tuple[int, ...]) -> Tensor:
    """Kept Fourier coefficients of a real field by pruned FFTs, in mode-major layout.

    The rfft runs along the last axis first; the kept columns are then moved in front of the batch
    (one copy of the compact half spectrum) so that each full-axis FFT runs along a leading axis
    over long contiguous rows, on the kept columns only: ``O(K n log n)`` instead of
    ``O(N log n)`` per full axis. The mode-major result is what the channel mixing multiplies as
    one batched matrix product.

    Parameters
    ----------
    x
        Real field, shape ``(B, C, *S)``.
    kept
        Resolved modes per axis (see :func:`sciml.nn.modes.resolved_modes`).

    Returns
    -------
    Tensor
        Complex, shape ``(2K_1+1, ..., 2K_{d-1}+1, K_d+1, B, C)``, contiguous.
    """
    d = len(kept)
    z = rfft_modes(x, kept[-1])  # (*S[:-1], K_d+1, B, C)
    for axis in range(d - 1):
        z = _gather(torch.fft.fft(z, dim=axis, norm="forward"), axis, kept[axis])
    return z


def fft_inverse(z: Tensor, kept: tuple[int, ...], out_shape: tuple[int, ...]) -> Tensor:
    """Real field on the grid ``out_shape`` from its kept coefficients (inverse of :func:`fft_forward`).

    ``z`` is mode-major, shape ``(2K_1+1, ..., K_d+1, B, C)``; returns ``(B, C, *out_shape)``. The
    last axis is a Hermitian (c2r) inverse: the imaginary part of the ``k = 0`` column is ignored,
    as in ``irfftn``.
    """
    d = len(kept)
    for axis in range(d - 1):
        z = torch.fft.ifft(_scatter(z, axis, kept[axis], out_shape[axis]), dim=axis, norm="forward")
    z = from_mode_major(z).contiguous()  # (B, C, *S_out[:-1], K_d+1)
    return torch.fft.irfft(z, n=out_shape[-1], dim=-1, norm="forward")


def _frequency_index(k: int, n: int, full: bool, device) -> Tensor:
    """FFT-layout indices of the natural-order frequencies ``-k..k`` (``full``) or ``0..k``."""
    freqs = torch.arange(-k if full else 0, k + 1, device=device)
    return freqs % n


def reference_spectral_conv(
    x: Tensor, weight: Tensor, modes: tuple[int, ...], output_shape: tuple[int, ...] | None = None
) -> Tensor:
    """The spectral convolution written plainly: rfftn, keep modes, einsum, irfftn.

    ``y = irfftn_{S_out}( W[k] . rfftn(x)[k] for kept k, 0 elsewhere )`` with ``norm="forward"``.

    Parameters
    ----------
    x
        Real input, shape ``(B, C_in, *S)``.
    weight
        Complex weight in natural mode order, shape ``(2K_1+1, ..., K_d+1, C_in, C_out)``.
    modes
        ``(K_1, ..., K_d)``.
    output_shape
        Output grid ``S_out``; defaults to ``S``.

    Returns
    -------
    Tensor
        Real, shape ``(B, C_out, *S_out)``.
    """
    d = len(modes)
    in_shape = tuple(x.shape[2:])
    out_shape = tuple(output_shape) if output_shape is not None else in_shape
    kept = resolved_modes(modes, in_shape, out_shape)
    w = weight[mode_slices(modes, kept)]  # (*m, C_in, C_out)
    dims = tuple(range(-d, 0))
    spectrum = torch.fft.rfftn(x, dim=dims, norm="forward")  # (B, C_in, *S[:-1], S[-1]//2+1)
    for axis in range(d):
        index = _frequency_index(kept[axis], in_shape[axis], axis < d - 1, x.device)
        spectrum = spectrum.index_select(axis - d, index)  # (B, C_in, *m)
    letters = string.ascii_uppercase[:d]
    mixed = torch.einsum(f"bi{letters},{letters}io->bo{letters}", spectrum, w.to(spectrum.dtype))  # (B, C_out, *m)
    full = mixed.new_zeros(*mixed.shape[:2], *out_shape[:-1], out_shape[-1] // 2 + 1)
    index = [_frequency_index(kept[a], out_shape[a], a < d - 1, x.device) for a in range(d)]
    full[(slice(None), slice(None), *torch.meshgrid(*index, indexing="ij"))] = mixed
    return torch.fft.irfftn(full, s=out_shape, dim=dims, norm="forward")
