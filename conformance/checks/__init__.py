"""The built-in checks, one module per area; importing this package registers them all."""

from __future__ import annotations

from . import chat, chunk, container, errors, live, load, sse, tools

__all__ = ["chat", "chunk", "container", "errors", "live", "load", "sse", "tools"]
