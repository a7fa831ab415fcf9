"""Shared pieces of the sciml.optim tests: the reference package, and a quadratic problem with
conflicting minima whose Pareto set is known."""

import pytest
import torch


@pytest.fixture
def reference():
    """The ConFIG authors' package (``pip install conflictfree``, in the bench extra), or skip."""
    pytest.importorskip("conflictfree")
    import conflictfree.grad_operator
    import conflictfree.momentum_operator
    import conflictfree.weight_model

    return conflictfree


class Quadratic(torch.nn.Module):
    r"""Two parameter tensors ``p (3,)``, ``q (2,)``, read as one point :math:`\theta \in R^5`.

    Term ``k`` is :math:`s_k |\theta - c_k|^2`: each has its own minimum :math:`c_k`, so the
    gradients conflict between the minima, and for two terms the Pareto set is the segment
    :math:`[c_1, c_2]`. The scales :math:`s_k` differ by orders of magnitude, as PDE and boundary
    losses do.
    """

    def __init__(self, names, dtype, generator, scales=(1.0, 300.0, 0.02)):
        super().__init__()
        n = len(names)
        self.names = tuple(names)
        self.centers = torch.randn(n, 5, generator=generator, dtype=torch.float64).to(dtype)
        self.scales = scales[:n]
        start = self.centers.mean(0) + 3 * torch.randn(5, generator=generator, dtype=torch.float64).to(dtype)
        self.p = torch.nn.Parameter(start[:3].clone())
        self.q = torch.nn.Parameter(start[3:].clone())

    def theta(self):
        return torch.cat([self.p, self.q])

    def terms(self):
        theta = self.theta()
        return {name: s * ((theta - c) ** 2).sum() for name, s, c in zip(self.names, self.scales, self.centers)}

    def distance_to_pareto_segment(self):
        """Distance from theta to the segment between the first two minima."""
        a, b = self.centers[0], self.centers[1]
        theta = self.theta().detach()
        t = ((theta - a) @ (b - a) / ((b - a) @ (b - a))).clamp(0, 1)
        return (theta - a - t * (b - a)).norm().item()


@pytest.fixture
def quadratic(generator):
    """``quadratic(names, dtype)``: a fresh :class:`Quadratic` (same draw for the same call order)."""

    def make(names=("pde", "bc"), dtype=torch.float64, **kwargs):
        return Quadratic(names, dtype, generator, **kwargs)

    return make
