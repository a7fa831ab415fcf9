"""Shared timing helpers for the benchmarks: allocator settings, device sync, interleaved medians."""

from __future__ import annotations

import contextlib
import ctypes
import os
import statistics
import sys
import time
from typing import Callable

import torch

#: glibc malloc settings that stop large FFT/GEMM buffers from being returned to the OS (and
#: page-faulted back in) on every call; both sides of a comparison run under the same settings.
ALLOCATOR_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(1 << 40)}


def ensure_allocator_env() -> str:
    """Re-exec this process with :data:`ALLOCATOR_ENV` unless those variables are already set.

    Returns a one-line description of the allocator settings in force (printed by the benchmarks).
    A variable the user set is respected, so ``MALLOC_MMAP_MAX_=65536 python ...`` measures the
    default-like allocator instead.
    """
    missing = {k: v for k, v in ALLOCATOR_ENV.items() if k not in os.environ}
    if missing:
        env = {**os.environ, **missing}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    return "glibc malloc, " + ", ".join(f"{k}={os.environ[k]}" for k in ALLOCATOR_ENV)


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost"
    )]


def retained_heap_bytes() -> int:
    """Free bytes that this process's glibc heap keeps instead of returning them to the OS.

    Under :data:`ALLOCATOR_ENV` nothing freed goes back, so ``MemAvailable`` undercounts what the
    process can still use by this much. ``0`` where glibc's ``mallinfo2`` is missing.
    """
    try:
        mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return 0
    mallinfo2.restype = _Mallinfo2
    return mallinfo2().fordblks


def synchronize(device: torch.device) -> None:
    """Wait for queued kernels, so that wall-clock time covers the work (no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def interleaved_medians(
    candidates: dict[str, Callable[[], object]],
    device: torch.device,
    repeats: int,
    warmup: int = 2,
    clock: str = "wall",
) -> dict[str, float]:
    """Median seconds per call of each candidate, with the candidates' calls interleaved.

    Round ``r`` runs every candidate once, in turn, so that a slow phase of a shared machine hits
    all of them alike; the median over rounds discards the outliers. ``warmup`` rounds are untimed
    (plan caches, allocator growth, lazy initialisation).

    ``clock="cpu"`` times the process's CPU seconds instead of the wall clock: with one thread on a
    machine whose cores other jobs share, it counts the work done and not the time spent waiting
    for a core (with several threads it would also count OpenMP's spin-waits, so use it with one).
    """
    if clock not in CLOCKS or (clock == "cpu" and device.type != "cpu"):
        raise ValueError(f"interleaved_medians: clock must be one of {sorted(CLOCKS)} ('cpu' on CPU only), got {clock!r}")
    now = CLOCKS[clock]
    if repeats < 1:
        raise ValueError(f"interleaved_medians: repeats must be >= 1, got {repeats}")
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for round_index in range(warmup + repeats):
        for name, call in candidates.items():
            synchronize(device)
            start = now()
            call()
            synchronize(device)
            if round_index >= warmup:
                times[name].append(now() - start)
    return {name: statistics.median(samples) for name, samples in times.items()}


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the block with ``torch.set_num_threads(n)`` and restore the previous count afterwards.

    Solver comparisons run both sides on one thread: scipy's SuperLU is single-threaded, and on a
    shared machine OpenMP threads waiting on each other make per-step overheads, not algorithms, win.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
