"""Which Fourier modes a spectral convolution keeps on a given grid.

``K = modes[i]`` keeps the integer frequencies ``-K..K`` on every axis but the last and ``0..K`` on
the last (rfft) axis, so the kept set is symmetric under ``k -> -k`` and the layer is exactly
translation-equivariant for integer shifts. On a grid of ``n`` points a frequency is resolved
when ``|k| <= (n - 1) // 2``: on an even axis the Nyquist frequency ``n / 2`` is its own alias
(``e^{i pi j} = e^{-i pi j}``) and cannot be told from ``-n / 2``, so it is dropped together with
everything beyond it.

Kept spectra travel **mode-major**, ``(*M, B, C)``: :func:`to_mode_major` and
:func:`from_mode_major` move batch and channels behind the mode axes and back.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor


def as_modes(modes: int | Sequence[int], dim: int | None) -> tuple[int, ...]:
    """Normalize ``modes`` (an int with ``dim``, or one int per axis) to a tuple of non-negative ints."""
    if isinstance(modes, int):
        if dim is None:
            raise ValueError("SpectralConv: an int `modes` needs `dim` (the number of spatial axes)")
        modes = (modes,) * dim
    modes = tuple(int(k) for k in modes)
    if not modes or min(modes) < 0:
        raise ValueError(f"SpectralConv: `modes` must be non-negative ints, one per axis, got {modes}")
    if dim is not None and len(modes) != dim:
        raise ValueError(f"SpectralConv: `modes` has {len(modes)} entries but dim={dim}")
    return modes


def mode_sizes(modes: tuple[int, ...]) -> tuple[int, ...]:
    """Number of kept modes per axis: ``2K + 1`` (both signs) on all axes but the last, ``K + 1`` there."""
    return tuple(2 * k + 1 for k in modes[:-1]) + (modes[-1] + 1,)


def resolved_modes(modes: tuple[int, ...], *shapes: Sequence[int]) -> tuple[int, ...]:
    """The kept modes that every grid in ``shapes`` resolves: ``min(K_i, (n_i - 1) // 2)`` per axis."""
    out = list(modes)
    for shape in shapes:
        if len(shape) != len(modes):
            raise ValueError(f"SpectralConv: grid shape {tuple(shape)} has {len(shape)} axes, expected {len(modes)}")
        if min(shape) < 1:
            raise ValueError(f"SpectralConv: grid shape {tuple(shape)} must be positive")
        out = [min(k, (n - 1) // 2) for k, n in zip(out, shape)]
    return tuple(out)


def mode_slices(modes: tuple[int, ...], kept: tuple[int, ...]) -> tuple[slice, ...]:
    """Slices of a ``mode_sizes(modes)`` weight (natural order, ``k = j - K``) down to ``kept`` modes."""
    full = [slice(K - k, K + k + 1) for K, k in zip(modes[:-1], kept[:-1])]
    return tuple(full) + (slice(0, kept[-1] + 1),)


def to_mode_major(z: Tensor) -> Tensor:
    """``(B, C, *M) -> (*M, B, C)``: batch and channels moved behind the mode axes (a view).

    The mode-major layout makes the per-mode channel mixing one batched matrix product with the
    modes as the batch; callers that hand the result to BLAS or an FFT take ``.contiguous()``.
    """
    d = z.ndim - 2
    return z.permute(*range(2, d + 2), 0, 1)  # (*M, B, C)


def from_mode_major(z: Tensor) -> Tensor:
    """``(*M, B, C) -> (B, C, *M)``, the inverse of :func:`to_mode_major` (a view)."""
    d = z.ndim - 2
    return z.permute(d, d + 1, *range(d))  # (B, C, *M)
