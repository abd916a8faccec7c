"""Route on the path as it was sent: one segment per literal ``/``, as SageMaker's front end does.

A server hands an ASGI app the path percent-decoded (``scope["path"]``), so
``/endpoints/ep1%2Finference-components%2Fic1/...`` would arrive as three segments and match
the component route. SageMaker decodes each URI label on its own (botocore encodes a ``/`` in
``EndpointName`` as ``%2F``), so that path names the endpoint ``ep1/inference-components/ic1``,
which its naming rule refuses. The emulator routes on ``scope["raw_path"]`` the same way: each
segment is decoded alone, and a ``/`` or ``%`` it decodes to is escaped again for the router,
so it stays inside its segment; ``segment_name`` gives a handler the decoded name back.
"""

from __future__ import annotations

from urllib.parse import unquote

from ._bridge import ASGIApp, Message, Receive, Send


def routing_path(raw_path: bytes) -> str:
    """The path the router matches: literal slashes split, each segment decoded and re-escaped."""
    path = raw_path.partition(b"?")[0].decode("latin-1")
    return "/".join(
        unquote(segment).replace("%", "%25").replace("/", "%2F") for segment in path.split("/")
    )


def segment_name(routed: str) -> str:
    """The name a routed segment stands for (``ep1%2Fic1`` -> ``ep1/ic1``)."""
    return unquote(routed)


class RawPathRouting:
    """Replace the decoded ``path`` of each HTTP request with ``routing_path(raw_path)``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path") if scope["type"] == "http" else None
        if raw:
            scope = {**scope, "path": routing_path(raw)}
        await self.app(scope, receive, send)
