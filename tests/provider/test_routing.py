"""Model strings, names, regions and URLs: pure functions, no I/O."""

from __future__ import annotations

import pytest

from litellm_sagemaker_openai import ConfigurationError, ModelRef, parse_model
from litellm_sagemaker_openai._credentials import resolve_region
from litellm_sagemaker_openai._routing import build_url, dns_suffix


@pytest.mark.parametrize(
    ("model", "model_id", "ref"),
    [
        ("ep", None, ModelRef("ep")),
        ("sagemaker_openai/ep", None, ModelRef("ep")),
        ("ep/ic", None, ModelRef("ep", "ic")),
        ("sagemaker_openai/my-ep-1/my-ic-2", None, ModelRef("my-ep-1", "my-ic-2")),
        ("ep", "ic", ModelRef("ep", "ic")),
        ("ep/ic", "ic", ModelRef("ep", "ic")),
        ("a" * 63, None, ModelRef("a" * 63)),
        ("a--b", None, ModelRef("a--b")),
    ],
)
def test_parse_model_accepts_valid_forms(model: str, model_id: str | None, ref: ModelRef) -> None:
    assert parse_model(model, model_id) == ref


@pytest.mark.parametrize(
    "model",
    ["", "ep/", "/ic", "ep//ic", "..", "ep/..", "ep/ic/x", "my ep", "ep?x=1", "ep#f", "-ep", "ep-",
     "a" * 64, "ep/ic-", "e_p", "ep%2F", "épée", "ep\n", "sagemaker_openai/"],
)  # fmt: skip
def test_parse_model_refuses_invalid_names(model: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_model(model)
    assert "sagemaker_openai/<endpoint>" in str(info.value)


def test_model_id_that_contradicts_the_model_string_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="give the component once"):
        parse_model("ep/ic", "other")


@pytest.mark.parametrize(
    ("region", "url"),
    [
        ("us-east-1", "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/ep/openai/v1/chat/completions"),
        ("us-gov-west-1", "https://runtime.sagemaker.us-gov-west-1.amazonaws.com/endpoints/ep/openai/v1/chat/completions"),
        ("cn-north-1", "https://runtime.sagemaker.cn-north-1.amazonaws.com.cn/endpoints/ep/openai/v1/chat/completions"),
        ("cn-northwest-1", "https://runtime.sagemaker.cn-northwest-1.amazonaws.com.cn/endpoints/ep/openai/v1/chat/completions"),
    ],
)  # fmt: skip
def test_url_is_partition_aware(region: str, url: str) -> None:
    assert build_url(ModelRef("ep"), region) == url


def test_inference_component_goes_in_the_path() -> None:
    url = build_url(ModelRef("ep", "ic"), "eu-west-1")
    assert url == (
        "https://runtime.sagemaker.eu-west-1.amazonaws.com/endpoints/ep/inference-components/ic"
        "/openai/v1/chat/completions"
    )


def test_api_base_replaces_the_host() -> None:
    url = build_url(ModelRef("ep", "ic"), "us-east-1", "http://127.0.0.1:9000/")
    assert (
        url
        == "http://127.0.0.1:9000/endpoints/ep/inference-components/ic/openai/v1/chat/completions"
    )
    fips = build_url(
        ModelRef("ep"), "us-east-1", "https://runtime-fips.sagemaker.us-east-1.amazonaws.com"
    )
    assert fips.startswith("https://runtime-fips.sagemaker.us-east-1.amazonaws.com/endpoints/ep/")


@pytest.mark.parametrize(
    "api_base",
    [
        "ftp://x",
        "127.0.0.1:9000",
        "http://h/?a=1",
        "http://h/#x",
        "http://",
        "http://h?",
        "http://h/#",
    ],
)
def test_api_base_must_be_an_http_url(api_base: str) -> None:
    with pytest.raises(ConfigurationError, match="api_base"):
        build_url(ModelRef("ep"), "us-east-1", api_base)


def test_an_at_sign_in_the_path_is_not_userinfo() -> None:
    url = build_url(ModelRef("ep"), "us-east-1", "https://proxy.example/a//team@x")
    assert url.startswith("https://proxy.example/a//team@x/endpoints/ep/")


def test_dns_suffix() -> None:
    assert dns_suffix("cn-north-1") == "amazonaws.com.cn"
    assert dns_suffix("us-gov-east-1") == "amazonaws.com"
    assert dns_suffix("ap-south-2") == "amazonaws.com"


@pytest.mark.parametrize(
    "region", ["us-east", "US-EAST-1", "us-east-1.evil.com", "us_east_1", "", "us-east-1/"]
)
def test_invalid_region_is_refused(region: str) -> None:
    with pytest.raises(ConfigurationError):
        resolve_region(region or "x")


def test_region_resolution_order(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    config = tmp_path / "config"
    config.write_text("[profile p1]\nregion = ap-south-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    assert resolve_region(None, "p1") == "ap-south-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    assert resolve_region(None, "p1") == "eu-west-3"
    monkeypatch.setenv("AWS_REGION", "eu-west-2")
    assert resolve_region() == "eu-west-2"
    monkeypatch.setenv("AWS_REGION_NAME", "eu-west-1")
    assert resolve_region() == "eu-west-1"
    assert resolve_region("us-west-1") == "us-west-1"


def test_missing_region_says_how_to_set_one() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_region()
    message = str(info.value)
    assert "aws_region_name" in message and "AWS_REGION_NAME" in message
    assert "us-west-2" not in message  # never a silent default
