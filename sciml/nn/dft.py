"""Truncated DFTs as matrix products, with per-(size, modes, dtype, device) cached matrices.

Only ``2K + 1`` (or ``K + 1``) of ``n`` Fourier coefficients are kept per axis, so the transform
is a ``(2K+1) x n`` matrix: ``O(n K)`` work per line instead of the FFT's ``O(n log n)``, done by
BLAS at matrix-product speed. The last axis is real to complex: the input is real, so one real
``n x 2(K+1)`` matrix gives the real and imaginary parts, interleaved so ``view_as_complex`` is
free. Its inverse is real too: ``y_j = sum_k w_k (Re Z_k cos(2 pi k j / n) - Im Z_k sin(2 pi k j / n))``
with the Hermitian weights ``w_0 = 1`` and ``w_k = 2`` for ``k >= 1`` (the Nyquist frequency is
never kept, see :mod:`sciml.nn.modes`); the ``sin`` row of ``k = 0`` is zero, so the imaginary
part of the mean is ignored exactly as ``irfft`` does.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from sciml.nn.cache import LRUCache
from sciml.nn.modes import from_mode_major, to_mode_major

#: how many matrices :func:`dft_matrix` keeps (four per grid and modes in 2-D: a few resolutions of
#: a few models); the least recently used goes first
DFT_CACHE_SIZE = 32
_MATRICES: LRUCache[Tensor] = LRUCache(DFT_CACHE_SIZE)
_COMPLEX = {torch.float32: torch.complex64, torch.float64: torch.complex128}


def _angles(freqs: Tensor, n: int) -> Tensor:
    """``2 pi (k j mod n) / n`` for ``k`` in ``freqs`` and ``j = 0..n-1``, float64, shape ``(len(freqs), n)``.

    Reducing ``k j`` modulo ``n`` in integers keeps the angles exact for large ``n``.
    """
    j = torch.arange(n, dtype=torch.int64)
    return (2 * math.pi / n) * ((freqs[:, None] * j[None, :]) % n).to(torch.float64)


def _build(kind: str, n: int, k: int) -> Tensor:
    if kind == "full_forward":  # complex (2k+1, n): e^{-2 pi i k j / n} / n
        modulus = torch.full((2 * k + 1, n), 1.0 / n, dtype=torch.float64)
        return torch.polar(modulus, -_angles(torch.arange(-k, k + 1), n))
    if kind == "full_inverse":  # complex (n, 2k+1): e^{+2 pi i k j / n}
        return torch.polar(torch.ones(2 * k + 1, n, dtype=torch.float64), _angles(torch.arange(-k, k + 1), n)).T
    theta = _angles(torch.arange(k + 1), n)  # (k+1, n)
    if kind == "half_forward":  # real (n, 2(k+1)): columns (cos/n, -sin/n) interleaved per k
        return torch.stack([theta.cos(), -theta.sin()], dim=-1).div(n).permute(1, 0, 2).reshape(n, 2 * (k + 1))
    if kind == "half_inverse":  # real (2(k+1), n): rows (w_k cos, -w_k sin) interleaved per k
        weights = torch.full((k + 1, 1), 2.0, dtype=torch.float64)
        weights[0] = 1.0
        return torch.stack([weights * theta.cos(), -weights * theta.sin()], dim=1).reshape(2 * (k + 1), n)
    raise ValueError(f"dft_matrix: unknown kind {kind!r}")


def dft_matrix(kind: str, n: int, k: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """A truncated-DFT matrix, cached (the :data:`DFT_CACHE_SIZE` most recently used).

    Parameters
    ----------
    kind
        ``"full_forward"`` (complex ``(2k+1, n)``), ``"full_inverse"`` (complex ``(n, 2k+1)``),
        ``"half_forward"`` (real ``(n, 2(k+1))``) or ``"half_inverse"`` (real ``(2(k+1), n)``).
    n, k
        Grid points and kept modes on the axis.
    dtype
        The real dtype of the data; full matrices come in the matching complex dtype.
    device
        Where the matrix lives.

    Under ``torch.compile`` a cached matrix is a constant of the graph; a missing one is built
    inside the graph (run the layer once eagerly at a resolution to cache it).
    """
    target = _COMPLEX[dtype] if kind.startswith("full") else dtype
    key = (kind, n, k, dtype, torch.device(device))
    return _MATRICES.get_or_build(key, lambda: _build(kind, n, k).to(device=device, dtype=target))


def _along(matrix: Tensor, z: Tensor, dim: int) -> Tensor:
    """``matrix @ z`` contracting axis ``dim`` of ``z``: ``(P, n, Q) -> (P, k, Q)``."""
    shape = list(z.shape)
    n = shape[dim]
    lead = math.prod(shape[:dim])
    out = torch.matmul(matrix, z.reshape(lead, n, -1))  # (P, k, Q)
    shape[dim] = matrix.shape[0]
    return out.reshape(shape)


def dft_forward(x: Tensor, kept: tuple[int, ...]) -> Tensor:
    """Kept Fourier coefficients of a real field by truncated-DFT matrix products.

    Same contract as :func:`sciml.nn.truncated_fft.fft_forward`: real ``(B, C, *S)`` to complex
    mode-major ``(2K_1+1, ..., K_d+1, B, C)`` with ``norm="forward"``.
    """
    d = len(kept)
    half = dft_matrix("half_forward", x.shape[-1], kept[-1], x.dtype, x.device)
    z = torch.view_as_complex((x @ half).unflatten(-1, (kept[-1] + 1, 2)))  # (B, C, *S[:-1], K_d+1)
    z = to_mode_major(z).contiguous()  # (*S[:-1], K_d+1, B, C)
    for axis in range(d - 1):
        z = _along(dft_matrix("full_forward", z.shape[axis], kept[axis], x.dtype, x.device), z, axis)
    return z


def dft_inverse(z: Tensor, kept: tuple[int, ...], out_shape: tuple[int, ...]) -> Tensor:
    """Real field ``(B, C, *out_shape)`` from mode-major kept coefficients ``(*m, B, C)`` by matrix products."""
    d = len(kept)
    real = z.real.dtype
    for axis in range(d - 1):
        z = _along(dft_matrix("full_inverse", out_shape[axis], kept[axis], real, z.device), z, axis)
    z = from_mode_major(z).contiguous()  # (B, C, *S_out[:-1], K_d+1)
    half = dft_matrix("half_inverse", out_shape[-1], kept[-1], real, z.device)
    return torch.view_as_real(z).flatten(-2) @ half  # (B, C, *S_out)
