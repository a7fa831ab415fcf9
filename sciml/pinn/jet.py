r"""Taylor-mode jets of a :class:`~sciml.pinn.PINN`, and a residual's Jacobian from one forward and one backward pass.

A Gauss-Newton step needs the Jacobian of the residual vector in the parameters, one row per point.
``vmap(jacrev)`` over the points (:func:`sciml.optim.natural_gradient.pointwise_jacobian`) builds it for any
model. For sciml's PINN (an affine input scaling, optional Fourier features, an MLP, an optional hard
constraint affine in the network's output) it is built in one pass over all points at once:

- **Forward.** Each layer's input travels as its *jet*: its value, its first derivatives and its pure
  second derivatives in every input column, stacked ``(K, P, width)`` with ``K = 1 + 2D`` (``1 + D`` or
  ``1`` when fewer orders are needed). A linear layer multiplies every component by :math:`W^\top` (the
  bias enters the value only); an elementwise :math:`f` maps the jet of :math:`z` to that of :math:`f(z)`:
  :math:`(f,\; f' z_c,\; f' z_{cc} + f'' z_c^2)`. A hard constraint :math:`u = G + D\,N` adds the product rule
  with the jets of :math:`G` and :math:`D`, which do not depend on the parameters.
- **The residual** is the problem's own ``residual(u, a, d)``, run on the output's jet through :class:`JetDiff`.
- **Backward.** The residual at point :math:`p` depends on the parameters only through that point's
  pre-activations :math:`z_k(p) = W a_k(p) + b\,\delta_{k0}`, so one backward pass of :math:`\sum_p r_p` gives
  every point's own :math:`g_k(p) = \partial r_p / \partial z_k(p)`; row :math:`p` of the Jacobian is
  :math:`\sum_k g_k(p)\, a_k(p)^\top` in :math:`W` and :math:`g_0(p)` in :math:`b`.

The Jacobian equals ``vmap(jacrev)``'s to round-off (tests/pinn/test_pinn_jet.py). ``benchmarks/pinn_jacobian.py``
(float64, one thread, both under the same allocator settings) built it 3.2 times faster on a 3 x 20 Burgers
PINN (6600 points, 921 parameters), 3.4 times with the hard constraint and 6.4 times on the ENGD paper's 2-D
Poisson PINN (docs/benchmarks.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from sciml.diff.base import AbstractDiff
from sciml.pinn.constraint import HardConstraint
from sciml.pinn.network import PINN

__all__ = ["Jet", "JetDiff", "jet", "jet_jacobian", "supports_jets"]


def supports_jets(model: object) -> bool:
    """Whether :func:`jet` handles ``model``: a :class:`~sciml.pinn.PINN` without a constraint or with a
    :class:`~sciml.pinn.HardConstraint` (an output transform affine in the network's output)."""
    return isinstance(model, PINN) and (model.constraint is None or isinstance(model.constraint, HardConstraint))


@dataclasses.dataclass(frozen=True)
class Jet:
    r"""A PINN's output and its derivatives at ``points`` ``(P, D)``.

    ``components`` ``(K, P, C)``: the value (``components[0]``), then :math:`\partial_c u` for every column ``c``
    (``1 .. D``, when ``order >= 1``), then :math:`\partial_c^2 u` (``D + 1 .. 2D``, when ``order == 2``). ``layers``
    holds each linear layer's input jet (detached) and pre-activation jet ``(K, P, width)``, for :func:`jet_jacobian`.
    """

    points: Tensor
    components: Tensor
    layers: list[tuple[Tensor, Tensor]]

    @property
    def value(self) -> Tensor:
        """:math:`u` ``(P, C)``."""
        return self.components[0]

    def partial(self, column: int, order: int) -> Tensor:
        r""":math:`\partial^{order} u / \partial p_{column}^{order}` ``(P, C)``, ``order`` 1 or 2."""
        dims = self.points.shape[1]
        index = 1 + column + (order - 1) * dims
        if not 1 <= order <= 2 or index >= self.components.shape[0]:
            raise ValueError(f"Jet: derivative of order {order} not computed (the jet has {self.components.shape[0]} components)")
        return self.components[index]


class JetDiff(AbstractDiff):
    """Serves a problem's ``residual(u, a, d)`` from a :class:`Jet`: ``u`` must be :attr:`u`, the jet's value
    (as with :class:`~sciml.pinn.pointwise.PointDiff`, no other expression can be differentiated)."""

    def __init__(self, jet: Jet, time: bool = False):
        self.jet, self.time = jet, time
        self.u = jet.value

    @property
    def dim(self) -> int:
        return self.jet.points.shape[1] - int(self.time)

    def derivative(self, u: Tensor, axis: int, order: int) -> Tensor:
        self._check_axis(axis, order)
        self._check(u)
        return self.jet.partial(int(self.time) + axis, order)

    def coordinates(self, u: Tensor) -> Tensor:
        self._check(u)
        return self.jet.points[:, int(self.time) :]

    def dt(self, u: Tensor) -> Tensor:
        if not self.time:
            raise ValueError("JetDiff: dt needs time=True (column 0 of the points is time)")
        self._check(u)
        return self.jet.partial(0, 1)

    def _check(self, u: Tensor) -> None:
        if u is not self.u:
            raise ValueError("JetDiff: only the network's output u itself can be differentiated; "
                             "a residual that differentiates another expression needs AutogradDiff")


def _chain(z: Tensor, f0: Tensor, f1: Tensor, f2: Tensor, dims: int) -> Tensor:
    """The jet of :math:`f(z)` from the jet ``z`` ``(K, P, w)`` over ``dims`` columns and :math:`f, f', f''` at its value ``(P, w)``."""
    parts = [f0[None]]
    if z.shape[0] > 1:
        first = z[1 : 1 + dims]
        parts.append(f1 * first)
        if z.shape[0] > 1 + dims:
            parts.append(f1 * z[1 + dims :] + f2 * first.square())
    return torch.cat(parts)


def _derivatives(activation: Callable[[Tensor], Tensor], z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    r""":math:`\sigma(z), \sigma'(z), \sigma''(z)` of an elementwise activation, with their graph to ``z``."""
    if activation is torch.tanh:
        s = torch.tanh(z)
        s1 = 1 - s.square()
        return s, s1, -2 * s * s1
    s = activation(z)
    (s1,) = torch.autograd.grad(s.sum(), z, create_graph=True, materialize_grads=True)
    (s2,) = torch.autograd.grad(s1.sum(), z, create_graph=True, materialize_grads=True)
    return s, s1, s2


def _point_jet(function: Callable[[Tensor], Tensor], points: Tensor, order: int) -> Tensor:
    """The jet ``(K, P, C)`` of a function of the points alone (no parameters), by autograd in the points; detached."""
    here = points.detach().requires_grad_(order > 0)
    with torch.enable_grad():
        value = function(here)  # (P, C)
        if order == 0:
            return value.detach()[None]
        firsts, seconds = [], []
        for channel in range(value.shape[1]):
            (first,) = torch.autograd.grad(value[:, channel].sum(), here, create_graph=True, materialize_grads=True)  # (P, D)
            firsts.append(first)
            if order == 2:
                seconds.append(torch.stack([torch.autograd.grad(first[:, c].sum(), here, retain_graph=True, materialize_grads=True)[0][:, c]
                                            for c in range(points.shape[1])], dim=1))  # (P, D)
    stack = lambda columns: torch.stack(columns, dim=2).permute(1, 0, 2)  # C x (P, D) -> (D, P, C)
    return torch.cat([value.detach()[None], stack(firsts).detach(), *([stack(seconds).detach()] if order == 2 else [])])


def jet(model: PINN, points: Tensor, order: int = 2) -> Jet:
    """The jet of ``model`` at ``points`` ``(P, D)`` up to ``order`` (0, 1 or 2), with its graph to the parameters."""
    if not supports_jets(model):
        raise ValueError(f"jet: model must be a sciml.pinn.PINN with no constraint or a HardConstraint, got {type(model).__name__}")
    if order not in (0, 1, 2):
        raise ValueError(f"jet: order must be 0, 1 or 2, got {order}")
    count, dims = points.shape
    scale = 2 / (model.high - model.low)  # (D,): d(scaled input) / d(point)
    components = [(points - model.low) * scale - 1]
    if order >= 1:
        components += list(torch.diag(scale)[:, None, :].expand(dims, count, dims))
    if order == 2:
        components += [torch.zeros_like(points)] * dims
    a = torch.stack(components)  # (K, P, D)
    if model.features is not None:
        phase = 2 * torch.pi * a @ model.features.frequencies.T  # (K, P, m): affine in the input
        cos, sin = torch.cos(phase[0]), torch.sin(phase[0])
        a = torch.cat([_chain(phase, cos, -sin, -cos, dims), _chain(phase, sin, cos, -sin, dims)], dim=2)  # (K, P, 2m)
    layers, value_only = [], torch.zeros(a.shape[0], 1, 1, dtype=a.dtype, device=a.device)
    value_only[0] = 1
    for i, layer in enumerate(model.mlp.layers):
        z = F.linear(a, layer.weight) + value_only * layer.bias  # (K, P, out)
        layers.append((a.detach(), z))
        if i < len(model.mlp.layers) - 1:
            a = _chain(z, *_derivatives(model.mlp.activation, z[0]), dims)
    u = z
    if model.constraint is not None:  # u = G + D N: G, D from the transform at N = 0 and N = 1
        channels = z.shape[2]
        lift = _point_jet(lambda p: model.constraint(p, torch.zeros(p.shape[0], channels, dtype=p.dtype, device=p.device)), points, order)
        distance = _point_jet(lambda p: model.constraint(p, torch.ones(p.shape[0], channels, dtype=p.dtype, device=p.device)), points, order) - lift
        parts = [lift[0] + distance[0] * z[0]]
        if order >= 1:
            parts.append(lift[1 : 1 + dims] + distance[1 : 1 + dims] * z[0] + distance[0] * z[1 : 1 + dims])
        if order == 2:
            parts.append(lift[1 + dims :] + distance[1 + dims :] * z[0] + 2 * distance[1 : 1 + dims] * z[1 : 1 + dims]
                         + distance[0] * z[1 + dims :])
        u = torch.cat([parts[0][None], *parts[1:]])
    return Jet(points, u, layers)


def jet_jacobian(model: PINN, points: Tensor, residual: Callable[[Jet], Tensor], params: Sequence[Tensor], order: int = 2) -> Tensor:
    r"""The Jacobian ``(P C', N)`` of ``residual(jet(model, points, order))`` ``(P, C')`` in ``params`` (row ``p C' + c``).

    ``residual`` must act point by point (row ``p`` of its output depends on row ``p`` of the jet only), as a
    PDE residual or a condition does. ``params`` are among ``model``'s parameters, in the optimizer's order.
    """
    owners = {}
    for layer_index, layer in enumerate(model.mlp.layers):
        owners[id(layer.weight)], owners[id(layer.bias)] = (layer_index, "weight"), (layer_index, "bias")
    missing = [i for i, p in enumerate(params) if id(p) not in owners]
    if missing:
        raise ValueError(f"jet_jacobian: parameter {missing[0]} is not a weight or bias of the PINN's MLP")
    with torch.enable_grad():
        expansion = jet(model, points, order)
        values = residual(expansion)  # (P, C')
        pre_activations = [z for _, z in expansion.layers]
        rows = []
        for channel in range(values.shape[1]):
            grads = torch.autograd.grad(values[:, channel].sum(), pre_activations, retain_graph=True, materialize_grads=True)
            blocks = []
            for p in params:
                layer_index, kind = owners[id(p)]
                g = grads[layer_index]  # (K, P, out): each point's own dr_p / dz_k(p)
                if kind == "bias":
                    blocks.append(g[0])
                else:
                    blocks.append(torch.einsum("kpo,kpi->poi", g, expansion.layers[layer_index][0]).reshape(points.shape[0], -1))
            rows.append(torch.cat(blocks, dim=1))  # (P, N)
    return torch.stack(rows, dim=1).reshape(-1, rows[0].shape[1])  # (P C', N)
