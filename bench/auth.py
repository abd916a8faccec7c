"""auth_per_request: the plugin's warm token path against minting per request and a bare presign."""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from typing import Any, Final

from bench._core import Options, Result, interleave, per_call, ratios

REGION: Final = "us-east-1"
EXPIRES: Final = 43200
KEY_ID: Final = "AKIABENCHEXAMPLE0001"
SECRET: Final = "bench/secret+key/EXAMPLE0123456789abcdef"  # not a real key: signing is local
TARGET_WARM_MS: Final = 0.02
TARGET_MINT_RATIO: Final = 1.2


@contextlib.contextmanager
def _env_credentials() -> Iterator[None]:
    """Credentials in the environment, and AWS config files that do not exist, then restore."""
    with tempfile.TemporaryDirectory(prefix="smo-bench-auth-") as tmp:
        env = {
            "AWS_ACCESS_KEY_ID": KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_CONFIG_FILE": os.path.join(tmp, "config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(tmp, "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        saved = {name: os.environ.get(name) for name in (*env, "AWS_PROFILE", "AWS_SESSION_TOKEN")}
        os.environ.update(env)
        os.environ.pop("AWS_PROFILE", None)
        os.environ.pop("AWS_SESSION_TOKEN", None)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def run(opts: Options) -> Result:
    import botocore.session
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from litellm_sagemaker_openai._credentials import credential_spec
    from litellm_sagemaker_openai._options import Options
    from litellm_sagemaker_openai._request import prepare
    from litellm_sagemaker_openai._send import TOKENS
    from litellm_sagemaker_openai._token import mint_token
    from litellm_sagemaker_openai._tokens import TokenCache

    frozen = Credentials(KEY_ID, SECRET).get_frozen_credentials()
    params: dict[str, Any] = {
        "aws_access_key_id": KEY_ID,
        "aws_secret_access_key": SECRET,
        "aws_region_name": REGION,
    }
    spec = credential_spec(params)
    TOKENS.get(spec, REGION)  # warm the process-wide cache, as after the first request

    def plugin_warm() -> str:
        # What every request does to get its bearer token: read the params, fingerprint, look up.
        return TOKENS.get(credential_spec(params), REGION)

    def lookup_only() -> str:
        return TOKENS.get(spec, REGION)

    messages = [{"role": "user", "content": "hi"}]

    def prepare_call() -> Any:
        # The whole pre-I/O request build (URL, body, headers, auth spec), for context.
        options = Options({"api_base": "http://127.0.0.1:1"}, params)
        return prepare("sagemaker_openai/bench-endpoint", messages, options, {}, stream=False)

    def bare_presign() -> str:
        request = AWSRequest(
            method="POST",
            url="https://sagemaker.amazonaws.com/",
            headers={"host": "sagemaker.amazonaws.com"},
            params={"Action": "CallWithBearerToken"},
        )
        SigV4QueryAuth(frozen, "sagemaker", REGION, expires=EXPIRES).add_auth(request)
        url = request.url.replace("https://", "") + "&Version=1"
        return "sagemaker-api-key-" + base64.b64encode(url.encode()).decode()

    def plugin_mint() -> str:
        return mint_token(frozen, REGION, EXPIRES)

    cold = TokenCache()

    def cold_cache_miss() -> str:
        cold.clear()  # every call misses: load the static keys, mint, store
        return cold.get(spec, REGION)

    def aws_sample() -> str:
        # sagemaker-core's generate_token(): a new botocore Session and credential chain per call.
        creds = botocore.session.Session().get_credentials()
        return mint_token(creds.get_frozen_credentials(), REGION, EXPIRES)

    n_warm, n_mint = opts.n(20000, 4000), opts.n(600, 150)
    n_sample = opts.n(60, 15)
    clock = time.perf_counter
    us = 1e6
    with _env_credentials():
        cases = {
            "plugin_warm": lambda: us * per_call(plugin_warm, n_warm, clock),
            "cache_lookup_only": lambda: us * per_call(lookup_only, n_warm, clock),
            "plugin_prepare_request": lambda: us * per_call(prepare_call, n_mint, clock),
            "bare_presign": lambda: us * per_call(bare_presign, n_mint, clock),
            "plugin_mint": lambda: us * per_call(plugin_mint, n_mint, clock),
            "cache_miss_mint": lambda: us * per_call(cold_cache_miss, n_mint, clock),
            "aws_sample_generate_token": lambda: us * per_call(aws_sample, n_sample, clock),
        }
        rounds = interleave(cases, opts.rounds)
    result = Result(
        id="auth_per_request",
        what="bearer auth per request, warm cache, vs generate_token() per request and a bare "
        "botocore presign",
        target=f"<= {TARGET_WARM_MS} ms per request warm; "
        f"mint <= {TARGET_MINT_RATIO}x bare presign",
        met=None,
    )
    for name, values in rounds.items():
        result.figure(name, values, "us")
    mint_ratio = result.add_ratio(
        "plugin_mint/bare_presign", ratios(rounds["plugin_mint"], rounds["bare_presign"])
    )
    result.add_ratio(
        "aws_sample/plugin_warm",
        ratios(rounds["aws_sample_generate_token"], rounds["plugin_warm"]),
    )
    warm_ms = result.figures["plugin_warm"]["median"] / 1e3
    result.met = warm_ms <= TARGET_WARM_MS and mint_ratio["median"] <= TARGET_MINT_RATIO
    result.summary = (
        f"warm {warm_ms:.4f} ms/request; mint {mint_ratio['median']:.2f}x bare presign; "
        "generate_token() per request "
        f"{result.figures['aws_sample_generate_token']['median'] / 1e3:.2f} ms"
    )
    result.notes = (
        "In-process, no server. plugin_warm = credential_spec + fingerprint (sha256) + "
        "TOKENS.get on a warm cache, i.e. all per-request auth work. aws_sample_generate_token = "
        "botocore Session().get_credentials() (env credentials, no config files, IMDS off) + mint "
        "on every call, as sagemaker-core's generate_token() does. bare_presign = SigV4QueryAuth "
        "on frozen credentials + base64, the floor for any mint. cache_miss_mint = a cold "
        "TokenCache.get with static keys. plugin_prepare_request = the whole pre-I/O request build "
        "(context only). Per-round values are means over a batch of calls."
    )
    return result
