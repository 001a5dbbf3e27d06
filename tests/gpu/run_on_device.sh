#!/usr/bin/env bash
# The GPU checks in one command, for one call of the device tool on a lent H100/H200.
#
# Before the call, here (with a network):   bash tests/gpu/fetch_wheels.sh
# The call (from the repository root):      bash tests/gpu/run_on_device.sh      carry: [".whl"]
#
# On the device machine it:
#   1. installs the carried wheels (.whl/: gRPC and protobuf packages the image lacks) into
#      /tmp/site; the image's own python3 already holds CuPy, PyTorch CUDA, NumPy and pytest,
#      and nothing can be fetched there;
#   2. writes env.txt: the card, the driver, the versions, and whether the engine finds a usable GPU;
#   3. runs  python3 -m pytest -q tests/gpu tests/unit  with GRADWIRE_REQUIRE_GPU=1 (a broken CuPy
#      fails the GPU tests instead of skipping them), in parallel workers when pytest-xdist is there;
#   4. runs  python3 benchmarks/bench_gpu.py  (the remote MLP step at batch 4096 against PyTorch CUDA);
#   5. prints summary.txt last.
# Everything goes under $OUT (env.txt, pytest.log, junit.xml, bench.log, bench_gpu.json, summary.txt).
# It is bounded: GPU_CHECK_BUDGET_S seconds in all (default 360), the tests getting what the
# benchmark's reserve leaves. Exit status: 0 when every step passed.
#
# Rehearsal without a GPU:  GPU_REHEARSAL=1 bash tests/gpu/run_on_device.sh
# (tests/gpu/rehearsal's NumPy stand-in plays CuPy; it checks the tests and this script, not the GPU.)
set -u
cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD
START=$SECONDS
BUDGET=${GPU_CHECK_BUDGET_S:-360}
BENCH_RESERVE=${GPU_CHECK_BENCH_RESERVE_S:-100}
PY=${PYTHON:-python3}
REHEARSAL=${GPU_REHEARSAL:-0}
if [ "$REHEARSAL" = 1 ]; then
  OUT=${OUT:-/tmp/gradwire-gpu-rehearsal}
else
  OUT=${OUT:-/tmp/gradwire-gpu-out}
fi
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
left() { echo $((BUDGET - (SECONDS - START))); }
say() { echo "[run_on_device $((SECONDS - START))s] $*"; }

# --- 1. packages ------------------------------------------------------------------------------
SITE=
if [ "$REHEARSAL" != 1 ] && compgen -G ".whl/*.whl" >/dev/null; then
  say "installing the carried wheels into /tmp/site: $(cd .whl && ls | tr '\n' ' ')"
  if "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl; then
    SITE=/tmp/site
  else
    say "WARNING: installing the wheels failed; going on with the image's packages"
  fi
elif [ "$REHEARSAL" != 1 ]; then
  say "no .whl/ carried (run tests/gpu/fetch_wheels.sh here and carry .whl): using the image's packages only"
fi
PYTHONPATH=$ROOT/client:$ROOT/server:$ROOT${SITE:+:$SITE}${PYTHONPATH:+:$PYTHONPATH}
[ "$REHEARSAL" = 1 ] && PYTHONPATH=$ROOT/tests/gpu/rehearsal:$PYTHONPATH
export PYTHONPATH
export GRADWIRE_REQUIRE_GPU=1  # the GPU tests fail, not skip, where the engine finds no GPU

# --- 2. the machine ---------------------------------------------------------------------------
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)   rehearsal: $REHEARSAL   budget: ${BUDGET}s"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo 'unknown (no .git here)')"
  echo "python: $(command -v "$PY")   cpus: $(nproc)   PYTHONPATH=$PYTHONPATH"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version,clocks.sm,clocks.mem --format=csv 2>&1
  else
    echo "nvidia-smi: not found"
  fi
  timeout -k 5 120 "$PY" - <<'EOF' 2>&1
import importlib, platform, sys
from importlib.metadata import PackageNotFoundError, version
print("python", platform.python_version(), sys.executable)
for name in ("numpy", "cupy-cuda13x", "cupy-cuda12x", "cupy", "torch", "grpcio", "protobuf", "grpcio-health-checking",
             "grpcio-reflection", "pytest", "pytest-xdist", "pytest-timeout", "hypothesis", "threadpoolctl"):
    try:
        print(f"  {name} {version(name)}")
    except PackageNotFoundError:
        pass
for module in ("grpc", "google.protobuf"):
    m = importlib.import_module(module)
    print(f"  imported {module} {getattr(m, '__version__', '?')} from {m.__file__}")
try:
    import cupy
    props = cupy.cuda.runtime.getDeviceProperties(0)
    print(f"cupy {cupy.__version__} from {cupy.__file__}: device 0 {props['name']!r}, "
          f"CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}, driver {cupy.cuda.runtime.driverGetVersion()}")
except Exception as error:
    print(f"cupy: {type(error).__name__}: {error}")
try:
    import torch
    print(f"torch {torch.__version__} (CUDA {torch.version.cuda}): cuda available {torch.cuda.is_available()}"
          + (f", {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""))
except Exception as error:
    print(f"torch: {type(error).__name__}: {error}")
import gradwire  # the SDK and its generated modules import with these grpc/protobuf versions
from gradwire_server.engine import Backend
try:
    backend = Backend("cuda")
    print(f"GPU-CHECK ok: the engine runs on {backend.xp.__name__} ({backend})")
except RuntimeError as error:
    print(f"GPU-CHECK failed: {error}")
EOF
  echo "preflight exit status: $?"
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
GPU_OK=0
grep -q '^GPU-CHECK ok' "$OUT/env.txt" && GPU_OK=1

# --- 3. the tests -----------------------------------------------------------------------------
PYTEST_ARGS=(-q tests/gpu tests/unit -p no:cacheprovider --junitxml="$OUT/junit.xml" -o junit_family=xunit1 --durations=15)
if "$PY" -c "import xdist" 2>/dev/null && { [ "$REHEARSAL" != 1 ] || [ -n "${GPU_TEST_WORKERS:-}" ]; }; then
  WORKERS=${GPU_TEST_WORKERS:-$(( $(nproc) / 2 > 8 ? 8 : ( $(nproc) / 2 < 1 ? 1 : $(nproc) / 2 ) ))}
  [ "$WORKERS" -gt 1 ] && PYTEST_ARGS+=(-n "$WORKERS")
fi
"$PY" -c "import pytest_timeout" 2>/dev/null && PYTEST_ARGS+=(--timeout=150)
if [ "$GPU_OK" = 1 ]; then
  PYTEST_S=$(( $(left) - BENCH_RESERVE ))
  [ "$PYTEST_S" -lt 60 ] && PYTEST_S=60
  say "pytest ${PYTEST_ARGS[*]}  (at most ${PYTEST_S}s)"
  set -o pipefail
  # SIGINT at the limit: pytest then stops as on Ctrl-C, still reporting what ran and writing junit.xml
  timeout -s INT -k 30 "$PYTEST_S" "$PY" -m pytest "${PYTEST_ARGS[@]}" 2>&1 | tee "$OUT/pytest.log"
  PYTEST_RC=$?
  set +o pipefail
  [ "$PYTEST_RC" = 124 ] && say "pytest ran past its ${PYTEST_S}s and was interrupted: the results are those of the tests that ran"
else
  say "the preflight found no usable GPU engine, or could not import gradwire (see env.txt): tests/unit only"
  timeout -k 10 120 "$PY" -m pytest -q tests/unit -p no:cacheprovider 2>&1 | tee "$OUT/pytest.log"
  PYTEST_RC=3
fi

# --- 4. the benchmark ---------------------------------------------------------------------------
BENCH_S=$(left)
[ "$BENCH_S" -lt 60 ] && BENCH_S=60
say "python benchmarks/bench_gpu.py  (at most ${BENCH_S}s)"
set -o pipefail
timeout -k 10 "$BENCH_S" "$PY" benchmarks/bench_gpu.py --json "$OUT/bench_gpu.json" 2>&1 | tee "$OUT/bench.log"
BENCH_RC=$?
set +o pipefail

# --- 5. summary -------------------------------------------------------------------------------------
{
  echo "=== gradwire GPU checks: summary ($((SECONDS - START))s of ${BUDGET}s; rehearsal: $REHEARSAL) ==="
  grep -E '^(GPU-CHECK|cupy |torch )' "$OUT/env.txt"
  grep -E 'NVIDIA|nvidia-smi' "$OUT/env.txt" | head -3
  echo "--- pytest (exit status $PYTEST_RC): tests/gpu tests/unit"
  [ -f "$OUT/junit.xml" ] && "$PY" - "$OUT/junit.xml" <<'EOF'
import collections, sys, xml.etree.ElementTree as ET
counts = collections.defaultdict(collections.Counter)
for case in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    outcome = next((child.tag for child in case if child.tag in ("failure", "error", "skipped")), "passed")
    counts[case.get("classname", "?")][outcome] += 1
for module, c in sorted(counts.items()):
    print(f"  {module}: " + ", ".join(f"{n} {k}" for k, n in sorted(c.items())))
EOF
  grep -E '^(FAILED|ERROR) tests/' "$OUT/pytest.log" | head -60
  grep -E '[0-9]+ (passed|failed)|no tests ran|error' "$OUT/pytest.log" | tail -1
  echo "--- bench_gpu.py (exit status $BENCH_RC)"
  grep -E 'card:|batch [0-9]+:|ms/step|CPU per|nothing measured|Error|error' "$OUT/bench.log" | head -20
} > "$OUT/summary.txt" 2>&1
echo
cat "$OUT/summary.txt"
[ "$PYTEST_RC" = 0 ] && [ "$BENCH_RC" = 0 ] && [ "$GPU_OK" = 1 ]
