"""A minimal incremental HTTP/1.1 *response* parser for the raw engine (no I/O, no clock).

It reads the status line and the few headers that decide framing and reuse
(``Content-Length``, ``Transfer-Encoding: chunked``, ``Connection``), skips interim 1xx
responses, and consumes the body without keeping it: by length, chunked (trailers skipped), or
until the connection closes. Anything malformed raises :class:`ProtocolError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, auto

MAX_HEAD_BYTES = 65536
MAX_CHUNK_LINE_BYTES = 4096


class ProtocolError(Exception):
    """The peer's bytes are not a valid HTTP/1.x response."""


@dataclass(frozen=True, slots=True)
class Head:
    """A final response's status and the connection's fate (``keep_alive``: reusable after
    the body)."""

    status: int
    keep_alive: bool


class _State(Enum):
    HEAD = auto()
    LENGTH = auto()
    CHUNK_SIZE = auto()
    CHUNK_DATA = auto()
    CHUNK_CRLF = auto()
    TRAILER = auto()
    UNTIL_CLOSE = auto()
    DONE = auto()


class ResponseParser:
    """Feed bytes with :meth:`feed` until it returns True (the response is complete), or call
    :meth:`feed_eof` when the peer closed. One parser per response; :meth:`reset` reuses it."""

    __slots__ = ("_buf", "_remaining", "_state", "head", "trailing")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._state = _State.HEAD
        self._remaining = 0
        self.head: Head | None = None
        self.trailing = False  # bytes arrived after the complete response

    def reset(self) -> None:
        self._buf.clear()
        self._state = _State.HEAD
        self._remaining = 0
        self.head = None
        self.trailing = False

    @property
    def done(self) -> bool:
        return self._state is _State.DONE

    def feed(self, data: bytes) -> bool:
        """Consume ``data``; True once the whole response (head and body) has arrived."""
        if self._state is _State.DONE:
            self.trailing = self.trailing or bool(data)
            return True
        if self._state is _State.LENGTH and not self._buf:  # fast path: body bytes
            n = len(data)
            if n < self._remaining:
                self._remaining -= n
                return False
            self.trailing = n > self._remaining
            self._remaining = 0
            self._state = _State.DONE
            return True
        if self._state is _State.UNTIL_CLOSE:
            return False
        self._buf += data
        return self._advance()

    def feed_eof(self) -> bool:
        """The peer closed: True if that completes the response (a close-delimited body)."""
        if self._state is _State.UNTIL_CLOSE:
            self._state = _State.DONE
        return self._state is _State.DONE

    def _advance(self) -> bool:
        """Consume what the buffer allows; True when the response is complete. Each state's
        step returns True (done), False (needs more data) or None (moved on: go again)."""
        while True:
            if self._state is _State.DONE:
                self.trailing = bool(self._buf)
                self._buf.clear()
                return True
            moved = _STEPS[self._state](self)
            if moved is not None:
                return moved

    def _step_head(self) -> bool | None:
        buf = self._buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEAD_BYTES:
                raise ProtocolError("response head too large")
            return False
        raw = bytes(buf[:end])
        del buf[: end + 4]
        self._on_head(raw)
        return None

    def _take(self, then: _State) -> bool | None:
        take = min(len(self._buf), self._remaining)
        del self._buf[:take]
        self._remaining -= take
        if self._remaining:
            return False
        self._state = then
        return None

    def _step_length(self) -> bool | None:
        return self._take(_State.DONE)

    def _step_chunk_data(self) -> bool | None:
        return self._take(_State.CHUNK_CRLF)

    def _step_chunk_size(self) -> bool | None:
        line = self._line()
        if line is None:
            return False
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size {size_text[:20]!r}") from None
        if size < 0:
            raise ProtocolError("negative chunk size")
        if size == 0:
            self._state = _State.TRAILER
        else:
            self._remaining = size
            self._state = _State.CHUNK_DATA
        return None

    def _step_chunk_crlf(self) -> bool | None:
        buf = self._buf
        if len(buf) < 2:
            return False
        if buf[:2] != b"\r\n":
            raise ProtocolError("chunk not followed by CRLF")
        del buf[:2]
        self._state = _State.CHUNK_SIZE
        return None

    def _step_trailer(self) -> bool | None:
        line = self._line()
        if line is None:
            return False
        if not line:
            self._state = _State.DONE
        return None

    def _step_until_close(self) -> bool | None:
        self._buf.clear()
        return False

    def _line(self) -> bytes | None:
        buf = self._buf
        end = buf.find(b"\r\n")
        if end < 0:
            if len(buf) > MAX_CHUNK_LINE_BYTES:
                raise ProtocolError("chunk line too long")
            return None
        line = bytes(buf[:end])
        del buf[: end + 2]
        return line

    def _on_head(self, raw: bytes) -> None:
        lines = raw.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or len(parts[1]) != 3:
            raise ProtocolError(f"bad status line {lines[0][:60]!r}")
        try:
            status = int(parts[1])
        except ValueError:
            raise ProtocolError(f"bad status line {lines[0][:60]!r}") from None
        if status < 100:
            raise ProtocolError(f"bad status {status}")
        if 100 <= status < 200 and status != 101:
            return  # interim response: the final one follows
        length, chunked, keep_alive = _framing(lines[1:], keep_alive=parts[0] == b"HTTP/1.1")
        if status == 101 or status in (204, 304):
            self._state = _State.DONE
            keep_alive = keep_alive and status != 101
        elif chunked:
            self._state = _State.CHUNK_SIZE
        elif length is not None:
            self._remaining = length
            self._state = _State.LENGTH if length else _State.DONE
        else:
            self._state = _State.UNTIL_CLOSE
            keep_alive = False
        self.head = Head(status, keep_alive)


def _framing(headers: list[bytes], *, keep_alive: bool) -> tuple[int | None, bool, bool]:
    """(Content-Length, chunked, keep-alive) from the header lines."""
    length: int | None = None
    chunked = False
    for line in headers:
        name, sep, value = line.partition(b":")
        if not sep:
            raise ProtocolError(f"bad header line {line[:60]!r}")
        key = name.strip().lower()
        if key == b"content-length":
            try:
                n = int(value.strip())
            except ValueError:
                raise ProtocolError("bad Content-Length") from None
            if n < 0 or (length is not None and length != n):
                raise ProtocolError("bad or conflicting Content-Length")
            length = n
        elif key == b"transfer-encoding":
            chunked = value.strip().lower().endswith(b"chunked")
        elif key == b"connection":
            tokens = {t.strip() for t in value.lower().split(b",")}
            if b"close" in tokens:
                keep_alive = False
            elif b"keep-alive" in tokens:
                keep_alive = True
    return length, chunked, keep_alive


_STEPS: dict[_State, Callable[[ResponseParser], bool | None]] = {
    _State.HEAD: ResponseParser._step_head,
    _State.LENGTH: ResponseParser._step_length,
    _State.CHUNK_SIZE: ResponseParser._step_chunk_size,
    _State.CHUNK_DATA: ResponseParser._step_chunk_data,
    _State.CHUNK_CRLF: ResponseParser._step_chunk_crlf,
    _State.TRAILER: ResponseParser._step_trailer,
    _State.UNTIL_CLOSE: ResponseParser._step_until_close,
}
