"""Path policies: the measured CPU rule, fixed paths, the autotune and its agreement across ranks."""

import json

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from sciml.nn import (
    AbstractPathPolicy,
    Autotune,
    ByDevice,
    CPURule,
    FixedPath,
    SpectralConv,
    as_policy,
    cpu_rule,
    reference_spectral_conv,
)


def test_cpu_rule_is_deterministic_and_follows_its_measurements():
    for training in (False, True):
        assert cpu_rule((12, 12), (256, 256), (256, 256), training) == ("fft", "fft")
        assert cpu_rule((8,), (1024,), (1024,), training) == ("dft", "dft")
        assert cpu_rule((32,), (1024,), (1024,), training) == ("fft", "fft")
        assert cpu_rule((4, 4, 4), (32, 32, 32), (32, 32, 32), training) == ("dft", "dft")
    assert cpu_rule((8, 8), (64, 64), (64, 64), training=False) == ("fft", "dft")
    assert cpu_rule((8, 8), (64, 64), (64, 64), training=True) == ("fft", "fft")


def test_autotune_measures_once_per_key_and_caches(generator):
    policy = Autotune()
    layer = SpectralConv(2, 3, (3, 3), path=policy, generator=generator)
    assert layer.path is policy
    x = torch.randn(2, 2, 16, 17, generator=generator)
    y = layer(x)
    assert len(policy) == 1
    choice = policy.choose(x, (3, 3), (16, 17), 3, training=True)
    assert set(choice) <= {"fft", "dft"}
    layer(x)
    layer(x, (20, 20))
    assert len(policy) == 2
    layer.path = "fft"
    torch.testing.assert_close(y, layer(x), rtol=0, atol=1e-6)


def _preferring(path, calls):
    """A fake timer under which ``path`` is the faster transform; records what it was asked to time."""

    def timer(candidate, fn):
        calls.append(candidate)
        return 1.0 if candidate == path else 2.0

    return timer


def test_autotune_keeps_the_faster_path_per_direction_in_a_bounded_cache(generator):
    calls = []
    policy = Autotune(maxsize=2, timer=_preferring("dft", calls))
    x = torch.randn(1, 2, 16, generator=generator)
    assert policy.choose(x, (3,), (16,), 2, training=False) == ("dft", "dft")
    assert calls == ["fft", "dft", "fft", "dft"]  # forward, then inverse, each path once
    policy.choose(x, (3,), (16,), 2, training=False)
    assert len(calls) == 4  # cached
    for n in (20, 24, 16):  # two new keys evict the first, which is then measured again
        policy.choose(x, (3,), (n,), 2, training=False)
    assert len(policy) == 2 and len(calls) == 16


def test_autotune_times_nothing_while_compiling_and_falls_back_to_the_cpu_rule(generator):
    calls = []
    layer = SpectralConv(2, 2, (3,), path=Autotune(timer=_preferring("dft", calls)), generator=generator)
    x = torch.randn(2, 2, 64, generator=generator)
    compiled = torch.compile(layer, backend="aot_eager", fullgraph=True)
    torch.testing.assert_close(compiled(x), layer(x), rtol=1e-5, atol=1e-6)
    assert calls == ["fft", "dft", "fft", "dft"]  # the eager call only


@pytest.mark.parametrize("forward, inverse", [("fft", "dft"), ("dft", "fft")])
def test_mixed_fixed_paths_equal_the_reference(forward, inverse, generator):
    layer = SpectralConv(3, 2, (4, 5), path=FixedPath(forward, inverse), generator=generator).double()
    x = torch.randn(2, 3, 16, 15, dtype=torch.float64, generator=generator)
    ref = reference_spectral_conv(x, layer.full_weight(), layer.modes, (20, 17))
    torch.testing.assert_close(layer(x, (20, 17)), ref, rtol=0, atol=1e-10)


class _Recording(AbstractPathPolicy):
    def __init__(self, paths):
        self.paths, self.calls = paths, 0

    def choose(self, x, kept, out_shape, out_channels, training):
        self.calls += 1
        return self.paths


def test_by_device_asks_the_cpu_policy_on_cpu_and_auto_is_its_default(generator):
    cpu, accelerator = _Recording(("dft", "fft")), _Recording(("fft", "dft"))
    policy = ByDevice(cpu=cpu, accelerator=accelerator)
    assert policy.choose(torch.zeros(1, 1, 8), (2,), (8,), 1, False) == ("dft", "fft")
    assert (cpu.calls, accelerator.calls) == (1, 0)
    auto = as_policy("auto")
    assert isinstance(auto, ByDevice) and isinstance(auto.cpu, CPURule) and isinstance(auto.accelerator, Autotune)
    assert as_policy("auto").accelerator is not auto.accelerator  # no cache shared through a default


def test_bad_paths_are_refused_naming_the_argument():
    with pytest.raises(ValueError, match="`path`"):
        as_policy("fast")
    with pytest.raises(ValueError, match="`inverse`"):
        FixedPath("fft", "cufft")
    with pytest.raises(ValueError, match="maxsize"):
        Autotune(maxsize=0)


def _broadcast_worker(rank, world_size, init_file, out_dir):
    """One rank: both time with fake timers that disagree; the training choice must be rank 0's."""
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    try:
        calls = []
        policy = Autotune(timer=_preferring("fft" if rank == 0 else "dft", calls))
        x = torch.randn(2, 2, 16, 16, generator=torch.Generator().manual_seed(0))
        training = policy.choose(x, (3, 3), (16, 16), 2, training=True)
        training_calls = len(calls)
        inference = policy.choose(x, (3, 3), (16, 16), 2, training=False)
        result = {"training": training, "training_calls": training_calls, "inference": inference}
        with open(f"{out_dir}/rank{rank}.json", "w") as handle:
            json.dump(result, handle)
    finally:
        dist.destroy_process_group()


def test_autotune_under_distributed_runs_rank_zeros_choice_on_every_rank(tmp_path):
    mp.spawn(_broadcast_worker, args=(2, tmp_path / "rendezvous", tmp_path), nprocs=2)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert [r["training"] for r in ranks] == [["fft", "fft"], ["fft", "fft"]]
    assert [r["training_calls"] for r in ranks] == [4, 0]  # rank 1 measures nothing and waits
    # inference is each rank's own (an evaluation on one rank must not wait for the others)
    assert [r["inference"] for r in ranks] == [["fft", "fft"], ["dft", "dft"]]
