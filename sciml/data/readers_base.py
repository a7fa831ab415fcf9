"""What the readers of external formats share: their error, the layout they find in a file, HDF5 opening."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from torch import Tensor

from sciml.data.format import FORMAT as SCIML_FORMAT
from sciml.spectral.grid import Grid


#: what h5py raises for a damaged file, depending on which structure is hit (found by flipping bytes of files)
HDF5_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError)


class ReaderError(ValueError):
    """A file that is corrupt, truncated or not laid out as its format requires.

    The message is one line: the file, then what was expected and what was found.
    """

    def __init__(self, path: str | Path, message: str):
        self.path, self.message = Path(path), message
        super().__init__(" ".join(f"{path}: {message}".split()))

    def __reduce__(self):  # pickle (e.g. from a DataLoader worker) by the two arguments, not the joined message
        return type(self), (self.path, self.message)


@dataclass(frozen=True)
class Field:
    """One array of a file as the reader presents it, ``(N, C, *S)``, read lazily.

    Attributes
    ----------
    name
        The array as the file names it, e.g. ``"u[..., 1:]"``, for messages.
    shape
        ``(N, C, *S)``: all samples, channels first.
    read
        ``read(start, stop)``: samples ``start:stop``, an array ``(stop - start, C, *S)`` (NumPy or torch),
        so that large files are read a block of samples at a time and only as far as needed.
    """

    name: str
    shape: tuple[int, ...]
    read: Callable[[int, int], np.ndarray | Tensor]


@dataclass(frozen=True)
class Layout:
    """What a reader found in a file before reading its arrays: two fields on one grid."""

    inputs: Field
    solutions: Field
    grid: Grid
    format: str
    description: str


def make_grid(path: Path, shape: tuple[int, ...], lengths: tuple[float, ...], periodic: bool) -> Grid:
    """The :class:`Grid` of a file's spatial ``shape``, or a :class:`ReaderError` if it cannot be one."""
    if len(shape) == 0 or min(shape) < 2:
        raise ReaderError(path, f"spatial shape {shape} is not a grid (expected at least 2 points on 1 or more axes)")
    return Grid(shape, lengths, periodic)


def check_numeric(path: Path, name: str, dtype: np.dtype) -> None:
    """Refuse arrays that are not bool, integer or real floating point of at most 64 bits (text, cells, complex)."""
    if dtype.kind not in "biuf" or dtype.itemsize > 8:
        raise ReaderError(path, f"{name} holds {dtype} values; expected a real numeric array of at most 64 bits")


@contextmanager
def open_hdf5(path: Path) -> Iterator[h5py.File]:
    """An HDF5 file open for reading; a sciml dataset, or a file HDF5 cannot open, is a :class:`ReaderError`."""
    try:
        f = h5py.File(path, "r")
    except HDF5_ERRORS as err:
        raise ReaderError(path, f"not a readable HDF5 file, truncated or corrupt ({err})") from err
    with f:
        try:
            kind = f.attrs.get("format")
        except HDF5_ERRORS as err:
            raise ReaderError(path, f"damaged HDF5 file, its attributes cannot be read ({err})") from err
        if kind == SCIML_FORMAT:
            raise ReaderError(path, f"is a sciml dataset (format={SCIML_FORMAT!r}); read it with sciml.data.H5Dataset")
        yield f
