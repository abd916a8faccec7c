#!/usr/bin/env bash
# Install `transformers serve` (transformers 5.23.0 on torch 2.13.0 CPU) and build the tiny model every engine
# serves. Idempotent: a second run only checks what is there.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ENGINES_HOME"
[ -x venv-tf/bin/python ] || "$PYTHON" -m venv venv-tf
# torch first, pinned: a plain `torch` resolves to the CUDA wheels (gigabytes, useless here).
venv-tf/bin/pip install -q torch==2.13.0
venv-tf/bin/pip install -q 'transformers[serving]==5.23.0'
if [ ! -f tiny-model/model.safetensors ]; then
  venv-tf/bin/python "$HERE/build_tiny_model.py" "$ENGINES_HOME/tiny-model"
fi
# `transformers serve` resolves models through the HF cache only: expose the model as a fake hub repo
# "peers/tiny-qwen2" so that it loads offline and GET /v1/models lists it.
H=$(sha1sum tiny-model/model.safetensors | cut -c1-40)
R=hf-home/hub/models--peers--tiny-qwen2
rm -rf "$R"; mkdir -p "$R/snapshots/$H" "$R/refs" "$R/blobs"
cp tiny-model/* "$R/snapshots/$H/"
printf '%s' "$H" > "$R/refs/main"
echo "transformers: setup done"
