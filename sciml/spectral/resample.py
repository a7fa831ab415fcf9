"""Trigonometric interpolation onto finer periodic grids, in Fourier space."""

from __future__ import annotations

import torch
from torch import Tensor


def pad_spectrum(c: Tensor, shape: tuple[int, ...], new_shape: tuple[int, ...]) -> Tensor:
    """The rfftn coefficients of a field's trigonometric interpolant on a finer periodic grid.

    Parameters
    ----------
    c
        ``torch.fft.rfftn(u, norm="forward")`` of a field on ``shape``: trailing axes
        ``(*shape[:-1], shape[-1] // 2 + 1)``, any leading batch axes.
    shape, new_shape
        Grid sizes before and after, per axis, with ``new_shape[i] >= shape[i]``.

    Returns
    -------
    Tensor
        Coefficients ``(..., *new_shape[:-1], new_shape[-1] // 2 + 1)`` with the same normalization, so
        ``irfftn(pad_spectrum(c, S, S'), s=S', norm="forward")`` sampled every ``S'/S`` points gives ``u``
        back exactly. Modes are zero-padded; on an even axis that grows, the Nyquist coefficient
        (``cos(pi n x / L)`` on the coarse grid) is split evenly between ``+n/2`` and ``-n/2`` so the
        interpolant stays real.
    """
    shape, new_shape = tuple(shape), tuple(new_shape)
    d = len(shape)
    if len(new_shape) != d or any(m < n for n, m in zip(shape, new_shape)):
        raise ValueError(f"pad_spectrum: new_shape {new_shape} must have one size >= each of {shape}")
    expected = (*shape[:-1], shape[-1] // 2 + 1)
    if tuple(c.shape[c.ndim - d :]) != expected:
        raise ValueError(f"pad_spectrum: c must end in the rfft layout {expected} of {shape}, got {tuple(c.shape)}")
    out = c
    for i, (n, m) in enumerate(zip(shape, new_shape)):
        if m == n:
            continue
        axis = c.ndim - d + i
        if i == d - 1:
            # rfft axis: non-negative frequencies only; the conjugate half of a split Nyquist is implicit
            kept = out.narrow(axis, 0, n // 2 + 1)
            if n % 2 == 0:
                kept = torch.cat((kept.narrow(axis, 0, n // 2), kept.narrow(axis, n // 2, 1) / 2), dim=axis)
            pieces = (kept,)
            gap = m // 2 + 1 - kept.shape[axis]
        else:
            pos, neg = out.narrow(axis, 0, (n + 1) // 2), out.narrow(axis, (n + 1) // 2, n // 2)  # k >= 0, k < 0
            if n % 2 == 0:
                nyquist = neg.narrow(axis, 0, 1) / 2  # -n/2, shared with +n/2 on the finer grid
                pos, neg = torch.cat((pos, nyquist), dim=axis), torch.cat((nyquist, neg.narrow(axis, 1, n // 2 - 1)), dim=axis)
            pieces = (pos, neg)
            gap = m - pos.shape[axis] - neg.shape[axis]
        zeros_shape = list(out.shape)
        zeros_shape[axis] = gap
        zeros = torch.zeros(zeros_shape, dtype=out.dtype, device=out.device)
        out = torch.cat((pieces[0], zeros, *pieces[1:]), dim=axis)
    return out
