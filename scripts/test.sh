#!/usr/bin/env bash
# Install if needed, then run the default (fast) test suite offline. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
export OMP_WAIT_POLICY=PASSIVE
exec .venv/bin/python -m pytest "$@"
