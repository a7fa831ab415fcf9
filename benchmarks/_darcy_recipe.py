"""neuraloperator's small-Darcy recipe, shared by ``train_speed.py`` and ``accuracy_parity.py``.

Both benchmarks train the same FNO on the same data two ways: with ``sciml train`` (a configuration
written from :class:`Recipe`) and with neuraloperator 2.0's ``Trainer`` as its example
``examples/models/plot_FNO_darcy.py`` does (:class:`RecipeTrainer`).
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, fields
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

import sciml.cli


@dataclass(frozen=True)
class Recipe:
    """neuraloperator's small-Darcy example with ``n_modes=(8, 8)``, as data and hyperparameters.

    ``data_resolution`` is the nodal grid the samples are solved on; training and testing at
    ``resolution`` subsample it by 2 (``(31 - 1) / (16 - 1)``). ``zero_shot`` is a test set solved
    at that resolution directly (an even grid: neuraloperator's FNO on odd grids shifts its output
    spectrum by one index, see :mod:`sciml.models.neuralop_compat`).
    """

    n_generated: int = 1000  # training samples generated (and cached); the first n_train are used
    n_train: int = 1000
    n_test: int = 100
    data_resolution: int = 31
    resolution: int = 16
    zero_shot: int = 32
    modes: int = 4  # sciml's K (|k| <= K); neuraloperator's n_modes = 2K
    width: int = 32
    batch_size: int = 32
    epochs: int = 20
    lr: float = 8e-3
    weight_decay: float = 1e-4
    cosine_epochs: int = 30  # the example's CosineAnnealingLR(T_max=30), stepped once per epoch


RECIPE = Recipe()

CONFIG = """\
# {title}
[data]
train = {{ problem = "darcy", n = {n_generated}, resolution = {data_resolution}, seed = 0 }}
test = {{ problem = "darcy", n = {n_test}, resolution = {data_resolution}, seed = 1 }}
resolution = {resolution}
n_train = {n_train}
normalize_inputs = false   # the example normalizes outputs only
normalize_outputs = true
{cache}
[model]
name = "fno"
modes = [{modes}, {modes}]
width = {width}
n_layers = 4

[train]
epochs = {epochs}
batch_size = {batch_size}
optimizer = "adamw"
optimizer_options = {{ complex_moments = true }}   # one second moment per complex weight, as neuraloperator's AdamW
lr = {lr}
weight_decay = {weight_decay}
schedule = "cosine"
cosine_epochs = {cosine_epochs}          # the example's T_max (per step here, per epoch there): ends at 25% of lr
eval_every = {epochs}
checkpoint_every = 100000

[loss]
data = "h1_periodic"       # neuraloperator's H1Loss: differences that wrap around, h = 1/n
normalized = true          # the example's H1Loss compares normalized outputs
"""


def write_config(path: Path, recipe: Recipe, cache: str | None, epochs: int, title: str) -> Path:
    """The ``sciml train`` configuration of ``recipe`` (``epochs`` of them), written to ``path``.

    Evaluation falls on the last epoch only and ``checkpoint_every`` lies past the run, so that
    only the end-of-epoch checkpoint falls inside every epoch alike.
    """
    values = {f.name: getattr(recipe, f.name) for f in fields(recipe)}
    values.update(epochs=epochs, title=title, cache=f'cache = "{cache}"\n' if cache else "")
    path.write_text(CONFIG.format(**values))
    return path


def run_sciml_train(config: Path, out: Path, overrides: list[str] = ()) -> None:
    """``sciml train CONFIG --set ... --out OUT --overwrite --quiet`` in this process; raises on a non-zero status."""
    argv = ["train", str(config), *[a for o in overrides for a in ("--set", o)], "--out", str(out), "--overwrite", "--quiet"]
    status = sciml.cli.main(argv)
    if status != 0:
        raise RuntimeError(f"sciml {' '.join(argv)} exited with status {status}")


def quiet_neuralop() -> str:
    """Import neuraloperator, silence its import-time filters and per-call warnings; return its version.

    The Trainer hands ``H1Loss`` the batch's ``x`` (a keyword it ignores, with a warning each call),
    and the example's loader asks for pinned memory, which a machine without an accelerator skips.
    """
    import neuralop
    import neuralop.training

    warnings.filterwarnings("ignore", module="neuralop")
    warnings.filterwarnings("ignore", message=r".*received unexpected keyword arguments")  # raised from torch's Module
    warnings.filterwarnings("ignore", message=".*pin_memory.*no accelerator.*")
    return neuralop.__version__


def header(**extra: object) -> dict[str, object]:
    """The settings every result of these benchmarks is read against, printed as one line."""
    import platform

    from _timing import ensure_allocator_env

    out = {"device": "cpu", "torch": torch.__version__, "neuralop": quiet_neuralop(), "threads": torch.get_num_threads(),
           "allocator": ensure_allocator_env(), "cpu": platform.processor() or platform.machine(),
           "load_average_1min": os.getloadavg()[0], **extra}
    print(" | ".join(f"{k}: {v}" for k, v in out.items()), flush=True)
    return out


def write_json(path: str, flat: dict) -> None:
    """``flat`` as one JSON object at ``path`` (folders created)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as handle:
        json.dump(flat, handle, indent=1)


def neuralop_fno(recipe: Recipe, seed: int) -> nn.Module:
    """neuraloperator's ``FNO(n_modes=(2K, 2K), hidden_channels=width)``, initialized after ``torch.manual_seed(seed)``."""
    from neuralop.models import FNO

    torch.manual_seed(seed)
    return FNO(n_modes=(2 * recipe.modes,) * 2, in_channels=1, out_channels=1, hidden_channels=recipe.width)


class KeywordCall(nn.Module):
    """``model`` called the way neuraloperator's Trainer calls models: ``model(x=..., y=...)``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: Tensor, **batch: Tensor) -> Tensor:
        return self.model(x)


def example_loader(x: Tensor, y: Tensor, batch_size: int, num_workers: int = 1) -> DataLoader:
    """The training loader of neuraloperator's ``load_darcy_flow_small``: per-sample dicts, in order.

    ``num_workers=1, persistent_workers=False``: one worker process, started afresh every epoch.
    """
    from neuralop.data.datasets.tensor_dataset import TensorDataset

    return DataLoader(TensorDataset(x, y), batch_size=batch_size, num_workers=num_workers, pin_memory=True,
                      persistent_workers=False)


class Decoded(nn.Module):
    """A model trained on normalized outputs, with the output normalizer applied: physical units out."""

    def __init__(self, model: nn.Module, normalizer: nn.Module):
        super().__init__()
        self.model, self.normalizer = model, normalizer

    def forward(self, a: Tensor) -> Tensor:
        return self.normalizer.inverse_transform(self.model(a))


class RecipeTrainer:
    """``neuralop.Trainer`` as the example runs it, one span of epochs per :meth:`run` (no evaluation).

    The example's ``DefaultDataProcessor`` with a channel-wise ``UnitGaussianNormalizer`` of the
    outputs fitted on ``targets`` (``PTDataset``'s), ``CosineAnnealingLR(T_max=cosine_epochs)``
    stepped once per epoch, ``H1Loss(d=2)`` summed over the batch as the training loss.
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, loader: DataLoader, targets: Tensor,
                 recipe: Recipe):
        from neuralop import H1Loss, Trainer
        from neuralop.data.transforms.data_processors import DefaultDataProcessor
        from neuralop.data.transforms.normalizers import UnitGaussianNormalizer

        normalizer = UnitGaussianNormalizer(dim=[0, *range(2, targets.ndim)])
        normalizer.fit(targets)
        self.trainer = Trainer(model=model, n_epochs=recipe.epochs, device=targets.device,
                               data_processor=DefaultDataProcessor(out_normalizer=normalizer), verbose=False)
        self.model, self.normalizer, self.optimizer, self.loader = model, normalizer, optimizer, loader
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=recipe.cosine_epochs)
        self.loss = H1Loss(d=2)

    def run(self, first: int, last: int) -> None:
        """Epochs ``first .. last - 1`` of ``Trainer.train``."""
        self.trainer.start_epoch, self.trainer.n_epochs = first, last
        self.trainer.train(train_loader=self.loader, test_loaders={}, optimizer=self.optimizer, scheduler=self.scheduler,
                           regularizer=False, training_loss=self.loss)

    def decoded(self) -> nn.Module:
        """The trained model with outputs in physical units."""
        return Decoded(self.model, self.normalizer)
