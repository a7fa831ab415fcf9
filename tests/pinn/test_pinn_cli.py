"""sciml train with the preconditioned optimizers: natgrad from a config reaches what the library reaches,
opgd is a one-line error naming the models it needs."""

import json

import pytest

from sciml.cli import main

pytestmark = pytest.mark.usefixtures("one_thread")

CONFIG = """
[pinn]
problem = "poisson"
classic = true
params = {{ dim = 1 }}
n_interior = 40
n_condition = 2
steps_per_epoch = 40
resample = false
eval_points = 256

[model]
name = "pinn"
hidden_features = 16
n_layers = 2

[train]
epochs = 1
batch_size = 1
optimizer = "{optimizer}"
lr = 1.0
precision = "float64"
"""


def test_natgrad_from_a_config_solves_poisson_1d(tmp_path, capsys):
    """40 natural-gradient steps (the defaults: matrix-free CG) on the N-point residuals of a 1-D Poisson PINN."""
    cfg = tmp_path / "pinn.toml"
    cfg.write_text(CONFIG.format(optimizer="natgrad"))
    assert main(["train", str(cfg), "--out", str(tmp_path / "run"), "--quiet"]) == 0, capsys.readouterr().err
    assert main(["eval", str(tmp_path / "run"), "--json", str(tmp_path / "m.json")]) == 0
    assert json.loads((tmp_path / "m.json").read_text())["rel_l2"] < 1e-3


def test_opgd_in_a_config_is_a_one_line_error(tmp_path, capsys):
    cfg = tmp_path / "pinn.toml"
    cfg.write_text(CONFIG.format(optimizer="opgd"))
    assert main(["train", str(cfg), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert "train.optimizer: opgd" in err and "FourierExpansion" in err and len(err.splitlines()) == 1, err
