"""How :class:`sciml.nn.SpectralConv` picks its transforms: path policies.

Both paths compute the same numbers (tested to 1e-10 in float64, values and gradients), so the
forward and the inverse transform are chosen independently, by a policy object:

* :class:`FixedPath`: always the given paths (``path="fft"`` or ``path="dft"``).
* :class:`CPURule`: a **measured rule** for CPUs. The truncated DFT costs ``2(K_d+1)``
  multiply-adds per point on the last axis, the FFT about ``log2 n_d`` flops-worth per point but at
  a lower rate than a matrix product, so the DFT wins when ``2(K_d+1) <= c log2 n_d``. The
  constants ``c`` (tables below, per direction and dimension, with and without a backward pass)
  were measured on an AVX-512 Xeon with MKL, one thread, batch 20 x 32 channels (1-D, 2-D) and
  4 x 16 (3-D), ``n = 16..4096``. The forward FFT wins in 2-D (its full-axis FFTs run on the kept
  columns only), the DFT in 1-D and 3-D at moderate ``K``; the inverse DFT wins at small ``K``,
  more often without a backward pass; on 2-D grids above 128 points the FFT always wins.
* :class:`Autotune`: the first call for a key (input shape, modes, output shape, channels,
  training or not, dtype, device) times both transforms (after a warm-up, synchronized) and keeps
  the faster in its own bounded cache. Under ``torch.distributed`` the choice for a training call
  is measured on rank 0 and broadcast, so that every rank runs the same path.
* :class:`ByDevice`: one policy on CPUs, another elsewhere; ``path="auto"`` builds
  ``ByDevice()``, the CPU rule on CPUs and an autotune on accelerators.

A policy holds all the state it needs; none is global. Under ``torch.compile`` nothing is timed:
an autotune uses its cached choice or, for a key it has not seen, the CPU rule.
"""

from __future__ import annotations

import abc
import math
import time
from collections.abc import Callable

import torch
import torch.distributed as dist
from torch import Tensor

from sciml.nn.cache import LRUCache
from sciml.nn.dft import dft_forward, dft_inverse
from sciml.nn.truncated_fft import fft_forward, fft_inverse

FORWARD = {"fft": fft_forward, "dft": dft_forward}
INVERSE = {"fft": fft_inverse, "dft": dft_inverse}
#: the strings ``SpectralConv(path=...)`` accepts besides a policy object
PATHS = ("auto", *FORWARD)


class AbstractPathPolicy(abc.ABC):
    """Chooses ``(forward path, inverse path)``, each ``"fft"`` or ``"dft"``, for one call."""

    @abc.abstractmethod
    def choose(
        self, x: Tensor, kept: tuple[int, ...], out_shape: tuple[int, ...], out_channels: int, training: bool
    ) -> tuple[str, str]:
        """The paths for ``x`` ``(B, C_in, *S)`` mapped onto ``(B, out_channels, *out_shape)``.

        ``kept`` are the resolved modes; ``training``: a backward pass will follow.
        """


class FixedPath(AbstractPathPolicy):
    """Always ``forward`` for the forward transform and ``inverse`` (default: the same) for the inverse."""

    def __init__(self, forward: str, inverse: str | None = None):
        inverse = forward if inverse is None else inverse
        for name, path in (("forward", forward), ("inverse", inverse)):
            if path not in FORWARD:
                raise ValueError(f"FixedPath: `{name}` must be one of {tuple(FORWARD)}, got {path!r}")
        self.paths = (forward, inverse)

    def choose(self, x, kept, out_shape, out_channels, training) -> tuple[str, str]:
        return self.paths

    def __repr__(self) -> str:
        return f"FixedPath{self.paths}"


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


class CPURule(AbstractPathPolicy):
    """The measured CPU rule, :func:`cpu_rule`: deterministic, nothing timed, the same on every rank."""

    def choose(self, x, kept, out_shape, out_channels, training) -> tuple[str, str]:
        return cpu_rule(kept, tuple(x.shape[2:]), out_shape, training)

    def __repr__(self) -> str:
        return "CPURule()"


#: ``timer(path, fn)``: seconds one call of ``fn`` takes; ``fn`` runs the transform path ``path``
Timer = Callable[[str, Callable[[], object]], float]


def _synchronize() -> None:
    if torch.accelerator.is_available():
        torch.accelerator.synchronize()


def best_time(path: str, fn: Callable[[], object], reps: int = 3) -> float:
    """Best wall time of ``reps`` synchronized calls of ``fn`` after one warm-up (``path`` unused)."""
    fn()
    best = math.inf
    for _ in range(reps):
        _synchronize()
        start = time.perf_counter()
        fn()
        _synchronize()
        best = min(best, time.perf_counter() - start)
    return best


class Autotune(AbstractPathPolicy):
    """Time both transforms on the first call for a key and keep the faster.

    Parameters
    ----------
    maxsize
        Choices kept (least recently used evicted first).
    timer
        ``timer(path, fn)`` in seconds; :func:`best_time` by default (a fake one makes tests
        deterministic).

    Under ``torch.distributed`` (initialized, more than one process) the choice for a training
    call (a backward follows) is measured on rank 0 only and broadcast, so every rank runs the same
    path; every rank must then reach each new training key together, as the ranks of a DDP step
    do. Inference calls are measured on each rank alone: an evaluation on rank 0 only must not wait
    for the others.
    """

    def __init__(self, maxsize: int = 256, timer: Timer = best_time):
        self.timer = timer
        self._choices: LRUCache[tuple[str, str]] = LRUCache(maxsize)

    def __len__(self) -> int:
        """Number of cached choices."""
        return len(self._choices)

    def __repr__(self) -> str:
        return f"Autotune(maxsize={self._choices.maxsize}, cached={len(self)})"

    def choose(self, x, kept, out_shape, out_channels, training) -> tuple[str, str]:
        key = (tuple(x.shape), kept, out_shape, out_channels, training, x.dtype, x.device)
        choice = self._choices.get(key)
        if choice is not None:
            return choice
        if torch.compiler.is_compiling():
            return cpu_rule(kept, tuple(x.shape[2:]), out_shape, training)
        shared = training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
        if not shared or dist.get_rank() == 0:
            choice = self._measure(x.detach(), kept, out_shape, out_channels)
        if shared:
            box = [choice]
            dist.broadcast_object_list(box, src=0)
            choice = tuple(box[0])
        self._choices.put(key, choice)
        return choice

    def _measure(self, x: Tensor, kept, out_shape, out_channels) -> tuple[str, str]:
        with torch.no_grad():
            forward = min(FORWARD, key=lambda p: self.timer(p, lambda: FORWARD[p](x, kept)))
            z = FORWARD[forward](x, kept)  # (*m, B, C_in)
            z = z.new_ones(*z.shape[:-1], out_channels)  # (*m, B, C_out): the inverse sees C_out channels
            inverse = min(INVERSE, key=lambda p: self.timer(p, lambda: INVERSE[p](z, kept, out_shape)))
        return forward, inverse


class ByDevice(AbstractPathPolicy):
    """``cpu`` on CPUs, ``accelerator`` elsewhere; defaults :class:`CPURule` and a fresh :class:`Autotune`."""

    def __init__(self, cpu: AbstractPathPolicy | None = None, accelerator: AbstractPathPolicy | None = None):
        self.cpu = CPURule() if cpu is None else cpu
        self.accelerator = Autotune() if accelerator is None else accelerator

    def choose(self, x, kept, out_shape, out_channels, training) -> tuple[str, str]:
        policy = self.cpu if x.device.type == "cpu" else self.accelerator
        return policy.choose(x, kept, out_shape, out_channels, training)

    def __repr__(self) -> str:
        return f"ByDevice(cpu={self.cpu!r}, accelerator={self.accelerator!r})"


def as_policy(path: str | AbstractPathPolicy) -> AbstractPathPolicy:
    """``"fft"``/``"dft"`` -> :class:`FixedPath`, ``"auto"`` -> a new :class:`ByDevice`, a policy -> itself."""
    if isinstance(path, AbstractPathPolicy):
        return path
    if path == "auto":
        return ByDevice()
    if isinstance(path, str) and path in FORWARD:
        return FixedPath(path)
    raise ValueError(f"SpectralConv: `path` must be one of {PATHS} or a path policy, got {path!r}")
