"""Training: the loop, its batches, checkpoints, run directories and distributed data parallel.

Library code passes objects: :func:`fit` takes a model, a :mod:`sciml.optim` optimizer over named
loss terms and an objective; the ``sciml train`` command builds them from a configuration.
"""

from sciml.train.batches import AbstractBatches, Batches, StreamedBatches
from sciml.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from sciml.train.loop import NonFiniteLoss, Objective, Progress, fit
from sciml.train.objective import OperatorObjective
from sciml.train.run import RunDirectory

__all__ = [
    "AbstractBatches",
    "Batches",
    "NonFiniteLoss",
    "Objective",
    "OperatorObjective",
    "Progress",
    "RunDirectory",
    "StreamedBatches",
    "fit",
    "load_checkpoint",
    "rng_state",
    "save_checkpoint",
    "set_rng_state",
]
