#!/usr/bin/env bash
# Install llama-cpp-python 0.3.36 with its server, compiled from the sdist (12 min with 2 jobs, 20 with 1), and
# convert the tiny model to GGUF with llama.cpp's own converter. Needs setup_transformers.sh. Idempotent.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ENGINES_HOME"
[ -f tiny-model/model.safetensors ] || { echo "run setup_transformers.sh first (it builds the model)"; exit 1; }
[ -x venv-llamacpp/bin/python ] || "$PYTHON" -m venv venv-llamacpp
mkdir -p sdist
[ -f sdist/llama_cpp_python-0.3.36.tar.gz ] || \
  venv-llamacpp/bin/pip download -q --no-deps --no-binary :all: 'llama-cpp-python==0.3.36' -d sdist
if ! venv-llamacpp/bin/python -c 'import llama_cpp.server' 2>/dev/null; then
  CMAKE_ARGS="-DGGML_BLAS=OFF -DLLAMA_CURL=OFF -DGGML_NATIVE=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF" \
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-1}" \
    venv-llamacpp/bin/pip install -q 'sdist/llama_cpp_python-0.3.36.tar.gz[server]'
fi
# The converter ships inside the same sdist; it needs torch + transformers, so it runs in venv-tf.
mkdir -p sdist/x
[ -d sdist/x/llama_cpp_python-0.3.36 ] || tar -xzf sdist/llama_cpp_python-0.3.36.tar.gz -C sdist/x
[ -f tiny-model.gguf ] || venv-tf/bin/python "$HERE/convert_tiny_to_gguf.py"
echo "llamacpp: setup done"
