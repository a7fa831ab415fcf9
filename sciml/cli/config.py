"""Run configurations: TOML files (shipped ones found by name) plus ``section.key=value`` overrides.

A run configuration has four sections, each a frozen dataclass: ``[data]`` (:class:`DataConfig`),
``[model]`` (``name`` from the model registry, every other key an argument of the model's
constructor, nested tables for its option dataclasses), ``[train]`` (:class:`TrainConfig`) and
``[loss]`` (:class:`LossConfig`). Every unknown key, wrong type or missing value is a
:class:`ConfigError` whose one line names the key. Configuration stops here, at the edge: library
classes receive plain typed arguments built from it.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import inspect
import math
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

__all__ = [
    "ConfigError",
    "DataConfig",
    "LossConfig",
    "PINNConfig",
    "RunConfig",
    "Source",
    "TrainConfig",
    "convert",
    "load_config",
    "shipped_configs",
]


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the key."""


@dataclasses.dataclass(frozen=True)
class Source:
    """Where one split's data come from: a file, or a problem generated on the fly (and cached).

    ``path``: a sciml dataset, an FNO ``.mat``, a PDEBench HDF5 or a neuraloperator ``.pt`` file.
    Otherwise ``problem`` (a registry name) with ``n`` samples at ``resolution`` from ``seed``, with
    ``params`` overriding the problem's defaults.
    """

    path: str | None = None
    problem: str | None = None
    n: int | None = None
    resolution: int | None = None
    seed: int = 0
    params: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if (self.path is None) == (self.problem is None):
            raise ConfigError("give either path or problem (with n and resolution)")
        if self.problem is not None and (self.n is None or self.resolution is None):
            raise ConfigError(f"problem {self.problem!r} needs n and resolution")
        if self.path is not None and (self.n is not None or self.resolution is not None or self.params):
            raise ConfigError("n, resolution and params describe a generated split; a file split takes path only")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """``[data]``: the training and test splits and how they are read.

    Parameters
    ----------
    train, test
        Each a :class:`Source` (a TOML table) or a path string.
    resolution
        Points per axis to train and test at, by subsampling the stored grid; ``None``: as stored.
    n_train, n_test
        Use the first ``n`` samples only.
    input_frames
        Evolution data: the first ``input_frames`` solution frames become the input and the rest the
        target (the FNO Navier-Stokes setting); ``None``: input ``a``, target all frames.
    normalize_inputs, normalize_outputs
        Fit a per-channel unit-Gaussian normalizer on the training split (saved with the run).
    in_memory
        Hold the training split in memory (``true``), or stream each batch from its HDF5 file
        (``false``; sciml datasets only); ``"auto"``: in memory when it takes at most half the free memory.
    cache
        Where generated splits are stored; ``None``: ``$SCIML_CACHE`` or ``~/.cache/sciml``.
    """

    train: Source
    test: Source
    resolution: int | None = None
    n_train: int | None = None
    n_test: int | None = None
    input_frames: int | None = None
    normalize_inputs: bool = True
    normalize_outputs: bool = True
    in_memory: bool | str = "auto"
    cache: str | None = None

    def __post_init__(self):
        if isinstance(self.in_memory, str) and self.in_memory != "auto":
            raise ConfigError(f"in_memory: must be true, false or \"auto\", got {self.in_memory!r}")


@dataclasses.dataclass(frozen=True)
class PINNConfig:
    """``[pinn]`` (instead of ``[data]``): a physics-informed network on a problem's own domain and conditions.

    Parameters
    ----------
    problem, params
        A registry problem and parameters overriding its defaults (or its classic PINN setup's).
    classic
        Start from the problem's classic PINN setup (``pinn_classic``, e.g. Raissi's Burgers, Poisson
        with a manufactured solution) instead of its operator-learning defaults.
    n_interior, n_condition
        Collocation points per set: interior (the ``pde`` term) and per condition.
    method
        ``"uniform"``, ``"lhs"`` or ``"sobol"``.
    resample
        Draw a new set every epoch (``steps_per_epoch`` optimizer steps); ``False``: one fixed set.
    steps_per_epoch
        Optimizer steps on each set, and between evaluations' epochs.
    hard_constraint
        Build the Dirichlet and initial conditions into the network's output (their terms vanish).
    eval_points
        Points of the test error (a fixed Sobol set of the domain, against the exact solution).
    """

    problem: str
    params: dict = dataclasses.field(default_factory=dict)
    classic: bool = False
    n_interior: int = 1000
    n_condition: int = 100
    method: str = "sobol"
    resample: bool = True
    steps_per_epoch: int = 100
    hard_constraint: bool = False
    eval_points: int = 4096

    def __post_init__(self):
        for key in ("n_interior", "n_condition", "steps_per_epoch", "eval_points"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key}: must be >= 1, got {getattr(self, key)}")
        if self.method not in ("uniform", "lhs", "sobol"):
            raise ConfigError(f"method: must be uniform, lhs or sobol, got {self.method!r}")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """``[train]``: the optimization.

    ``optimizer`` is a name of :data:`sciml.registry.OPTIMIZERS`; ``schedule`` one of ``"none"``,
    ``"step"`` (multiply by ``gamma`` every ``step_size`` epochs), ``"cosine"`` (stepped every
    optimizer step, ``lr (1 + cos(pi k / cosine_epochs)) / 2`` after ``k`` epochs: to zero over the
    run by default, to 25% of ``lr`` after 20 epochs of ``cosine_epochs = 30``) and ``"onecycle"``
    (warm up over ``warmup`` of the steps, then anneal). ``grad_clip`` bounds the global gradient
    norm; ``precision = "bf16"`` runs the forward under bfloat16 autocast, and ``"float64"`` trains
    in double precision (the accuracy PINNs with second-order methods need). The model is evaluated
    every ``eval_every`` epochs and the run saved every ``checkpoint_every`` steps (and at each
    evaluation and the end). ``optimizer_options`` holds the optimizer's other keyword arguments
    (e.g. ``{ solver = "dense", rcond = 1e-7 }`` for ``natgrad``, ``betas`` for ``adam``), and for
    ``adam`` / ``adamw`` the switch ``complex_moments = true``: one second moment ``EMA(|g|^2)`` per
    complex weight of the model's spectral convolutions, as neuraloperator's AdamW keeps, instead of
    one per real and imaginary part (:class:`sciml.optim.AbstractComplexMoments`).
    """

    epochs: int
    batch_size: int
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "none"
    cosine_epochs: int | None = None
    step_size: int = 100
    gamma: float = 0.5
    warmup: float = 0.3
    grad_clip: float | None = None
    precision: str = "float32"
    seed: int = 0
    eval_every: int = 1
    checkpoint_every: int = 100
    device: str = "cpu"
    optimizer_options: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        for key in ("epochs", "batch_size", "step_size", "eval_every", "checkpoint_every"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key}: must be >= 1, got {getattr(self, key)}")
        for key in ("lr", "gamma"):
            if not (math.isfinite(getattr(self, key)) and getattr(self, key) > 0):
                raise ConfigError(f"{key}: must be positive and finite, got {getattr(self, key)}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ConfigError(f"weight_decay: must be >= 0, got {self.weight_decay}")
        if self.schedule not in ("none", "step", "cosine", "onecycle"):
            raise ConfigError(f"schedule: must be none, step, cosine or onecycle, got {self.schedule!r}")
        if self.cosine_epochs is not None:
            if self.schedule != "cosine":
                raise ConfigError(f"cosine_epochs: the period of schedule = \"cosine\", but schedule is {self.schedule!r}")
            if self.cosine_epochs < 1:
                raise ConfigError(f"cosine_epochs: must be >= 1, got {self.cosine_epochs}")
        if not 0 < self.warmup < 1:
            raise ConfigError(f"warmup: must be a fraction in (0, 1), got {self.warmup}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ConfigError(f"grad_clip: must be positive, got {self.grad_clip}")
        if self.precision not in ("float32", "bf16", "float64"):
            raise ConfigError(f"precision: must be float32, bf16 or float64, got {self.precision!r}")
        if self.seed < 0:
            raise ConfigError(f"seed: must be >= 0, got {self.seed}")


@dataclasses.dataclass(frozen=True)
class LossConfig:
    """``[loss]``: the named loss terms and their weights.

    Operator learning: ``data`` is the data term's norm, ``"l2"``, ``"h1"`` or ``"h1_periodic"`` (per-sample
    relative, as the FNO papers and neuraloperator define them; see :class:`~sciml.train.OperatorObjective`), and ``weights`` gives ``data`` and ``pde`` (the mean
    square of the problem's residual on the prediction, :meth:`~sciml.problem.AbstractProblem.solution_residual`,
    the physics-informed operator loss); ``data`` weighs 1 unless given, a term of weight 0 is not computed.
    ``normalized = true`` measures the data term in normalized units (the model's raw output against the
    encoded reference, as neuraloperator's recipes train; needs ``data.normalize_outputs``). A PINN's terms are
    ``pde`` and the problem's conditions (``bc``, ``ic``, ...); unnamed ones weigh 1. Weights scale the
    terms themselves, so every optimizer sees them, multi-objective ones included.
    """

    data: str = "l2"
    weights: dict = dataclasses.field(default_factory=lambda: {"data": 1.0})
    normalized: bool = False

    def __post_init__(self):
        if self.data not in ("l2", "h1", "h1_periodic"):  # sciml.train.DATA_NORMS (this module does not import torch)
            raise ConfigError(f"data: must be l2, h1 or h1_periodic, got {self.data!r}")
        for name, weight in self.weights.items():
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not (math.isfinite(weight) and weight >= 0):
                raise ConfigError(f"weights.{name}: must be a number >= 0, got {weight!r}")
        if not any(self.weights.values()):
            raise ConfigError("weights: at least one term needs a positive weight")

    @property
    def terms(self) -> tuple[str, ...]:
        """The computed terms: those with a positive weight."""
        return tuple(name for name, weight in self.weights.items() if weight > 0)


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """A whole run: ``[data]`` (operator learning) or ``[pinn]``, ``[model]`` (the registry ``name`` and the
    constructor's arguments), ``[train]``, ``[loss]``."""

    data: DataConfig | None
    model: dict
    train: TrainConfig
    loss: LossConfig = LossConfig()
    pinn: PINNConfig | None = None

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain TOML-able tables (``None`` values left out, and a PINN's unused data-term keys)."""
        table = _plain(dataclasses.asdict(self))
        if self.pinn is not None:
            del table["loss"]["data"], table["loss"]["normalized"]
        return table


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def shipped_configs() -> list[str]:
    """The names of the configs shipped in :mod:`sciml.configs`."""
    folder = importlib.resources.files("sciml.configs")
    return sorted(entry.name[:-5] for entry in folder.iterdir() if entry.name.endswith(".toml"))


def load_config(source: str | Path, overrides: list[str] = ()) -> RunConfig:
    """Read a run configuration from a TOML file or a shipped config name, then apply ``section.key=value`` overrides.

    Override values are parsed as TOML (``1e-3``, ``[12, 12]``, ``true``, ``"text"``); a value that
    is not TOML is taken as a string, so ``--set train.optimizer=adamw`` works unquoted.
    """
    path = Path(source)
    if path.suffix != ".toml" and not path.exists():
        if str(source) not in shipped_configs():
            raise ConfigError(f"{source}: no such config file, and not a shipped config ({', '.join(shipped_configs())})")
        text = (importlib.resources.files("sciml.configs") / f"{source}.toml").read_text()
        where = f"sciml.configs/{source}.toml"
    else:
        if not path.is_file():
            raise ConfigError(f"{path}: no such config file")
        text, where = path.read_text(), str(path)
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{where}: not valid TOML: {err}") from None
    for override in overrides:
        _apply_override(table, override)
    return parse_config(table)


def _apply_override(table: dict, override: str) -> None:
    key, sep, text = override.partition("=")
    parts = key.strip().split(".")
    if not sep or len(parts) < 2 or not all(parts):
        raise ConfigError(f"--set {override}: expected section.key=value, e.g. train.lr=1e-3")
    try:
        value = tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        value = text
    node = table
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {override}: {part} is a value, not a table")
    node[parts[-1]] = value


def parse_config(table: dict) -> RunConfig:
    """Check a TOML table against the run configuration and build it; errors name the key."""
    unknown = sorted(set(table) - {"data", "pinn", "model", "train", "loss"})
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown section (sections: data or pinn, model, train, loss)")
    if ("data" in table) == ("pinn" in table):
        raise ConfigError("[data] or [pinn]: give exactly one (operator learning from data, or a PINN on a problem)")
    for section in ("model", "train", "data" if "data" in table else "pinn"):
        if not isinstance(table.get(section), dict):
            raise ConfigError(f"[{section}]: missing section")
    model = dict(table["model"])
    if not isinstance(model.get("name"), str):
        raise ConfigError("model.name: missing (a name from the model registry)")
    data = None
    if "data" in table:
        data = dict(table["data"])
        for split in ("train", "test"):
            if isinstance(data.get(split), str):
                data[split] = {"path": data[split]}
        data = convert(DataConfig, data, "data")
    pinn = convert(PINNConfig, table["pinn"], "pinn") if "pinn" in table else None
    loss = dict(table.get("loss", {}))
    if pinn is not None:
        for key in ("data", "normalized"):
            if key in loss:
                raise ConfigError(f"loss.{key}: a PINN has no data norm to choose (its terms are the residual and the conditions)")
        loss.setdefault("weights", {})
        loss["weights"] = {"pde": 1.0, **loss["weights"]} if not loss["weights"] else loss["weights"]
    elif isinstance(loss.get("weights", {}), dict):  # the data term weighs 1 unless given (0: physics alone)
        loss["weights"] = {"data": 1.0, **loss.get("weights", {})}
    loss = convert(LossConfig, loss, "loss")
    if data is not None:
        unknown = sorted(set(loss.weights) - {"data", "pde"})
        if unknown:
            raise ConfigError(f"loss.weights.{unknown[0]}: unknown term (an operator's terms: data, pde)")
    return RunConfig(data=data, model=model, train=convert(TrainConfig, table["train"], "train"), loss=loss, pinn=pinn)


def convert(target: Any, value: Any, where: str) -> Any:
    """``value`` read from TOML as the type ``target``: dataclasses from tables (recursively), tuples from lists.

    Raises :class:`ConfigError` naming ``where`` (the dotted key) for unknown keys, missing required
    keys, wrong types and values the class itself refuses.
    """
    origin, args = typing.get_origin(target), typing.get_args(target)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return convert(option, value, where)
            except ConfigError as err:
                errors.append(err)
        raise errors[0]
    if dataclasses.is_dataclass(target):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        return _build(target, value, where)
    if target is Any or target is dict:
        if target is dict and not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        item = args[0] if args else Any
        return tuple(convert(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if target is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if target in (int, float, str, bool):
        if type(value) is not target:
            raise ConfigError(f"{where}: expected {target.__name__}, got {value!r}")
        return value
    raise ConfigError(f"{where}: cannot read a value of type {target!r} from a config")


def _build(cls: type, table: dict, where: str) -> Any:
    """``cls(**table)`` for a dataclass ``cls`` with every field converted; errors name the key."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key (keys: {', '.join(fields)})")
    missing = [name for name, f in fields.items() if name not in table
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ConfigError(f"{where}.{missing[0]}: missing")
    kwargs = {name: convert(hints[name], value, f"{where}.{name}") for name, value in table.items()}
    try:
        return cls(**kwargs)
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}: {err}") from None


def build_from_signature(fn: Any, table: dict, where: str, fixed: dict[str, Any]) -> Any:
    """``fn(**fixed, **table)`` with the table's values converted to the parameters' annotated types.

    Used for model constructors: ``[model]``'s keys are the constructor's arguments (other than the
    ``fixed`` ones the run supplies, such as the channels); option dataclasses come from sub-tables.
    """
    signature = inspect.signature(fn)
    hints = typing.get_type_hints(fn.__init__ if inspect.isclass(fn) else fn)
    parameters = {name: p for name, p in signature.parameters.items() if name not in fixed and name != "generator"}
    unknown = sorted(set(table) - set(parameters))
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key (keys: {', '.join(parameters)})")
    missing = [name for name, p in parameters.items() if p.default is inspect.Parameter.empty and name not in table]
    if missing:
        raise ConfigError(f"{where}.{missing[0]}: missing")
    kwargs = {name: convert(hints.get(name, Any), value, f"{where}.{name}") for name, value in table.items()}
    try:
        return fn(**fixed, **kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}: {err}") from None
