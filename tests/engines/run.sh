#!/usr/bin/env bash
# `make engines`: for each engine, install it (idempotent), start it, record the kit against it (direct and
# mock mode, through the recording proxy) into tests/captures/ENGINE/, check that the capture replays to the
# same verdicts, and stop it. Then regenerate the table in docs/kit/engines.md. Not part of CI: it needs
# ~5 GB of disk and 20-40 minutes on 2 cores the first time (llama-cpp-python compiles from source).
# ENGINES="vllm llamacpp" make engines   runs a subset.
set -euo pipefail
source "$(dirname "$0")/common.sh"
ENGINES="${ENGINES:-transformers llamacpp vllm}"
KIT_PY="$REPO/.venv/bin/python"

# The transformers setup builds the model the other engines serve.
"$HERE/setup.sh" transformers
status=0
for engine in $ENGINES; do
  [ "$engine" = transformers ] || "$HERE/setup.sh" "$engine"
  trap '"$HERE/stop.sh" "$engine"' EXIT
  "$HERE/start_$engine.sh"
  "$KIT_PY" "$HERE/capture.py" "$engine" || status=1
  "$HERE/stop.sh" "$engine"
  trap - EXIT
done
"$KIT_PY" "$HERE/table.py"
exit $status
