#!/usr/bin/env bash
# Start llama-cpp-python's OpenAI-compatible server on 127.0.0.1:$PORT (default 8001) serving the tiny model's
# GGUF under the alias "tiny-qwen2" (it answers to any model name).
set -euo pipefail
source "$(dirname "$0")/common.sh"
PORT="${PORT:-8001}"; PIDFILE="$ENGINES_HOME/llamacpp.pid"
already_running "$PIDFILE" && { echo "llamacpp: already running (pid $(cat "$PIDFILE"))"; exit 0; }
FLAGS=(--model_alias tiny-qwen2 --host 127.0.0.1 --port "$PORT" --n_ctx 2048 --n_threads 2 --use_mlock False)
cd "$ENGINES_HOME"
nohup venv-llamacpp/bin/python -m llama_cpp.server --model "$ENGINES_HOME/tiny-model.gguf" "${FLAGS[@]}" \
  > "$ENGINES_HOME/logs/llamacpp.log" 2>&1 < /dev/null &
echo $! > "$PIDFILE"
write_meta llamacpp "python -m llama_cpp.server --model tiny-model.gguf ${FLAGS[*]}" "tiny-qwen2" \
  "http://127.0.0.1:$PORT" venv-llamacpp llama_cpp_python
wait_ready llamacpp "$PIDFILE" "http://127.0.0.1:$PORT/v1/chat/completions" \
  '{"model":"tiny-qwen2","messages":[{"role":"user","content":"ping"}],"max_tokens":2}' 120
