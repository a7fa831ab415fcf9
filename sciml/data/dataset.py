"""Reading a dataset file at its generated resolution or a coarser one, and batching it."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from sciml.data.format import ARRAYS, HDF5_ERRORS, DatasetError, DatasetInfo, one_line, read_info, sample_checksum
from sciml.spectral.grid import Grid

#: bytes of full-resolution samples read at a time by :class:`H5Dataset`
READ_BLOCK_BYTES = 2**28


def subsample_factors(*grids: Grid) -> list[int]:
    """The factors ``r`` by which every one of ``grids`` can be subsampled (see :meth:`Grid.subsample`).

    Periodic axes need ``n % r == 0``, nodal axes ``(n - 1) % r == 0``, and the coarse grid at least
    two points per axis; e.g. ``[1, 2, 3, 4, 5, ...]`` for nodal 421 (421, 211, 141, 106, 85, ...).
    """
    cells = [(n if grid.periodic else n - 1, grid.periodic) for grid in grids for n in grid.shape]
    # a coarse axis keeps c / r cells and needs two points: r <= c / 2 (periodic) or r <= c (nodal)
    largest = min(c // 2 if periodic else c for c, periodic in cells)
    return [r for r in range(1, largest + 1) if all(c % r == 0 for c, _ in cells)]


def read_blocks(f: h5py.File, key: str, count: int, path: Path) -> Iterator[np.ndarray]:
    """The first ``count`` samples of ``f[key]`` in blocks of about :data:`READ_BLOCK_BYTES`, each sample checked
    (:func:`read_samples`)."""
    dset = f[key]
    block = max(1, READ_BLOCK_BYTES // (dset.dtype.itemsize * math.prod(dset.shape[1:])))
    for start in range(0, count, block):
        yield read_samples(f, key, slice(start, min(start + block, count)), path)


def read_samples(f: h5py.File, key: str, index: slice | list[int], path: Path) -> np.ndarray:
    """Samples ``index`` of ``f[key]`` (a slice, or increasing indices: HDF5's selections are ordered), each checked.

    HDF5 checks each sample's Fletcher-32 (one chunk per sample) as it reads it; then each sample's
    CRC-32 must match ``checksums`` (:func:`~sciml.data.format.sample_checksum`; files of format
    version 1 have neither). If the read fails, the samples are reread one by one to name the
    damaged ones in the :class:`DatasetError`.
    """
    dset = f[key]
    indices = range(*index.indices(dset.shape[0])) if isinstance(index, slice) else index
    stored = f["checksums"][index][:, ARRAYS.index(key)] if "checksums" in f else None
    try:
        samples = dset[index]
    except HDF5_ERRORS:
        samples = None
    bad = [i for j, i in enumerate(indices) if not _intact(dset, i, None if samples is None else samples[j],
                                                           None if stored is None else stored[j])]
    if bad:
        raise DatasetError(f"{path}: {key} of {_samples(bad)} fail their checksum or cannot be read (the file is "
                           "damaged); regenerate it")
    return samples


def _intact(dset: h5py.Dataset, i: int, sample: np.ndarray | None, stored: int | None) -> bool:
    """Whether sample ``i`` reads (``sample``, or reread when that could not be read) and matches its stored CRC-32."""
    try:
        sample = dset[i] if sample is None else sample
    except HDF5_ERRORS:
        return False
    return stored is None or sample_checksum(i, sample) == stored


@contextmanager
def open_checked(path: Path) -> Iterator[h5py.File]:
    """The dataset file ``path`` open for reading; HDF5's errors on a damaged file become a :class:`DatasetError`."""
    try:
        with h5py.File(path, "r", locking=False) as f:
            yield f
    except DatasetError:
        raise
    except HDF5_ERRORS as err:
        raise DatasetError(f"{path} is damaged (HDF5 cannot read it: {one_line(err)}); regenerate it") from None


def verify(path: str | Path) -> DatasetInfo:
    """Read every written sample of the dataset ``path`` and check it; returns its :class:`DatasetInfo`.

    Raises :class:`DatasetError` naming the damaged samples, as :class:`H5Dataset` would on loading them.
    """
    info = read_info(path)
    with open_checked(info.path) as f:
        for key in ARRAYS:
            if key in f:
                for _ in read_blocks(f, key, info.samples_done, info.path):
                    pass
    return info


def _samples(indices: list[int]) -> str:
    """``"samples 3, 7-9"``: sorted indices as ranges."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
    return f"sample{'s' if len(indices) > 1 else ''} {text}"


def _factor_for(info: DatasetInfo, resolution: int | None, factor: int | None) -> int:
    """The subsampling factor that ``resolution`` (points per axis of the input grid) or ``factor`` asks for."""
    grids = (info.input_grid, info.output_grid)
    factors = subsample_factors(*grids)
    if resolution is not None and factor is not None:
        raise ValueError("H5Dataset: give resolution or factor, not both")
    if resolution is None and factor is None:
        return 1
    grid = info.input_grid
    reachable = {r: grid.subsample(r).shape for r in factors}
    if factor is not None:
        if factor not in reachable:
            raise ValueError(
                f"H5Dataset: cannot subsample {info.path} ({grid.describe()}) by factor {factor}; possible factors: {factors}"
            )
        return factor
    for r, shape in reachable.items():
        if shape == (resolution,) * grid.dim:
            return r
    if len(set(grid.shape)) > 1:
        raise ValueError(f"H5Dataset: {info.path} has a non-cubic grid {grid.shape}; pass factor= (one of {factors})")
    possible = ", ".join(str(shape[0]) for shape in reachable.values())
    raise ValueError(
        f"H5Dataset: resolution {resolution} is not reachable from {info.path} ({grid.describe()}) "
        f"by subsampling; possible resolutions: {possible}"
    )


class H5Stream:
    """The samples of a sciml dataset file, read on demand and subsampled to a coarser grid.

    For training sets larger than memory: :meth:`read` reads the samples of one batch, :meth:`blocks`
    walks an array once (e.g. to fit a normalizer, :meth:`UnitGaussianNormalizer.fit_blocks`). Both give
    the values that :class:`H5Dataset` holds for the same samples, bit for bit, and check every sample
    read against its checksums. The file is opened for each call, so a stream can be shared by
    processes.

    Parameters
    ----------
    path, resolution, factor, n, dtype
        As for :class:`H5Dataset`.

    Attributes
    ----------
    info, factor, input_grid, output_grid
        As for :class:`H5Dataset`.
    input_shape, solution_shape
        One sample as read: ``(C_in, *S)`` and ``(C_out, *S_out)``.
    """

    def __init__(
        self,
        path: str | Path,
        resolution: int | None = None,
        *,
        factor: int | None = None,
        n: int | None = None,
        dtype: torch.dtype | None = None,
    ):
        info = read_info(path)
        if not info.complete:
            raise DatasetError(
                f"{info.path} is incomplete ({info.samples_done}/{info.n} samples); rerun its generation to finish it"
            )
        if n is not None and not 1 <= n <= info.n:
            raise ValueError(f"H5Dataset: n must be in [1, {info.n}] for {info.path}, got {n}")
        self.info, self.n, self.dtype = info, info.n if n is None else n, dtype
        self.factor = _factor_for(info, resolution, factor)
        self.input_grid = info.input_grid.subsample(self.factor)
        self.output_grid = info.output_grid.subsample(self.factor)
        self.input_shape = (info.input_shape[1], *self.input_grid.shape)
        self.solution_shape = (info.solution_shape[1], *self.output_grid.shape)

    def __len__(self) -> int:
        return self.n

    def blocks(self, key: str) -> Iterator[Tensor]:
        """``key`` (``"inputs"`` or ``"solutions"``) of every sample in order, in blocks ``(k, C, *S / r)`` of about
        :data:`READ_BLOCK_BYTES` read at full resolution.

        Whole blocks are read and strided in memory: HDF5's own strided selection is an order of magnitude slower.
        """
        with open_checked(self.info.path) as f:
            for block in read_blocks(f, key, self.n, self.info.path):
                yield self._convert(block)

    def read(self, index: Tensor) -> tuple[Tensor, Tensor]:
        """Inputs ``(k, C_in, *S)`` and solutions ``(k, C_out, *S_out)`` of the samples ``index`` ``(k,)``, in that order.

        Each distinct sample is read once, in increasing order (as HDF5 selects), then put in the order asked.
        """
        if index.dtype != torch.int64 or index.ndim != 1 or index.numel() == 0 or not 0 <= index.min() <= index.max() < self.n:
            raise ValueError(f"H5Stream.read: index must be a non-empty (k,) int64 tensor of samples in [0, {self.n}), "
                             f"got {index.dtype} of shape {tuple(index.shape)}")
        distinct, order = torch.unique(index.cpu(), return_inverse=True)  # sorted
        with open_checked(self.info.path) as f:
            return tuple(self._convert(read_samples(f, key, distinct.tolist(), self.info.path))[order] for key in ARRAYS)

    def _convert(self, samples: np.ndarray) -> Tensor:
        """Stored samples ``(k, C, *S)`` as a tensor subsampled to ``(k, C, *S / r)`` in the stream's dtype."""
        stride = (slice(None),) * 2 + (slice(None, None, self.factor),) * (samples.ndim - 2)  # (k, C, *S) -> (k, C, *S / r)
        x = torch.from_numpy(samples[stride])
        return x if self.dtype is None else x.to(self.dtype)


class H5Dataset(Dataset):
    """A sciml dataset file as ``(input, solution)`` pairs, optionally subsampled to a coarser grid.

    Coarse grids keep every ``r``-th point of the stored one on each space axis (``x[..., ::r, ::r]``),
    so they cover the same box: periodic ``n -> n / r``, nodal ``n -> (n - 1) / r + 1`` (421 -> 211,
    141, 85). The same factor applies to inputs and solutions. The selected samples are read into
    memory once, block by block, so that the full-resolution arrays are never held at once
    (:class:`H5Stream` reads them on demand instead).

    Parameters
    ----------
    path
        A complete dataset file (a ``.part`` file or one with ``complete=False`` is refused). Every
        sample read is checked against its checksum: a damaged one raises :class:`DatasetError`
        naming the file, the array and the samples.
    resolution
        Points per space axis of the input grid after subsampling; ``None`` keeps the stored one.
    factor
        Alternatively the subsampling factor ``r`` itself (needed for non-cubic grids).
    n
        Keep only the first ``n`` samples; ``None`` keeps all.
    dtype
        Convert to this dtype on load; ``None`` keeps the stored dtype.

    Attributes
    ----------
    inputs, solutions
        ``(n, C_in, *S)`` and ``(n, C_out, *S_out)`` on :attr:`input_grid` and :attr:`output_grid`.
    info
        The file's :class:`DatasetInfo` (problem, parameters, stored grids, seed, version).
    """

    def __init__(
        self,
        path: str | Path,
        resolution: int | None = None,
        *,
        factor: int | None = None,
        n: int | None = None,
        dtype: torch.dtype | None = None,
    ):
        stream = H5Stream(path, resolution, factor=factor, n=n, dtype=dtype)
        self.info, self.factor = stream.info, stream.factor
        self.input_grid, self.output_grid = stream.input_grid, stream.output_grid
        self.inputs = torch.cat(list(stream.blocks("inputs")))
        self.solutions = torch.cat(list(stream.blocks("solutions")))

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        return self.inputs[i], self.solutions[i]


def dataloader(
    dataset: Dataset,
    batch_size: int,
    *,
    shuffle: bool = False,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
) -> DataLoader:
    """A :class:`~torch.utils.data.DataLoader` of ``(inputs (B, C_in, *S), solutions (B, C_out, *S))`` batches.

    Shuffling draws its permutations from ``generator``, which is required with ``shuffle=True`` so
    that the batch order is reproducible.
    """
    if batch_size < 1:
        raise ValueError(f"dataloader: batch_size must be >= 1, got {batch_size}")
    if shuffle and generator is None:
        raise ValueError("dataloader: shuffle=True needs a seeded torch.Generator")
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator, drop_last=drop_last)
