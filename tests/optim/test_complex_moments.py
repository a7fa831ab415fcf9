"""Adam(W) with one second moment per complex weight stored as a real pair, against the complex rule."""

import copy
import math

import pytest
import torch

from sciml.optim import Adam, AdamW

TERMS = ("data",)


class ComplexProblem(torch.nn.Module):
    """A complex least-squares term with a quartic, plus a separate real quadratic.

    ``w`` ``(4, 3, 2)`` holds the complex ``z = w[..., 0] + i w[..., 1]`` ``(4, 3)``; ``q`` ``(5,)`` is real.
    ``L = sum |A z - b|^2 + sum |z|^4 + sum c (q - d)^2``: the terms share no parameter, so each one's
    trajectory depends on its own update rule only.
    """

    def __init__(self, generator):
        super().__init__()
        draw = lambda *shape: torch.randn(*shape, generator=generator, dtype=torch.float64)
        self.a = torch.complex(draw(6, 4), draw(6, 4))
        self.b = torch.complex(draw(6, 3), draw(6, 3))
        self.c, self.d = 1 + draw(5).abs() * 100, draw(5)
        self.w = torch.nn.Parameter(draw(4, 3, 2))
        self.q = torch.nn.Parameter(draw(5))

    def complex_loss(self, z):
        return (self.a @ z - self.b).abs().square().sum() + z.abs().pow(4).sum()

    def terms(self):
        real = (self.c * (self.q - self.d).square()).sum()
        return {"data": self.complex_loss(torch.view_as_complex(self.w)) + real}


def complex_adam(z, loss, steps, lr, betas, eps, weight_decay, decoupled, amsgrad):
    """Adam on the complex tensor ``z`` with ``v = EMA(|g|^2)``, written out: torch's eps placement
    (``m / (sqrt(v / b2) + eps)``) and decay (AdamW: before the step; Adam: ``g + lambda z``).

    neuraloperator's AdamW differs in two places: ``eps`` added to ``sqrt(v)`` before the bias
    correction of ``b2``, and its decay applied after the step; the test against it sets both to 0.
    """
    z = z.detach().clone().requires_grad_()
    m, v, v_max = torch.zeros_like(z), torch.zeros(z.shape, dtype=torch.float64), torch.zeros(z.shape, dtype=torch.float64)
    trajectory = []
    for t in range(1, steps + 1):
        (g,) = torch.autograd.grad(loss(z), [z])
        with torch.no_grad():
            if decoupled:
                z.mul_(1 - lr * weight_decay)
            else:
                g = g + weight_decay * z
            m = betas[0] * m + (1 - betas[0]) * g
            v = betas[1] * v + (1 - betas[1]) * (g * g.conj()).real
            v_max = torch.maximum(v_max, v)
            b1, b2 = 1 - betas[0] ** t, 1 - betas[1] ** t
            z -= lr / b1 * m / ((v_max if amsgrad else v).sqrt() / math.sqrt(b2) + eps)
        trajectory.append(torch.view_as_real(z.detach()).clone())
    return trajectory


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("cls,decoupled,weight_decay", [(AdamW, True, 0.1), (Adam, False, 0.05)])
def test_pairs_follow_complex_adam_and_the_rest_torch_s(cls, decoupled, weight_decay, amsgrad, generator):
    ours = ComplexProblem(generator)
    plain, start = copy.deepcopy(ours), copy.deepcopy(ours)
    hyper = {"lr": 0.02, "betas": (0.8, 0.95), "eps": 1e-3, "weight_decay": weight_decay, "amsgrad": amsgrad}
    # two groups, the real one with its own lr: the pair follows its group's lr
    optimizer = cls([{"params": [ours.w]}, {"params": [ours.q], "lr": 0.01}], TERMS, complex_pairs=[ours.w], **hyper)
    torch_cls = {AdamW: torch.optim.AdamW, Adam: torch.optim.Adam}[cls]
    reference = torch_cls([plain.q], **{**hyper, "lr": 0.01})
    expected = complex_adam(torch.view_as_complex(ours.w.detach()), ours.complex_loss, 30, **hyper, decoupled=decoupled)
    for step in range(30):
        optimizer.step(ours.terms)
        reference.zero_grad()
        (plain.c * (plain.q - plain.d).square()).sum().backward()
        reference.step()
        torch.testing.assert_close(ours.w.detach(), expected[step], rtol=0, atol=1e-12)
        assert torch.equal(ours.q, plain.q)  # the real parameter: exactly torch's step
    assert optimizer.state[ours.w]["exp_avg_sq"].shape == (4, 3, 1)
    # the shared moment is not torch's per-component one: torch's step on the pair ends elsewhere
    per_component = torch_cls([start.w], **hyper)
    for _ in range(30):
        per_component.zero_grad()
        start.complex_loss(torch.view_as_complex(start.w)).backward()
        per_component.step()
    assert (start.w - ours.w).abs().max() > 1e-3


def test_equals_neuraloperator_adamw_on_complex_parameters_without_eps_and_decay(generator):
    # neuralop's step lr sqrt(b2) / b1 * m / (sqrt(v) + eps) is torch's lr / b1 * m / (sqrt(v / b2) + eps / sqrt(b2)):
    # the same map at eps = 0; its decay, after the step, is left out (weight_decay = 0)
    neuralop_training = pytest.importorskip("neuralop.training")
    ours = ComplexProblem(generator)
    z = torch.view_as_complex(ours.w.detach()).clone().requires_grad_()
    optimizer = AdamW([ours.w, ours.q], TERMS, complex_pairs=[ours.w], lr=0.02, eps=0.0, weight_decay=0.0)
    reference = neuralop_training.AdamW([z], lr=0.02, eps=0.0, weight_decay=0.0)
    for _ in range(30):
        optimizer.step(ours.terms)
        reference.zero_grad()
        ours.complex_loss(z).backward()
        reference.step()
        torch.testing.assert_close(ours.w.detach(), torch.view_as_real(z.detach()), rtol=0, atol=1e-12)


def test_state_dict_resumes_identically(generator):
    problem = ComplexProblem(generator)
    make = lambda p: AdamW([p.w, p.q], TERMS, complex_pairs=[p.w], lr=0.02, weight_decay=0.1, amsgrad=True)
    optimizer = make(problem)
    for _ in range(5):
        optimizer.step(problem.terms)
    resumed_problem = copy.deepcopy(problem)
    resumed = make(resumed_problem)
    resumed.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    assert resumed.state[resumed_problem.w]["max_exp_avg_sq"].shape == (4, 3, 1)
    for _ in range(5):
        optimizer.step(problem.terms)
        resumed.step(resumed_problem.terms)
        assert torch.equal(problem.w, resumed_problem.w) and torch.equal(problem.q, resumed_problem.q)


def test_bad_arguments_and_a_per_component_state_are_refused(generator):
    problem = ComplexProblem(generator)
    stranger = torch.nn.Parameter(torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"AdamW: complex_pairs\[1\] is not among the optimizer's parameters "
                                         r"\(got a tensor of shape \(3, 2\)\)"):
        AdamW([problem.w], TERMS, complex_pairs=[problem.w, stranger])
    with pytest.raises(ValueError, match=r"Adam: complex_pairs\[0\] must be a float32 or float64 tensor with a last "
                                         r"axis of 2 \(real, imaginary\), got torch.float64 of shape \(5,\)"):
        Adam([problem.w, problem.q], TERMS, complex_pairs=[problem.q])
    half = torch.nn.Parameter(torch.zeros(3, 2, dtype=torch.bfloat16))  # no complex dtype to view it as
    with pytest.raises(ValueError, match=r"got torch.bfloat16 of shape \(3, 2\)"):
        AdamW([half], TERMS, complex_pairs=[half])
    with pytest.raises(TypeError, match=r"AdamW: complex_pairs must be an iterable of parameters, got one tensor"):
        AdamW([problem.w], TERMS, complex_pairs=problem.w)
    torch_state = AdamW([problem.w], TERMS)
    torch_state.step(problem.terms)
    paired = AdamW([problem.w], TERMS, complex_pairs=[problem.w])
    paired.load_state_dict(torch_state.state_dict())
    with pytest.raises(ValueError, match=r"AdamW: the state of a complex pair of shape \(4, 3, 2\) holds a second "
                                         r"moment of shape \(4, 3, 2\), not \(4, 3, 1\)"):
        paired.step(problem.terms)
