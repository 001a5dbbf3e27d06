#!/usr/bin/env bash
# Run HERE, on the machine with a network, before the device call: downloads into .whl/ the
# Python packages that gradwire needs and the GPU machines' image lacks or may hold too old
# (grpcio-health-checking and grpcio-reflection are not in that image; the generated modules in
# client/gradwire/v1 need grpcio >= 1.85.1 and protobuf >= 7.35.1; checkpoints need safetensors, the server
# prometheus-client, the digits example tqdm, bfloat16 ml_dtypes), as wheels for the device's
# Python (3.12, x86-64 manylinux). The device call names .whl in `carry`; run_on_device.sh
# installs them there into /tmp/site. .whl/ is kept out of git through .git/info/exclude.
# Not fetched: numba and llvmlite (the NumPy backend's compiled loops), which the image holds;
# llvmlite's wheel alone (60 MB) would nearly fill the call's 64 MiB carry.
#
# Versions: those installed here (what the tests pass with here), unless given as arguments,
# e.g.  bash tests/gpu/fetch_wheels.sh grpcio==1.85.3 protobuf==7.36.2 ...
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

PY=${PYTHON:-python3}
mkdir -p .git/info
grep -qxF '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude

if [ "$#" -gt 0 ]; then
  specs=("$@")
else
  mapfile -t specs < <("$PY" - <<'EOF'
from importlib.metadata import PackageNotFoundError, version
minimum = {"grpcio": "1.85.1", "grpcio-health-checking": "1.85.1", "grpcio-reflection": "1.85.1", "protobuf": "7.35.1", "safetensors": "0.4",
           "prometheus-client": "0.17", "tqdm": "4", "ml_dtypes": "0.5"}
for name, floor in minimum.items():
    try:
        print(f"{name}=={version(name)}")
    except PackageNotFoundError:
        print(f"{name}>={floor}")
EOF
)
fi

rm -rf .whl && mkdir .whl
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64 manylinux_2_34_x86_64; do
  platforms+=(--platform "$p")
done
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  "${platforms[@]}" -d .whl "${specs[@]}"
echo "wheels for the device call (carry: [\".whl\"]):"
ls -l .whl
du -sh .whl
