"""Batches: each epoch a permutation fixed by (seed, epoch), resumable mid-epoch, shared exactly among processes."""

import torch

from sciml.train import Batches, StreamedBatches


def make(n=10, batch_size=4, seed=3, **kw):
    inputs = torch.arange(n, dtype=torch.float64)[:, None, None]  # sample i holds the value i
    return Batches(inputs, -inputs, batch_size, seed, **kw)


def test_an_epoch_visits_every_sample_once_in_an_order_set_by_seed_and_epoch():
    batches = make()
    assert len(batches) == 3
    seen = [a for (a, u), size in batches.epoch(0)]
    order = torch.cat(seen).flatten()
    assert sorted(order.tolist()) == list(range(10)) and [s.shape[0] for s in seen] == [4, 4, 2]
    assert torch.equal(torch.cat([u for (a, u), _ in batches.epoch(0)]).flatten(), -order)  # pairs stay together
    assert torch.equal(order, torch.cat([a for (a, u), _ in make().epoch(0)]).flatten())
    assert not torch.equal(order, torch.cat([a for (a, u), _ in batches.epoch(1)]).flatten())
    assert not torch.equal(order, torch.cat([a for (a, u), _ in make(seed=4).epoch(0)]).flatten())


def test_starting_mid_epoch_gives_the_remaining_batches():
    batches = make()
    full = [a for (a, _), _ in batches.epoch(2)]
    tail = [a for (a, _), _ in batches.epoch(2, start=1)]
    assert len(tail) == 2 and all(torch.equal(x, y) for x, y in zip(full[1:], tail))


def test_processes_share_each_global_batch_exactly():
    single = [(a.flatten(), size) for (a, _), size in make(n=11, batch_size=5).epoch(0)]
    shares = [[(a.flatten(), size) for (a, _), size in make(n=11, batch_size=5, rank=r, world_size=3).epoch(0)] for r in range(3)]
    for step, (whole, size) in enumerate(single):
        parts = [shares[r][step] for r in range(3)]
        assert all(s == size for _, s in parts)  # every process knows the global size
        assert sorted(torch.cat([p for p, _ in parts]).tolist()) == sorted(whole.tolist())


def test_streamed_batches_are_the_in_memory_batches():
    inputs = torch.arange(11, dtype=torch.float64)[:, None, None]
    asked = []

    def read(index):
        asked.append(index)
        return inputs[index], -inputs[index]

    for rank, world, start in ((0, 1, 0), (1, 3, 1)):
        memory = Batches(inputs, -inputs, 5, 3, rank=rank, world_size=world).epoch(4, start)
        streamed = StreamedBatches(read, 11, 5, 3, rank=rank, world_size=world).epoch(4, start)
        for ((a, u), size), ((b, v), streamed_size) in zip(memory, streamed, strict=True):
            assert torch.equal(a, b) and torch.equal(u, v) and size == streamed_size
    assert all(i.dtype == torch.int64 and i.device.type == "cpu" for i in asked)
    assert len(StreamedBatches(read, 11, 5, 3)) == 3
