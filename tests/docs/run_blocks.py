"""Run each page's Python blocks in a fresh process, in order, in one namespace, as a reader would.

A pre-forking server: it imports LiteLLM and the OpenAI SDK once (~4 s), then forks one child
per page, so every page starts from the state a fresh ``import`` leaves, without paying the
import again. Protocol, one JSON object per line:

* request on stdin: ``{"blocks": [{"path", "line", "code"}, ...], "cwd": DIR, "log": FILE}``;
* answers on stdout: ``{"pid": N}`` when the child starts, then ``{"status": CODE}``.

The child writes its stdout and stderr to ``log``. Each block is compiled under its Markdown
file name with its line offset, so a traceback points at the page and line of the sample.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any


def run_page(blocks: list[dict[str, Any]]) -> int:
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for block in blocks:
        where = f"{block['path']}:{block['line']}"
        print(f"--- {where}", file=sys.stderr, flush=True)
        source = "\n" * (block["line"] - 1) + block["code"]
        try:
            exec(compile(source, block["path"], "exec"), namespace)
        except BaseException:
            traceback.print_exc()
            print(f"FAILED: the sample at {where}", file=sys.stderr, flush=True)
            return 1
        sys.stdout.flush()
    return 0


def _child(request: dict[str, Any]) -> int:
    os.chdir(request["cwd"])
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - the child exits with os._exit
    try:
        return run_page(request["blocks"])
    except BaseException:
        traceback.print_exc()
        return 1


def main() -> int:
    # Imported once here, so that each forked page skips LiteLLM's ~4 s import. Importing them
    # starts no thread (checked), which keeps fork safe.
    import httpx  # noqa: F401
    import litellm  # noqa: F401
    import openai  # noqa: F401

    answers = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        answers.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _child(request)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(json.dumps({"pid": pid}), file=answers, flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"status": os.waitstatus_to_exitcode(status)}), file=answers, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
