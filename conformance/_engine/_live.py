"""Live mode's preflight: credentials, region, token, and a first request with 403s explained."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._wire._exchange import Exchange
from ._context import CheckContext


@dataclass
class Diagnosis:
    """What the preflight found; ``ok`` False means the run must not start."""

    ok: bool = True
    lines: list[str] = field(default_factory=list)

    def fail(self, line: str) -> Diagnosis:
        """Record a blocking problem."""
        self.ok = False
        self.lines.append(line)
        return self


def iam_help(region: str, endpoint: str) -> str:
    """The two IAM statements the route needs, for the message of a 401/403."""
    partition = (
        "aws-cn" if region.startswith("cn-") else "aws-us-gov" if "-gov-" in region else "aws"
    )
    arn = f"arn:{partition}:sagemaker:{region}:<ACCOUNT_ID>:endpoint/{endpoint}"
    return (
        "The identity that minted the token needs these IAM permissions:\n"
        '  {"Effect": "Allow", "Action": "sagemaker:CallWithBearerToken", "Resource": "*"}\n'
        f'  {{"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint", "Resource": "{arn}"}}\n'
        "(CallWithBearerToken supports no resource-level restriction; scope InvokeEndpoint "
        "to the endpoint.)"
    )


def _default_loader() -> Any:
    # The chain generate_token() falls back to when it is given no credentials: botocore's.
    import botocore.session

    return botocore.session.Session().get_credentials()


def diagnose(ctx: CheckContext, load_credentials: Callable[[], Any] = _default_loader) -> Diagnosis:
    """Check credentials, region and token, then send the default request once (cached)."""
    target, result = ctx.target, Diagnosis()
    try:
        creds = load_credentials()
    except Exception as exc:  # botocore raises ProfileNotFound and friends
        return result.fail(f"credentials: could not load ({type(exc).__name__}: {exc})")
    if creds is None:
        return result.fail(
            "credentials: none found; set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or run on a role (instance or task profile)"
        )
    result.lines.append(f"credentials: found (source: {getattr(creds, 'method', 'unknown')})")
    result.lines.append(f"region: {target.region}")
    try:
        token = ctx.token() or ""
    except Exception as exc:
        return result.fail(f"token: could not mint one ({type(exc).__name__}: {exc})")
    result.lines.append(f"token: minted ({len(token)} characters, valid 15 minutes)")
    ex = ctx.chat()
    return _first_request(ex, target.region or "", target.endpoint or "", result)


def _first_request(ex: Exchange, region: str, endpoint: str, result: Diagnosis) -> Diagnosis:
    if ex.status is None:
        return result.fail(
            f"route: cannot reach {ex.url} ({ex.transport_error}); check the "
            "region and your network (for a VPC endpoint pass --runtime-url)"
        )
    if ex.status in (401, 403):
        return result.fail(
            f"route: SageMaker refused the token with {ex.describe()}\n"
            + iam_help(region, endpoint)
        )
    data = ex.json if isinstance(ex.json, dict) else {}
    if ex.status in (400, 404) and "error" not in data:
        return result.fail(
            f"route: {ex.describe()}; check that endpoint {endpoint!r} exists "
            f"in {region} and is InService (and the inference component name)"
        )
    result.lines.append(f"route: the default request got {ex.describe()}")
    return result
