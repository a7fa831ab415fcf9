"""The attention operators as registry entries: JSON descriptions and weights-only checkpoints, and
`sciml train` / `sciml eval` from TOML tables with nested option tables."""

import io
import json
import math

import pytest
import torch

from sciml.cli import main
from sciml.models import GalerkinTransformerOptions, LSMOptions
from sciml.registry import MODELS as REGISTRY

SMALL = {
    "galerkin_transformer": dict(modes=(4, 4), width=12, n_layers=1, n_heads=2, attention="fourier",
                                 options=GalerkinTransformerOptions(latent_grid=(9, 9), decoder_width=8, decoder_coordinates=True)),
    "lsm": dict(patch_size=(3, 3), width=8, n_basis=4, n_tokens=2, options=LSMOptions(n_scales=3, n_heads=2)),
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_registry_entry_round_trips_through_json_and_a_weights_only_checkpoint(name, generator):
    cls = REGISTRY[name]
    model = cls(1, 2, **SMALL[name], generator=generator).eval()
    config = json.loads(json.dumps(model.config()))
    assert config["model"] == name
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    clone = cls.from_config(config).eval()
    clone.load_state_dict(torch.load(buffer, weights_only=True))
    a = torch.randn(2, 1, 19, 19, generator=generator)
    assert torch.equal(clone(a), model(a))
    assert clone.config() == model.config()
    other = REGISTRY["lsm" if name == "galerkin_transformer" else "galerkin_transformer"]
    with pytest.raises(ValueError, match="describes model"):
        other.from_config(config)

CONFIG = """
[data]
train = {{ problem = "darcy", n = 8, resolution = 13, seed = 0 }}
test = {{ problem = "darcy", n = 4, resolution = 25, seed = 1 }}
resolution = 13
cache = "{cache}"

[model]
{model}

[train]
epochs = 2
batch_size = 4
lr = 1e-3
schedule = "onecycle"
grad_clip = 1.0
"""

MODELS = {
    "galerkin_transformer": """name = "galerkin_transformer"
modes = [3, 3]
width = 8
n_layers = 1
n_heads = 2
options = { latent_grid = [7, 7], decoder_width = 6, decoder_hidden = 8, decoder_coordinates = true }""",
    "lsm": """name = "lsm"
patch_size = [2, 2]
width = 8
n_basis = 4
n_tokens = 2
options = { n_scales = 2, n_heads = 2, projection_width = 8 }""",
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_train_and_zero_shot_eval_run_from_a_config(name, tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text(CONFIG.format(cache=tmp_path / "cache", model=MODELS[name]))
    out = tmp_path / "run"
    assert main(["train", str(config), "--out", str(out)]) == 0
    assert len((out / "metrics.csv").read_text().splitlines()) == 3  # header and one row per epoch
    report = tmp_path / "eval.json"
    assert main(["eval", str(out), "--resolution", "13", "--json", str(report)]) == 0
    metrics = json.loads(report.read_text())
    assert math.isfinite(metrics["rel_l2"]) and math.isfinite(metrics["rel_l2_at_13"])
    capsys.readouterr()
