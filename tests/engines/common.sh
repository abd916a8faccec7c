# Sourced by every engine script. Everything an engine needs lives under $ENGINES_HOME (default: the repo's
# .engines/, gitignored), so `make engines` never touches the user's caches and `rm -rf .engines` undoes it.
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
: "${ENGINES_HOME:=$REPO/.engines}"
export ENGINES_HOME
mkdir -p "$ENGINES_HOME/logs"
# Offline on purpose: the tiny model is built here, and nothing may be fetched from a hub at run time.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HOME="$ENGINES_HOME/hf-home"
export VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1
PYTHON="${PYTHON:-python3}"

# wait_ready NAME PIDFILE URL BODY TRIES: poll a real chat completion until it answers (a health route can be up
# before the model is), failing fast if the server process has died.
wait_ready() {
  local name=$1 pidfile=$2 url=$3 body=$4 tries=$5 log="$ENGINES_HOME/logs/$1.log"
  for _ in $(seq 1 "$tries"); do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "$name died while starting; see $log"; tail -20 "$log"; rm -f "$pidfile"; return 1
    fi
    if curl -sf "$url" -H 'Content-Type: application/json' -d "$body" >/dev/null 2>&1; then
      echo "$name up on $url (pid $(cat "$pidfile"), log $log)"; return 0
    fi
    sleep 1
  done
  echo "$name did not answer in ${tries}s; see $log"; return 1
}

# already_running PIDFILE: true when the pid in PIDFILE is alive (start scripts are idempotent).
already_running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# write_meta NAME COMMAND MODEL URL VENV PACKAGE...: what capture.py puts in the capture's manifest (versions
# read from the engine's own venv, the exact command line, the venv's size on disk).
write_meta() {
  local name=$1 command=$2 model=$3 url=$4 venv=$5; shift 5
  "$ENGINES_HOME/$venv/bin/python" - "$name" "$command" "$model" "$url" "$@" > "$ENGINES_HOME/$name.meta.json" <<'PY'
import json, platform, sys
from importlib.metadata import version
name, command, model, url, *packages = sys.argv[1:]
print(json.dumps({"engine": name, "command": command, "model": model, "url": url,
                  "versions": {p: version(p) for p in packages},
                  "python": platform.python_version()}, indent=2))
PY
}
