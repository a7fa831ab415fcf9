import dataclasses
import io
import json
import math
import warnings

import pytest
import torch

from sciml.models import MODELS, FNO, FNOOptions, FourierBlock
from sciml.nn.modes import mode_slices

PLAIN = FNOOptions(positional_embedding=False)


def band_limited(batch, channels, shape, bandwidth, generator, dtype=torch.float64):
    """Random real fields whose Fourier coefficients vanish for any |k_i| > bandwidth, sampled at ``shape``."""
    axes = [torch.arange(n, dtype=dtype) / n for n in shape]
    grids = torch.meshgrid(*axes, indexing="ij")
    field = torch.zeros(batch, channels, *shape, dtype=dtype)
    for _ in range(6):
        k = torch.randint(-bandwidth, bandwidth + 1, (len(shape),), generator=generator)
        amplitude = torch.randn(batch, channels, *([1] * len(shape)), generator=generator, dtype=dtype)
        phase = 2 * math.pi * torch.rand((), generator=generator, dtype=dtype)
        field += amplitude * torch.cos(2 * math.pi * sum(ki * g for ki, g in zip(k, grids)) + phase)
    return field


@pytest.mark.parametrize("name", sorted(MODELS))
def test_registry_entry_builds_and_round_trips_through_json_and_weights_only_checkpoint(name, generator):
    cls = MODELS[name]
    model = cls(2, 3, (4, 3), 8, n_layers=2, generator=generator)
    assert model.config()["model"] == name
    config = json.loads(json.dumps(model.config()))
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    clone = cls.from_config(config)
    clone.load_state_dict(torch.load(buffer, weights_only=True))
    a = torch.randn(2, 2, 16, 12, generator=generator)
    assert torch.equal(clone(a), model(a))
    assert clone.config() == model.config()
    with pytest.raises(ValueError, match="describes model"):
        MODELS["tfno" if name == "fno" else "fno"].from_config(config)


@pytest.mark.parametrize("shape, shift", [((45,), (7,)), ((33, 35), (5, -9))])
def test_fno_without_coordinates_is_translation_equivariant_at_odd_sizes(shape, shift, generator):
    model = FNO(2, 1, (5,) * len(shape), 8, n_layers=2, options=PLAIN, generator=generator).double()
    a = torch.randn(2, 2, *shape, generator=generator, dtype=torch.float64)
    dims = tuple(range(2, 2 + len(shape)))
    shifted = model(torch.roll(a, shift, dims))
    assert torch.allclose(shifted, torch.roll(model(a), shift, dims), atol=1e-12)
    # the coordinates break it: the model then knows where the box starts
    placed = FNO(2, 1, (5,) * len(shape), 8, n_layers=2, generator=generator).double()
    assert not torch.allclose(placed(torch.roll(a, shift, dims)), torch.roll(placed(a), shift, dims), atol=1e-3)


@pytest.mark.parametrize("coarse, factor", [((16, 20), 2), ((15, 11), 3)])
def test_fourier_block_super_resolves_band_limited_inputs_exactly(coarse, factor, generator):
    # K v is exact on any grid resolving the input's band; everything after it is pointwise, so
    # the block at the fine grid restricted to the coarse points equals the block at the coarse grid.
    block = FourierBlock(6, (3, 4), PLAIN, generator).double()
    fine = tuple(factor * n for n in coarse)
    v_fine = band_limited(2, 6, fine, bandwidth=min(coarse) // 2 - 1, generator=generator)
    v_coarse = v_fine[..., ::factor, ::factor]
    for activate in (True, False):
        out_fine = block(v_fine, activate)
        assert torch.allclose(out_fine[..., ::factor, ::factor], block(v_coarse, activate), atol=1e-12)


def test_fno_outputs_converge_spectrally_under_refinement(generator):
    # On a smooth periodic input every intermediate field is smooth and periodic, so the aliasing
    # error of each spectral convolution decays exponentially with the grid size: the gap between
    # the model at n points and at 240 points (on the shared points) drops >10x per 4 extra points.
    model = FNO(1, 1, (3,), 12, n_layers=2, options=PLAIN, generator=generator).double()
    fine = 240
    x = torch.arange(fine, dtype=torch.float64) / fine
    a = torch.exp(torch.sin(2 * math.pi * x) + 0.5 * torch.cos(4 * math.pi * x))[None, None]
    reference = model(a)
    gaps = [(model(a[..., :: fine // n]) - reference[..., :: fine // n]).abs().max().item() for n in (8, 12, 16, 20, 24)]
    assert all(later < 0.1 * earlier for earlier, later in zip(gaps, gaps[1:])), gaps


def test_padded_fno_is_not_periodic_but_runs_at_every_resolution(generator):
    # With zero padding the operator no longer commutes with periodic shifts (the box has edges).
    options = FNOOptions(positional_embedding=False, domain_padding=0.25)
    model = FNO(1, 1, (4, 4), 8, n_layers=2, options=options, generator=generator).double()
    a = torch.randn(1, 1, 20, 20, generator=generator, dtype=torch.float64)
    assert not torch.allclose(model(torch.roll(a, 3, 2)), torch.roll(model(a), 3, 2), atol=1e-3)
    assert model(torch.randn(1, 1, 41, 40, generator=generator, dtype=torch.float64)).shape == (1, 1, 41, 40)


def test_constructor_and_forward_reject_bad_arguments():
    with pytest.raises(ValueError, match="modes"):
        FNO(1, 1, (4, 4, 4, 4), 8)
    with pytest.raises(ValueError, match="domain_padding"):
        FNOOptions(domain_padding=1.5)
    with pytest.raises(ValueError, match=r"expected a of shape \(B, 1, \*S\)"):
        FNO(1, 1, (4, 4), 8)(torch.zeros(2, 1, 16))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fft_and_dft_spectral_paths_give_the_same_model_and_gradients(name, generator):
    cls = MODELS[name]
    options = cls.default_options
    fft = cls(2, 1, (4, 5), 8, n_layers=2, options=dataclasses.replace(options, spectral_path="fft"), generator=generator)
    dft = cls(2, 1, (4, 5), 8, n_layers=2, options=dataclasses.replace(options, spectral_path="dft"))
    dft.load_state_dict(fft.state_dict())
    fft, dft = fft.double(), dft.double()
    a = torch.randn(2, 2, 21, 19, generator=generator, dtype=torch.float64)
    out_fft, out_dft = fft(a), dft(a)
    assert torch.allclose(out_fft, out_dft, atol=1e-12)
    grads_fft = torch.autograd.grad(out_fft.square().sum(), list(fft.parameters()))
    grads_dft = torch.autograd.grad(out_dft.square().sum(), list(dft.parameters()))
    for g_fft, g_dft in zip(grads_fft, grads_dft):
        assert torch.allclose(g_fft, g_dft, atol=1e-10)


def test_bf16_autocast_on_cpu_at_odd_size_tracks_float32(generator):
    model = FNO(2, 1, (5, 5), 16, n_layers=3, generator=generator)
    a = torch.randn(2, 2, 33, 31, generator=generator)
    reference = model(a)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = model(a)
    error = (low.float() - reference).norm() / reference.norm()
    assert error < 3e-2
    low.float().square().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_torch_compile_aot_eager_matches_eager_in_values_and_gradients(generator):
    model = FNO(1, 1, (4, 4), 8, n_layers=2, generator=generator)
    a = torch.randn(2, 1, 16, 18, generator=generator)
    compiled = torch.compile(model, backend="aot_eager", fullgraph=False)
    eager_out, compiled_out = model(a), compiled(a)
    assert torch.allclose(compiled_out, eager_out, atol=1e-6)
    eager_grads = torch.autograd.grad(eager_out.square().sum(), list(model.parameters()))
    compiled_grads = torch.autograd.grad(compiled_out.square().sum(), list(model.parameters()))
    for g_compiled, g_eager in zip(compiled_grads, eager_grads):
        assert torch.allclose(g_compiled, g_eager, atol=1e-5)


@pytest.mark.slow
# inductor's own import-time deprecation, and its notice that complex mode mixing runs as a fallback kernel
@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:Torchinductor does not support code generation for complex:UserWarning")
def test_torch_compile_inductor_matches_eager(generator):
    model = FNO(1, 1, (4, 4), 8, n_layers=2, generator=generator)
    a = torch.randn(2, 1, 16, 18, generator=generator)
    compiled = torch.compile(model)
    assert torch.allclose(compiled(a), model(a), atol=1e-5)


@pytest.mark.parametrize(
    "options, match",
    [
        (dict(factorization="tuker"), "factorization"),
        (dict(spectral_path="cuda"), "spectral_path"),
        (dict(domain_padding=1.0), "domain_padding"),
    ],
)
def test_bad_options_are_refused_naming_the_option(options, match):
    with pytest.raises(ValueError, match=match):
        FNOOptions(**options)


def test_a_ratio_leaving_no_hidden_channel_is_refused():
    with pytest.raises(ValueError, match="lifting_ratio"):
        FNO(1, 1, (4,), 4, options=FNOOptions(lifting_ratio=0.1))


def test_api_errors_name_the_argument_and_the_fix():
    with pytest.raises(TypeError, match=r"modes must be a sequence of ints.*modes=\(12, 12\).*got 12"):
        FNO(1, 1, 12, 8)
    with pytest.raises(TypeError, match="modes must be a sequence of ints"):
        FNO(1, 1, (4, 4.5), 8)
    with pytest.raises(TypeError, match="width must be an int, got 1.5"):
        FNO(1, 1, (4, 4), 1.5)
    model = FNO(1, 1, (4, 4), 8)
    with pytest.raises(TypeError, match=r"a is torch.float64 but the model's weights are torch.float32.*model.to"):
        model(torch.zeros(2, 1, 16, 16, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"a is empty \(shape \(0, 1, 16, 16\)\)"):
        model(torch.zeros(0, 1, 16, 16))
    with pytest.raises(ValueError, match="a is on meta but the model is on cpu"):
        model(torch.zeros(2, 1, 16, 16, device="meta"))


def test_modes_beyond_the_grid_are_clipped_with_a_warning_to_the_model_with_fewer_modes(generator):
    """On a 7-point axis only |k| <= 3 exist: a modes=(5, 5) model computes what a modes=(3, 3) model
    holding the same weights on those modes computes, and says so."""
    model = FNO(1, 1, (5, 5), 8, generator=generator).double()
    small = FNO(1, 1, (3, 3), 8).double()
    cut = mode_slices((5, 5), (3, 3))
    small.load_state_dict({key: value[cut] if key.endswith("spectral.weight.weight") else value
                           for key, value in model.state_dict().items()})
    a = torch.randn(2, 1, 7, 7, generator=generator, dtype=torch.float64)
    with pytest.warns(UserWarning, match=r"resolves fewer than modes=\(5, 5\)"):
        clipped = model(a)
    assert torch.allclose(clipped, small(a), atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model(torch.randn(2, 1, 11, 11, generator=generator, dtype=torch.float64))  # resolves all: silent
