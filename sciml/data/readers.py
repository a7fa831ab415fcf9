"""Reading the data users already have: FNO ``.mat``, PDEBench HDF5 and neuraloperator ``.pt`` files.

:func:`read_pairs` turns any of them into the ``(inputs, solutions)`` pairs of sciml's own datasets,
channels-first on a :class:`~sciml.spectral.Grid`, subsampled the same way. Each format's layout
and grid are documented in its module: :mod:`sciml.data.readers_mat`,
:mod:`sciml.data.readers_pdebench` and :mod:`sciml.data.readers_torch`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import Tensor

from sciml.data.dataset import READ_BLOCK_BYTES, subsample_factors
from sciml.data.readers_base import HDF5_ERRORS, Field, Layout, ReaderError, open_hdf5
from sciml.data.readers_mat import fno_layout, v5_variables, v73_variables
from sciml.data.readers_pdebench import pdebench_layout
from sciml.data.readers_torch import torch_layout
from sciml.spectral.grid import Grid

__all__ = ["PairedData", "ReaderError", "read_pairs"]

#: extensions :func:`read_pairs` knows, and what it expects behind them
EXTENSIONS = {
    ".mat": "FNO MATLAB",
    ".h5": "PDEBench",
    ".hdf5": "PDEBench",
    ".pt": "neuraloperator",
    ".pth": "neuraloperator",
}


@dataclass(frozen=True, eq=False)
class PairedData:
    """Input and solution fields read from a file of another library, channels-first like sciml's datasets.

    Attributes
    ----------
    inputs
        ``(n, C_in, *S)`` on :attr:`input_grid`.
    solutions
        ``(n, C_out, *S)`` on :attr:`output_grid`.
    input_grid, output_grid
        The grids after subsampling (the same grid in every supported format).
    format
        A short name of the layout found, e.g. ``"fno-coeff-sol"``, ``"pdebench-1d"``, ``"neuraloperator-pt"``.
    description
        One line for messages: the file, its arrays, what became inputs and solutions, the grid.
    """

    inputs: Tensor
    solutions: Tensor
    input_grid: Grid
    output_grid: Grid
    format: str
    description: str


def read_pairs(
    path: str | Path,
    resolution: int | None = None,
    n: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> PairedData:
    """Read an FNO ``.mat`` (v5/v7 or v7.3), PDEBench ``.h5``/``.hdf5`` or neuraloperator ``.pt`` file.

    The extension says which format is expected and the content must be that format. A sciml dataset
    is refused (read it with :class:`~sciml.data.H5Dataset`). From HDF5 files (MATLAB v7.3, PDEBench)
    only the first ``n`` samples are read, a block of samples at a time; SciPy and torch load v5
    ``.mat`` and ``.pt`` files whole.

    Parameters
    ----------
    path
        The file.
    resolution
        Points per axis of the subsampled grid; ``None`` keeps the stored one. Coarse grids keep every
        ``r``-th point (:meth:`Grid.subsample`, :func:`~sciml.data.subsample_factors`): periodic axes
        need ``n % r == 0``, nodal ones ``(n - 1) % r == 0``.
    n
        Keep the first ``n`` samples; ``None`` keeps all.
    dtype
        Floating-point dtype of the returned tensors (bool and integer fields are converted too).

    Returns
    -------
    PairedData
        ``inputs (n, C_in, *S)`` and ``solutions (n, C_out, *S)`` with their grids.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ReaderError
        A corrupt, truncated or wrongly laid-out file, an unknown extension or a sciml dataset.
    ValueError
        ``resolution`` unreachable by subsampling, ``n`` out of range or ``dtype`` not floating point.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if not dtype.is_floating_point:
        raise ValueError(f"read_pairs: dtype must be a floating-point torch dtype, got {dtype}")
    suffix = path.suffix.lower()
    if suffix not in EXTENSIONS:
        known = ", ".join(f"{ext} ({fmt})" for ext, fmt in EXTENSIONS.items())
        raise ReaderError(path, f"unknown extension {path.suffix!r}; expected one of {known}")
    if suffix in (".pt", ".pth"):
        return _assemble(path, torch_layout(path), resolution, n, dtype)
    if suffix == ".mat" and not _is_mat73(path):
        return _assemble(path, fno_layout(path, *v5_variables(path), "v5"), resolution, n, dtype)
    with open_hdf5(path) as f:
        try:
            layout = fno_layout(path, *v73_variables(path, f), "v7.3") if suffix == ".mat" else pdebench_layout(path, f)
        except ReaderError:
            raise
        except HDF5_ERRORS as err:
            raise ReaderError(path, f"damaged HDF5 file, its structure cannot be read ({err})") from err
        return _assemble(path, layout, resolution, n, dtype)


def _is_mat73(path: Path) -> bool:
    """MATLAB v7.3 (HDF5) or v5/v7: the text header says, else the HDF5 signature; neither is an error."""
    with open(path, "rb") as fh:
        header = fh.read(116)
    if header.startswith(b"MATLAB 7.3 MAT-file"):
        return True
    if header.startswith(b"MATLAB 5.0 MAT-file"):
        return False
    if h5py.is_hdf5(path):
        return True
    raise ReaderError(path, "not a MATLAB file (expected the header of a v5/v7 file or an HDF5 v7.3 file)")


def _assemble(path: Path, layout: Layout, resolution: int | None, n: int | None, dtype: torch.dtype) -> PairedData:
    """Check that the layout's fields pair up on its grid, then read, subsample and convert them."""
    inputs, solutions, grid = layout.inputs, layout.solutions, layout.grid
    pair = f"inputs {inputs.shape} from {inputs.name} and solutions {solutions.shape} from {solutions.name}"
    if inputs.shape[0] != solutions.shape[0]:
        raise ReaderError(path, f"{pair} have different sample counts (expected (N, C, *S) with one N)")
    if inputs.shape[2:] != grid.shape or solutions.shape[2:] != grid.shape:
        raise ReaderError(path, f"{pair} are on different grids (expected (N, C, *S) with one S)")
    available = inputs.shape[0]
    if 0 in (available, inputs.shape[1], solutions.shape[1]):
        raise ReaderError(path, f"{pair}: expected at least one sample and one channel each")
    if n is not None and not 1 <= n <= available:
        raise ValueError(f"read_pairs: n must be in [1, {available}] for {path}, got {n}")
    count = available if n is None else n
    factor = _factor(path, grid, resolution)
    coarse = grid.subsample(factor)
    x, y = (_read(path, field, count, factor, grid.dim, dtype) for field in (inputs, solutions))
    description = (f"{path}: {layout.description}; {count} samples, inputs {tuple(x.shape)}, solutions "
                   f"{tuple(y.shape)} on {coarse.describe()}")
    return PairedData(x, y, coarse, coarse, layout.format, description)


def _factor(path: Path, grid: Grid, resolution: int | None) -> int:
    """The subsampling factor that gives ``resolution`` points per axis."""
    if resolution is None:
        return 1
    reachable = {grid.subsample(r).shape: r for r in subsample_factors(grid)}
    if (resolution,) * grid.dim in reachable:
        return reachable[(resolution,) * grid.dim]
    shapes = ", ".join(str(s[0]) if len(set(s)) == 1 else "x".join(map(str, s)) for s in reachable)
    raise ValueError(f"read_pairs: resolution {resolution} is not reachable from {path} ({grid.describe()}) "
                     f"by subsampling; reachable resolutions: {shapes}")


def _read(path: Path, field: Field, count: int, factor: int, dim: int, dtype: torch.dtype) -> Tensor:
    """The first ``count`` samples of ``field``, subsampled by ``factor``: ``(count, C, *S / r)``.

    Blocks of about :data:`~sciml.data.dataset.READ_BLOCK_BYTES` (counting 8 bytes a value) are read
    and strided in turn, so that a coarse read of an HDF5 file never holds its full-resolution arrays
    (v5 ``.mat`` and ``.pt`` files are loaded whole by SciPy and torch).
    """
    stride = (slice(None),) * 2 + (slice(None, None, factor),) * dim  # (k, C, *S) -> (k, C, *S / r)
    block = max(1, READ_BLOCK_BYTES // (8 * math.prod(field.shape[1:])))
    parts = []
    for start in range(0, count, block):
        try:
            part = field.read(start, min(start + block, count))
        except HDF5_ERRORS as err:  # h5py's report of an array whose bytes are missing or damaged
            raise ReaderError(path, f"cannot read {field.name}, truncated or corrupt ({err})") from err
        part = part[stride]
        if not isinstance(part, Tensor):  # torch takes native byte order only (v5 files may be big-endian)
            part = torch.from_numpy(np.ascontiguousarray(part, dtype=part.dtype.newbyteorder("=")))
        parts.append(part.to(dtype))
    return torch.cat(parts)
