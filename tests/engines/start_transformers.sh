#!/usr/bin/env bash
# Start `transformers serve` on 127.0.0.1:$PORT (default 8000) serving the tiny model as "peers/tiny-qwen2".
set -euo pipefail
source "$(dirname "$0")/common.sh"
PORT="${PORT:-8000}"; PIDFILE="$ENGINES_HOME/transformers.pid"
already_running "$PIDFILE" && { echo "transformers: already running (pid $(cat "$PIDFILE"))"; exit 0; }
FLAGS=(--host 127.0.0.1 --port "$PORT" --device cpu --log-level info)
cd "$ENGINES_HOME"
nohup venv-tf/bin/transformers serve peers/tiny-qwen2 "${FLAGS[@]}" \
  > "$ENGINES_HOME/logs/transformers.log" 2>&1 < /dev/null &
echo $! > "$PIDFILE"
write_meta transformers "transformers serve peers/tiny-qwen2 ${FLAGS[*]}" "peers/tiny-qwen2" \
  "http://127.0.0.1:$PORT" venv-tf transformers torch
wait_ready transformers "$PIDFILE" "http://127.0.0.1:$PORT/v1/chat/completions" \
  '{"model":"peers/tiny-qwen2","messages":[{"role":"user","content":"ping"}],"max_tokens":2}' 180
