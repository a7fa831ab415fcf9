import pytest
import torch


@pytest.fixture
def generator() -> torch.Generator:
    """A seeded CPU generator: every random draw in a test goes through one."""
    return torch.Generator().manual_seed(1234)


@pytest.fixture
def one_thread():
    """One torch thread for the test: solvers and PINN steps make many small FFTs and autograd calls, which
    intra-op threads only slow down on a busy two-core machine (measured 31 s against 0.2 s for a Burgers solve).
    Use it with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
