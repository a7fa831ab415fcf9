"""The sciml dataset file: one HDF5 file per split, its attributes, and reading them back."""

from __future__ import annotations

import json
import math
import os
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from sciml.spectral.grid import Grid

#: value of the ``format`` attribute that marks a file as a sciml dataset
FORMAT = "sciml.dataset"
#: bumped when the layout or the seeding rule changes; 2 added the checksums (see :data:`LIBVER`)
FORMAT_VERSION = 2
#: versions this code reads (version 1 is version 2 without checksums)
READABLE_VERSIONS = (1, 2)
#: HDF5 file-format bounds of written files. 1.8's format checksums the superblock and the object
#: headers, which hold the attributes (strings fixed-length, see :func:`to_attribute`); each sample
#: has HDF5's Fletcher-32 and its own CRC-32 bound to its index (:func:`sample_checksum`), which
#: catches what the 1.8 chunk index, without a checksum, could otherwise misplace. 1.10's format
#: checksums the chunk index too, but it flags a file open for writing and refuses to open it again
#: after a crash (a killed generation could not resume) or while a generation is running.
LIBVER = ("v108", "latest")
#: the arrays of a dataset file and their columns in ``checksums``
ARRAYS = ("inputs", "solutions")
#: how sample ``i`` is seeded; stored in every file so that the rule travels with the data
SEEDING = "sample i: torch.Generator().manual_seed(numpy.random.SeedSequence([seed, i]).generate_state(1, uint64)[0])"
#: storage dtypes a dataset may use
DTYPES = ("float32", "float64")


class DatasetError(ValueError):
    """A file that is not a sciml dataset, is incomplete or corrupt, or does not match what was asked of it."""


class StorageError(OSError):
    """A dataset cannot be written: no space left, a file-size limit, an I/O error (``errno`` says which).

    Its message is one line that says what happened and what is kept.
    """

    def __str__(self) -> str:
        return str(self.strerror)

    @classmethod
    def of(cls, err: BaseException, what: str, then: str = "") -> "StorageError":
        """``"{what}: {the reason}{then}"`` for an ``OSError``, or HDF5's ``RuntimeError`` whose message holds ``errno = N``."""
        code = getattr(err, "errno", None)
        if code is None:
            match = re.search(r"errno = (\d+)", str(err))
            code = int(match.group(1)) if match else None
        return cls(code, f"{what}: {os.strerror(code) if code else one_line(err)}{then}")


def size_text(nbytes: int) -> str:
    """``"8.4 MB"``, ``"160.0 GB"``: decimal units, as ``df -H`` shows them."""
    exponent = min(int(math.log10(max(nbytes, 1))) // 3, 5)
    return f"{nbytes / 1000**exponent:.1f} {('B', 'kB', 'MB', 'GB', 'TB', 'PB')[exponent]}"


def sample_generator(seed: int, index: int) -> torch.Generator:
    """The generator that draws the input of sample ``index`` of a dataset generated with ``seed``.

    Its seed is the first 64-bit word of ``numpy.random.SeedSequence([seed, index])``: well mixed,
    stable across Python, NumPy and torch versions, and a function of ``(seed, index)`` alone, so
    sample ``i`` is the same whatever the chunk size and wherever a generation was interrupted.
    """
    if seed < 0 or index < 0:
        raise ValueError(f"sample_generator: seed and index must be >= 0, got seed={seed}, index={index}")
    state = np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def sample_checksum(index: int, sample: np.ndarray) -> int:
    """The CRC-32 of sample ``index``'s values (one array of one sample), seeded with the index.

    Stored in the ``checksums`` array, ``(n, 2)`` uint32 (inputs, solutions), and compared on every
    read: a damaged sample, or an intact one read at another index, does not match.
    """
    return zlib.crc32(np.ascontiguousarray(sample).data, zlib.crc32(index.to_bytes(8, "little")))


def part_path(path: str | Path) -> Path:
    """Where a generation writes until it completes: ``path`` with ``.part`` appended."""
    path = Path(path)
    return path.with_name(path.name + ".part")


def grid_to_json(grid: Grid) -> str:
    return json.dumps({"shape": list(grid.shape), "lengths": list(grid.lengths), "periodic": grid.periodic})


def _grid_from_json(text: str) -> Grid:
    d = json.loads(text)
    missing = {"shape", "lengths", "periodic"} - set(d if isinstance(d, dict) else ())
    if missing:
        raise ValueError(f"a grid needs the keys shape, lengths and periodic; missing {sorted(missing)}")
    shape, lengths, periodic = d["shape"], d["lengths"], d["periodic"]
    if not (isinstance(shape, list) and all(type(n) is int for n in shape) and isinstance(lengths, list)
            and all(isinstance(x, (int, float)) for x in lengths) and isinstance(periodic, bool)):
        raise ValueError(f"expected integer shape, number lengths and a bool periodic, got {d}")
    return Grid(tuple(shape), tuple(lengths), periodic)


def _params_from_json(text: str) -> dict[str, Any]:
    params = json.loads(text)
    if not isinstance(params, dict):
        raise ValueError(f"expected a JSON object, got {type(params).__name__}")
    return params


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset file holds, read from its attributes (no array is loaded).

    ``input_shape`` and ``solution_shape`` are ``(n, C, *S)``; they are ``None`` in a partial file
    whose first chunk has not been written yet. Files of ``format_version`` 1 have no checksums.
    """

    path: Path
    format_version: int
    problem: str
    params: dict[str, Any]
    input_grid: Grid
    output_grid: Grid
    seed: int
    n: int
    chunk: int
    dtype: str
    sciml_version: str
    samples_done: int
    complete: bool
    input_shape: tuple[int, ...] | None
    solution_shape: tuple[int, ...] | None


_REQUIRED = ("problem", "params", "input_grid", "output_grid", "seed", "n", "chunk", "dtype", "sciml_version",
             "samples_done", "complete")
#: HDF5's errors for a damaged file: a failed checksum, a truncated or garbled block
HDF5_ERRORS = (OSError, RuntimeError, KeyError, ValueError)


def read_info(path: str | Path) -> DatasetInfo:
    """Read a dataset's metadata; raise :class:`DatasetError` if ``path`` is not a readable sciml dataset.

    Every attribute is parsed and checked here, so a damaged or foreign file is refused with the name
    of the attribute at fault. The file is opened without HDF5 file locking, so that a partial file
    can be inspected while a generation is writing it (it then shows the progress as of the last
    flushed chunk).
    """
    path = Path(path)
    if path.is_dir():
        raise DatasetError(f"{path} is a directory, not a dataset file")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        f = h5py.File(path, "r", locking=False)
    except OSError as err:
        raise DatasetError(f"{path} is not a readable HDF5 file ({one_line(err)}): not a sciml dataset, or a damaged one") from None
    try:
        with f:
            return _read_info(path, f)
    except DatasetError:
        raise
    except HDF5_ERRORS as err:
        raise DatasetError(f"{path} is damaged (HDF5 cannot read its metadata: {one_line(err)})") from None


def to_attribute(value: Any) -> Any:
    """``value`` as written into a file: a string as fixed-length UTF-8.

    A fixed-length string lives in the attribute itself, inside the checksummed object header;
    h5py's default variable-length string lives in HDF5's global heap, which has no checksum (a
    flipped bit there was read back silently, or hung the reader).
    """
    return np.bytes_(value.encode()) if isinstance(value, str) else value


def stored_attributes(f: h5py.File) -> dict[str, Any]:
    """The file's root attributes as the plain Python values that were written (``str``, ``int``, ``bool``, ...)."""
    plain = {}
    for key, value in f.attrs.items():
        if isinstance(value, bytes):
            value = value.decode()
        plain[key] = value.item() if isinstance(value, np.generic) else value
    return plain


def _read_info(path: Path, f: h5py.File) -> DatasetInfo:
    attrs = stored_attributes(f)
    if attrs.get("format") != FORMAT:
        raise DatasetError(f"{path} is not a sciml dataset (no format={FORMAT!r} attribute)")
    version = attrs.get("format_version")
    if type(version) is not int or version not in READABLE_VERSIONS:
        raise DatasetError(f"{path}: dataset format version {version!r} is not supported "
                           f"(this sciml reads {', '.join(map(str, READABLE_VERSIONS))})")
    missing = [key for key in _REQUIRED if key not in attrs]
    if missing:
        raise DatasetError(f"{path}: sciml dataset lacks attributes {missing}")

    def parse(key: str, convert: Callable[[Any], Any]) -> Any:
        try:
            return convert(attrs[key])
        except (TypeError, ValueError) as err:
            raise DatasetError(f"{path}: attribute {key!r} = {attrs[key]!r} is malformed ({one_line(err)})") from None

    shapes = {}
    for key in (*ARRAYS, "checksums"):
        if key in f and not isinstance(f[key], h5py.Dataset):
            raise DatasetError(f"{path}: {key!r} is not an HDF5 dataset")
        shapes[key] = tuple(f[key].shape) if key in f else None
    if version >= 2 and shapes["inputs"] is not None and shapes["checksums"] != (attrs["n"], len(ARRAYS)):
        raise DatasetError(f"{path}: the checksums array is {shapes['checksums']}, expected ({attrs['n']}, {len(ARRAYS)})")
    text, integer, boolean = _of_type(str), _of_type(int), _of_type(bool)
    info = DatasetInfo(
        path=path,
        format_version=version,
        problem=parse("problem", text),
        params=parse("params", _params_from_json),
        input_grid=parse("input_grid", _grid_from_json),
        output_grid=parse("output_grid", _grid_from_json),
        seed=parse("seed", integer),
        n=parse("n", integer),
        chunk=parse("chunk", integer),
        dtype=parse("dtype", text),
        sciml_version=parse("sciml_version", text),
        samples_done=parse("samples_done", integer),
        complete=parse("complete", boolean),
        input_shape=shapes["inputs"],
        solution_shape=shapes["solutions"],
    )
    lengths = {shapes[key][0] for key in ARRAYS if shapes[key] is not None}
    if info.dtype not in DTYPES:
        raise DatasetError(f"{path}: attribute 'dtype' = {info.dtype!r} is not one of {DTYPES}")
    if not 0 <= info.samples_done <= info.n or info.n < 1 or (info.complete and info.samples_done != info.n) or lengths - {info.n}:
        raise DatasetError(f"{path}: inconsistent attributes: samples_done={info.samples_done}, n={info.n}, "
                           f"complete={info.complete}, arrays of {sorted(lengths)} samples")
    return info


def _of_type(kind: type) -> Callable[[Any], Any]:
    """A converter that accepts exactly ``kind`` (a ``bool`` is not an ``int`` here)."""

    def check(value: Any) -> Any:
        if type(value) is not kind:
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    return check


def one_line(err: BaseException) -> str:
    """An exception's message on one line (HDF5's span several)."""
    return " ".join(str(err).split())
