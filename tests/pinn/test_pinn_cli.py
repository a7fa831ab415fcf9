"""sciml train with the preconditioned optimizers: natgrad from a config reaches what the library reaches;
opgd on a Fourier expansion of Poisson converges where plain gradient descent crawls, and is a one-line error
on a model it cannot precondition."""

import json

import pytest
import torch

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


def test_natgrad_options_from_a_config_reach_the_dense_solvers_accuracy(tmp_path, capsys):
    """The same 40 steps with the dense truncated-SVD solve (rcond 1e-7, no damping) through
    train.optimizer_options: below 1e-8 where the CG defaults stop near 5e-7."""
    cfg = tmp_path / "pinn.toml"
    cfg.write_text(CONFIG.format(optimizer="natgrad") + 'optimizer_options = { solver = "dense", rcond = 1e-7, damping = 0.0 }\n')
    assert main(["train", str(cfg), "--out", str(tmp_path / "run"), "--quiet"]) == 0, capsys.readouterr().err
    assert main(["eval", str(tmp_path / "run"), "--json", str(tmp_path / "m.json")]) == 0
    assert json.loads((tmp_path / "m.json").read_text())["rel_l2"] < 1e-8


def test_natgrad_gram_solver_from_a_config(tmp_path, capsys):
    """solver = "gram" (the damped Gram matrix's Cholesky solve) through train.optimizer_options: 4.5e-7 measured
    after the 40 steps with damping 1e-10; with no damping, a one-line error before training."""
    cfg = tmp_path / "pinn.toml"
    cfg.write_text(CONFIG.format(optimizer="natgrad") + 'optimizer_options = { solver = "gram", damping = 1e-10 }\n')
    assert main(["train", str(cfg), "--out", str(tmp_path / "run"), "--quiet"]) == 0, capsys.readouterr().err
    assert main(["eval", str(tmp_path / "run"), "--json", str(tmp_path / "m.json")]) == 0
    assert json.loads((tmp_path / "m.json").read_text())["rel_l2"] < 5e-6
    capsys.readouterr()
    cfg.write_text(CONFIG.format(optimizer="natgrad") + 'optimizer_options = { solver = "gram", damping = 0.0 }\n')
    assert main(["train", str(cfg), "--out", str(tmp_path / "run0")]) == 2
    err = capsys.readouterr().err.strip()
    assert "solver='gram' needs damping > 0" in err and len(err.splitlines()) == 1, err


def test_natgrad_adaptive_damping_from_a_config_saves_the_adapted_damping(tmp_path, capsys):
    """adaptive_damping = true (Levenberg-Marquardt, no line search) through train.optimizer_options: 4.8e-6 measured
    after 100 steps from damping 1e-4 (1.1e-4 after 40, 4.0e-7 after 400); the checkpoint holds the adapted damping,
    which a resumed run starts from."""
    cfg = tmp_path / "pinn.toml"
    options = 'optimizer_options = { solver = "gram", damping = 1e-4, adaptive_damping = true }\n'
    cfg.write_text(CONFIG.format(optimizer="natgrad").replace("steps_per_epoch = 40", "steps_per_epoch = 100") + options)
    assert main(["train", str(cfg), "--out", str(tmp_path / "run"), "--quiet"]) == 0, capsys.readouterr().err
    assert main(["eval", str(tmp_path / "run"), "--json", str(tmp_path / "m.json")]) == 0
    assert json.loads((tmp_path / "m.json").read_text())["rel_l2"] < 2e-5
    saved = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)["optimizer"]["param_groups"][0]["damping"]
    assert saved != 1e-4 and 1e-12 <= saved < 1.0


@pytest.mark.parametrize("options, message", [
    ("{ rcnd = 1e-7 }", "train.optimizer_options.rcnd: unknown key (keys: "),
    ('{ rcond = "x" }', "train.optimizer_options.rcond: expected float, got 'x'"),
    ("{ lr = 1.0 }", "train.optimizer_options.lr: not an option here (set train.lr"),
    ("{ weights = { pde = 2.0 } }", "train.optimizer_options.weights: not an option here (set [loss] weights"),
])
def test_bad_optimizer_options_are_one_line_errors_naming_the_key(tmp_path, capsys, options, message):
    cfg = tmp_path / "pinn.toml"
    cfg.write_text(CONFIG.format(optimizer="natgrad") + f"optimizer_options = {options}\n")
    assert main(["train", str(cfg), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


EXPANSION = """
[pinn]
problem = "poisson"
classic = true
params = {{ exact_amplitudes = [0.0, 1.0] }}
n_interior = 400
n_condition = 40
steps_per_epoch = 50
resample = false
eval_points = 1024

[model]
name = "fourier_expansion"
modes = 3

[train]
epochs = 2
batch_size = 1
optimizer = "{optimizer}"
lr = {lr}
precision = "float64"
"""


@pytest.mark.parametrize("optimizer, lr, bound", [("opgd", 0.5, (0, 1e-12)), ("sgd", 2e-6, (0.1, 1.0))])
def test_opgd_from_a_config_solves_poisson_where_plain_descent_crawls(tmp_path, capsys, optimizer, lr, bound):
    """u = sin(2 pi x) sin(2 pi y) in the span of 3 modes per axis (49 features): the loss is a quadratic whose
    Hessian has condition number ~ (2 pi 3 sqrt 2)^4 / (2 pi)^4 ~ 300 on the modes the operator sees. Preconditioned
    by the Laplacian's symbol, 100 steps reach round-off; plain descent at a step it survives (1e-5 diverges)
    has not reached 10% in the same 100 steps."""
    cfg = tmp_path / "expansion.toml"
    cfg.write_text(EXPANSION.format(optimizer=optimizer, lr=lr))
    assert main(["train", str(cfg), "--out", str(tmp_path / "run"), "--quiet"]) == 0, capsys.readouterr().err
    assert main(["eval", str(tmp_path / "run"), "--json", str(tmp_path / "m.json")]) == 0
    assert bound[0] < json.loads((tmp_path / "m.json").read_text())["rel_l2"] < bound[1]


@pytest.mark.parametrize("model, data, message", [
    ('name = "pinn"\nhidden_features = 16\nn_layers = 2', False, "model.name = 'fourier_expansion'"),
    ('name = "fourier_expansion"\nmodes = 2', True, "fourier_expansion is a model of points, trained in a [pinn] section"),
])
def test_opgd_and_the_expansion_out_of_place_are_one_line_errors(tmp_path, capsys, model, data, message):
    cfg = tmp_path / "bad.toml"
    text = CONFIG.format(optimizer="opgd").replace('name = "pinn"\nhidden_features = 16\nn_layers = 2', model)
    if data:  # an operator run: [data] instead of [pinn]
        text = '[data]\ntrain = {problem = "darcy", n = 4, resolution = 9, seed = 0}\ntest = {problem = "darcy", n = 2, resolution = 9, seed = 1}\n' + text[text.index("[model]"):]
    cfg.write_text(text)
    assert main(["train", str(cfg), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "run").exists()
