#!/usr/bin/env bash
# The GPU checks of the FNO hot path in one short run (about 5 minutes on one H200; every step has
# its own timeout so the whole stays under 8 minutes).
#
# Assumes a Python with a CUDA build of torch ($PYTHON, default python3). Installs nothing
# system-wide: sciml is used from this checkout through PYTHONPATH. The speed ratios need
# neuraloperator 2.0: where it is not importable and .whl/ holds its wheels, they are installed
# into a temporary folder first. Fetch them where a package index is reachable (pure-Python wheels;
# neuraloperator's other requirements are not imported by what the checks use, and its import of
# wandb is met by an empty stand-in when wandb is missing):
#
#   pip download --no-deps --only-binary=:all: -d .whl neuraloperator==2.0.0 tensorly==0.10.0 tensorly-torch==0.5.0
#
# Without them the speed table times sciml alone (and its spectral layers against the bare FFT).
#
#   bash benchmarks/gpu_check.sh            # results in $OUT, else runs/gpu_check
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-runs/gpu_check}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
status=0

"$PYTHON" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.__version__, torch.cuda.get_device_name())" || exit 1
if ! "$PYTHON" -c "import neuralop" 2>/dev/null && compgen -G ".whl/*.whl" >/dev/null; then
    site="$(mktemp -d)"
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --target "$site" .whl/*.whl
    if ! "$PYTHON" -c "import wandb" 2>/dev/null; then
        mkdir -p "$site/wandb"
        echo '"""Stand-in: neuraloperator imports wandb; these checks never call it."""' >"$site/wandb/__init__.py"
    fi
    export PYTHONPATH="$PYTHONPATH:$site"
fi
reference=()
if ! "$PYTHON" -c "import neuralop" 2>/dev/null; then
    echo "NOTE: neuraloperator is not importable here: no ratios, sciml times only (--no-reference)"
    reference=(--no-reference)
fi

# 1. correctness on CUDA: fft vs dft paths (values and gradients), CUDA vs CPU float64, autocast,
#    neuraloperator on CUDA; plus the CPU equivalence with neuraloperator as a baseline.
timeout 150 "$PYTHON" -m pytest -q -m gpu tests/models tests/nn 2>&1 | tee "$OUT/pytest_gpu.txt" || status=1
timeout 90 "$PYTHON" -m pytest -q tests/models/test_neuralop_equivalence.py 2>&1 | tee "$OUT/pytest_equivalence.txt" || status=1

# 2. speed against neuraloperator: float32, then bf16 autocast (64^2..256^2, 1-D at 1024 and 8192)
for dtype in fp32 bf16; do
    timeout 120 "$PYTHON" benchmarks/fno_speed.py --device cuda --dtype "$dtype" "${reference[@]}" \
        --json "$OUT/fno_speed_cuda_$dtype.json" 2>&1 | tee "$OUT/fno_speed_cuda_$dtype.txt" || status=1
done
echo "gpu_check: $([ $status = 0 ] && echo all steps passed || echo SOME STEP FAILED, see $OUT)"
exit $status
