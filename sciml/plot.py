"""Figures a person would rather look at than read: loss curves, fields and their errors, error against resolution.

Every function writes a PNG and returns its path; matplotlib runs on its non-interactive Agg backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import torch  # noqa: E402
from torch import Tensor  # noqa: E402

__all__ = ["error_vs_resolution", "fields", "loss_curves"]


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def loss_curves(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Training terms and test errors (every column but epoch, step, time and lr) against the epoch, log scale."""
    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = [row["epoch"] for row in rows]
    for key in rows[0]:
        if key in ("epoch", "step", "time", "lr"):
            continue
        values = [row[key] for row in rows]
        if all(v > 0 for v in values):
            ax.plot(epochs, values, marker="o" if len(rows) < 30 else None, label=key)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return _save(fig, path)


def fields(a: Tensor, truth: Tensor, prediction: Tensor, path: str | Path, title: str = "") -> Path:
    """Rows of samples, columns input / truth / prediction / error; 1-D fields as curves, 2-D as images.

    ``a``, ``truth``, ``prediction``: ``(B, C, *S)`` with ``S`` of one or two axes; the first channel is shown
    (for trajectories stored as frames: the first input frame and the last output frame).
    """
    a, truth, prediction = (x.detach().float().cpu() for x in (a, truth, prediction))
    rows = truth.shape[0]
    fig, axes = plt.subplots(rows, 4, figsize=(13, 2.6 * rows), squeeze=False)
    for i in range(rows):
        error = prediction[i, -1] - truth[i, -1]
        low = min(truth[i, -1].min().item(), prediction[i, -1].min().item())
        high = max(truth[i, -1].max().item(), prediction[i, -1].max().item())
        bound = error.abs().max().item()
        # truth and prediction share one colour scale; the error's is symmetric about zero
        panels = ((a[i, 0], "viridis", None, None), (truth[i, -1], "viridis", low, high),
                  (prediction[i, -1], "viridis", low, high), (error, "RdBu_r", -bound, bound))
        for ax, (field, cmap, vmin, vmax), name in zip(axes[i], panels, ("input", "truth", "prediction", "error")):
            if field.ndim == 1:
                ax.plot(torch.linspace(0, 1, field.numel()).numpy(), field.numpy())
                if vmin is not None:
                    ax.set_ylim(vmin, vmax)
            else:
                image = ax.imshow(field.T.numpy(), origin="lower", extent=(0, 1, 0, 1), cmap=cmap, vmin=vmin, vmax=vmax)
                fig.colorbar(image, ax=ax, fraction=0.046)
                ax.set_xticks([])
                ax.set_yticks([])
            ax.set_title(name if i == 0 else "")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def error_vs_resolution(resolutions: Sequence[int], errors: Sequence[float], path: str | Path, trained_at: int | None = None) -> Path:
    """Relative L2 error against grid resolution (zero-shot super-resolution), marking the training resolution."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(resolutions, errors, marker="o")
    if trained_at is not None:
        ax.axvline(trained_at, color="gray", linestyle="--", label=f"trained at {trained_at}")
        ax.legend()
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("points per axis")
    ax.set_ylabel("relative L2 error")
    ax.grid(True, which="both", alpha=0.3)
    return _save(fig, path)
