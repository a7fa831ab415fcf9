"""Distributed data parallel under ``torchrun``: one process per device, gloo on CPUs, NCCL on GPUs."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

__all__ = ["rank_and_world", "setup", "teardown"]


def setup(device: torch.device) -> torch.device:
    """Join the process group that ``torchrun`` describes (``WORLD_SIZE > 1``) and return this process's device.

    On CUDA each process takes ``cuda:LOCAL_RANK`` and the NCCL backend; on the CPU the gloo backend.
    A single process (no ``torchrun``, or one process) joins nothing.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def rank_and_world() -> tuple[int, int]:
    """``(rank, world size)``: ``(0, 1)`` outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def teardown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
