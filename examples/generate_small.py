"""Generate a small Burgers dataset with sciml's public API and read it back at a lower resolution.

    python examples/generate_small.py

The file is written atomically (``burgers.h5.part`` until the last sample is in) into a temporary
directory; the same call resumes an interrupted run. ``SCIML_EXAMPLE_TINY=1`` shrinks the run to
a few seconds (the test suite runs every example that way).
"""

import os
import tempfile
from pathlib import Path

import torch

from sciml.problems import Burgers
from sciml.data import H5Dataset, UnitGaussianNormalizer, dataloader, generate_dataset, read_info

TINY = os.environ.get("SCIML_EXAMPLE_TINY") == "1"


def main() -> None:
    if TINY:
        problem, n, resolution, coarse = Burgers(final_time=0.05, min_solve_points=128), 4, 64, 16
    else:
        problem, n, resolution, coarse = Burgers(), 16, 1024, 256
    with tempfile.TemporaryDirectory() as tmp:
        path = generate_dataset(problem, Path(tmp) / "burgers.h5", n=n, resolution=resolution, seed=0)
        info = read_info(path)
        print(f"generated {info.n} {info.problem} samples on {info.input_grid.describe()}: "
              f"inputs {info.input_shape}, solutions {info.solution_shape}")

        # one generation serves every coarser grid: keep every (resolution / coarse)-th point
        train = H5Dataset(path, resolution=coarse)
        print(f"loaded at {train.input_grid.describe()} (factor {train.factor}): "
              f"inputs {tuple(train.inputs.shape)}, solutions {tuple(train.solutions.shape)}")

        # per-channel statistics from the training split, applied batch by batch
        encode_in = UnitGaussianNormalizer.fit(train.inputs)
        encode_out = UnitGaussianNormalizer.fit(train.solutions)
        loader = dataloader(train, batch_size=max(1, n // 4), shuffle=True, generator=torch.Generator().manual_seed(0))
        a, u = next(iter(loader))
        x, y = encode_in.encode(a), encode_out.encode(u)
        print(f"first batch: inputs {tuple(x.shape)}, normalized input mean {x.mean():+.3f}, std {x.std():.3f}; "
              f"solution range [{u.min():.3f}, {u.max():.3f}] -> [{y.min():.2f}, {y.max():.2f}]")


if __name__ == "__main__":
    main()
