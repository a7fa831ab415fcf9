"""sciml.optim on CUDA (skipped without a GPU by tests/conftest.py); run with ``pytest -m gpu``."""

import copy

import pytest
import torch

from sciml.optim import LBFGS, SGD, Adam, AdamW, ConFIG, MConFIG, MultiAdam, conflict_free

pytestmark = pytest.mark.gpu

CUDA = torch.device("cuda")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("m", [2, 3, 5])
def test_conflict_free_on_cuda_matches_cpu(m, dtype, generator):
    grads = torch.randn(m, 10_000, generator=generator, dtype=torch.float64).to(dtype)
    expected = conflict_free(grads)
    result = conflict_free(grads.to(CUDA))
    assert result.device.type == "cuda" and result.dtype == dtype
    tol = {torch.float32: 1e-5, torch.float64: 1e-12}[dtype]
    torch.testing.assert_close(result.cpu(), expected, rtol=tol, atol=tol * expected.abs().max().item())


@pytest.mark.parametrize(
    "make",
    [
        lambda p, t: Adam(p, t, lr=0.05),
        lambda p, t: AdamW(p, t, lr=0.05, grad_clip=0.5),
        lambda p, t: SGD(p, t, lr=1e-3, momentum=0.9, grad_clip=0.5),
        lambda p, t: LBFGS(p, t, line_search_fn="strong_wolfe", max_iter=5),
        lambda p, t: ConFIG(p, t, lr=0.05),
        lambda p, t: ConFIG(p, t, lr=0.05, grad_clip=0.5),
        lambda p, t: MConFIG(p, t, lr=0.05),
        lambda p, t: MConFIG(p, t, lr=0.05, grad_clip=0.1),
        lambda p, t: MultiAdam(p, t, lr=0.05),
        lambda p, t: MultiAdam(p, t, lr=0.05, grad_clip=0.5),
    ],
)
def test_optimizers_on_cuda_follow_the_cpu_trajectory(make, quadratic):
    names = ("pde", "bc", "ic")
    cpu = quadratic(names)
    gpu = copy.deepcopy(cpu).to(CUDA)
    gpu.centers = gpu.centers.to(CUDA)
    cpu_optimizer, gpu_optimizer = make(cpu.parameters(), names), make(gpu.parameters(), names)
    for _ in range(20):
        cpu_optimizer.step(cpu.terms)
        gpu_optimizer.step(gpu.terms)
    torch.testing.assert_close(gpu.theta().cpu(), cpu.theta(), rtol=1e-9, atol=1e-9)
