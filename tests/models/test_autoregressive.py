"""The autoregressive rollout equals the loop written out by hand, for a linear recurrence with a known solution."""

import pytest
import torch
from torch import nn

from sciml.models.autoregressive import Autoregressive


class Shift(nn.Module):
    """(B, k, S) -> (B, 1, S): the next term of the recurrence w_{j+1} = w_j + w_{j-1} (k = 2)."""

    def forward(self, x):
        return (x[:, -1:] + x[:, -2:-1])


def test_rollout_continues_a_fibonacci_recurrence():
    x = torch.tensor([[[1.0], [1.0]]])  # (1, 2, 1)
    out = Autoregressive(Shift(), in_frames=2, step=1, frames=6)(x)
    assert out.flatten().tolist() == [2.0, 3.0, 5.0, 8.0, 13.0, 21.0]


def test_rollout_equals_the_hand_written_loop_with_gradients(generator):
    inner = nn.Conv2d(3, 2, 3, padding=1).double()
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64, generator=generator, requires_grad=True)
    out = Autoregressive(inner, in_frames=3, step=2, frames=6)(x)
    window, frames = x, []
    for _ in range(3):
        new = inner(window)
        frames.append(new)
        window = torch.cat([window[:, 2:], new], dim=1)
    expected = torch.cat(frames, dim=1)
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    (g,) = torch.autograd.grad(out.square().sum(), x)
    (h,) = torch.autograd.grad(expected.square().sum(), x)
    torch.testing.assert_close(g, h, rtol=0, atol=0)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="step dividing frames"):
        Autoregressive(Shift(), 2, 2, 5)
    with pytest.raises(ValueError, match=r"\(B, 2, \*S\)"):
        Autoregressive(Shift(), 2, 1, 2)(torch.zeros(1, 3, 4))
