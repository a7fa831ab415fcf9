"""FNO speed against neuraloperator 2.0, as ratios measured in one process.

For each case both sides are built with the same architecture (ours ``modes=K`` against theirs
``n_modes=2K``; ours keeps the superset ``|k| <= K``), the FNO weights are copied from theirs into
ours and the outputs compared before anything is timed. Times are medians of interleaved repeats:
``fwd`` is a forward pass under ``torch.no_grad``; ``train`` a full training step (forward, MSE
loss, backward, Adam step). ``speedup`` is neuraloperator's time over ours. ``/fft`` is a spectral
layer's forward time over the bare ``rfftn + irfftn`` of its input at the same size (the floor
that any FFT-based layer pays).

Where each side's training step goes (GEMM, GELU, FFT, other) is ``benchmarks/fno_profile.py``.

    python benchmarks/fno_speed.py --quick --json runs/fno_speed.json
    python benchmarks/fno_speed.py --device cuda --dtype bf16
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import sys
import warnings
from dataclasses import dataclass

from _timing import ensure_allocator_env, interleaved_medians, retained_heap_bytes

ALLOCATOR = ensure_allocator_env()

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from sciml.models import FNO  # noqa: E402
from sciml.models.neuralop_compat import load_neuralop_fno  # noqa: E402
from sciml.nn import SpectralConv  # noqa: E402

warnings.filterwarnings("ignore", module="neuralop")  # its import-time UserWarnings are not ours to fix


@dataclass(frozen=True)
class Case:
    """One benchmark row: a spectral layer or a 4-layer FNO on ``batch`` fields of ``size^dim``."""

    kind: str  # "layer" or "fno"
    dim: int
    width: int
    modes: int  # kept modes per sign, K (neuraloperator n_modes = 2K)
    size: int
    batch: int = 20

    @property
    def name(self) -> str:
        return f"{self.kind}{self.dim}d_w{self.width}_k{self.modes}_n{self.size}"


def cases(quick: bool) -> list[Case]:
    sizes = (64, 128) if quick else (64, 128, 256)
    configs = ((32, 12), (64, 16))
    rows = [Case(kind, 2, w, k, n) for n in sizes for (w, k) in configs for kind in ("layer", "fno")]
    rows += [Case("fno", 1, 64, 16, n) for n in ((1024,) if quick else (1024, 8192))]
    return rows


#: peak resident memory of both libraries' FNO training steps timed in turn in one process, in
#: activations (``batch x width x prod(S)`` floats): measured ~78 at FNO-2D width 64, 128^2 (one side
#: alone: ~42 sciml, ~48 neuraloperator; each side's freed buffers only partly fit the other's requests).
#: Timing the sides one after the other does not rescue 256^2 width 64 on a 23 GiB machine: tried, it
#: reached the physical limit and thrashed (22 million page faults; our GELU took 2.5x neuraloperator's).
ACTIVATIONS_PER_STEP = 80


def memory_shortfall(case: Case, device: torch.device) -> str | None:
    """Why ``case`` cannot run on this CPU, or ``None``.

    It cannot when the estimated peak exceeds ``MemAvailable`` plus the free heap this process keeps
    under the allocator settings (freed buffers of earlier rows, reusable here but not counted there).
    """
    if device.type != "cpu" or case.kind != "fno" or not os.path.exists("/proc/meminfo"):
        return None
    gc.collect()  # the previous row's models
    with open("/proc/meminfo") as meminfo:
        fields = dict(line.split(":", 1) for line in meminfo)
    available = int(fields["MemAvailable"].split()[0]) * 1024 + retained_heap_bytes()
    need = ACTIVATIONS_PER_STEP * case.batch * case.width * case.size**case.dim * 4
    if need <= available:
        return None
    return f"skipped: both training steps need ~{need / 2**30:.0f} GiB, {available / 2**30:.0f} GiB available"


def write_json(path: str, flat: dict) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as handle:
        json.dump(flat, handle, indent=1)


def build(case: Case, device: torch.device, generator: torch.Generator, reference: bool):
    """Our module and neuraloperator's (``None`` without ``reference``), equal FNO weights, input, target."""
    space = (case.size,) * case.dim
    theirs = None
    if case.kind == "layer":
        ours = SpectralConv(case.width, case.width, (case.modes,) * case.dim, generator=generator)
        if reference:
            from neuralop.layers.spectral_convolution import SpectralConv as TheirConv

            theirs = TheirConv(case.width, case.width, n_modes=(2 * case.modes,) * case.dim, bias=False)
        channels = (case.width, case.width)
    else:
        ours = FNO(1, 1, (case.modes,) * case.dim, case.width, generator=generator)
        if reference:
            from neuralop.models import FNO as TheirFNO

            theirs = TheirFNO(
                n_modes=(2 * case.modes,) * case.dim, in_channels=1, out_channels=1, hidden_channels=case.width
            )
            load_neuralop_fno(ours, theirs)
        channels = (1, 1)
    x = torch.randn(case.batch, channels[0], *space, generator=generator).to(device)
    y = torch.randn(case.batch, channels[1], *space, generator=generator).to(device)
    return ours.to(device), None if theirs is None else theirs.to(device), x, y


def step_fns(model, x, y, autocast_dtype):
    """``(forward, train_step)`` closures; the train step is forward, MSE, backward, Adam."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    enabled = autocast_dtype is not None

    def forward():
        with torch.no_grad(), torch.autocast(x.device.type, dtype=autocast_dtype, enabled=enabled):
            return model(x)

    def train():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(x.device.type, dtype=autocast_dtype, enabled=enabled):
            loss = F.mse_loss(model(x).float(), y)
        loss.backward()
        optimizer.step()

    return forward, train


def fft_floor(x_width: torch.Tensor):
    dims = tuple(range(2, x_width.dim()))

    def call():
        return torch.fft.irfftn(torch.fft.rfftn(x_width, dim=dims), s=x_width.shape[2:], dim=dims)

    return call


def run_case(
    case: Case, device, autocast_dtype, repeats: int, generator, reference: bool, clock: str
) -> dict[str, float]:
    ours, theirs, x, y = build(case, device, generator, reference)
    row: dict[str, float] = {}
    ours_fwd, ours_train = step_fns(ours, x, y, autocast_dtype)
    their_ok = theirs is not None
    if their_ok:
        if case.kind == "fno":
            with torch.no_grad():
                row["max_abs_diff"] = (ours(x) - theirs(x)).abs().max().item()
        their_fwd, their_train = step_fns(theirs, x, y, autocast_dtype)
        try:
            their_fwd()
        except RuntimeError as error:  # e.g. complex operations neuraloperator runs under bf16 autocast
            print(f"  neuralop failed on {case.name}: {str(error).splitlines()[0]}", file=sys.stderr)
            their_ok = False
    forward = {"sciml": ours_fwd, **({"neuralop": their_fwd} if their_ok else {})}
    if case.kind == "layer":
        forward["fft"] = fft_floor(torch.randn(case.batch, case.width, *(case.size,) * case.dim, device=device))
    fwd = interleaved_medians(forward, device, repeats, clock=clock)
    trains = {"sciml": ours_train, **({"neuralop": their_train} if their_ok else {})}
    train = interleaved_medians(trains, device, repeats, clock=clock)
    row.update({"sciml_fwd_ms": 1e3 * fwd["sciml"], "sciml_train_ms": 1e3 * train["sciml"]})
    if their_ok:
        row.update({"neuralop_fwd_ms": 1e3 * fwd["neuralop"], "neuralop_train_ms": 1e3 * train["neuralop"]})
        row["fwd_speedup"] = fwd["neuralop"] / fwd["sciml"]
        row["train_speedup"] = train["neuralop"] / train["sciml"]
    if case.kind == "layer":
        row["sciml_over_fft"] = fwd["sciml"] / fwd["fft"]
        if their_ok:
            row["neuralop_over_fft"] = fwd["neuralop"] / fwd["fft"]
    return row


def fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def run_header(device: torch.device, dtype: str, clock: str, repeats: int, reference: bool) -> dict[str, object]:
    """What a run measured on, printed as its first line and written first into its JSON."""
    if reference:
        import neuralop

        reference_version = neuralop.__version__
    else:
        reference_version = "not used (--no-reference)"
    header = {
        "device": str(device),
        "dtype": dtype,
        "torch": torch.__version__,
        "neuralop": reference_version,
        "threads": torch.get_num_threads(),
        "clock": clock,
        "allocator": ALLOCATOR,
        "cpu": platform.processor() or platform.machine(),
        "repeats": repeats,
    }
    print(" | ".join(f"{k}: {v}" for k, v in header.items()))
    return header


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="64^2 and 128^2 (and 1-D at 1024) only")
    parser.add_argument("--json", metavar="PATH", help="write one flat JSON object of all numbers")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--dtype", default="fp32", choices=("fp32", "bf16", "fp16"), help="autocast dtype")
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds per measurement (default 3 quick, 5 full)")
    parser.add_argument(
        "--clock", default="wall", choices=("wall", "cpu"), help="cpu: process CPU time (use with --threads 1 on a shared machine)"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--only", default="", help="run only the cases whose name contains this string")
    parser.add_argument(
        "--no-reference", action="store_true", help="time sciml alone (where neuraloperator is not installed)"
    )
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    autocast_dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[args.dtype]
    repeats = args.repeats or (3 if args.quick else 5)
    generator = torch.Generator().manual_seed(0)
    header = run_header(device, args.dtype, args.clock, repeats, reference=not args.no_reference)
    columns = ("case", "fwd ms", "np fwd ms", "fwd x", "train ms", "np train ms", "train x", "/fft", "np /fft", "diff")
    print(f"{columns[0]:<26}" + "".join(f"{c:>12}" for c in columns[1:]))
    flat: dict[str, object] = dict(header)
    for case in [c for c in cases(args.quick) if args.only in c.name]:
        shortfall = memory_shortfall(case, device)
        if shortfall:
            flat[f"{case.name}_skipped"] = shortfall
            print(f"{case.name:<26}  {shortfall}", flush=True)
            continue
        row = run_case(case, device, autocast_dtype, repeats, generator, not args.no_reference, args.clock)
        flat.update({f"{case.name}_{key}": value for key, value in row.items()})
        cells = (
            fmt(row.get("sciml_fwd_ms"), ".1f"),
            fmt(row.get("neuralop_fwd_ms"), ".1f"),
            fmt(row.get("fwd_speedup"), ".2f"),
            fmt(row.get("sciml_train_ms"), ".1f"),
            fmt(row.get("neuralop_train_ms"), ".1f"),
            fmt(row.get("train_speedup"), ".2f"),
            fmt(row.get("sciml_over_fft"), ".2f"),
            fmt(row.get("neuralop_over_fft"), ".2f"),
            fmt(row.get("max_abs_diff"), ".1e"),
        )
        print(f"{case.name:<26}" + "".join(f"{c:>12}" for c in cells), flush=True)
        if args.json:  # after every row, so that a run stopped part-way keeps what it measured
            write_json(args.json, flat)
    train = [v for k, v in flat.items() if k.endswith("_train_speedup")]
    floor = [v for k, v in flat.items() if k.endswith("_sciml_over_fft")]
    flat["train_step_speedup_vs_neuralop_min"] = min(train) if train else None
    flat["fwd_speedup_vs_neuralop_min"] = min((v for k, v in flat.items() if k.endswith("_fwd_speedup")), default=None)
    flat["spectral_conv_over_fft_floor_max"] = max(floor) if floor else None
    print(
        f"train-step speedup vs neuralop, min over rows: {fmt(flat['train_step_speedup_vs_neuralop_min'], '.2f')}; "
        f"spectral conv / FFT floor, max: {fmt(flat['spectral_conv_over_fft_floor_max'], '.2f')}"
    )
    if args.json:
        write_json(args.json, flat)


if __name__ == "__main__":
    main()
