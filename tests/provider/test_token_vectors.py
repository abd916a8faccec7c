"""Our bearer-token minter is byte-identical to sagemaker-core's, proven on committed vectors.

tests/vectors/token_vectors.json was written by sagemaker-core's own ``generate_token`` under a
frozen botocore clock (see tests/vectors/make_token_vectors.py). Here the same clock is frozen
the same way and our minter must reproduce every token byte for byte.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs

import botocore.auth
import pytest
from botocore.credentials import Credentials, ReadOnlyCredentials

from litellm_sagemaker_openai import _token
from litellm_sagemaker_openai._token import (
    TOKEN_ACTION,
    TOKEN_HOST,
    TOKEN_PREFIX,
    TOKEN_SERVICE,
    TOKEN_VERSION,
    generate_token,
    mint_token,
)

VECTORS_PATH: Final = Path(__file__).resolve().parents[1] / "vectors" / "token_vectors.json"
VECTORS: Final[dict[str, Any]] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
CASES: Final[list[dict[str, Any]]] = VECTORS["cases"]
CASE_IDS: Final = [case["name"] for case in CASES]
MIN_CASES: Final = 15

# The exact shape sagemaker-core emits: operation param first, then botocore's auth params in
# its fixed order, the security token only with a session token, and the version suffix last.
DECODED_RE: Final = re.compile(
    r"^sagemaker\.amazonaws\.com/\?Action=CallWithBearerToken"
    r"&X-Amz-Algorithm=AWS4-HMAC-SHA256"
    r"&X-Amz-Credential=(?P<credential>[^&]+)"
    r"&X-Amz-Date=(?P<date>\d{8}T\d{6}Z)"
    r"&X-Amz-Expires=(?P<expires>\d+)"
    r"&X-Amz-SignedHeaders=host"
    r"(?:&X-Amz-Security-Token=(?P<token>[^&]+))?"
    r"&X-Amz-Signature=[0-9a-f]{64}"
    r"&Version=1$"
)


def _frozen(case: dict[str, Any]) -> datetime:
    return datetime.strptime(case["frozen_utc"], "%Y-%m-%dT%H:%M:%SZ")


def _freeze_clock(monkeypatch: pytest.MonkeyPatch, case: dict[str, Any]) -> None:
    # The generator froze botocore's clock (SigV4Auth.add_auth reads the time through
    # get_current_datetime); our signer reads it through _token._utcnow. Both are frozen, so
    # the test also holds if the minter ever goes back to botocore.
    frozen = _frozen(case)

    def fake_now(remove_tzinfo: bool = True) -> datetime:
        return frozen if remove_tzinfo else frozen.replace(tzinfo=timezone.utc)

    monkeypatch.setattr(botocore.auth, "get_current_datetime", fake_now)
    monkeypatch.setattr(_token, "_utcnow", lambda: frozen.replace(tzinfo=timezone.utc))


def _decode(token: str) -> str:
    assert token.startswith(TOKEN_PREFIX)
    return base64.b64decode(token[len(TOKEN_PREFIX) :], validate=True).decode("utf-8")


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_generate_token_matches_sagemaker_core(
    case: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _freeze_clock(monkeypatch, case)
    creds = Credentials(case["access_key"], case["secret_key"], case["session_token"])

    token = generate_token(
        region=case["region"],
        credentials=creds,
        expiry=timedelta(seconds=case["expiry_seconds"]),
    )

    assert token == case["token"]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_mint_token_matches_sagemaker_core(
    case: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _freeze_clock(monkeypatch, case)
    frozen = ReadOnlyCredentials(case["access_key"], case["secret_key"], case["session_token"])

    assert mint_token(frozen, case["region"], case["expiry_seconds"]) == case["token"]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_vector_token_anatomy(case: dict[str, Any]) -> None:
    decoded = _decode(case["token"])
    match = DECODED_RE.match(decoded)
    assert match, decoded
    assert decoded.startswith(f"{TOKEN_HOST}/?Action={TOKEN_ACTION}&")
    assert decoded.endswith(TOKEN_VERSION)

    query = parse_qs(decoded.split("?", 1)[1], keep_blank_values=True, strict_parsing=True)
    date = _frozen(case).strftime("%Y%m%d")
    scope = f"{case['access_key']}/{date}/{case['region']}/{TOKEN_SERVICE}/aws4_request"
    assert query["X-Amz-Credential"] == [scope]
    assert query["X-Amz-Date"] == [_frozen(case).strftime("%Y%m%dT%H%M%SZ")]
    assert query["X-Amz-Expires"] == [str(case["expiry_seconds"])]
    if case["session_token"] is None:
        assert match["token"] is None
        assert "X-Amz-Security-Token" not in query
    else:
        assert query["X-Amz-Security-Token"] == [case["session_token"]]
        # Every reserved character is percent-encoded inside the token, none left raw.
        assert not set("/+=") & set(match["token"])


def test_vectors_cover_the_matrix() -> None:
    # Guards against the vector file silently shrinking or losing its hard cases.
    assert len(CASES) >= MIN_CASES
    assert len(set(CASE_IDS)) == len(CASE_IDS)
    regions = {case["region"] for case in CASES}
    assert any(region.startswith("cn-") for region in regions)
    assert any("-gov-" in region for region in regions)
    assert {"us-east-1", "us-west-2", "eu-central-1", "ap-southeast-3"} <= regions
    assert {1, 300, 3600, 43200} <= {case["expiry_seconds"] for case in CASES}
    assert len({case["frozen_utc"] for case in CASES}) >= 2
    tokens = [case["session_token"] for case in CASES if case["session_token"]]
    assert tokens and any(set("/+=") <= set(token) for token in tokens)
    assert any(case["session_token"] is None for case in CASES)
    secrets = "".join(case["secret_key"] for case in CASES)
    assert "/" in secrets and "+" in secrets
    assert VECTORS["generator"]["sagemaker_core"].startswith("2.")


def test_frozen_clock_is_what_signs(monkeypatch: pytest.MonkeyPatch) -> None:
    # If botocore stopped reading the time through the patched global, every vector test would
    # fail with an opaque mismatch; this names the cause instead.
    case = CASES[0]
    _freeze_clock(monkeypatch, case)
    creds = ReadOnlyCredentials(case["access_key"], case["secret_key"], None)
    stamp = _frozen(case).strftime("%Y%m%dT%H%M%SZ")
    assert f"X-Amz-Date={stamp}" in _decode(mint_token(creds, case["region"], 60))
