"""Which event loop runs the generator: uvloop when importable, else asyncio's own.

uvloop (libuv) has far cheaper timers and callback scheduling than the pure-Python parts of
asyncio's default loop; the generator works on both. Its ``loop.time()`` is libuv's cached
millisecond clock, so the generator measures times with :func:`time.monotonic` instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

UVLOOP = "uvloop"
ASYNCIO = "asyncio"
LOOP_NAMES = (UVLOOP, ASYNCIO)

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def uvloop_available() -> bool:
    """True when ``import uvloop`` works."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def default_loop() -> str:
    """``"uvloop"`` when available, else ``"asyncio"``."""
    return UVLOOP if uvloop_available() else ASYNCIO


def loop_factory(name: str) -> LoopFactory | None:
    """A factory for :class:`asyncio.Runner` (``None``: asyncio's default loop).

    Raises :class:`ValueError` for an unknown name and :class:`ImportError` when ``"uvloop"``
    is asked for but not installed.
    """
    if name == ASYNCIO:
        return None
    if name == UVLOOP:
        import uvloop

        return uvloop.new_event_loop
    raise ValueError(f"unknown event loop {name!r}: choose one of {', '.join(LOOP_NAMES)}")


def running_loop_name() -> str:
    """The name of the running loop's implementation: ``"uvloop"``, ``"asyncio"`` or the
    class's module for anything else."""
    loop = asyncio.get_running_loop()
    module = type(loop).__module__
    if module.startswith("uvloop"):
        return UVLOOP
    if module.startswith("asyncio"):
        return ASYNCIO
    return module
