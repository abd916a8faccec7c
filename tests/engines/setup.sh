#!/usr/bin/env bash
# setup.sh ENGINE: run setup_ENGINE.sh, and remember how long the first (real) install took and how much disk
# the engine's venv takes, for the capture's manifest.
set -euo pipefail
source "$(dirname "$0")/common.sh"
NAME=$1
declare -A VENV=([transformers]=venv-tf [llamacpp]=venv-llamacpp [vllm]=venv-vllm)
FIRST="$ENGINES_HOME/$NAME.install.json"
t0=$(date +%s)
"$HERE/setup_$NAME.sh"
secs=$(( $(date +%s) - t0 ))
disk=$(du -sb "$ENGINES_HOME/${VENV[$NAME]}" | cut -f1)
# Only a run that did install counts as the install time; a later idempotent run keeps the first figure.
if [ ! -f "$FIRST" ]; then first=$secs; else first=$("$PYTHON" -c "import json,sys; print(json.load(open(sys.argv[1]))['install_seconds'])" "$FIRST"); fi
printf '{"install_seconds": %s, "disk_bytes": %s}\n' "$first" "$disk" > "$FIRST"
echo "$NAME: setup took ${secs}s (first install ${first}s), venv $(( disk / 1000000 )) MB"
