"""Register the provider as soon as both this package and LiteLLM are imported, in either order.

Without it, a caller who imports the package but forgets ``register()`` gets LiteLLM's generic
"LLM Provider NOT provided" and no hint of the cause. LiteLLM offers no way to name a provider
lazily, so registration must happen before the first call; importing LiteLLM here instead would
cost the token-only users (and the conformance kit, which must never load LiteLLM) ~3.5 s.

* LiteLLM already imported: register now.
* Not yet: a one-shot import hook registers right after LiteLLM's own ``__init__`` has run,
  before the ``import litellm`` statement returns. It wraps that one module's loader and
  removes itself; any other import is left alone.

litellm-free.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Final

_TARGET: Final = "litellm"
_log = logging.getLogger("litellm_sagemaker_openai")


def _register_now() -> None:
    try:
        from ._register import register

        register()
    except Exception:  # never break the caller's ``import litellm``; say how to recover
        _log.warning(
            "could not register the sagemaker_openai provider with LiteLLM on import; call "
            "litellm_sagemaker_openai.register() yourself",
            exc_info=True,
        )


class _AfterLiteLLMImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: it lets the other finders locate LiteLLM, then hooks its loader."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _TARGET:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)  # one shot
        finders = (f for f in sys.meta_path if hasattr(f, "find_spec"))
        spec = next(filter(None, (f.find_spec(fullname, path, target) for f in finders)), None)
        if spec is None:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_then_register(module: ModuleType) -> None:
            exec_module(module)
            _register_now()

        # On this loader instance only (a new one per spec); module.__loader__ stays the real
        # loader, so importlib.resources and friends see nothing unusual.
        loader.exec_module = exec_then_register  # type: ignore[method-assign]
        return spec


def register_on_import() -> None:
    """Register now if LiteLLM is loaded, else right after it is (idempotent)."""
    if _TARGET in sys.modules:
        _register_now()
    elif not any(isinstance(f, _AfterLiteLLMImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterLiteLLMImport())
