"""`make test-matrix`: the provider's tests on both ends of the supported LiteLLM range.

For each LiteLLM version it builds `.venv-matrix/<version>` from the project's own files, with
the version pinned by a constraints file written for that run, and runs the provider-relevant
tests there. The ends are the floor declared in pyproject.toml and the newest release on the
package index that day; `LITELLM_VERSIONS="1.106.2 1.109.3"` picks others.

Where `litellm[proxy]` does not resolve at a version (its `litellm-proxy` pieces are published
later than `litellm`), the venv is built without the proxy extra and the `proxy` tests are
deselected; the summary says so. Standard library only: it runs before any venv exists.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MATRIX = ROOT / ".venv-matrix"
PYPROJECT = ROOT / "pyproject.toml"
TESTS = [
    "tests/provider", "tests/integration", "tests/faults", "tests/security", "tests/fuzz",
    "tests/compat", "tests/docs", "tests/test_public_api.py",
]  # fmt: skip
# pip's answers when a pinned litellm has no installable `[proxy]` extra on the index.
UNRESOLVABLE = (
    "No matching distribution found",
    "ResolutionImpossible",
    "conflicting dependencies",
)
QUIET = ["-q", "--disable-pip-version-check"]


def declared_floor() -> str:
    """The oldest supported LiteLLM: the floor of the `litellm[...]>=X` dependency."""
    match = re.search(r'"litellm\[[^\]]*\]>=([0-9][0-9.]*)', PYPROJECT.read_text())
    if match is None:
        raise SystemExit("pyproject.toml declares no litellm>= floor; cannot pick the oldest end")
    return match.group(1)


def newest_release(python: str) -> str:
    """The newest non-pre-release litellm below 2 on the package index, as pip sees it."""
    # Not -q: with it `pip index versions` prints nothing at all.
    out = run([python, "-m", "pip", "index", "versions", "litellm"], capture=True)
    listed = re.search(r"Available versions: (.*)", out)
    if listed is None:
        raise SystemExit(f"`pip index versions litellm` listed nothing:\n{out[-2000:]}")
    versions = [v.strip() for v in listed.group(1).split(",")]
    stable = [v for v in versions if re.fullmatch(r"1\.\d+\.\d+", v)]
    return max(stable, key=lambda v: tuple(int(part) for part in v.split(".")))


def run(command: list[str], *, capture: bool = False, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        command, cwd=ROOT, env=env, text=True, check=False,
        stdout=subprocess.PIPE if capture else None, stderr=subprocess.STDOUT if capture else None,
    )  # fmt: skip
    if result.returncode != 0:
        detail = (result.stdout or "")[-4000:]
        raise subprocess.CalledProcessError(result.returncode, command, detail)
    return result.stdout or ""


def build(version: str) -> tuple[Path, bool]:
    """The venv for `version` (reused while pyproject.toml is unchanged); has it the proxy?"""
    venv = MATRIX / version
    stamp = venv / ".installed"
    digest = hashlib.sha256(PYPROJECT.read_bytes()).hexdigest()
    if stamp.exists():
        state = json.loads(stamp.read_text())
        if state.get("pyproject") == digest:
            return venv, bool(state["proxy"])
    print(f"== building {venv.relative_to(ROOT)} (litellm=={version})", flush=True)
    run([sys.executable, "-m", "venv", "--clear", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    run([*pip, "install", *QUIET, "-U", "pip>=25.1"], capture=True)
    constraints = venv / "constraints.txt"
    constraints.write_text(f"litellm=={version}\n")
    install = [*pip, "install", *QUIET, "-c", str(constraints)]
    proxy = True
    try:
        run([*install, "-e", ".[conformance,proxy]", "--group", "test"], capture=True)
    except subprocess.CalledProcessError as exc:
        if not any(marker in str(exc.output) for marker in UNRESOLVABLE):
            raise SystemExit(
                f"installing the test venv for litellm=={version} failed:\n{exc.output}"
            ) from None
        print(
            f"   litellm[proxy]=={version} has no release on the index; building without the proxy"
        )
        proxy = False
        run([*install, "-e", ".[conformance]", "--group", "test"], capture=True)
    probe = "import importlib.metadata as m; print(m.version('litellm'))"
    installed = run([str(venv / "bin" / "python"), "-c", probe], capture=True).strip()
    if installed != version:
        raise SystemExit(f"{venv} has litellm {installed}, not the pinned {version}")
    stamp.write_text(json.dumps({"pyproject": digest, "proxy": proxy, "litellm": version}))
    return venv, proxy


def test(venv: Path, proxy: bool) -> bool:
    # As `make test`: workers for the tests that wait on sockets, then the wall-time ones alone.
    workers = os.environ.get("PYTEST_WORKERS", "4")
    base = [str(venv / "bin" / "pytest"), "-q", "-p", "no:cacheprovider", *TESTS]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    passed = True
    for marks, extra in (("not serial", ["-n", workers]), ("serial", [])):
        selection = marks if proxy else f"({marks}) and not proxy"
        done = subprocess.run([*base, *extra, "-m", selection], cwd=ROOT, env=env, check=False)
        passed = passed and done.returncode in (0, 5)  # 5: nothing selected
    return passed


def main() -> int:
    chosen = os.environ.get("LITELLM_VERSIONS", "").split()
    if not chosen:
        chosen = [declared_floor(), newest_release(sys.executable)]
    versions = list(dict.fromkeys(chosen))
    print(f"LiteLLM release matrix: {', '.join(versions)}", flush=True)
    rows = []
    start = time.monotonic()
    # The venvs build side by side (pip waits on the index, mostly); the tests run one at a time.
    with concurrent.futures.ThreadPoolExecutor(len(versions)) as pool:
        built_venvs = list(pool.map(build, versions))
    built = time.monotonic() - start
    for version, (venv, proxy) in zip(versions, built_venvs, strict=True):
        print(f"== litellm {version}: {'with' if proxy else 'WITHOUT'} the proxy", flush=True)
        began = time.monotonic()
        passed = test(venv, proxy)
        tested = round(time.monotonic() - began, 1)
        rows.append({"litellm": version, "proxy": proxy, "passed": passed,
                     "build_s": round(built, 1), "test_s": tested})  # fmt: skip
    (MATRIX / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    print("\nlitellm    proxy  result  build   tests")
    for row in rows:
        proxy_cell = "yes" if row["proxy"] else "no"
        result = "passed" if row["passed"] else "FAILED"
        print(f"{row['litellm']:<10} {proxy_cell:<6} {result:<7} "
              f"{row['build_s']:>5} s {row['test_s']:>6} s")  # fmt: skip
    skipped = [row["litellm"] for row in rows if not row["proxy"]]
    if skipped:
        print(f"proxy tests deselected for {', '.join(skipped)}: litellm[proxy] does not install")
    return 0 if all(row["passed"] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
