"""The Latent Spectral Model: the latent projection and its inverse, the spectral transition, the
multiscale network at several resolutions, overfitting a small batch."""

import math

import pytest
import torch

from sciml.models import LSM, LSMOptions
from sciml.models.lsm_block import (
    LatentProjection,
    LatentReconstruction,
    NeuralSpectralBlock,
    SpectralTransition,
    patchify,
    unpatchify,
)

TINY = LSMOptions(n_scales=3, n_heads=2, projection_width=32)


@pytest.fixture
def one_thread():
    """Hundreds of steps of a tiny model are a chain of small kernels: on a shared machine OpenMP
    threads waiting on each other multiply their time (measured 15x on two busy cores)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.mark.parametrize("shape, patch", [((12,), (4,)), ((6, 9), (2, 3)), ((4, 6, 2), (2, 3, 1))])
def test_patchify_cuts_row_major_patches_and_unpatchify_undoes_it(shape, patch, generator):
    v = torch.randn(2, 3, *shape, generator=generator)
    patches = patchify(v, patch)
    counts = [n // p for n, p in zip(shape, patch)]
    assert patches.shape == (2 * math.prod(counts), 3, *patch)
    assert torch.equal(unpatchify(patches, shape), v)
    # the last patch of the first sample is the far corner of its field
    corner = tuple(slice(n - p, n) for n, p in zip(shape, patch))
    assert torch.equal(patches[math.prod(counts) - 1], v[(0, slice(None)) + corner])


def test_patchify_refuses_a_grid_that_the_patches_do_not_tile():
    with pytest.raises(ValueError, match="multiple of patch"):
        patchify(torch.zeros(1, 1, 10, 9), (3, 3))


def test_latent_projection_is_a_set_function_onto_t_tokens(generator):
    # the paper's encoder: T = T_0 + softmax_points(T_0 K^T) V per head. Shapes: (B', C, *p) -> (B', T, C)
    project = LatentProjection(8, 3, 2, generator=generator).double()
    patches = torch.randn(5, 8, 3, 4, generator=generator, dtype=torch.float64)
    tokens = project(patches)
    assert tokens.shape == (5, 3, 8)
    # invariant: the order of the points in a patch does not matter
    perm = torch.randperm(12, generator=generator)
    shuffled = patches.flatten(2)[..., perm].view(5, 8, 3, 4)  # (B', C, L) permuted -> (B', C, *p)
    torch.testing.assert_close(project(shuffled), tokens, rtol=0, atol=1e-13)
    # invariant: T - T_0 is a convex combination of the values; equal values c give T = T_0 + c exactly
    with torch.no_grad():
        project.key_value.weight[8:].zero_()
        project.key_value.bias[8:] = torch.arange(8.0)
    t0 = project.tokens.permute(1, 0, 2).reshape(3, 8)  # (H, T, d) -> (T, C)
    torch.testing.assert_close(project(patches), (t0 + torch.arange(8.0, dtype=torch.float64)).expand(5, 3, 8), rtol=0, atol=1e-13)


def test_latent_reconstruction_is_pointwise_attention_over_the_tokens(generator):
    reconstruct = LatentReconstruction(8, 2, generator=generator).double()
    patches = torch.randn(5, 8, 3, 4, generator=generator, dtype=torch.float64)
    tokens = torch.randn(5, 6, 8, generator=generator, dtype=torch.float64)
    out = reconstruct(patches, tokens)
    assert out.shape == patches.shape
    # invariant: permuting the points permutes the output (each point queries the tokens on its own)
    perm = torch.randperm(12, generator=generator)
    shuffled = patches.flatten(2)[..., perm].view(5, 8, 3, 4)
    torch.testing.assert_close(reconstruct(shuffled, tokens).flatten(2), out.flatten(2)[..., perm], rtol=0, atol=1e-13)
    # invariant: the softmax weights sum to one; with every token equal to t each point gets v + t
    same = tokens[:, :1].expand(-1, 6, -1)
    expected = patches + tokens[:, 0, :, None, None]
    torch.testing.assert_close(reconstruct(patches, same), expected, rtol=0, atol=1e-13)


def test_spectral_transition_is_the_learned_trigonometric_series_per_channel(generator):
    transition = SpectralTransition(3, 4, generator=generator).double()
    z = torch.randn(2, 5, 3, generator=generator, dtype=torch.float64)
    w = transition.weight
    expected = z.clone()
    for c in range(3):
        for m in range(4):
            expected[..., c] += w[c, m] * torch.sin(m * math.pi * z[..., c] / 4) + w[c, 4 + m] * torch.cos(m * math.pi * z[..., c] / 4)
    torch.testing.assert_close(transition(z), expected, rtol=0, atol=1e-14)


def test_neural_spectral_block_keeps_patches_apart(generator):
    # a change inside one patch changes the output of that patch only
    block = NeuralSpectralBlock(8, (3, 4), n_basis=4, n_tokens=2, n_heads=2, generator=generator).double()
    v = torch.randn(2, 8, 6, 8, generator=generator, dtype=torch.float64)
    bumped = v.clone()
    bumped[1, :, 4, 5] += 1.0  # patch (1, 1) of sample 1
    change = (block(bumped) - block(v)).abs().amax(dim=1)  # (B, 6, 8)
    inside = torch.zeros_like(change, dtype=torch.bool)
    inside[1, 3:6, 4:8] = True
    assert change[inside].max() > 1e-3 and change[~inside].max() == 0


def test_one_set_of_weights_runs_at_several_resolutions_in_1d_and_2d(generator):
    planar = LSM(2, 3, (3, 3), width=8, n_basis=4, n_tokens=2, options=TINY, generator=generator)
    for shape in ((12, 12), (17, 23), (85, 85)):
        assert planar(torch.randn(2, 2, *shape, generator=generator)).shape == (2, 3, *shape)
    assert planar.multiple == (12, 12)  # 85 is padded to 96, as the paper's padding = 11 at patch 6 would be
    line = LSM(1, 1, (4,), width=8, n_basis=4, n_tokens=2, options=TINY, generator=generator)
    for n in (16, 50, 129):
        assert line(torch.randn(2, 1, n, generator=generator)).shape == (2, 1, n)


def test_channels_double_per_scale_and_the_deepest_keeps_its_parent_s():
    model = LSM(1, 1, (6, 6), width=64)
    assert [block.transition.weight.shape[0] for block in model.spectral] == [64, 128, 256, 512, 512]  # the paper's Darcy model
    assert [up[-2].num_features for up in model.up] == [64, 64, 128, 256]


def test_tiny_model_overfits_a_small_batch(generator, one_thread):
    # four 1-D samples of an integral operator; the relative L2 error on the batch falls below 1e-3. Measured
    # in training mode: batch normalization's running variance is the unbiased one, N / (N - 1) off the batch's
    model = LSM(1, 1, (4,), width=16, n_basis=4, n_tokens=2, options=TINY, generator=generator)
    x = torch.arange(64) / 64
    shift, amplitude, slope = torch.randn(3, 4, 1, generator=generator)
    a = (torch.sin(2 * math.pi * (x + shift)) + 0.5 * amplitude * torch.cos(4 * math.pi * x))[:, None]  # (4, 1, 64)
    u = torch.cumsum(a, dim=-1) / 64 + slope[:, None] * x  # (4, 1, 64)
    relative = lambda p: ((p - u).flatten(1).norm(dim=1) / u.flatten(1).norm(dim=1)).mean()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, total_steps=600, pct_start=0.1)
    for _ in range(600):
        loss = relative(model(a))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    with torch.no_grad():
        assert relative(model(a)).item() < 1e-3


def test_bad_arguments_are_refused_by_name():
    with pytest.raises(ValueError, match="patch_size must hold 1 to 3"):
        LSM(1, 1, (3, 3, 3, 3))
    with pytest.raises(ValueError, match="multiple of options.n_heads"):
        LSM(1, 1, (3, 3), width=12)
    with pytest.raises(ValueError, match="n_scales"):
        LSMOptions(n_scales=0)
    with pytest.raises(ValueError, match=r"expected a of shape \(B, 1, \*S\) with 2 space axes"):
        LSM(1, 1, (3, 3), width=8)(torch.zeros(1, 1, 12))
