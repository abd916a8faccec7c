"""Find a region's in-service endpoints and inference components, as LiteLLM deployments.

Three read-only SageMaker control-plane operations, through botocore's own client (no LiteLLM):
``ListEndpoints`` (in service), ``ListInferenceComponents`` (all of the region, to know which
endpoints host components) and ``DescribeEndpoint`` (per endpoint kept: it is still in
service, and how many instances it runs). An endpoint that hosts inference components cannot
be called without one, so each of its in-service components is a deployment; any other endpoint
is one. ``render_config`` writes the deployments as a proxy ``config.yaml``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ._exceptions import ConfigurationError
from ._names import validate_name
from ._routing import PROVIDER

IN_SERVICE: Final = "InService"
HANDLER: Final = "litellm_sagemaker_openai.handler"
# Plain YAML scalars that a YAML 1.1 or 1.2 reader would take for something else than a string.
_PLAIN: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]*(/[A-Za-z0-9][A-Za-z0-9-]*){0,2}")
_YAML_WORDS: Final = frozenset(
    {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "nan", "inf"}
)
_UNPRINTABLE: Final = re.compile(r"[^\x20-\x7e]")


@dataclass(frozen=True)
class Deployment:
    """One ``sagemaker_openai/<endpoint>[/<component>]`` a proxy can serve."""

    endpoint: str
    component: str | None = None
    instances: int | None = None  # the endpoint's CurrentInstanceCount, summed over variants

    @property
    def name(self) -> str:
        """The model string without the provider: unique, so it is also the model_name."""
        return f"{self.endpoint}/{self.component}" if self.component else self.endpoint

    @property
    def model(self) -> str:
        return f"{PROVIDER}/{self.name}"


def printable(text: object, limit: int = 200) -> str:
    """``text`` on one line of visible ASCII (what AWS or a container says reaches a terminal)."""
    shown = _UNPRINTABLE.sub(lambda m: ascii(m.group())[1:-1], str(text))
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def _pages(client: Any, operation: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator(operation).paginate(**params):
        yield from page.get(key) or ()


def _valid(name: object, kind: str, skipped: list[str]) -> str | None:
    """``name`` if SageMaker accepts it (so it cannot reach another URL), else None, noted."""
    try:
        if isinstance(name, str):
            return validate_name(name, kind)
    except ConfigurationError:
        pass
    skipped.append(f"{kind} {printable(repr(name))}: not a SageMaker name, skipped")
    return None


def _matches(patterns: Sequence[str], *names: str) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(n, p) for n in names for p in patterns)


def _instances(description: Mapping[str, Any]) -> int | None:
    counts = [v.get("CurrentInstanceCount") for v in description.get("ProductionVariants") or ()]
    known = [count for count in counts if isinstance(count, int)]
    return sum(known) if known else None


def discover(
    client: Any, patterns: Sequence[str] = (), skipped: list[str] | None = None
) -> list[Deployment]:
    """The in-service deployments of ``client``'s region whose names match ``patterns``.

    A pattern is a shell glob (``qwen-*``) matched against the endpoint's name, the component's
    name and ``endpoint/component``; no pattern keeps everything. Names SageMaker would not
    accept are left out and described in ``skipped``.
    """
    skipped = [] if skipped is None else skipped
    hosted: dict[str, list[dict[str, Any]]] = {}
    for component in _pages(client, "list_inference_components", "InferenceComponents"):
        hosted.setdefault(str(component.get("EndpointName")), []).append(component)
    found: list[Deployment] = []
    for summary in _pages(client, "list_endpoints", "Endpoints", StatusEquals=IN_SERVICE):
        endpoint = _valid(summary.get("EndpointName"), "endpoint", skipped)
        if endpoint is None:
            continue
        components = hosted.get(endpoint)
        if components is not None:
            found.extend(_components(endpoint, components, patterns, skipped))
            continue
        if not _matches(patterns, endpoint):
            continue
        description = client.describe_endpoint(EndpointName=endpoint)
        if description.get("EndpointStatus") == IN_SERVICE:
            found.append(Deployment(endpoint, None, _instances(description)))
    return sorted(found, key=lambda d: d.name)


def _components(
    endpoint: str,
    components: Iterable[Mapping[str, Any]],
    patterns: Sequence[str],
    skipped: list[str],
) -> Iterator[Deployment]:
    for component in components:
        if component.get("InferenceComponentStatus") != IN_SERVICE:
            continue
        name = _valid(component.get("InferenceComponentName"), "inference component", skipped)
        if name is not None and _matches(patterns, endpoint, name, f"{endpoint}/{name}"):
            yield Deployment(endpoint, name)


def _scalar(value: str) -> str:
    """A YAML scalar for a name: plain when it cannot be read as anything but that string."""
    plain = _PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS
    return value if plain else '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_config(
    deployments: Sequence[Deployment], region: str, notes: Mapping[str, str] | None = None
) -> str:
    """A proxy ``config.yaml`` serving ``deployments``; ``notes`` comment a deployment by name."""
    notes = notes or {}
    lines = [f"# {len(deployments)} in-service deployments in {region} (sagemaker-openai-models)"]
    lines.append("model_list:" if deployments else "model_list: []")
    for deployment in deployments:
        about = [] if deployment.component else [_about_endpoint(deployment)]
        about += [notes[deployment.name]] if deployment.name in notes else []
        lines += [f"  # {printable(note, 300)}" for note in about if note]
        lines += [
            f"  - model_name: {_scalar(deployment.name)}",
            "    litellm_params:",
            f"      model: {_scalar(deployment.model)}",
            f"      aws_region_name: {_scalar(region)}",
        ]
    lines += [
        "litellm_settings:",
        "  custom_provider_map:",
        f"    - {{provider: {PROVIDER}, custom_handler: {HANDLER}}}",
        "general_settings:",
        "  master_key: os.environ/LITELLM_MASTER_KEY",
    ]
    return "\n".join(lines) + "\n"


def _about_endpoint(deployment: Deployment) -> str:
    count = deployment.instances
    if count is None:
        return ""
    return f"{deployment.endpoint}: {count} instance{'s' if count != 1 else ''}"
