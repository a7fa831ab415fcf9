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
    """The first ``count`` samples of ``f[key]`` in blocks of about :data:`READ_BLOCK_BYTES`, each sample checked.

    HDF5 checks each sample's Fletcher-32 (one chunk per sample) as it reads it; then each sample's
    CRC-32 must match ``checksums`` (:func:`~sciml.data.format.sample_checksum`; files of format
    version 1 have neither). A block that fails is reread sample by sample to name the damaged ones
    in the :class:`DatasetError`.
    """
    dset = f[key]
    stored = f["checksums"][:count, ARRAYS.index(key)] if "checksums" in f else None
    block = max(1, READ_BLOCK_BYTES // (dset.dtype.itemsize * math.prod(dset.shape[1:])))
    for start in range(0, count, block):
        stop = min(start + block, count)
        try:
            samples = dset[start:stop]
        except HDF5_ERRORS:
            samples = None
        bad = [i for i in range(start, stop) if not _intact(dset, i, samples, start, stored)]
        if bad:
            raise DatasetError(f"{path}: {key} of {_samples(bad)} fail their checksum or cannot be read (the file is "
                               "damaged); regenerate it")
        yield samples


def _intact(dset: h5py.Dataset, i: int, block: np.ndarray | None, start: int, stored: np.ndarray | None) -> bool:
    """Whether sample ``i`` reads (from ``block`` when that could be read) and matches its stored CRC-32."""
    try:
        sample = dset[i] if block is None else block[i - start]
    except HDF5_ERRORS:
        return False
    return stored is None or sample_checksum(i, sample) == stored[i]


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


class H5Dataset(Dataset):
    """A sciml dataset file as ``(input, solution)`` pairs, optionally subsampled to a coarser grid.

    Coarse grids keep every ``r``-th point of the stored one on each space axis (``x[..., ::r, ::r]``),
    so they cover the same box: periodic ``n -> n / r``, nodal ``n -> (n - 1) / r + 1`` (421 -> 211,
    141, 85). The same factor applies to inputs and solutions. The selected samples are read into
    memory once, block by block, so that the full-resolution arrays are never held at once.

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
        info = read_info(path)
        if not info.complete:
            raise DatasetError(
                f"{info.path} is incomplete ({info.samples_done}/{info.n} samples); rerun its generation to finish it"
            )
        if n is not None and not 1 <= n <= info.n:
            raise ValueError(f"H5Dataset: n must be in [1, {info.n}] for {info.path}, got {n}")
        self.info = info
        self.factor = _factor_for(info, resolution, factor)
        self.input_grid = info.input_grid.subsample(self.factor)
        self.output_grid = info.output_grid.subsample(self.factor)
        count = info.n if n is None else n
        with open_checked(info.path) as f:
            self.inputs = self._read(f, "inputs", count, info.input_grid.dim, dtype)
            self.solutions = self._read(f, "solutions", count, info.output_grid.dim, dtype)

    def _read(self, f: h5py.File, key: str, count: int, dim: int, dtype: torch.dtype | None) -> Tensor:
        """The first ``count`` samples of ``f[key]`` ``(n, C, *S)``, subsampled: ``(count, C, *S / r)``.

        Whole blocks of samples (:data:`READ_BLOCK_BYTES`) are read and strided in memory: HDF5's own strided
        selection is an order of magnitude slower.
        """
        stride = (slice(None),) * 2 + (slice(None, None, self.factor),) * dim  # (B, C, *S) -> (B, C, *S / r)
        x = torch.cat([torch.from_numpy(block[stride]) for block in read_blocks(f, key, count, self.info.path)])
        return x if dtype is None else x.to(dtype)

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
