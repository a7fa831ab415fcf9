import pytest
import torch


@pytest.fixture
def generator() -> torch.Generator:
    """A seeded CPU generator: every random draw in a test goes through one."""
    return torch.Generator().manual_seed(1234)


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
