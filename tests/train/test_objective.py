"""OperatorObjective's data term in physical and in normalized units."""

import pytest
import torch

from sciml.data import UnitGaussianNormalizer
from sciml.losses import relative_lp
from sciml.train import OperatorObjective


def test_the_data_term_in_normalized_units_compares_the_raw_output_with_the_encoded_reference():
    generator = torch.Generator().manual_seed(0)
    u = 3.0 + 2.0 * torch.randn(4, 1, 8, 8, generator=generator, dtype=torch.float64)  # reference, physical units
    norm = UnitGaussianNormalizer.fit(u)
    a = torch.randn(4, 1, 8, 8, generator=generator, dtype=torch.float64)
    model = torch.nn.Conv2d(1, 1, 1).double()
    physical = OperatorObjective({"data": 1.0}, output_normalizer=norm)(model, (a, u))["data"]
    normalized = OperatorObjective({"data": 1.0}, output_normalizer=norm, normalized=True)(model, (a, u))["data"]
    output = model(a)
    torch.testing.assert_close(physical, relative_lp(norm.decode(output), u), rtol=1e-14, atol=0)
    torch.testing.assert_close(normalized, relative_lp(output, norm.encode(u)), rtol=1e-14, atol=0)
    # not the same loss: the reference's mean (3 against a spread of 2) is in the physical norm, not the normalized one
    assert not torch.allclose(physical, normalized, rtol=1e-2)
    # a perfect prediction is perfect in both
    exact = lambda x: norm.encode(u)  # noqa: E731
    assert OperatorObjective({"data": 1.0}, output_normalizer=norm, normalized=True)(exact, (a, u))["data"].abs().max() < 1e-15


def test_h1_periodic_is_neuraloperators_h1loss_on_a_nodal_grid():
    neuralop = pytest.importorskip("neuralop")
    from sciml.spectral import Grid

    generator = torch.Generator().manual_seed(1)
    u = torch.randn(3, 1, 16, 16, generator=generator, dtype=torch.float64)
    a = torch.randn(3, 1, 16, 16, generator=generator, dtype=torch.float64)
    model = torch.nn.Conv2d(1, 1, 1).double()
    grid = Grid((16, 16), (1.0, 1.0), periodic=False)  # Darcy's nodal grid: "h1" differences stop at the ends
    periodic = OperatorObjective({"data": 1.0}, data="h1_periodic", grid=grid)(model, (a, u))["data"]
    nodal = OperatorObjective({"data": 1.0}, data="h1", grid=grid)(model, (a, u))["data"]
    reference = neuralop.H1Loss(d=2)(model(a), u)  # summed over the batch
    torch.testing.assert_close(periodic.sum(), reference, rtol=1e-12, atol=0)
    assert not torch.allclose(nodal.sum(), reference, rtol=1e-3)
