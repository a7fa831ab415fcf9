"""Per-channel normalizers and the seeded DataLoader helper."""

import pytest
import torch

from sciml.data import UnitGaussianNormalizer, dataloader


def channels(generator, n=6, size=(10, 12)):
    """Channel c is 10^c * (3 + 2 z) with z standard normal: very different scales per channel."""
    z = torch.randn((n, 3, *size), generator=generator, dtype=torch.float64)
    scale = torch.tensor([1.0, 10.0, 100.0], dtype=torch.float64).reshape(1, 3, 1, 1)  # (1, C, 1, 1)
    return scale * (3 + 2 * z)


def test_fit_gives_zero_mean_unit_std_per_channel(generator):
    x = channels(generator)
    norm = UnitGaussianNormalizer.fit(x, eps=0.0)
    per_channel = x.transpose(0, 1).reshape(3, -1)  # (C, n * H * W)
    assert torch.allclose(norm.mean, per_channel.mean(1), rtol=1e-14, atol=0)
    y = norm.encode(x).transpose(0, 1).reshape(3, -1)
    assert torch.allclose(y.mean(1), torch.zeros(3, dtype=torch.float64), atol=1e-13)
    assert torch.allclose(y.std(1, correction=0), torch.ones(3, dtype=torch.float64), rtol=1e-13)
    # the fitted scales recover the generating ones (10^c * 2) to sampling accuracy
    assert torch.allclose(norm.std / torch.tensor([2.0, 20.0, 200.0], dtype=torch.float64),
                          torch.ones(3, dtype=torch.float64), rtol=0.1)


def test_fitting_by_blocks_equals_fitting_the_whole(generator):
    x = channels(generator, n=7)
    whole = UnitGaussianNormalizer.fit(x)
    assert all(torch.equal(getattr(UnitGaussianNormalizer.fit_blocks([x]), k), getattr(whole, k)) for k in ("mean", "std"))
    blocks = UnitGaussianNormalizer.fit_blocks(torch.split(x, [1, 4, 2]))  # uneven blocks, merged pairwise
    assert torch.allclose(blocks.mean, whole.mean, rtol=1e-14, atol=0)
    assert torch.allclose(blocks.std, whole.std, rtol=1e-14, atol=0)
    with pytest.raises(ValueError, match=r"x must be \(n, 3, \*S\) like the first block, got shape \(2, 1, 10, 12\)"):
        UnitGaussianNormalizer.fit_blocks([x, x[:2, :1]])
    with pytest.raises(ValueError, match="no blocks"):
        UnitGaussianNormalizer.fit_blocks([])


def test_pooled_statistics_are_those_of_all_channels_at_once(generator):
    x = channels(generator, n=7)  # (7, 3, *S), channels of different means and spreads
    one = UnitGaussianNormalizer.fit(x.reshape(-1, 1))  # every value as one sample of one channel
    pooled = UnitGaussianNormalizer.fit(x).pooled(5)
    assert pooled.mean.shape == pooled.std.shape == (5,)
    torch.testing.assert_close(pooled.mean, one.mean.expand(5), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(pooled.std, one.std.expand(5), rtol=1e-13, atol=0)
    assert UnitGaussianNormalizer.fit(x).std.std() > 0.1 * pooled.std[0]  # the channels' own spreads differ
    with pytest.raises(ValueError, match="channels must be >= 1"):
        pooled.pooled(0)


def test_fitting_by_blocks_does_not_cancel(generator):
    # a variance of 1 under a mean of 1e8: E[x^2] - E[x]^2 in float64 would lose it all (1e16 * 2^-52 ~ 2);
    # the merged deviations keep it to the rounding of the data themselves (1e8 * 2^-53 ~ 1e-8)
    z = torch.randn(64, 1, 32, generator=generator, dtype=torch.float64)
    shifted = UnitGaussianNormalizer.fit_blocks(torch.split(1e8 + z, 5))
    assert abs(shifted.mean.item() - 1e8 - z.mean().item()) < 1e-7
    assert abs(shifted.std.item() / z.std(correction=0).item() - 1) < 1e-7


def test_encode_decode_round_trip_at_any_resolution(generator):
    norm = UnitGaussianNormalizer.fit(channels(generator), eps=1e-5)
    for size in ((10, 12), (40, 48), (5,)):  # per-channel statistics apply to any grid
        x = torch.randn((2, 3, *size), generator=generator, dtype=torch.float64)
        assert torch.allclose(norm.decode(norm.encode(x)), x, rtol=1e-13, atol=1e-13)
    x32 = torch.randn((2, 3, 8), generator=generator)
    assert norm.encode(x32).dtype == torch.float32


def test_constant_channel_encodes_to_zero():
    x = torch.ones(4, 1, 8, dtype=torch.float64) * 5.0
    norm = UnitGaussianNormalizer.fit(x)
    assert norm.std.item() == 0.0 and torch.equal(norm.encode(x), torch.zeros_like(x))


def test_state_dict_round_trip(tmp_path, generator):
    norm = UnitGaussianNormalizer.fit(channels(generator), eps=1e-3)
    torch.save(norm.state_dict(), tmp_path / "norm.pt")
    loaded = UnitGaussianNormalizer.from_state_dict(torch.load(tmp_path / "norm.pt", weights_only=True))
    x = channels(generator, n=2)
    assert torch.equal(loaded.encode(x), norm.encode(x)) and loaded.eps.item() == 1e-3


def test_normalizer_checks_shapes(generator):
    norm = UnitGaussianNormalizer.fit(channels(generator))
    with pytest.raises(ValueError, match=r"expected \(B, 3, \*S\)"):
        norm.encode(torch.zeros(2, 4, 8))
    with pytest.raises(ValueError, match="must both be"):
        UnitGaussianNormalizer(torch.zeros(3), torch.ones(2))
    with pytest.raises(ValueError, match="non-negative"):
        UnitGaussianNormalizer(torch.zeros(1), -torch.ones(1))


def test_dataloader_shuffles_reproducibly_and_covers_every_sample():
    data = torch.utils.data.TensorDataset(torch.arange(10.0)[:, None], torch.arange(10.0)[:, None])
    orders = [torch.cat([a[:, 0] for a, _ in dataloader(data, 3, shuffle=True, generator=torch.Generator().manual_seed(7))])
              for _ in range(2)]
    assert torch.equal(orders[0], orders[1]) and not torch.equal(orders[0], torch.arange(10.0))
    assert torch.equal(orders[0].sort().values, torch.arange(10.0))
    assert [len(a) for a, _ in dataloader(data, 4, drop_last=True)] == [4, 4]
    with pytest.raises(ValueError, match="seeded torch.Generator"):
        dataloader(data, 2, shuffle=True)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        dataloader(data, 0)
