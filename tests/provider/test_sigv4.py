"""The standard-library signer is botocore's ``SigV4QueryAuth``, byte for byte, on random input.

The committed sagemaker-core vectors (test_token_vectors.py) pin real tokens; this compares
the signer with botocore itself over keys, secrets, session tokens (with characters that must
be percent-encoded), regions, lifetimes and times it was never shown.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from hypothesis import given, settings
from hypothesis import strategies as st

from litellm_sagemaker_openai._sigv4 import presign_post
from litellm_sagemaker_openai._token import TOKEN_ACTION, TOKEN_HOST, TOKEN_SERVICE

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=60)
regions = st.sampled_from(
    ["us-east-1", "eu-west-3", "cn-north-1", "us-gov-west-1", "us-iso-east-1", "eusc-de-east-1"]
)
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31))


def _botocore(creds: ReadOnlyCredentials, region: str, expires: int, now: datetime) -> str:
    request = AWSRequest(
        method="POST",
        url=f"https://{TOKEN_HOST}/",
        headers={"host": TOKEN_HOST},
        params={"Action": TOKEN_ACTION},
    )
    original = botocore.auth.get_current_datetime

    def frozen(remove_tzinfo: bool = True) -> datetime:
        return now

    botocore.auth.get_current_datetime = frozen
    try:
        botocore.auth.SigV4QueryAuth(creds, TOKEN_SERVICE, region, expires=expires).add_auth(
            request
        )
    finally:
        botocore.auth.get_current_datetime = original
    return str(request.url).replace("https://", "")


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    key=text,
    secret=text,
    token=st.none() | text,
    region=regions,
    expires=st.integers(1, 43200),
    now=times,
)
def test_signer_matches_botocore(
    key: str, secret: str, token: str | None, region: str, expires: int, now: datetime
) -> None:
    ours = presign_post(
        host=TOKEN_HOST,
        service=TOKEN_SERVICE,
        region=region,
        params={"Action": TOKEN_ACTION},
        access_key=key,
        secret_key=secret,
        session_token=token,
        expires=expires,
        now=now.replace(tzinfo=timezone.utc),
    )
    assert ours == _botocore(ReadOnlyCredentials(key, secret, token), region, expires, now)


@pytest.mark.parametrize("token", [None, "IQoJb3JpZ2luX2VjE+/=abc"])
def test_a_known_token_shape(token: Any) -> None:
    url = presign_post(
        host=TOKEN_HOST, service=TOKEN_SERVICE, region="us-east-1", params={"Action": TOKEN_ACTION},
        access_key="AKIDEXAMPLE", secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        session_token=token, expires=900, now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
    )  # fmt: skip
    assert url.startswith(
        "sagemaker.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIDEXAMPLE%2F20260102%2Fus-east-1%2Fsagemaker%2Faws4_request"
        "&X-Amz-Date=20260102T030405Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host"
    )
    assert ("X-Amz-Security-Token=IQoJb3JpZ2luX2VjE%2B%2F%3Dabc" in url) == (token is not None)
    assert url == _botocore(
        ReadOnlyCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token),
        "us-east-1",
        900,
        datetime(2026, 1, 2, 3, 4, 5),
    )
