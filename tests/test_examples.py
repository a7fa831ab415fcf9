"""Every script in examples/ runs to completion with a tiny budget.

Convention for examples: read the environment variable ``SCIML_EXAMPLE_TINY``; when it is ``"1"``,
shrink the run (samples, resolution, epochs) to a few seconds on a CPU. Scripts run in a temporary
working directory, so files they write with relative paths are cleaned up.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.py"))


def test_examples_exist():
    assert EXAMPLES, "examples/ holds no scripts"


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.name)
def test_example_runs_with_a_tiny_budget(script, tmp_path):
    env = {**os.environ, "SCIML_EXAMPLE_TINY": "1"}
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f"{script.name} failed:\n{result.stderr[-3000:]}"
    assert result.stdout.strip(), f"{script.name} printed nothing"
