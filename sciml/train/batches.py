"""Shuffled mini-batches: one order per ``(seed, epoch)``, shared by every process, from memory or streamed.

The order of an epoch is a function of the seed and the epoch alone, so a run resumed in the middle
of an epoch sees the batches an uninterrupted one would, and under distributed data parallel every
process agrees on the global batch and takes its own share of it. :class:`Batches` indexes tensors
held in memory (no per-sample collation); :class:`StreamedBatches` reads each batch's samples when
it is needed (e.g. from HDF5, :class:`sciml.data.H5Stream`), in the same order.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Iterator

import torch
from torch import Tensor

from sciml.data import sample_generator

__all__ = ["AbstractBatches", "Batches", "StreamedBatches"]


class AbstractBatches(abc.ABC):
    """Mini-batches of ``n`` samples: an epoch is a permutation seeded by ``(seed, epoch)``, cut into global batches.

    Parameters
    ----------
    n
        The number of samples.
    batch_size
        The global batch size: the same for any number of processes.
    seed
        With the epoch, seeds the permutation (:func:`sciml.data.sample_generator`).
    rank, world_size
        This process's share of each global batch: samples ``rank, rank + world_size, ...`` of it.
    """

    def __init__(self, n: int, batch_size: int, seed: int, *, rank: int = 0, world_size: int = 1):
        if batch_size < 1:
            raise ValueError(f"{type(self).__name__}: batch_size must be >= 1, got {batch_size}")
        if not 0 <= rank < world_size:
            raise ValueError(f"{type(self).__name__}: need 0 <= rank < world_size, got rank={rank}, world_size={world_size}")
        if batch_size < world_size:
            raise ValueError(f"{type(self).__name__}: batch_size={batch_size} gives some of the {world_size} processes no sample")
        self.n, self.batch_size, self.seed, self.rank, self.world_size = n, batch_size, seed, rank, world_size

    @abc.abstractmethod
    def take(self, index: Tensor) -> tuple[Tensor, Tensor]:
        """``(inputs, targets)`` of the samples ``index`` ``(k,)`` (on the CPU), in that order."""

    def __len__(self) -> int:
        """Batches per epoch (the last one may be smaller)."""
        return math.ceil(self.n / self.batch_size)

    def epoch(self, epoch: int, start: int = 0) -> Iterator[tuple[tuple[Tensor, Tensor], int]]:
        """Batches ``start, start + 1, ...`` of ``epoch``: this process's ``(inputs, targets)`` and the global batch size."""
        order = torch.randperm(self.n, generator=sample_generator(self.seed, epoch))
        for first in range(start * self.batch_size, self.n, self.batch_size):
            batch = order[first : first + self.batch_size]
            yield self.take(batch[self.rank :: self.world_size]), batch.numel()


class Batches(AbstractBatches):
    """Mini-batches of in-memory ``(inputs, targets)`` pairs, indexed directly (no per-sample collation).

    Parameters
    ----------
    inputs, targets
        ``(n, C_in, *S)`` and ``(n, C_out, *S)``, on the device the model trains on.
    batch_size, seed, rank, world_size
        As for :class:`AbstractBatches`.
    """

    def __init__(self, inputs: Tensor, targets: Tensor, batch_size: int, seed: int, *, rank: int = 0, world_size: int = 1):
        if inputs.shape[0] != targets.shape[0] or inputs.shape[0] < 1:
            raise ValueError(f"Batches: inputs and targets need the same positive number of samples, got {inputs.shape[0]} and {targets.shape[0]}")
        super().__init__(inputs.shape[0], batch_size, seed, rank=rank, world_size=world_size)
        self.inputs, self.targets = inputs, targets

    def take(self, index: Tensor) -> tuple[Tensor, Tensor]:
        index = index.to(self.inputs.device)
        return self.inputs[index], self.targets[index]


class StreamedBatches(AbstractBatches):
    """Mini-batches read on demand by ``read``: for training sets that do not fit in memory.

    The batches are those of :class:`Batches` on the same samples, in the same order: a run gives the
    same losses and weights streamed or in memory when ``read`` gives the same values.

    Parameters
    ----------
    read
        ``read(index) -> (inputs (k, C_in, *S), targets (k, C_out, *S))`` for samples ``index`` ``(k,)``
        (an int64 CPU tensor), in that order, ready for the model (normalized, on its device and dtype);
        e.g. built on :meth:`sciml.data.H5Stream.read`.
    n
        The number of samples.
    batch_size, seed, rank, world_size
        As for :class:`AbstractBatches`.
    """

    def __init__(self, read: Callable[[Tensor], tuple[Tensor, Tensor]], n: int, batch_size: int, seed: int, *,
                 rank: int = 0, world_size: int = 1):
        if n < 1:
            raise ValueError(f"StreamedBatches: n must be >= 1, got {n}")
        super().__init__(n, batch_size, seed, rank=rank, world_size=world_size)
        self.read = read

    def take(self, index: Tensor) -> tuple[Tensor, Tensor]:
        return self.read(index)
