"""A run directory: the resolved configuration, ``metrics.csv``, TensorBoard events, plots and the checkpoint.

::

    RUN_DIR/
      config.toml       the resolved configuration (a run is rebuilt from it, never from pickled code)
      metrics.csv       one row per evaluation: epoch, step, time, each loss term, test errors, lr
      checkpoint.pt     state dicts: model, optimizer, scheduler, normalizers, RNG states, progress
      events.*          TensorBoard scalars, when the ``tensorboard`` package is installed
      plots/loss.png    loss curves
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path
from typing import Any

import tomli_w

from sciml.train.checkpoint import load_checkpoint, save_checkpoint

__all__ = ["RunDirectory"]

CONFIG, METRICS, CHECKPOINT = "config.toml", "metrics.csv", "checkpoint.pt"


class RunDirectory:
    """The files of one run under ``path`` (created when missing).

    Parameters
    ----------
    path
        The run directory.
    resume_step
        When resuming: the step of the checkpoint. Metrics rows written after it (by the interrupted
        run, after its last checkpoint) are dropped, so the resumed run writes them again once.
    """

    def __init__(self, path: str | Path, resume_step: int | None = None):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.rows: list[dict[str, Any]] = []
        if resume_step is not None and (self.path / METRICS).exists():
            with open(self.path / METRICS, newline="") as f:
                self.rows = [self._parse(row) for row in csv.DictReader(f) if int(row["step"]) <= resume_step]
            self._rewrite()
        self._events = None
        if importlib.util.find_spec("tensorboard") is not None:
            from torch.utils.tensorboard import SummaryWriter

            self._events = SummaryWriter(str(self.path), purge_step=resume_step)

    @property
    def checkpoint_path(self) -> Path:
        return self.path / CHECKPOINT

    def write_config(self, config: dict[str, Any]) -> None:
        """The resolved configuration, as TOML."""
        (self.path / CONFIG).write_text(tomli_w.dumps(config))

    def read_config(self) -> str:
        return (self.path / CONFIG).read_text()

    def log(self, row: dict[str, Any]) -> None:
        """Append a metrics row (to the CSV, TensorBoard and the loss plot)."""
        if self.rows and list(row) != list(self.rows[0]):
            raise ValueError(f"RunDirectory.log: row keys {list(row)} differ from the run's columns {list(self.rows[0])}")
        self.rows.append(dict(row))
        new = not (self.path / METRICS).exists()
        with open(self.path / METRICS, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)
        if self._events is not None:
            for key, value in row.items():
                if key not in ("epoch", "step"):
                    self._events.add_scalar(key, value, row["step"])
            self._events.flush()
        from sciml.plot import loss_curves  # matplotlib is loaded only by runs that log

        loss_curves(self.rows, self.path / "plots" / "loss.png")

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        save_checkpoint(self.checkpoint_path, state)

    def load_checkpoint(self, map_location="cpu") -> dict[str, Any]:
        return load_checkpoint(self.checkpoint_path, map_location)

    def _rewrite(self) -> None:
        if not self.rows:
            (self.path / METRICS).unlink()
            return
        with open(self.path / METRICS, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(self.rows[0]))
            writer.writeheader()
            writer.writerows(self.rows)

    @staticmethod
    def _parse(row: dict[str, str]) -> dict[str, Any]:
        return {key: int(value) if key in ("epoch", "step") else float(value) for key, value in row.items()}
