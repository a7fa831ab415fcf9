"""The sciml dataset file: one HDF5 file per split, its attributes, and reading them back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py

from sciml.spectral.grid import Grid

#: value of the ``format`` attribute that marks a file as a sciml dataset
FORMAT = "sciml.dataset"
#: bumped when the layout or the seeding rule changes; readers refuse other versions
FORMAT_VERSION = 1
#: how sample ``i`` is seeded; stored in every file so that the rule travels with the data
SEEDING = "sample i: torch.Generator().manual_seed(numpy.random.SeedSequence([seed, i]).generate_state(1, uint64)[0])"
#: storage dtypes a dataset may use
DTYPES = ("float32", "float64")


class DatasetError(ValueError):
    """A file that is not a sciml dataset, is incomplete, or does not match what was asked of it."""


def part_path(path: str | Path) -> Path:
    """Where a generation writes until it completes: ``path`` with ``.part`` appended."""
    path = Path(path)
    return path.with_name(path.name + ".part")


def grid_to_json(grid: Grid) -> str:
    return json.dumps({"shape": list(grid.shape), "lengths": list(grid.lengths), "periodic": grid.periodic})


def grid_from_json(text: str) -> Grid:
    d = json.loads(text)
    return Grid(tuple(d["shape"]), tuple(d["lengths"]), bool(d["periodic"]))


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset file holds, read from its attributes (no array is loaded).

    ``input_shape`` and ``solution_shape`` are ``(n, C, *S)``; they are ``None`` in a partial file
    whose first chunk has not been written yet.
    """

    path: Path
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


def read_info(path: str | Path) -> DatasetInfo:
    """Read a dataset's metadata; raise :class:`DatasetError` if ``path`` is not a sciml dataset.

    The file is opened without HDF5 file locking, so that a partial file can be inspected while a
    generation is writing it (it then shows the progress as of the last flushed chunk).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        f = h5py.File(path, "r", locking=False)
    except OSError as err:
        raise DatasetError(f"{path} is not a sciml dataset (not a readable HDF5 file: {err})") from None
    with f:
        attrs = f.attrs
        if attrs.get("format") != FORMAT:
            raise DatasetError(f"{path} is not a sciml dataset (no format={FORMAT!r} attribute)")
        if attrs.get("format_version") != FORMAT_VERSION:
            raise DatasetError(
                f"{path}: dataset format version {attrs.get('format_version')} is not supported (expected {FORMAT_VERSION})"
            )
        missing = [key for key in _REQUIRED if key not in attrs]
        if missing:
            raise DatasetError(f"{path}: sciml dataset lacks attributes {missing}")
        shapes = {key: tuple(f[key].shape) if key in f else None for key in ("inputs", "solutions")}
        return DatasetInfo(
            path=path,
            problem=str(attrs["problem"]),
            params=json.loads(attrs["params"]),
            input_grid=grid_from_json(attrs["input_grid"]),
            output_grid=grid_from_json(attrs["output_grid"]),
            seed=int(attrs["seed"]),
            n=int(attrs["n"]),
            chunk=int(attrs["chunk"]),
            dtype=str(attrs["dtype"]),
            sciml_version=str(attrs["sciml_version"]),
            samples_done=int(attrs["samples_done"]),
            complete=bool(attrs["complete"]),
            input_shape=shapes["inputs"],
            solution_shape=shapes["solutions"],
        )
