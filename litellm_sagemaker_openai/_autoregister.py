"""Register the provider as soon as both this package and LiteLLM are imported, in either order.

Without it, a caller who imports the package but forgets ``register()`` gets LiteLLM's generic
"LLM Provider NOT provided" and no hint of the cause. LiteLLM offers no way to name a provider
lazily, so registration must happen before the first call; importing LiteLLM here instead would
cost the token-only users (and the conformance kit, which must never load LiteLLM) ~3.5 s.

* LiteLLM already imported: register now.
* Not yet: a one-shot import hook registers when LiteLLM has been imported. Registering imports
  the handler, whose modules import LiteLLM themselves; when one of them is what imported
  LiteLLM, registering at that moment would import it again half-built. So the hook also
  follows this package's own submodules, and registers when the outermost import in progress
  has finished. Once registered, it removes itself; no other import is touched.

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

_LITELLM: Final = "litellm"
_PACKAGE: Final = __name__.rpartition(".")[0]
_log = logging.getLogger(_PACKAGE)


def _initializing(name: str) -> bool:
    # importlib marks a module's spec while its code runs (the flag behind "partially initialized
    # module" errors); a module without the flag is treated as complete.
    module = sys.modules.get(name)
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


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


class _Registrar(importlib.abc.MetaPathFinder):
    """Finds nothing itself: it hooks the loaders the other finders return, then registers."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _LITELLM and not fullname.startswith(_PACKAGE + "."):
            return None
        finders = (f for f in sys.meta_path if f is not self and hasattr(f, "find_spec"))
        spec = next(filter(None, (f.find_spec(fullname, path, target) for f in finders)), None)
        loader = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_then_register(module: ModuleType) -> None:
            exec_module(module)
            self.maybe_register(done=fullname)

        # On this loader instance only (a new one per spec); module.__loader__ stays the real
        # loader, so importlib.resources and friends see nothing unusual.
        loader.exec_module = exec_then_register  # type: ignore[method-assign]
        return spec

    def maybe_register(self, done: str) -> None:
        """Register if LiteLLM is loaded and no import of this package's modules is half-done.

        ``done`` has just run its code; importlib clears its flag only after this returns.
        """
        if self not in sys.meta_path or _LITELLM not in sys.modules:
            return
        busy = (
            name
            for name in list(sys.modules)
            if (name == _LITELLM or name.startswith(_PACKAGE + ".")) and name != done
        )
        if any(_initializing(name) for name in busy):
            return  # the outermost of those imports calls again when it finishes
        try:
            sys.meta_path.remove(self)
        except ValueError:  # another thread's import got here first
            return
        _register_now()


def register_on_import() -> None:
    """Register now if LiteLLM is loaded, else as soon as it is (idempotent)."""
    if _LITELLM in sys.modules and not _initializing(_LITELLM):
        _register_now()
    elif not any(isinstance(f, _Registrar) for f in sys.meta_path):
        sys.meta_path.insert(0, _Registrar())
