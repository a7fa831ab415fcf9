"""Accuracy parity: sciml's FNO trained by ``sciml train`` against neuraloperator 2.0's small-Darcy recipe.

Both sides train on the same 1000 Darcy samples at 16 x 16 (solved at 31 x 31 and subsampled, the
split ``sciml train`` generates and caches) and are scored by one function, sciml's
``evaluate_operator`` (the mean per-sample relative L2 error of the decoded prediction, what
``sciml eval`` prints and neuraloperator's ``LpLoss`` computes), on 100 test samples at 16 x 16
(solved at 31 x 31, subsampled) and zero-shot on 100 samples solved at 32 x 32.

``neuralop recipe``
    neuraloperator's example (``examples/models/plot_FNO_darcy.py`` with ``n_modes=(8, 8)``): its
    ``FNO(n_modes=(8, 8), hidden_channels=32)`` initialized after ``torch.manual_seed(seed)``, its
    ``AdamW(lr=8e-3, weight_decay=1e-4)``, ``CosineAnnealingLR(T_max=30)`` stepped once per epoch,
    20 epochs of its ``Trainer`` with batch 32, its ``H1Loss`` as the training loss and an output
    normalizer (``DefaultDataProcessor``; inputs not normalized), the loader in order as in
    ``load_darcy_flow_small`` (``num_workers=0`` here: the same batches in the same order, without
    the worker process).
``sciml train``
    ``sciml train CONFIG --set train.seed=SEED --out RUN`` with the same choices where the
    configuration has them (``benchmarks/_darcy_recipe.py``'s ``CONFIG``: modes 4, width 32, AdamW
    lr 8e-3, weight decay 1e-4 with one second moment per complex weight
    (``optimizer_options = { complex_moments = true }``: EMA of |g|^2 = g_re^2 + g_im^2, as
    neuraloperator's AdamW keeps for complex parameters), ``schedule = "cosine"`` with
    ``cosine_epochs = 30`` (the example's period, stepped every step rather than every epoch), 20
    epochs, batch 32, the recipe's loss (``loss.data = "h1_periodic"``, ``loss.normalized = true``:
    neuraloperator's ``H1Loss`` on normalized outputs), outputs normalized, inputs not), evaluated
    from its checkpoint as ``sciml eval`` does. What differs from the recipe is what the changes below
    prototype, and AdamW's ``eps`` (torch's 1e-8 added to the bias-corrected sqrt(v), neuraloperator's
    1e-6 to the uncorrected one) and when it decays (torch's before the step, neuraloperator's after).

Candidate causes (full run): ``sciml train`` again, with one change toward the recipe each,
prototyped by wrapping a name in :mod:`sciml.cli.train` or :mod:`sciml.cli.setups` (the library
is not edited):

``modes``            the frequency +K of the first axis held at zero (initialized zero, its gradient
                     masked): the modes neuraloperator's ``n_modes=(2K, 2K)`` keeps
``schedule``         the cosine stepped once per epoch, as the example's (sciml's: every step)
``order``            the example's batch order (no shuffling)
``init``             neuraloperator's initialization (its FNO of the same seed, copied in)

Channel-MLP, lifting and projection sizes are not a cause to run: both libraries' defaults build
the same layers (the parameter counts printed first differ by exactly the +K modes).

``check`` (full run, first seed): the recipe run again with sciml's FNO (neuraloperator's initial
weights copied in, +K held at zero) and this script's AdamW with neuraloperator's rule (its eps and
when it decays) on (re, im) pairs. If the two FNOs compute the same function and the prototype is
neuraloperator's AdamW, both runs agree to rounding after a few epochs (printed: 3 epochs); the
check row, after all 20, shows how far rounding differences grow by the end: the size of a
difference between runs that means nothing.

    python benchmarks/accuracy_parity.py --quick --json runs/accuracy_parity.json
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from unittest import mock

import tomllib
from _timing import ensure_allocator_env

ensure_allocator_env()

import torch
from _darcy_recipe import (
    RECIPE,
    KeywordCall,
    Recipe,
    RecipeTrainer,
    example_loader,
    header,
    neuralop_fno,
    run_sciml_train,
    write_config,
    write_json,
)
from torch import Tensor, nn

import sciml.cli.setups as cli_setups
import sciml.cli.train as cli_train
from sciml.cli.build import Split, build_model, load_split
from sciml.cli.config import Source, load_config, parse_config
from sciml.data import UnitGaussianNormalizer
from sciml.diff import FiniteDiff
from sciml.losses import relative_h1
from sciml.metrics import evaluate_operator, predict
from sciml.models import FNO, load_neuralop_fno
from sciml.nn import complex_pair_parameters
from sciml.spectral import Grid


class PairedAdamW(torch.optim.Optimizer):
    r"""neuraloperator's AdamW on complex weights stored as real ``(..., 2)`` (re, im) pairs.

    Parameters in ``pairs`` keep one second moment per complex weight, :math:`v = \mathrm{EMA}(g_a^2
    + g_b^2)` for :math:`w = a + ib`, as ``neuralop.training.AdamW`` keeps on a complex parameter; the
    rest one per element. The update is neuraloperator's: :math:`\theta \leftarrow \theta - \eta
    \frac{\sqrt{b_2}}{b_1} \frac{m}{\sqrt{v} + \epsilon}`, then :math:`\theta \leftarrow (1 -
    \eta\lambda)\theta`, with :math:`b_i = 1 - \beta_i^t` (``sciml.optim.AdamW`` with
    ``complex_pairs`` is torch's rule: eps added to the bias-corrected root, decay first). Checked against
    neuraloperator's at start-up (:func:`check_prototypes`).
    """

    def __init__(self, params: Iterable[Tensor], pairs: Iterable[Tensor] = (), lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-6, weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})
        self.pairs = {id(p) for p in pairs}
        if any(p.shape[-1] != 2 for g in self.param_groups for p in g["params"] if id(p) in self.pairs):
            raise ValueError("PairedAdamW: every parameter in pairs needs a last axis of size 2 (re, im)")

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (beta1, beta2), eps, decay = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g, state, paired = p.grad, self.state[p], id(p) in self.pairs
                if not state:
                    state.update(step=0, m=torch.zeros_like(p), v=torch.zeros_like(p[..., :1] if paired else p))
                state["step"] += 1
                square = g.square().sum(-1, keepdim=True) if paired else g.square()  # (..., 1) per complex weight
                state["m"].lerp_(g, 1 - beta1)
                state["v"].mul_(beta2).add_(square, alpha=1 - beta2)
                bias1, bias2 = 1 - beta1 ** state["step"], 1 - beta2 ** state["step"]
                p.addcdiv_(state["m"], state["v"].sqrt().add_(eps), value=-lr * math.sqrt(bias2) / bias1)
                p.add_(p, alpha=-lr * decay)
        return loss


def hold_top_frequency_at_zero(model: FNO) -> None:
    """Zero the frequency ``k = +K`` of the first axis in every spectral weight and mask its gradient.

    A weight ``(2K + 1, K + 1, C_in, C_out, 2)`` holds ``k = -K .. K`` on its first axis; without
    ``+K`` the layer keeps the modes of neuraloperator's ``n_modes=(2K, 2K)``. With a zero value, a
    zero gradient and zero moments, AdamW and its weight decay leave it zero.
    """
    for weight in complex_pair_parameters(model):  # an FNO's dense (2K + 1, K + 1, C_in, C_out, 2) weights
        with torch.no_grad():
            weight[-1].zero_()
        weight.register_hook(lambda g: torch.cat([g[:-1], torch.zeros_like(g[-1:])]))


class InOrder:
    """``batches`` in the order of the samples, every epoch (the example's ``DataLoader``, no shuffling)."""

    def __init__(self, batches):
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def epoch(self, epoch: int, start: int = 0):
        n, size = self.batches.n, self.batches.batch_size
        for first in range(start * size, n, size):
            index = torch.arange(first, min(first + size, n))
            yield self.batches.take(index), index.numel()


@dataclasses.dataclass(frozen=True)
class Change:
    """One change to ``sciml train``: which names of :mod:`sciml.cli.train` it wraps or replaces."""

    name: str
    model: Callable[[nn.Module, int], None] | None = None  # edits a freshly built model in place, given the seed
    schedule: bool = False  # the cosine stepped once per epoch
    batches: type | None = None  # wraps the batches fit is handed


def copy_neuralop_init(model: nn.Module, seed: int) -> None:
    load_neuralop_fno(model, neuralop_fno(RECIPE, seed))


def combined(name: str, *changes: Change) -> Change:
    """Every change of ``changes`` at once."""
    edits = [c.model for c in changes if c.model is not None]

    def model(net: nn.Module, seed: int) -> None:
        for edit in edits:
            edit(net, seed)

    return Change(name, model=model if edits else None, schedule=any(c.schedule for c in changes),
                  batches=next((c.batches for c in changes if c.batches is not None), None))


SINGLE = {
    "modes": Change("modes", model=lambda model, seed: hold_top_frequency_at_zero(model)),
    "schedule": Change("schedule", schedule=True),
    "order": Change("order", batches=InOrder),
    "init": Change("init", model=copy_neuralop_init),
}
CHANGES = {
    **SINGLE,
    "all": combined("all", *SINGLE.values()),
}


@contextlib.contextmanager
def applied(change: Change | None, seed: int):
    """``sciml train`` with ``change`` (``None``: unchanged): names wrapped where :mod:`sciml.cli` looks them up."""
    if change is None:
        yield
        return
    real_build_model, real_fit = cli_train.build_model, cli_train.fit

    def build(table, in_channels, out_channels, model_seed):
        model = real_build_model(table, in_channels, out_channels, model_seed)
        if change.model is not None:
            change.model(model, seed)
        return model

    def build_scheduler(config, optimizer, steps_per_epoch):
        def factor(step: int) -> float:  # constant through an epoch: the configured cosine at the epoch's start
            return 0.5 * (1 + math.cos(math.pi * (step // steps_per_epoch) / config.cosine_epochs))

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

    def fit(model, optimizer, objective, batches, epochs, **kwargs):
        return real_fit(model, optimizer, objective, change.batches(batches), epochs, **kwargs)

    with contextlib.ExitStack() as stack:
        for module in (cli_train, cli_setups):  # the probe model is built in one, the trained one in the other
            stack.enter_context(mock.patch.object(module, "build_model", build))
        if change.schedule:
            stack.enter_context(mock.patch.object(cli_train, "build_scheduler", build_scheduler))
        if change.batches is not None:
            stack.enter_context(mock.patch.object(cli_train, "fit", fit))
        yield


def evaluate_run(run: Path, tests: dict[int, Split]) -> dict[int, float]:
    """Relative L2 of a ``sciml train`` run at each test resolution, from its checkpoint, as ``sciml eval`` computes it."""
    config = parse_config(tomllib.loads((run / "config.toml").read_text()))
    state = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)
    norms = {name: UnitGaussianNormalizer.from_state_dict(state[name]) if name in state else None
             for name in ("input_normalizer", "output_normalizer")}
    model = build_model(config.model, 1, 1, 0)
    model.load_state_dict(state["model"])
    return {n: evaluate_operator(model, s.inputs, s.targets, s.grid, **norms)["rel_l2"] for n, s in tests.items()}


def train_recipe(model: nn.Module, optimizer: torch.optim.Optimizer, train: Split, recipe: Recipe, epochs: int) -> nn.Module:
    """Train ``model`` with the example's recipe (see the module docstring); return it with outputs decoded."""
    trainer = RecipeTrainer(model, optimizer, example_loader(train.inputs, train.targets, recipe.batch_size, 0),
                            train.targets, recipe)
    trainer.run(0, epochs)
    return trainer.decoded()


def neuralop_recipe(seed: int, train: Split, recipe: Recipe, epochs: int) -> nn.Module:
    from neuralop.training import AdamW

    model = neuralop_fno(recipe, seed)
    return train_recipe(model, AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay), train,
                        recipe, epochs)


def sciml_fno_in_recipe(seed: int, train: Split, recipe: Recipe, epochs: int) -> nn.Module:
    model = FNO(1, 1, (recipe.modes,) * 2, recipe.width)
    copy_neuralop_init(model, seed)
    hold_top_frequency_at_zero(model)
    optimizer = PairedAdamW(model.parameters(), complex_pair_parameters(model), lr=recipe.lr,
                            weight_decay=recipe.weight_decay)  # neuralop's AdamW: eps 1e-6
    return train_recipe(KeywordCall(model), optimizer, train, recipe, epochs)


def same_training(seed: int, train: Split, test: Split, recipe: Recipe, epochs: int) -> float:
    """The recipe and its ``check`` trained ``epochs`` epochs: the largest prediction difference over the largest prediction."""
    ours = predict(sciml_fno_in_recipe(seed, train, recipe, epochs), test.inputs)
    theirs = predict(neuralop_recipe(seed, train, recipe, epochs), test.inputs)
    return ((ours - theirs).abs().max() / theirs.abs().max()).item()


def check_prototypes(generator: torch.Generator) -> dict[str, float]:
    """The prototypes against what they stand for, on random data: largest absolute differences."""
    from neuralop import H1Loss
    from neuralop.training import AdamW as NeuralopAdamW

    def run(optimizer, params, grads):
        for g in grads:
            for p, gp in zip(params, g):
                p.grad = gp.clone()
            optimizer.step()

    w0 = torch.randn(3, 4, 2, generator=generator)
    grads = [[torch.randn(3, 4, 2, generator=generator)] for _ in range(5)]
    ours, theirs = w0.clone().requires_grad_(), torch.view_as_complex(w0.clone()).requires_grad_()
    run(PairedAdamW([ours], [ours], lr=1e-2, weight_decay=0.1), [ours], grads)
    run(NeuralopAdamW([theirs], lr=1e-2, weight_decay=0.1), [theirs], [[torch.view_as_complex(g[0])] for g in grads])
    out = {"paired_adamw_vs_neuralop_adamw": (ours - torch.view_as_real(theirs)).abs().max().item()}
    pred, target = torch.randn(4, 1, 16, 16, generator=generator), torch.randn(4, 1, 16, 16, generator=generator)
    periodic = FiniteDiff(Grid.uniform(16, 2, periodic=True), order=2)
    out["recipe_loss_vs_h1loss"] = (relative_h1(pred, target, periodic).sum() - H1Loss(d=2)(pred, target)).abs().item()
    for name, value in out.items():
        if not value < 1e-5:
            raise AssertionError(f"prototype check {name}: {value:.2e}")
    return out


def slugify(name: str) -> str:
    """A run's name as a JSON key prefix: ``"+ complex moment"`` -> ``complex_moment``."""
    return "_".join(word for word in name.replace(":", " ").replace("+", " ").split())


def summary(errors: list[float]) -> str:
    return f"{statistics.mean(errors):.4f} ± {statistics.stdev(errors) if len(errors) > 1 else 0:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="250 training samples, 2 seeds, no causes, no check")
    parser.add_argument("--json", metavar="PATH", help="write one flat JSON object of all numbers")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per run (default 2 quick, 3 full)")
    parser.add_argument("--changes", default=None,
                        help=f"comma-separated changes to run (of {', '.join(CHANGES)}; default: none quick, all full)")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run from this one on (default 0)")
    parser.add_argument("--no-check", action="store_true", help="leave out the check of a full run")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1, as train_speed.py)")
    parser.add_argument("--cache", default=None, help="where sciml train caches the generated data (default: sciml's)")
    args = parser.parse_args()
    if (args.seeds is not None and args.seeds < 1) or args.threads < 1:
        parser.error(f"--seeds and --threads must be >= 1, got {args.seeds} and {args.threads}")
    torch.set_num_threads(args.threads)
    recipe = dataclasses.replace(RECIPE, n_train=250) if args.quick else RECIPE
    seeds = range(args.first_seed, args.first_seed + (args.seeds or (2 if args.quick else 3)))
    names = [n.strip() for n in (args.changes if args.changes is not None else "" if args.quick else ",".join(CHANGES)).split(",")]
    unknown = [n for n in names if n and n not in CHANGES]
    if unknown:
        parser.error(f"--changes: unknown change {unknown[0]!r} (known: {', '.join(CHANGES)})")
    changes = [CHANGES[n] for n in names if n]
    started = time.perf_counter()
    flat = header(n_train=recipe.n_train, seeds=len(seeds), epochs=recipe.epochs)
    flat.update(check_prototypes(torch.Generator().manual_seed(0)))
    ours, theirs = FNO(1, 1, (recipe.modes,) * 2, recipe.width), neuralop_fno(recipe, 0)
    flat["sciml_fno_parameters"] = sum(p.numel() for p in ours.parameters())
    flat["neuralop_fno_parameters"] = sum(p.numel() * (2 if p.is_complex() else 1) for p in theirs.parameters())
    extra = 4 * (recipe.modes + 1) * recipe.width**2 * 2  # the +K row of 4 layers, (re, im)
    print(f"parameters (real numbers): sciml {flat['sciml_fno_parameters']}, neuralop {flat['neuralop_fno_parameters']}, "
          f"difference {flat['sciml_fno_parameters'] - flat['neuralop_fno_parameters']} = the +K modes ({extra})")
    print("prototype checks (max abs difference): " + ", ".join(f"{k} {flat[k]:.1e}" for k in (
        "paired_adamw_vs_neuralop_adamw", "recipe_loss_vs_h1loss")))

    results: dict[str, dict[int, dict[int, float]]] = {}  # run -> seed -> resolution -> rel L2
    with tempfile.TemporaryDirectory(prefix="accuracy_parity_") as work:
        config = write_config(Path(work) / "darcy_small.toml", recipe, args.cache, recipe.epochs,
                              "benchmarks/accuracy_parity.py: neuraloperator's small-Darcy recipe")
        data = load_config(config).data
        train = load_split(data.train, data, data.n_train, "data.train")
        tests = {recipe.resolution: load_split(data.test, data, None, "data.test"),
                 recipe.zero_shot: load_split(Source(problem="darcy", n=recipe.n_test, resolution=recipe.zero_shot, seed=1),
                                              dataclasses.replace(data, resolution=None), None, "zero-shot")}

        def record(name: str, seed: int, errors: dict[int, float]) -> None:
            results.setdefault(name, {})[seed] = errors
            print(f"  {name:<24} seed {seed}: " + ", ".join(f"rel L2 @{n} {e:.4f}" for n, e in errors.items()), flush=True)

        runs: list[tuple[str, Change | None]] = [("sciml train", None), *((f"+ {c.name}", c) for c in changes)]
        for seed in seeds:
            model = neuralop_recipe(seed, train, recipe, recipe.epochs)
            record("neuralop recipe", seed, {n: evaluate_operator(model, s.inputs, s.targets, s.grid)["rel_l2"]
                                             for n, s in tests.items()})
            for name, change in runs:
                out = Path(work) / f"run-{seed}"
                with applied(change, seed):
                    run_sciml_train(config, out, [f"train.seed={seed}"])
                record(name, seed, evaluate_run(out, tests))
        if not (args.quick or args.no_check):
            flat["check_3_epochs_max_rel_diff"] = same_training(seeds[0], train, tests[recipe.resolution], recipe, 3)
            print(f"check after 3 epochs: predictions differ from the recipe's by {flat['check_3_epochs_max_rel_diff']:.1e} "
                  "of their largest value", flush=True)
            model = sciml_fno_in_recipe(seeds[0], train, recipe, recipe.epochs)
            record("check", seeds[0], {n: evaluate_operator(model, s.inputs, s.targets, s.grid)["rel_l2"]
                                       for n, s in tests.items()})

    base = results["sciml train"]
    print(f"{'run':<24}{'rel L2 @16':>18}{'@32 zero-shot':>18}{'paired vs sciml train: mean [min, max] @16':>44}{'@32':>24}")
    for name, by_seed in results.items():
        cells, slug = [], slugify(name)
        for n in (recipe.resolution, recipe.zero_shot):
            errors = [by_seed[s][n] for s in by_seed]
            cells.append(summary(errors))
            flat[f"{slug}_rel_l2_{n}_mean"] = statistics.mean(errors)
            flat.update({f"{slug}_seed{s}_rel_l2_{n}": by_seed[s][n] for s in by_seed})
        for n in (recipe.resolution, recipe.zero_shot):
            paired = [by_seed[s][n] / base[s][n] - 1 for s in by_seed]
            cells.append(f"{100 * statistics.mean(paired):+.1f}% [{100 * min(paired):+.1f}, {100 * max(paired):+.1f}]")
            if name.startswith("+ "):
                flat[f"{slug}_effect_{n}"] = statistics.mean(paired)
        print(f"{name:<24}{cells[0]:>18}{cells[1]:>18}{cells[2]:>44}{cells[3]:>24}")
    for n in (recipe.resolution, recipe.zero_shot):
        suffix = "" if n == recipe.resolution else f"_zero_shot_{n}"
        flat[f"rel_l2_ratio_vs_neuralop_recipe{suffix}"] = (flat[f"sciml_train_rel_l2_{n}_mean"]
                                                            / flat[f"neuralop_recipe_rel_l2_{n}_mean"])
    if "check" in results:
        s0 = seeds[0]
        gaps = {n: results["check"][s0][n] / results["neuralop recipe"][s0][n] - 1 for n in tests}
        flat.update({f"check_vs_neuralop_recipe_{n}": gap for n, gap in gaps.items()})
        print("check (sciml's FNO in the recipe) against the recipe run of seed "
              f"{s0}: " + ", ".join(f"@{n} {100 * gap:+.2f}%" for n, gap in gaps.items()))
    zero_shot_key = f"rel_l2_ratio_vs_neuralop_recipe_zero_shot_{recipe.zero_shot}"
    print(f"rel_l2_ratio_vs_neuralop_recipe {flat['rel_l2_ratio_vs_neuralop_recipe']:.3f} (target <= 1.0; "
          f"zero-shot at {recipe.zero_shot}: {flat[zero_shot_key]:.3f})")
    flat["wall_s"], flat["load_average_1min_end"] = time.perf_counter() - started, os.getloadavg()[0]
    print(f"wall time: {flat['wall_s']:.0f} s")
    if args.json:
        write_json(args.json, flat)


if __name__ == "__main__":
    main()
