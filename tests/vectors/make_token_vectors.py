"""Generate tests/vectors/token_vectors.json with sagemaker-core's own token generator.

sagemaker-core 2.x cannot share a virtualenv with litellm, so this script bootstraps a
throwaway venv (default ``.venv-vectors`` at the repo root, gitignored), installs the pinned
sagemaker-core there and re-runs itself with that venv's python. Inside it, botocore's clock
is frozen and the *public* ``sagemaker.core.token_generator.generate_token`` is called for a
matrix of fake credentials, regions, expiries and instants. The test suite compares our
minter against the committed JSON; it never imports this script.

Usage: python tests/vectors/make_token_vectors.py [--venv DIR]
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs

# Pinned so that regeneration reproduces the committed file bit for bit.
SAGEMAKER_CORE_VERSION: Final = "2.27.0"
BOTOCORE_VERSION: Final = "1.44.5"
REQUIREMENTS: Final = (
    f"sagemaker-core=={SAGEMAKER_CORE_VERSION}",
    f"botocore=={BOTOCORE_VERSION}",
)

HERE: Final = Path(__file__).resolve().parent
REPO_ROOT: Final = HERE.parents[1]
OUTPUT: Final = HERE / "token_vectors.json"
DEFAULT_VENV: Final = REPO_ROOT / ".venv-vectors"
# Set on re-exec so a broken install fails loudly instead of re-executing forever.
BOOTSTRAP_ENV: Final = "_MAKE_TOKEN_VECTORS_BOOTSTRAPPED"
# SigV4Auth.add_auth (inherited by SigV4QueryAuth) reads the time through this module
# global, so patching it is enough to make X-Amz-Date and the credential scope deterministic.
CLOCK_PATCH: Final = "botocore.auth.get_current_datetime"

# All credentials below are fake, in the style of the AWS documentation examples.
AK_STATIC: Final = "AKIAIOSFODNN7EXAMPLE"
SK_SLASH: Final = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AK_PLUS: Final = "AKIAI44QH8DHBEXAMPLE"
SK_PLUS: Final = "je7MtGbClwBF+2Zp9Utk/h3yCo8nvb+EXAMPLEKEY"
AK_TEMP: Final = "ASIAIOSFODNN7EXAMPLE"
SESSION_TOKEN: Final = (
    "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQDfakeEXAMPLE+token/value"
    "AiAFAKEsessionTOKENforTESTvectorsONLY+not/a/real/credential/EXAMPLEEXAMPLEEXAMPLE"
    "KpcCCJr//////////ARAAGgwxMjM0NTY3ODkwMTIiDEXAMPLEfake+STS/token+material+with+plus"
    "and/slashes/and/equals/padding/ZmFrZSBzZXNzaW9uIHRva2VuIGZvciB0ZXN0IHZlY3RvcnM="
    "+MoreFAKEbytesAfterPaddingToCheckQuoting/EXAMPLE=="
)

INSTANTS: Final = {
    "a": "2026-11-21T12:34:56Z",
    "b": "2025-12-31T23:59:59Z",  # a year/day boundary: the scope date must follow the clock
    "c": "2024-02-29T00:00:00Z",  # leap day, midnight
}

# (name prefix, access key, secret key, session token, region, expiry seconds, instant key)
MATRIX: Final[tuple[tuple[str, str, str, str | None, str, int, str], ...]] = (
    ("static", AK_STATIC, SK_SLASH, None, "us-east-1", 3600, "a"),
    ("static", AK_STATIC, SK_SLASH, None, "us-east-1", 43200, "a"),
    ("static", AK_STATIC, SK_SLASH, None, "us-east-1", 1, "a"),
    ("static", AK_STATIC, SK_SLASH, None, "us-east-1", 300, "b"),
    ("static", AK_STATIC, SK_SLASH, None, "us-west-2", 3600, "a"),
    ("static", AK_STATIC, SK_SLASH, None, "eu-central-1", 3600, "b"),
    ("static", AK_STATIC, SK_SLASH, None, "cn-north-1", 3600, "a"),
    ("static", AK_STATIC, SK_SLASH, None, "us-gov-west-1", 3600, "a"),
    ("static", AK_STATIC, SK_SLASH, None, "ap-southeast-3", 3600, "a"),
    ("static", AK_STATIC, SK_SLASH, None, "us-east-1", 43200, "c"),
    ("session", AK_TEMP, SK_SLASH, SESSION_TOKEN, "us-east-1", 3600, "a"),
    ("session", AK_TEMP, SK_SLASH, SESSION_TOKEN, "us-west-2", 43200, "b"),
    ("session", AK_TEMP, SK_SLASH, SESSION_TOKEN, "cn-north-1", 300, "a"),
    ("session", AK_TEMP, SK_SLASH, SESSION_TOKEN, "us-gov-west-1", 1, "b"),
    ("session", AK_TEMP, SK_SLASH, SESSION_TOKEN, "ap-southeast-3", 43200, "a"),
    ("session", AK_TEMP, SK_SLASH, SESSION_TOKEN, "eu-central-1", 300, "c"),
    ("session", AK_TEMP, SK_SLASH, SESSION_TOKEN, "us-west-2", 1, "c"),
    ("plus-secret", AK_PLUS, SK_PLUS, None, "us-east-1", 3600, "a"),
    ("plus-secret", AK_PLUS, SK_PLUS, None, "eu-central-1", 43200, "b"),
    ("plus-secret", AK_PLUS, SK_PLUS, None, "cn-north-1", 1, "c"),
    ("plus-secret-session", AK_PLUS, SK_PLUS, SESSION_TOKEN, "us-gov-west-1", 3600, "c"),
)


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _has_generator() -> bool:
    try:
        import sagemaker.core.token_generator  # noqa: F401
    except ImportError:
        return False
    return True


def _bootstrap(venv: Path) -> int:
    """Create ``venv`` if needed, install the pinned generator there and re-run this script."""
    if os.environ.get(BOOTSTRAP_ENV):
        sys.exit(
            f"sagemaker.core.token_generator is still missing after installing into {venv}; "
            f"delete {venv} and re-run, or install {' '.join(REQUIREMENTS)} yourself"
        )
    python = _venv_python(venv)
    if not python.exists():
        print(f"creating {venv}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    print(f"installing {' '.join(REQUIREMENTS)} into {venv}", file=sys.stderr)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *REQUIREMENTS,
        ],
        check=True,
    )
    env = {**os.environ, BOOTSTRAP_ENV: "1"}
    return subprocess.run([str(python), str(Path(__file__).resolve())], env=env).returncode


def _parse_instant(text: str) -> dt.datetime:
    # botocore's get_current_datetime() returns a naive UTC datetime by default.
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def _check_token(token: str, case: dict[str, Any]) -> None:
    """Fail if the clock patch did not take effect or the token is not what we think it is."""
    decoded = base64.b64decode(token.removeprefix("sagemaker-api-key-")).decode("utf-8")
    query = parse_qs(decoded.split("?", 1)[1].removesuffix("&Version=1"))
    stamp = _parse_instant(case["frozen_utc"]).strftime("%Y%m%dT%H%M%SZ")
    if query["X-Amz-Date"] != [stamp]:
        sys.exit(f"{case['name']}: X-Amz-Date {query['X-Amz-Date']} != {stamp}; clock not frozen")
    if query["X-Amz-Expires"] != [str(case["expiry_seconds"])]:
        sys.exit(f"{case['name']}: unexpected X-Amz-Expires {query['X-Amz-Expires']}")


def _generate() -> dict[str, Any]:
    import botocore
    import botocore.auth
    from botocore.credentials import CredentialProvider, Credentials
    from sagemaker.core.token_generator import generate_token

    if not callable(getattr(botocore.auth, "get_current_datetime", None)):
        sys.exit(
            f"botocore {botocore.__version__} has no {CLOCK_PATCH}; find what SigV4Auth.add_auth "
            "reads the time from and patch that instead"
        )

    class StaticProvider(CredentialProvider):  # type: ignore[misc]
        METHOD = "token-vectors"

        def __init__(self, access: str, secret: str, token: str | None) -> None:
            super().__init__()
            self._creds = Credentials(access, secret, token, method=self.METHOD)

        def load(self) -> Credentials:
            return self._creds

    original = botocore.auth.get_current_datetime
    cases: list[dict[str, Any]] = []
    try:
        for prefix, access, secret, token, region, expiry, instant in MATRIX:
            frozen = _parse_instant(INSTANTS[instant])
            botocore.auth.get_current_datetime = lambda remove_tzinfo=True, _f=frozen: (
                _f if remove_tzinfo else _f.replace(tzinfo=dt.timezone.utc)
            )
            provider = StaticProvider(access, secret, token)
            kwargs = {"region": region, "aws_credentials_provider": provider}
            minted = generate_token(**kwargs, expiry=dt.timedelta(seconds=expiry))
            # Same inputs, same clock, same bytes: anything else means hidden state.
            if generate_token(**kwargs, expiry=dt.timedelta(seconds=expiry)) != minted:
                sys.exit(f"non-deterministic token for {prefix}-{region}; is the clock frozen?")
            case = {
                "name": f"{prefix}-{region}-{expiry}s-{instant}",
                "access_key": access,
                "secret_key": secret,
                "session_token": token,
                "region": region,
                "expiry_seconds": expiry,
                "frozen_utc": INSTANTS[instant],
                "token": minted,
            }
            _check_token(minted, case)
            cases.append(case)
    finally:
        botocore.auth.get_current_datetime = original

    names = [c["name"] for c in cases]
    if len(set(names)) != len(names):
        sys.exit("duplicate case names in MATRIX")
    return {
        "generator": {
            "sagemaker_core": importlib.metadata.version("sagemaker-core"),
            "botocore": botocore.__version__,
            "python": platform.python_version(),
            "clock_patch": CLOCK_PATCH,
            "function": "sagemaker.core.token_generator.generate_token",
        },
        "cases": cases,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--venv",
        type=Path,
        default=DEFAULT_VENV,
        help=f"throwaway venv for sagemaker-core (default: {DEFAULT_VENV})",
    )
    args = parser.parse_args(argv)
    if not _has_generator():
        return _bootstrap(args.venv.resolve())
    version = importlib.metadata.version("sagemaker-core")
    if version != SAGEMAKER_CORE_VERSION:
        print(
            f"warning: using sagemaker-core {version}, pinned is {SAGEMAKER_CORE_VERSION}",
            file=sys.stderr,
        )
    data = _generate()
    OUTPUT.write_text(json.dumps(data, indent=2, ensure_ascii=True) + "\n", encoding="utf-8")
    print(f"wrote {len(data['cases'])} cases to {OUTPUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
