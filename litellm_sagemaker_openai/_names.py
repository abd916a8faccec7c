"""SageMaker's naming rule for endpoints and inference components, as one public check.

LiteLLM-free, like the token code: the conformance kit and the route emulator validate the
names they are given with it, so the kit, the emulator and the plugin refuse the same names.
"""

from __future__ import annotations

from ._exceptions import ConfigurationError
from ._routing import NAME_MAX, NAME_RE


def validate_name(name: str, kind: str = "endpoint") -> str:
    """Return ``name`` if SageMaker accepts it as an endpoint or inference component name.

    A name is one path segment of the route, so a name that breaks the rule (``a/../b``,
    ``ep?x``, ``ep\\n``) would reach another URL: check it before anything is sent.

    Args:
        name: the endpoint or inference component name.
        kind: what the name is, for the message (``"endpoint"``, ``"inference component"``).

    Raises:
        ConfigurationError: (a ValueError) the name is not 1-63 letters, digits and hyphens,
            starting and ending with a letter or digit.
    """
    # fullmatch: with match, "$" would also accept a name ending in a newline.
    if len(name) > NAME_MAX or not NAME_RE.fullmatch(name):
        raise ConfigurationError(
            f"invalid {kind} name {name!r}: use 1-63 letters, digits and hyphens, "
            "starting and ending with a letter or digit"
        )
    return name
