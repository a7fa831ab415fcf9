"""Train an FNO on Darcy flow at one resolution and evaluate it zero-shot at a finer one.

    python examples/train_fno_darcy_tiny.py

Coefficients and reference solutions are generated once on the finer nodal grid and subsampled
for training (one generation serves both resolutions). Darcy flow has walls (``u = 0`` on the
boundary), so the FNO pads a fraction of its domain: the padded box is the same at both
resolutions. ``SCIML_EXAMPLE_TINY=1`` shrinks the run to a few seconds.
"""

import os

import torch

from sciml.problems import Darcy
from sciml.data import UnitGaussianNormalizer
from sciml.models import FNO, FNOOptions

TINY = os.environ.get("SCIML_EXAMPLE_TINY") == "1"


def relative_l2(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ``||p - t|| / ||t||`` on the grid, fields ``(B, C, *S)``."""
    return ((prediction - target).flatten(1).norm(dim=1) / target.flatten(1).norm(dim=1)).mean()


def main() -> None:
    n_train, n_test, fine, steps, width, modes = (16, 4, 33, 30, 16, 6) if TINY else (512, 64, 129, 2000, 32, 12)
    generator = torch.Generator().manual_seed(0)
    problem = Darcy()
    fine_grid = problem.grid(fine)
    coarse_grid = fine_grid.subsample(2)
    a = problem.sample_inputs(n_train + n_test, fine_grid, generator)
    u = problem.solve(a, fine_grid)
    a, u = a.float(), u.float()

    train_a, train_u = a[:n_train, :, ::2, ::2], u[:n_train, :, ::2, ::2]  # (B, 1, *coarse)
    encode_a, encode_u = UnitGaussianNormalizer.fit(train_a), UnitGaussianNormalizer.fit(train_u)
    model = FNO(1, 1, (modes, modes), width, options=FNOOptions(domain_padding=0.125), generator=generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    batch = min(16, n_train)
    x, y = encode_a.encode(train_a), encode_u.encode(train_u)
    for step in range(steps):
        index = torch.randint(0, n_train, (batch,), generator=generator)
        loss = relative_l2(model(x[index]), y[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % max(1, steps // 5) == 0 or step == steps - 1:
            print(f"step {step:5d}  train relative L2 {loss.item():.4f}")

    model.eval()
    with torch.no_grad():
        test_a, test_u = a[n_train:], u[n_train:]
        for name, stride, grid in (("train resolution", 2, coarse_grid), ("zero-shot fine", 1, fine_grid)):
            prediction = encode_u.decode(model(encode_a.encode(test_a[..., ::stride, ::stride])))
            error = relative_l2(prediction, test_u[..., ::stride, ::stride])
            print(f"test relative L2 at {grid.shape[0]}x{grid.shape[1]} ({name}): {error.item():.4f}")


if __name__ == "__main__":
    main()
