"""How ``SpectralConv(path="auto")`` picks the transforms for a shape and device.

Both paths compute the same numbers (tested to 1e-10 in float64, values and gradients), so the
forward and the inverse transform are chosen independently:

* by a **measured rule** on CPUs: the truncated DFT costs ``2(K_d+1)`` multiply-adds per point on
  the last axis, the FFT about ``log2 n_d`` flops-worth per point but at a lower rate than a
  matrix product, so the DFT wins when ``2(K_d+1) <= c log2 n_d``. The constants ``c`` (tables
  below, per direction and dimension, with and without a backward pass) were measured on an
  AVX-512 Xeon with MKL, one thread, batch 20 x 32 channels (1-D, 2-D) and 4 x 16 (3-D),
  ``n = 16..4096``. The forward FFT wins in 2-D (its full-axis FFTs run on the kept columns
  only), the DFT in 1-D and 3-D at moderate ``K``; the inverse DFT wins at small ``K``, more
  often without a backward pass; on 2-D grids above 128 points the FFT always wins.
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


# The DFT wins when 2(K_d+1) <= c log2(n_d); c per direction and spatial dimension (4+ uses 3),
# None: never. Measured with and without a backward pass (training / inference, see above).
_INFERENCE = {"forward": {1: 3.5, 2: None, 3: 3.5}, "inverse": {1: 4.0, 2: 4.0, 3: 4.0}}
_TRAINING = {"forward": {1: 3.5, 2: None, 3: 4.0}, "inverse": {1: 3.5, 2: 2.0, 3: 2.0}}


def cpu_rule(
    kept: tuple[int, ...], in_shape: tuple[int, ...], out_shape: tuple[int, ...], training: bool
) -> tuple[str, str]:
    """The measured CPU rule: ``(forward path, inverse path)`` (see the module docstring)."""
    d = min(len(kept), 3)
    width = 2 * (kept[-1] + 1)  # real multiply-adds per point of the last-axis DFT
    table = _TRAINING if training else _INFERENCE

    def dft_wins(direction: str, n: int) -> bool:
        c = table[direction][d]
        return c is not None and width <= c * math.log2(max(n, 2)) and not (d == 2 and n > 128)

    forward = "dft" if dft_wins("forward", in_shape[-1]) else "fft"
    inverse = "dft" if dft_wins("inverse", out_shape[-1]) else "fft"
    return forward, inverse


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


def choose_paths(
    x: Tensor, kept: tuple[int, ...], out_shape: tuple[int, ...], out_channels: int, training: bool
) -> tuple[str, str]:
    """``(forward path, inverse path)`` for ``x`` ``(B, C_in, *S)`` mapped onto ``out_shape``.

    ``training``: a backward pass will follow (the CPU rule differs; the autotune times forwards).
    """
    in_shape = tuple(x.shape[2:])
    autotune = _AUTOTUNE if _AUTOTUNE is not None else x.device.type != "cpu"
    if not autotune:
        return cpu_rule(kept, in_shape, out_shape, training)
    key = (tuple(x.shape), kept, out_shape, out_channels, x.dtype, x.device)
    choice = _CHOICES.get(key)
    if choice is None:
        if torch.compiler.is_compiling():
            return cpu_rule(kept, in_shape, out_shape, training)
        choice = _CHOICES[key] = _measure(x.detach(), kept, out_shape, out_channels)
    return choice
