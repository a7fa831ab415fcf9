"""``[train]`` keys as built objects: the cosine schedule's period and the complex-moment switch of adam/adamw."""

import math

import pytest
import torch

from sciml.cli.build import (
    build_model,
    build_optimizer,
    build_scheduler,
    optimizer_arguments,
)
from sciml.cli.config import ConfigError, TrainConfig, convert
from sciml.nn import MLP, complex_pair_parameters
from sciml.optim import SGD, AdamW


def train_config(**keys) -> TrainConfig:
    """``[train]`` as read from TOML: the same conversion and checks."""
    return convert(TrainConfig, {"epochs": 20, "batch_size": 4, **keys}, "train")


@pytest.mark.parametrize("cosine_epochs,epochs", [(None, 20), (30, 20), (7, 20)])
def test_cosine_lr_after_k_epochs_is_the_closed_form(cosine_epochs, epochs):
    keys = {"schedule": "cosine", "lr": 8e-3, "epochs": epochs}
    config = train_config(**keys, **({} if cosine_epochs is None else {"cosine_epochs": cosine_epochs}))
    period = epochs if cosine_epochs is None else cosine_epochs
    parameter = torch.nn.Parameter(torch.zeros(3))
    optimizer = torch.optim.SGD([parameter], lr=8e-3)
    steps_per_epoch = 7
    scheduler = build_scheduler(config, optimizer, steps_per_epoch)
    for k in range(epochs + 1):
        expected = 8e-3 * (1 + math.cos(math.pi * k / period)) / 2  # past the period (7 of 20) it rises again
        assert optimizer.param_groups[0]["lr"] == pytest.approx(expected, rel=1e-9, abs=1e-15), k
        for _ in range(steps_per_epoch):
            optimizer.step()
            scheduler.step()
    if cosine_epochs == 30:
        assert expected == pytest.approx(0.25 * 8e-3)  # the recipe's 20 of 30 epochs end at a quarter of the peak


def test_cosine_epochs_is_checked():
    with pytest.raises(ConfigError, match="train: cosine_epochs: must be >= 1, got 0"):
        train_config(schedule="cosine", cosine_epochs=0)
    with pytest.raises(ConfigError, match="train: cosine_epochs: the period of schedule = \"cosine\", but schedule is 'step'"):
        train_config(schedule="step", cosine_epochs=30)
    with pytest.raises(ConfigError, match="train.cosine_epochs: expected int, got 2.5"):
        train_config(schedule="cosine", cosine_epochs=2.5)


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_complex_moments_hands_the_spectral_weights_to_adam(name):
    config = train_config(optimizer=name, optimizer_options={"complex_moments": True})
    model = build_model({"name": "tfno", "modes": [3, 3], "width": 4, "n_layers": 2}, 1, 1, seed=0)
    optimizer = build_optimizer(config, list(model.parameters()), ("data",), optimizer_arguments(config, model))
    assert optimizer.complex_pairs == tuple(complex_pair_parameters(model)) and len(optimizer.complex_pairs) >= 4
    plain = train_config(optimizer=name)
    assert build_optimizer(plain, list(model.parameters()), ("data",), optimizer_arguments(plain, model)).complex_pairs == ()
    off = train_config(optimizer=name, optimizer_options={"complex_moments": False})
    assert optimizer_arguments(off, model) == {}
    assert isinstance(build_optimizer(off, list(model.parameters()), ("data",)), torch.optim.Adam)


def test_complex_moments_misuse_names_the_option():
    fno = build_model({"name": "fno", "modes": [3, 3], "width": 4, "n_layers": 1}, 1, 1, seed=0)
    mlp = MLP(2, 8, 2)  # no spectral convolution: nothing to keep complex moments for

    def build(model, **keys):
        config = train_config(**keys)
        return build_optimizer(config, list(model.parameters()), ("data",), optimizer_arguments(config, model))

    where = "train.optimizer_options.complex_moments: "
    with pytest.raises(ConfigError, match=where + "only adam and adamw keep a second moment to share per complex "
                                                  "weight, not 'sgd'"):
        build(fno, optimizer="sgd", optimizer_options={"complex_moments": True})
    with pytest.raises(ConfigError, match=where + r"the model has no complex weights stored as \(re, im\) pairs"):
        build(mlp, optimizer="adamw", optimizer_options={"complex_moments": True})
    with pytest.raises(ConfigError, match=where + "expected true or false, got 'yes'"):
        build(fno, optimizer="adamw", optimizer_options={"complex_moments": "yes"})
    with pytest.raises(ConfigError, match="train.optimizer_options.complex_pairs: not an option here "
                                          r"\(set complex_moments = true"):
        build(fno, optimizer="adamw", optimizer_options={"complex_pairs": ["blocks"]})
    assert isinstance(build(fno, optimizer="sgd", optimizer_options={"complex_moments": False}), SGD)
    assert isinstance(build(fno, optimizer="adamw"), AdamW)
