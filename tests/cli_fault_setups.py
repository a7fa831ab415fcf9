"""What a row of tests/test_cli_faults.py finds in its folder before the command: datasets (finished, damaged, partial),
junk files, run configurations and trained runs. Each takes the row's folder."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path

import h5py

from sciml.cli import main
from sciml.data import DatasetWriter, generate_dataset, part_path
from sciml.registry import PROBLEMS

def finished(folder: Path, name: str = "d.h5") -> Path:
    return generate_dataset(PROBLEMS["poisson"](), folder / name, n=3, resolution=9, seed=0)


def damaged_sample(folder: Path) -> None:
    damage(finished(folder))


def damage(path: Path) -> None:
    """Overwrite part of sample 1's solution in the dataset ``path``."""
    with h5py.File(path, "r") as f:
        offset = f["solutions"].id.get_chunk_info(1).byte_offset
    with open(path, "r+b") as f:  # 64 bytes overwritten inside sample 1's solution
        f.seek(offset + 16)
        f.write(b"\x00" * 64)


def damaged_metadata(folder: Path) -> None:
    path = finished(folder)
    data = bytearray(path.read_bytes())
    data[data.index(b'"grf_alpha": 2.0') + 14] ^= 0x01  # 2.0 -> 3.0 in the params attribute
    path.write_bytes(bytes(data))


def attribute(key: str, value: object) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        with h5py.File(finished(folder), "r+") as f:
            f.attrs[key] = value

    return setup


def files(folder: Path) -> None:
    (folder / "junk.h5").write_text("not a dataset")
    (folder / "existing.h5").write_text("")
    with h5py.File(folder / "bare.h5", "w") as f:
        f["inputs"] = [0.0, 1.0]


def part_without_attributes(folder: Path) -> None:
    h5py.File(part_path(folder / "x.h5"), "w").close()


def junk_part(folder: Path) -> None:
    part_path(folder / "x.h5").write_bytes(b"\0" * 100)


def part_of_seed_1(folder: Path) -> None:
    def stop(k: int) -> None:
        if k:
            raise KeyboardInterrupt

    with contextlib.suppress(KeyboardInterrupt):
        DatasetWriter(PROBLEMS["poisson"](), folder / "x.h5", n=6, resolution=9, seed=1, chunk=2).run(stop)


RUN_CONFIG = """
[data]
train = "{train}"
test = "{test}"
[model]
name = "fno"
modes = [2, 2]
width = 4
n_layers = 1
[train]
epochs = 1
batch_size = 2
"""


def run_config(folder: Path, train: str = "d.h5", test: str = "d.h5") -> Path:
    """``run.toml``: a tiny FNO trained on the dataset ``train`` of the folder, tested on ``test``."""
    path = folder / "run.toml"
    path.write_text(RUN_CONFIG.format(train=folder / train, test=folder / test))
    return path


def config_and_data(folder: Path) -> None:
    finished(folder)
    run_config(folder)


def config_and_damaged_data(folder: Path) -> None:
    damaged_sample(folder)
    run_config(folder)


def damaged_training_data(folder: Path) -> None:
    damaged_sample(folder)
    finished(folder, "test.h5")
    run_config(folder, test="test.h5")


def trained(folder: Path) -> Path:
    """A finished run ``run/`` of ``run.toml`` on ``d.h5``; returns the run directory."""
    config_and_data(folder)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["train", str(folder / "run.toml"), "--out", str(folder / "run"), "--quiet"]) == 0
    return folder / "run"


def trained_and(damage: Callable[[Path], object]) -> Callable[[Path], None]:
    """A trained run, then ``damage(folder)``."""

    def setup(folder: Path) -> None:
        trained(folder)
        damage(folder)

    return setup
