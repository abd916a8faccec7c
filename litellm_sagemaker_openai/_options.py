"""Every provider option in one table, parsed and validated once per call, before any I/O.

An option reaches the plugin in one of two ways. LiteLLM hands a CustomLLM its own standard
arguments (``api_base``, ``api_key``, ``timeout``, ``headers``) as keywords of their own. The
plugin's options (``aws_*``, ``model_id``, ``stream_coalesce_ms``, …) arrive in ``litellm_params``
(a proxy deployment, a Router deployment) and, for a call's own keyword arguments, in
``optional_params``, which wins. Each class attribute of :class:`Options` is one option: its
parser and its default (a test checks the docs' table of options against this one). Adding an
option is one line here, and a test.
"""

from __future__ import annotations

import math
import ssl
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from typing import Any, Final, Generic, TypeVar, overload

from ._cost import as_positive, check_one_basis
from ._credentials import CREDENTIAL_OPTIONS, CredentialSpec, credential_spec
from ._exceptions import ConfigurationError
from ._network import parse_ssl_verify
from ._number import read_number
from ._routing import check_api_base
from ._token import MAX_TOKEN_SECONDS, expiry_seconds
from ._validate import check_api_key, check_headers, check_timeout
from ._window import as_window_ms

T = TypeVar("T")
KWARG: Final = "kwarg"  # one of LiteLLM's own CustomLLM arguments
PARAM: Final = "param"  # a key of litellm_params / optional_params


class Option(Generic[T]):
    """One option: where it is read, how it is parsed, and its default.

    ``parse(value, name)`` gets a value that was given (not None, not ``""``) and returns it
    parsed, or raises ConfigurationError with a message that says how to fix it.
    """

    def __init__(
        self,
        parse: Callable[[Any, str], T],
        default: T,
        *,
        source: str = PARAM,
    ) -> None:
        self.parse = parse
        self.default = default
        self.source = source
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Option({self.name!r})"

    @overload
    def __get__(self, obj: None, owner: type) -> Option[T]: ...
    @overload
    def __get__(self, obj: Options, owner: type) -> T: ...
    def __get__(self, obj: Options | None, owner: type) -> Option[T] | T:
        if obj is None:
            return self
        value: T = obj._values[self.name]
        return value

    def read(self, kwargs: Mapping[str, Any], params: Mapping[str, Any]) -> T:
        """This option's value in one call's arguments, parsed, or its default."""
        value = (kwargs if self.source == KWARG else params).get(self.name)
        if value is None or value == "":
            return self.default
        return self.parse(value, self.name)


def as_text(value: Any, name: str) -> str:
    """A string option (a number written in YAML is taken as its text)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigurationError(f"{name} must be a string, got {type(value).__name__}")
    return str(value)


def as_expiry(value: Any, name: str) -> int:
    """Token lifetime in whole seconds (a number or a timedelta), 1 s to 12 h."""
    if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        value = int(value)  # a YAML string, or an environment variable
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = timedelta(seconds=value)
    try:
        return expiry_seconds(value)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{name}: {exc}") from None


def as_seconds(value: Any, name: str) -> float:
    """Zero or more seconds, finite; a YAML or environment string is read as a number."""
    seconds = read_number(value)
    if not 0 <= seconds < math.inf:
        raise ConfigurationError(
            f"{name} must be a number of seconds, 0 or more, got {value!r}; e.g. `{name}: 300` "
            "in the deployment's litellm_params"
        )
    return seconds


def _kwarg(check: Callable[[Any], T]) -> Callable[[Any, str], T]:
    return lambda value, _name: check(value)


class Options:
    """One call's provider options (see the module doc); read them as attributes."""

    __slots__ = ("_values",)

    # LiteLLM's own arguments.
    api_base = Option(_kwarg(check_api_base), None, source=KWARG)
    api_key = Option(_kwarg(check_api_key), None, source=KWARG)
    timeout = Option(_kwarg(check_timeout), check_timeout(None), source=KWARG)
    headers: Option[dict[str, str]] = Option(_kwarg(check_headers), {}, source=KWARG)
    # The plugin's options.
    model_id = Option(as_text, None)
    container_model = Option(as_text, "")
    aws_region_name = Option(as_text, None)
    aws_access_key_id = Option(as_text, None)
    aws_secret_access_key = Option(as_text, None)
    aws_session_token = Option(as_text, None)
    aws_profile_name = Option(as_text, None)
    aws_role_name = Option(as_text, None)
    aws_session_name = Option(as_text, None)
    aws_web_identity_token = Option(as_text, None)
    aws_sts_endpoint = Option(as_text, None)
    aws_external_id = Option(as_text, None)
    token_expiry = Option(as_expiry, MAX_TOKEN_SECONDS)
    stream_coalesce_ms = Option(as_window_ms, 0.0)
    instance_cost_per_hour: Option[float | None] = Option(as_positive, None)
    instance_count = Option(as_positive, 1.0)
    ssl_verify: Option[bool | str | ssl.SSLContext | None] = Option(parse_ssl_verify, None)
    wait_for_capacity = Option(as_seconds, 0.0)

    def __init__(self, kwargs: Mapping[str, Any], params: Mapping[str, Any]) -> None:
        self._values = {option.name: option.read(kwargs, params) for option in all_options()}
        if self._values["instance_cost_per_hour"] is not None:
            check_one_basis(params)

    def __repr__(self) -> str:  # never the secrets: only which options were given
        return f"Options({sorted(n for n, v in self._values.items() if v)})"

    @classmethod
    def defaults(cls) -> Options:
        """Every option at its default."""
        return cls({}, {})

    @classmethod
    def from_litellm(cls, kwargs: Mapping[str, Any]) -> Options:
        """The options of one CustomLLM call, from the keyword arguments LiteLLM passed it."""
        given = kwargs.get("optional_params") or {}
        per_call = {key: value for key, value in given.items() if value is not None}
        return cls(kwargs, {**(kwargs.get("litellm_params") or {}), **per_call})

    @property
    def credentials(self) -> CredentialSpec:
        """The ``aws_*`` credential options, as one (cached) spec."""
        return credential_spec({name: self._values[name] for name in CREDENTIAL_OPTIONS})


def all_options() -> Iterator[Option[Any]]:
    """Every option, in the order of the table."""
    for value in vars(Options).values():
        if isinstance(value, Option):
            yield value


NAMES: Final = frozenset(option.name for option in all_options())
