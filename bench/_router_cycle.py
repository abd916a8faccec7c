"""An experiment, not a recommendation: free each Router stream by reference counting.

LiteLLM's ``Router._acompletion_streaming_iterator`` (1.106-1.108) defines a class,
``FallbackStreamWrapper``, for every stream. A class always sits in a reference cycle, and this
one's methods close over the stream's ``CustomStreamWrapper``, so the stream's whole graph (its
list of every chunk, its logging object, the provider's stream) waits for a full collection
after the stream ends. :func:`install` breaks that link once it is safe: when the wrapper the
proxy iterated is freed and its generator has finished, the closure's cells are emptied, and
the graph goes by reference counting at once. A stream dropped unfinished is left alone: its
generator's ``finally`` still needs the cells when asyncio closes it.

``proxy_capacity`` runs with it when ``$BENCH_BREAK_ROUTER_CYCLE`` is set, to tell the
collector's share of a worker's limit from its CPU's (docs/performance.md).
"""

from __future__ import annotations

import functools
import types
import weakref
from typing import Any, Final

WRAPPER: Final = "FallbackStreamWrapper"
PATCHED: Final = "_bench_router_cycle"


def install() -> bool:
    """Patch LiteLLM's Router in this process; False where it has no per-stream class."""
    from litellm.router import Router

    original = getattr(Router, "_acompletion_streaming_iterator", None)
    if original is None:  # LiteLLM 1.110 streams through router_rust: nothing to break
        return False
    if getattr(original, PATCHED, False):
        return True

    @functools.wraps(original)
    async def iterator(self: Any, *args: Any, **kwargs: Any) -> Any:
        wrapper = await original(self, *args, **kwargs)
        cells = closure_cells(type(wrapper))
        if cells:
            weakref.finalize(wrapper, _release, cells, getattr(wrapper, "_async_generator", None))
        return wrapper

    setattr(iterator, PATCHED, True)
    Router._acompletion_streaming_iterator = iterator  # type: ignore[method-assign]
    return True


def closure_cells(cls: type) -> list[types.CellType]:
    """The cells the per-stream class's methods close over ([] for any other class)."""
    if cls.__name__ != WRAPPER:
        return []
    cells: dict[int, types.CellType] = {}
    for value in vars(cls).values():
        for cell in getattr(value, "__closure__", None) or ():
            cells[id(cell)] = cell
    return list(cells.values())


def _release(cells: list[types.CellType], generator: Any) -> None:
    # An unfinished async generator is closed later by asyncio's finalizer hook, and its
    # except/finally blocks read these same cells: leave that stream to the collector.
    if generator is not None and getattr(generator, "ag_frame", None) is not None:
        return
    for cell in cells:
        cell.cell_contents = None
