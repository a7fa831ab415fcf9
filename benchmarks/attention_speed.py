"""Attention operators' speed: one attention layer against n, and whole training steps against an FNO.

Part 1, one layer: forward and backward of a multi-head attention layer (width 128, 4 heads, batch 4,
2-D coordinates as positional features) at n = 1k, 4k, 16k, 64k points. The Galerkin type
``Q (LN(K)^T LN(V)) / n`` is timed at every n and a line fitted to log time against log n gives
``galerkin_time_exponent`` (linear cost: 1). The same layer with its product replaced by PyTorch's
softmax ``scaled_dot_product_attention`` (no layer norms, the standard attention) is timed at the
points where a quadratic cost fits the budget, including 16k for ``galerkin_speedup_vs_sdpa_16k`` (its
time over Galerkin's), and the Fourier type ``(LN(Q) LN(K)^T) V / n`` up to 4k (it stores the
``n x n`` scores). Memory: the bytes that autograd saves for the backward pass (saved-tensor hooks,
each storage counted once), on every device; on CUDA also the allocator's peak.

Part 2, models at 85 x 85: one training step (forward, relative L2 loss, backward, Adam) of the
GalerkinTransformer (the shipped Darcy model with an 85^2 -> 29^2 latent grid) and of the LSM (the
paper's patches and scales, widths 16 and 64), each against an FNO (12 modes, 4 layers) whose width
gives the closest parameter count; ratios of medians of interleaved repeats, in the same run.

    python benchmarks/attention_speed.py --quick --json runs/attention_speed.json
    python benchmarks/attention_speed.py --device cuda --json runs/attention_speed_gpu.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform

from _timing import ensure_allocator_env, interleaved_medians, synchronize

ALLOCATOR = ensure_allocator_env()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from sciml.models import FNO, LSM, GalerkinTransformer, GalerkinTransformerOptions  # noqa: E402
from sciml.nn import FourierAttention, GalerkinAttention  # noqa: E402
from sciml.nn.attention import AbstractSimpleAttention  # noqa: E402

WIDTH, HEADS, BATCH = 128, 4, 4


class SoftmaxAttention(AbstractSimpleAttention):
    """The baseline: the same projections and coordinates, ``softmax(Q K^T / sqrt(d)) V`` by PyTorch's fused kernel."""

    normalized = ()
    attend = staticmethod(lambda q, k, v: F.scaled_dot_product_attention(q, k, v))


LAYERS = {"galerkin": GalerkinAttention, "sdpa": SoftmaxAttention, "fourier": FourierAttention}


def saved_bytes(call) -> int:
    """Bytes of the distinct storages autograd saves for backward while ``call()`` runs its forward."""
    storages: dict[int, int] = {}

    def pack(t):
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        call()
    return sum(storages.values())


def layer_step(kind: str, n: int, device: torch.device, generator: torch.Generator):
    """A forward-and-backward closure of one ``kind`` attention layer on ``BATCH x n`` tokens."""
    layer = LAYERS[kind](WIDTH, HEADS, pos_dim=2, generator=generator).to(device)
    x = torch.randn(BATCH, n, WIDTH, generator=generator).to(device).requires_grad_()
    side = math.isqrt(n)  # n = side^2 points of the unit square's periodic grid
    pos = torch.stack(torch.meshgrid(*[torch.arange(side) / side] * 2, indexing="ij"), -1).reshape(n, 2).to(device)  # (n, 2)

    def forward():
        return layer(x, pos).square().mean()

    def step():
        forward().backward()

    return forward, step


def attention_rows(sizes, quadratic_limit, device, repeats) -> tuple[list[dict], dict]:
    generator = torch.Generator().manual_seed(0)
    rows, galerkin_times = [], {}
    for n in sizes:
        kinds = ["galerkin"] + ["sdpa"] * (n <= quadratic_limit) + ["fourier"] * (n <= 4096)
        steps, memory = {}, {}
        for kind in kinds:
            forward, step = layer_step(kind, n, device, generator)
            memory[kind] = saved_bytes(forward) / 2**20
            steps[kind] = step
        if device.type == "cuda":  # the allocator's own peak, one kind at a time
            peaks = {}
            for kind, step in steps.items():
                torch.cuda.reset_peak_memory_stats(device)
                step()
                synchronize(device)
                peaks[kind] = torch.cuda.max_memory_allocated(device) / 2**20
        times = interleaved_medians(steps, device, repeats if n <= 4096 else max(1, repeats // 2), warmup=1)
        galerkin_times[n] = times["galerkin"]
        for kind in kinds:
            row = {"kind": kind, "n": n, "ms": 1e3 * times[kind], "saved_mb": memory[kind]}
            if device.type == "cuda":
                row["peak_mb"] = peaks[kind]
            rows.append(row)
            print(f"  {kind:9s} n={n:6d}  {1e3 * times[kind]:10.1f} ms  saved {memory[kind]:9.1f} MiB"
                  + (f"  peak {row['peak_mb']:9.1f} MiB" if "peak_mb" in row else ""), flush=True)
    ns = np.array(sorted(galerkin_times), dtype=float)
    exponent = float(np.polyfit(np.log(ns), np.log([galerkin_times[n] for n in sorted(galerkin_times)]), 1)[0])
    summary = {"galerkin_time_exponent": exponent}
    sdpa_16k = [r["ms"] for r in rows if r["kind"] == "sdpa" and r["n"] == 16384]
    if sdpa_16k:
        summary["galerkin_speedup_vs_sdpa_16k"] = sdpa_16k[0] / (1e3 * galerkin_times[16384])
    return rows, summary


def parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def matched_fno(target: int, generator: torch.Generator) -> FNO:
    """The FNO (12 modes, 4 layers) whose width gives the parameter count closest to ``target``."""
    counts = {w: parameters(FNO(1, 1, (12, 12), w)) for w in range(8, 129, 2)}
    width = min(counts, key=lambda w: abs(counts[w] - target))
    return FNO(1, 1, (12, 12), width, generator=generator)


def train_step(model, a, u):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = ((model(a) - u).flatten(1).norm(dim=1) / u.flatten(1).norm(dim=1)).mean()
        loss.backward()
        optimizer.step()

    return step


def model_rows(device, repeats, batch, lsm_widths) -> list[dict]:
    generator = torch.Generator().manual_seed(0)
    galerkin = GalerkinTransformerOptions(latent_grid=(29, 29), decoder_width=32, decoder_hidden=128,
                                          decoder_coordinates=True, decoder_last_activation=True, norm_eps=1e-7)
    models = {"galerkin_transformer": GalerkinTransformer(1, 1, (12, 12), 128, 6, 4, options=galerkin, generator=generator)}
    models.update({f"lsm_w{w}": LSM(1, 1, (6, 6), w, 12, 4, generator=generator) for w in lsm_widths})
    a = torch.randn(batch, 1, 85, 85, generator=generator).to(device)
    u = torch.randn(batch, 1, 85, 85, generator=generator).to(device)
    rows = []
    for name, model in models.items():
        fno = matched_fno(parameters(model), generator)
        times = interleaved_medians({name: train_step(model.to(device), a, u), "fno": train_step(fno.to(device), a, u)},
                                    device, repeats, warmup=1)
        row = {"model": name, "params": parameters(model), "fno_width": fno.width, "fno_params": parameters(fno),
               "ms": 1e3 * times[name], "fno_ms": 1e3 * times["fno"], "time_over_fno": times[name] / times["fno"]}
        rows.append(row)
        print(f"  {name:22s} {row['params'] / 1e6:5.2f}M params {row['ms']:9.1f} ms | FNO width {fno.width} "
              f"{row['fno_params'] / 1e6:5.2f}M {row['fno_ms']:9.1f} ms | ratio {row['time_over_fno']:.2f}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, the LSM at width 16 only")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (one on a shared machine)")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    repeats = 2 if args.quick else 5
    header = {"device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
              "threads": torch.get_num_threads(), "torch": torch.__version__, "python": platform.python_version(),
              "allocator": ALLOCATOR, "quick": args.quick, "width": WIDTH, "heads": HEADS, "batch": BATCH}
    print(json.dumps(header))
    print("one attention layer, forward + backward:")
    rows, summary = attention_rows((1024, 4096, 16384, 65536), 16384, device, repeats)
    print(json.dumps(summary))
    print("training steps at 85 x 85 against FNOs of similar parameter count:")
    models = model_rows(device, repeats, 4, (16,) if args.quick else (16, 64))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as handle:
            json.dump({**header, **summary, "attention": rows, "models": models}, handle, indent=1)


if __name__ == "__main__":
    main()
