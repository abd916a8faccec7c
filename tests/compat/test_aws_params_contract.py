"""Where LiteLLM puts ``aws_*`` parameters for a custom provider named ``sagemaker...``."""

from __future__ import annotations

import litellm
from compat.compat_support import Probe

AWS = {
    "aws_region_name": "us-east-1", "aws_access_key_id": "AKIACOMPAT0000000001",
    "aws_secret_access_key": "compat-secret", "aws_session_token": "compat-session",
    "aws_profile_name": "compat", "aws_role_name": "arn:aws:iam::123456789012:role/r",
    "aws_session_name": "s", "aws_external_id": "x", "aws_sts_endpoint": "https://sts.example",
    "aws_web_identity_token": "w",
}  # fmt: skip


def test_every_aws_param_reaches_litellm_params(sagemaker_probe: Probe) -> None:
    litellm.completion(
        model="sagemaker_compatprobe/ep", messages=[{"role": "user", "content": "hi"}], **AWS
    )
    (call,) = sagemaker_probe.calls
    params = call.kwargs["litellm_params"]
    missing = {name for name, value in AWS.items() if params.get(name) != value}
    assert not missing, (
        f"LiteLLM no longer passes {sorted(missing)} to a CustomLLM in litellm_params; the plugin "
        "reads credentials and the region from there"
    )


def test_aws_params_are_copied_into_optional_params_for_sagemaker_names(
    sagemaker_probe: Probe,
) -> None:
    # utils.get_optional_params copies aws_* for providers whose name starts with "sagemaker".
    # The plugin strips them from the body (_request.build_body); if LiteLLM stops copying
    # them the stripping is merely unneeded, but the plugin must then still find them above.
    litellm.completion(
        model="sagemaker_compatprobe/ep", messages=[{"role": "user", "content": "hi"}], **AWS
    )
    (call,) = sagemaker_probe.calls
    optional = call.kwargs["optional_params"]
    assert optional.get("aws_region_name") == "us-east-1", (
        "LiteLLM no longer copies aws_* parameters into optional_params for a provider named "
        "sagemaker*; review _request.build_body's stripping and where credentials arrive"
    )
