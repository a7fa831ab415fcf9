"""How ``SpectralConv(path="auto")`` picks the transforms for a shape and device.

Both paths compute the same numbers (tested to 1e-10 in float64, values and gradients), so the
forward and the inverse transform are chosen independently:

* by a **measured rule** on CPUs: the truncated DFT costs ``2(K_d+1)`` multiply-adds per point on
  the last axis, the FFT about ``log2 n_d`` flops-worth per point but at a lower rate than a
  matrix product, so the DFT wins when ``2(K_d+1) <= c log2 n_d``. The constants below were
  measured on an AVX-512 Xeon with MKL, one thread, batch 20 x 32 channels (1-D, 2-D) and 4 x 16
  (3-D): the inverse DFT wins up to ``c = 4`` except on 2-D grids above 128 points (where the
  c2r FFT of the compact spectrum is cheaper), the forward DFT only in 1-D from 256 points and
  in 3-D from 32 points per axis, up to ``c = 3.5``.
* by a **cached autotune** on other devices (CUDA), or everywhere after ``set_autotune(True)``:
  the first call for a (shape, modes, output shape, dtype, device) key times both transforms
  (after a warm-up, synchronized) and keeps the faster; later calls read the cache. Under
  ``torch.compile`` nothing is timed: the cached choice or the CPU rule is used.
"""

from __future__ import annotations

import math
import time

import torch
from torch import Tensor

from sciml.nn.dft import dft_forward, dft_inverse
from sciml.nn.truncated_fft import fft_forward, fft_inverse

FORWARD = {"fft": fft_forward, "dft": dft_forward}
INVERSE = {"fft": fft_inverse, "dft": dft_inverse}

_CHOICES: dict[tuple, tuple[str, str]] = {}
_AUTOTUNE: bool | None = None  # None: autotune on every device but the CPU


def set_autotune(enabled: bool | None) -> None:
    """Time the paths on first use (``True``), never (``False``), or off the CPU only (``None``, default)."""
    global _AUTOTUNE
    _AUTOTUNE = enabled


def clear_cache() -> None:
    """Forget every autotuned choice."""
    _CHOICES.clear()


def cpu_rule(kept: tuple[int, ...], in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> tuple[str, str]:
    """The measured CPU rule: ``(forward path, inverse path)`` (see the module docstring)."""
    d = len(kept)
    width = 2 * (kept[-1] + 1)  # real multiply-adds per point of the last-axis DFT
    n_in, n_out = in_shape[-1], out_shape[-1]
    forward_dft = (d == 1 and n_in >= 256 or d >= 3 and n_in >= 32) and width <= 3.5 * math.log2(n_in)
    inverse_dft = not (d == 2 and n_out > 128) and width <= 4 * math.log2(n_out)
    return ("dft" if forward_dft else "fft", "dft" if inverse_dft else "fft")


def _synchronize() -> None:
    if torch.accelerator.is_available():
        torch.accelerator.synchronize()


def _time(fn, reps: int = 3) -> float:
    """Best wall time of ``reps`` synchronized calls after one warm-up."""
    fn()
    best = math.inf
    for _ in range(reps):
        _synchronize()
        start = time.perf_counter()
        fn()
        _synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def _measure(x: Tensor, kept: tuple[int, ...], out_shape: tuple[int, ...], out_channels: int) -> tuple[str, str]:
    with torch.no_grad():
        forward = min(FORWARD, key=lambda p: _time(lambda: FORWARD[p](x, kept)))
        z = FORWARD[forward](x, kept)
        z = z.new_ones(*z.shape[:-1], out_channels)  # the inverse sees C_out channels
        inverse = min(INVERSE, key=lambda p: _time(lambda: INVERSE[p](z, kept, out_shape)))
    return forward, inverse


def choose_paths(x: Tensor, kept: tuple[int, ...], out_shape: tuple[int, ...], out_channels: int) -> tuple[str, str]:
    """``(forward path, inverse path)`` for ``x`` ``(B, C_in, *S)`` mapped onto ``out_shape``."""
    in_shape = tuple(x.shape[2:])
    autotune = _AUTOTUNE if _AUTOTUNE is not None else x.device.type != "cpu"
    if not autotune:
        return cpu_rule(kept, in_shape, out_shape)
    key = (tuple(x.shape), kept, out_shape, out_channels, x.dtype, x.device)
    choice = _CHOICES.get(key)
    if choice is None:
        if torch.compiler.is_compiling():
            return cpu_rule(kept, in_shape, out_shape)
        choice = _CHOICES[key] = _measure(x.detach(), kept, out_shape, out_channels)
    return choice
