"""OperatorObjective's data term in physical and in normalized units."""

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
