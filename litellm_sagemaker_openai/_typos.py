"""Close misspellings of ``sagemaker_openai/``, answered with the right spelling.

LiteLLM resolves the provider before any provider code runs, so ``sagemaker-openai/x`` gets its
generic "LLM Provider NOT provided ... 'huggingface/starcoder'". Registering the likely
misspellings as providers of their own lets this package answer them instead: a
``BadRequestError`` (a caller's mistake: no retry, no fallback) naming the model as it should
be written. None of them is, or may become, a provider LiteLLM ships: ``register`` skips any
name LiteLLM already knows.
"""

from __future__ import annotations

from typing import Any, Final, NoReturn

from litellm.llms.custom_llm import CustomLLM

from ._errors import SageMakerConfigurationError, build_error
from ._routing import PROVIDER

# The words joined otherwise (the distribution is litellm-sagemaker-openai), split, or cased as
# AWS and OpenAI write them. Kept short: LiteLLM checks every custom provider on every call.
MISSPELLINGS: Final = (
    "sagemaker-openai",
    "sagemakeropenai",
    "sagemaker.openai",
    "sagemaker_open_ai",
    "sagemaker-open-ai",
    "sage_maker_openai",
    "SageMaker_OpenAI",
    "Sagemaker_openai",
    "SAGEMAKER_OPENAI",
    "SageMaker-OpenAI",
)


_LISTED: set[str] = set()  # the misspellings this package put in LiteLLM's provider_list


class Misspelled(CustomLLM):
    """The provider registered under a misspelling: every call is refused with the fix."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def __repr__(self) -> str:
        return f"Misspelled({self.name!r})"

    def _refuse(self, **kwargs: Any) -> NoReturn:
        model = str(kwargs.get("model") or "<endpoint>")
        raise build_error(
            SageMakerConfigurationError,
            f"unknown provider {self.name!r} in model '{self.name}/{model}': this provider is "
            f"spelled {PROVIDER} (an underscore, lower case); write model='{PROVIDER}/{model}'",
            model=f"{self.name}/{model}",
            status=400,
        )

    completion = acompletion = streaming = astreaming = _refuse  # type: ignore[assignment]


def register_misspellings(
    entries: list[Any], providers: list[Any], ours: set[str] = _LISTED
) -> None:
    """Add a refusing provider for each misspelling nobody else registered or LiteLLM ships.

    Each is also put first in LiteLLM's ``provider_list``, where ``custom_llm_setup`` looks for
    every custom provider on every call: found at once there, the eleven entries cost ~7 us a
    call (measured on 1.108.7), where appended after LiteLLM's ~180 providers they would cost
    ~70 us. ``ours`` remembers the names this package listed.
    """
    listed = {getattr(p, "value", p) for p in providers}
    mapped = {entry.get("provider") for entry in entries}
    for name in MISSPELLINGS:
        # A name listed by someone else is a provider of theirs, never to be shadowed; one we
        # listed earlier goes back into a map that was replaced since.
        if name in mapped or (name in listed and name not in ours):
            continue
        entries.append({"provider": name, "custom_handler": Misspelled(name)})
        if name not in listed:
            providers.insert(0, name)
            ours.add(name)
    if PROVIDER not in providers:
        providers.insert(0, PROVIDER)  # the provider itself, looked for as often
