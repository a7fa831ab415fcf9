"""integrate reports its steps to the innermost report_steps listener, and only while one listens; the states do not change."""

import torch

from sciml.solvers import integrate, report_steps


def halve(state):
    return state / 2


def test_integrate_reports_each_step_to_the_innermost_listener():
    outer, inner = [], []
    with report_steps(lambda done, total: outer.append((done, total))):
        integrate(halve, torch.ones(3), 2)
        with report_steps(lambda done, total: inner.append((done, total))):
            frames = integrate(halve, torch.ones(3), 4, save_every=2)
        integrate(halve, torch.ones(3), 1)
    integrate(halve, torch.ones(3), 5)  # nobody listens
    assert outer == [(1, 2), (2, 2), (1, 1)] and inner == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert torch.equal(frames, torch.tensor([1.0, 0.25, 0.0625])[:, None].expand(3, 3))


def test_a_listener_can_stop_the_run():
    def stop(done, total):
        if done == 3:
            raise KeyboardInterrupt

    seen = []
    try:
        with report_steps(stop):
            integrate(lambda s: seen.append(s) or s + 1, torch.zeros(()), 10)
    except KeyboardInterrupt:
        pass
    assert len(seen) == 3
