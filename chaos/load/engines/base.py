"""The engine interface: send one request, return its outcome; and the shared error mapping.

Only the engine modules import their HTTP library. They translate the library's exceptions
into :class:`~chaos.load.outcome.Outcome` kinds at that boundary with :func:`classify_oserror`,
which walks ``__cause__`` / ``__context__`` (and exception groups) for an errno.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import Protocol

from chaos.load.outcome import Outcome, Response

_ERRNO_OUTCOME = {
    errno.ECONNREFUSED: Outcome.REFUSED,
    errno.ETIMEDOUT: Outcome.CONNECT_TIMEOUT,
    errno.EHOSTUNREACH: Outcome.UNREACHABLE,
    errno.ENETUNREACH: Outcome.UNREACHABLE,
    errno.ECONNRESET: Outcome.RESET,
    errno.EPIPE: Outcome.RESET,
    errno.ECONNABORTED: Outcome.RESET,
}


class HttpEngine(Protocol):
    """Sends HTTP GET requests. ``send`` never raises for request failures: it returns a
    :class:`Response` whose outcome says how the request ended, within ``timeout`` seconds
    (one total deadline: connect, send and read). The engine enforces that deadline itself
    and the generator arms no timer of its own, so an engine must return by it (the contract
    suite checks this with a server that never answers)."""

    name: str

    async def send(self, url: str) -> Response: ...

    async def aclose(self) -> None: ...


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception reachable by ``__cause__``, ``__context__`` and groups."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        cur = stack.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        if isinstance(cur, BaseExceptionGroup):
            stack.extend(cur.exceptions)
        for nxt in (cur.__cause__, cur.__context__):
            if nxt is not None:
                stack.append(nxt)


def classify_oserror(exc: BaseException) -> Outcome | None:
    """The outcome named by the first errno found in ``exc``'s chain, or ``None``."""
    for cur in exception_chain(exc):
        code = getattr(cur, "errno", None)
        if isinstance(code, int) and code in _ERRNO_OUTCOME:
            return _ERRNO_OUTCOME[code]
        if isinstance(cur, ConnectionRefusedError):
            return Outcome.REFUSED
        if isinstance(cur, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
            return Outcome.RESET
    return None


def describe(exc: BaseException) -> str:
    """One-line detail for a result record."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 200 else text[:197] + "..."
