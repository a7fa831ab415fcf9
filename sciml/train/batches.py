"""Shuffled mini-batches of in-memory tensors: one order per ``(seed, epoch)``, shared by every process.

The order of an epoch is a function of the seed and the epoch alone, so a run resumed in the middle
of an epoch sees the batches an uninterrupted one would, and under distributed data parallel every
process agrees on the global batch and takes its own share of it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import Tensor

from sciml.data import sample_generator

__all__ = ["Batches"]


class Batches:
    """Mini-batches of ``(inputs, targets)`` pairs, indexed directly (no per-sample collation).

    Parameters
    ----------
    inputs, targets
        ``(n, C_in, *S)`` and ``(n, C_out, *S)``, on the device the model trains on.
    batch_size
        The global batch size: the same for any number of processes.
    seed
        With the epoch, seeds the permutation (:func:`sciml.data.sample_generator`).
    rank, world_size
        This process's share of each global batch: samples ``rank, rank + world_size, ...`` of it.
    """

    def __init__(self, inputs: Tensor, targets: Tensor, batch_size: int, seed: int, *, rank: int = 0, world_size: int = 1):
        if inputs.shape[0] != targets.shape[0] or inputs.shape[0] < 1:
            raise ValueError(f"Batches: inputs and targets need the same positive number of samples, got {inputs.shape[0]} and {targets.shape[0]}")
        if batch_size < 1:
            raise ValueError(f"Batches: batch_size must be >= 1, got {batch_size}")
        if not 0 <= rank < world_size:
            raise ValueError(f"Batches: need 0 <= rank < world_size, got rank={rank}, world_size={world_size}")
        if batch_size < world_size:
            raise ValueError(f"Batches: batch_size={batch_size} gives some of the {world_size} processes no sample")
        self.inputs, self.targets, self.batch_size, self.seed = inputs, targets, batch_size, seed
        self.rank, self.world_size = rank, world_size

    def __len__(self) -> int:
        """Batches per epoch (the last one may be smaller)."""
        return math.ceil(self.inputs.shape[0] / self.batch_size)

    def epoch(self, epoch: int, start: int = 0) -> Iterator[tuple[tuple[Tensor, Tensor], int]]:
        """Batches ``start, start + 1, ...`` of ``epoch``: this process's ``(inputs, targets)`` and the global batch size."""
        n = self.inputs.shape[0]
        order = torch.randperm(n, generator=sample_generator(self.seed, epoch)).to(self.inputs.device)
        for first in range(start * self.batch_size, n, self.batch_size):
            batch = order[first : first + self.batch_size]
            mine = batch[self.rank :: self.world_size]
            yield (self.inputs[mine], self.targets[mine]), batch.numel()
