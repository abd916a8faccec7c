"""Record a container's raw exchanges with the kit, and replay them to the kit without it.

``make engines`` records real serving engines through :class:`Recorder`; the test suite replays
the captures in ``tests/captures/`` through :class:`Replay`, so the engines' verdicts are proved
on every CI run without installing a single engine.
"""

from ._format import Exchange, Request, Response, read_exchanges, write_exchanges
from ._recorder import Recorder
from ._replay import RECAPTURE, Replay, serve_replay

__all__ = [
    "RECAPTURE",
    "Exchange",
    "Recorder",
    "Replay",
    "Request",
    "Response",
    "read_exchanges",
    "serve_replay",
    "write_exchanges",
]
