"""Where an FNO training step goes, ours beside neuraloperator 2.0's, on CPU.

For each FNO row of ``benchmarks/fno_speed.py`` (same cases, same weights copied into ours) both
training steps are timed (interleaved medians) and then profiled: the self time of every operator
under ``torch.profiler``, in ms per step, split into GEMMs (for neuraloperator its 1x1
convolutions), exact-erf GELU forward and backward, FFTs, and everything else (copies, elementwise
passes, reductions, the optimizer). ``speedup_bound`` is neuraloperator's step time over ours times
the share of our step spent in GEMM, GELU and FFT kernels: the ratio we would reach if everything
else cost nothing (``train_step_speedup_bound_min`` over the rows).

    python benchmarks/fno_profile.py --json runs/fno_profile.json
    python benchmarks/fno_profile.py --quick --only fno2d_w32

The JSON holds ``<case>_sciml_train_ms``, ``<case>_neuralop_train_ms``,
``<case>_profile_<side>_<gemm|gelu|fft|other>_ms``, ``<case>_profile_sciml_kernel_share``,
``<case>_profile_speedup_bound`` and ``train_step_speedup_bound_min``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import sys

from _timing import ensure_allocator_env, interleaved_medians

ensure_allocator_env()

import torch  # noqa: E402
from fno_speed import build, cases, fmt, memory_shortfall, run_header, step_fns, write_json  # noqa: E402

CPU = torch.device("cpu")

#: profiler op names per kind of kernel; everything else is "other" (copies, elementwise passes,
#: reductions, launches). neuraloperator's 1x1 convolutions are its GEMMs.
KERNELS = {
    "gemm": ("aten::bmm", "aten::baddbmm", "aten::baddbmm_", "aten::mm", "aten::addmm", "aten::addbmm",
             "aten::mkldnn_convolution", "aten::convolution_backward"),
    "gelu": ("aten::gelu", "aten::gelu_backward"),
    "fft": ("aten::_fft_r2c", "aten::_fft_c2r", "aten::_fft_c2c"),
}


@contextlib.contextmanager
def silenced_output():
    """Send file descriptors 1 and 2 to ``/dev/null`` for the block: this torch build's profiler
    writes start/stop log lines there from C (no setting turns them off), which would split the tables."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        ctypes.CDLL(None).fflush(None)  # C stdio buffers still holding the lines
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def kernel_breakdown(train, steps: int) -> dict[str, float]:
    """Milliseconds per training step by kind of kernel (:data:`KERNELS`, self time under ``torch.profiler``)."""
    from torch.profiler import ProfilerActivity, profile

    with silenced_output(), profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            train()
    ms = dict.fromkeys((*KERNELS, "other"), 0.0)
    for event in prof.key_averages():
        kind = next((k for k, names in KERNELS.items() if event.key in names), "other")
        ms[kind] += event.self_cpu_time_total / 1e3 / steps
    return ms


def profile_row(trains: dict, row: dict, repeats: int) -> dict[str, float]:
    """Where each side's training step goes (``trains``: side -> step closure, already warm).

    ``speedup_bound`` is neuraloperator's step time over ours times the share of our step spent in
    GEMM, GELU and FFT kernels: the ratio we would reach if everything else cost nothing.
    """
    out: dict[str, float] = {}
    for side, train in trains.items():
        out.update({f"{side}_{kind}_ms": value for kind, value in kernel_breakdown(train, repeats).items()})
    total = sum(out[f"sciml_{kind}_ms"] for kind in (*KERNELS, "other"))
    out["sciml_kernel_share"] = sum(out[f"sciml_{kind}_ms"] for kind in KERNELS) / total
    if "neuralop_train_ms" in row:
        out["speedup_bound"] = row["neuralop_train_ms"] / (row["sciml_train_ms"] * out["sciml_kernel_share"])
    return out




def print_profiles(profiles: dict[str, dict[str, float]]) -> None:
    kinds = (*KERNELS, "other")
    print("\nwhere a training step goes (profiled ms per step; bound: our speedup if only GEMM+GELU+FFT cost time)")
    print(f"{'case':<26}{'side':>10}" + "".join(f"{k:>10}" for k in kinds) + f"{'bound':>10}")
    for name, prof in profiles.items():
        for side in ("sciml", "neuralop"):
            if f"{side}_gemm_ms" not in prof:
                continue
            bound = fmt(prof.get("speedup_bound"), ".2f") if side == "sciml" else ""
            cells = "".join(f"{prof[f'{side}_{k}_ms']:>10.1f}" for k in kinds)
            print(f"{name:<26}{side:>10}{cells}{bound:>10}")


def profile_case(case, repeats: int, generator: torch.Generator, clock: str) -> dict[str, float]:
    """Both training steps of ``case`` timed, then profiled: ``<side>_train_ms`` and ``profile_*`` entries."""
    ours, theirs, x, y = build(case, CPU, generator, reference=True)
    trains = {"sciml": step_fns(ours, x, y, None)[1], "neuralop": step_fns(theirs, x, y, None)[1]}
    seconds = interleaved_medians(trains, CPU, repeats, clock=clock)
    row = {f"{side}_train_ms": 1e3 * value for side, value in seconds.items()}
    row.update({f"profile_{key}": value for key, value in profile_row(trains, row, repeats).items()})
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the FNO rows of fno_speed.py --quick")
    parser.add_argument("--json", metavar="PATH", help="write one flat JSON object of all numbers")
    parser.add_argument("--repeats", type=int, default=None, help="timed and profiled steps (default 3 quick, 5 full)")
    parser.add_argument(
        "--clock", default="wall", choices=("wall", "cpu"), help="cpu: process CPU time (use with --threads 1 on a shared machine)"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--only", default="", help="run only the cases whose name contains this string")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    repeats = args.repeats or (3 if args.quick else 5)
    generator = torch.Generator().manual_seed(0)
    flat: dict[str, object] = dict(run_header(CPU, "fp32", args.clock, repeats, reference=True))
    profiles: dict[str, dict[str, float]] = {}
    for case in [c for c in cases(args.quick) if c.kind == "fno" and args.only in c.name]:
        shortfall = memory_shortfall(case, CPU)
        if shortfall:
            flat[f"{case.name}_skipped"] = shortfall
            print(f"{case.name:<26}  {shortfall}", flush=True)
            continue
        row = profile_case(case, repeats, generator, args.clock)
        flat.update({f"{case.name}_{key}": value for key, value in row.items()})
        profiles[case.name] = {key[len("profile_") :]: v for key, v in row.items() if key.startswith("profile_")}
        print(f"{case.name:<26} train ms: sciml {row['sciml_train_ms']:.1f}, neuralop {row['neuralop_train_ms']:.1f}", flush=True)
        if args.json:  # after every row, so that a run stopped part-way keeps what it measured
            write_json(args.json, flat)
    print_profiles(profiles)
    bounds = [v for k, v in flat.items() if k.endswith("_profile_speedup_bound")]
    flat["train_step_speedup_bound_min"] = min(bounds) if bounds else None
    print(f"kernel bound, min over rows: {fmt(flat['train_step_speedup_bound_min'], '.2f')}")
    if args.json:
        write_json(args.json, flat)


if __name__ == "__main__":
    main()
