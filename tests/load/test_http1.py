"""The raw engine's HTTP/1.x response parser: table tests, no sockets, no clock."""

from __future__ import annotations

import pytest

from chaos.load.engines.http1 import Head, ProtocolError, ResponseParser

OK_LEN = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"
CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: y\r\n\r\n"
)


def _feed_split(parser: ResponseParser, data: bytes, step: int) -> bool:
    done = False
    for i in range(0, len(data), step):
        done = parser.feed(data[i : i + step])
        if done:
            assert i + step >= len(data), "complete before the last byte"
    return done


@pytest.mark.parametrize(
    ("data", "head"),
    [
        (OK_LEN, Head(200, True)),
        (CHUNKED, Head(200, True)),
        (b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", Head(404, True)),
        (b"HTTP/1.1 503 X\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno", Head(503, False)),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", Head(200, False)),
        (
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
            Head(200, True),
        ),
        (b"HTTP/1.1 204 No Content\r\n\r\n", Head(204, True)),
        (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", Head(304, True)),
        (b"HTTP/1.1 302 Found\r\nLocation: /x\r\ncontent-length: 1\r\n\r\nx", Head(302, True)),
        (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
            Head(200, True),
        ),
        (b"HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx", Head(200, True)),  # no reason phrase
    ],
)
@pytest.mark.parametrize("step", [1, 3, 7, 10_000])
def test_complete_responses_in_any_split(data: bytes, head: Head, step: int) -> None:
    parser = ResponseParser()
    assert _feed_split(parser, data, step)
    assert parser.head == head
    assert not parser.trailing


@pytest.mark.parametrize("step", [1, 4, 10_000])
def test_close_delimited_body_completes_on_eof(step: int) -> None:
    parser = ResponseParser()
    assert not _feed_split(parser, b"HTTP/1.1 200 OK\r\n\r\nbody until close", step)
    assert parser.feed_eof()
    assert parser.head == Head(200, False)


@pytest.mark.parametrize(
    "partial",
    [
        b"",
        b"HTTP/1.1 200 OK\r\nContent-Le",
        OK_LEN[:-1],
        CHUNKED[:-2],
        b"HTTP/1.1 100 Continue\r\n\r\n",
    ],
)
def test_eof_before_a_complete_response_is_incomplete(partial: bytes) -> None:
    parser = ResponseParser()
    if partial:
        assert not parser.feed(partial)
    assert not parser.feed_eof()


@pytest.mark.parametrize(
    "data",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 099 X\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxYY",
    ],
)
def test_malformed_responses_raise(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        ResponseParser().feed(data)


def test_oversized_head_raises() -> None:
    with pytest.raises(ProtocolError):
        ResponseParser().feed(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000)


def test_bytes_after_the_response_mark_it_trailing_and_reset_clears() -> None:
    parser = ResponseParser()
    assert parser.feed(OK_LEN + b"HTTP/1.1")
    assert parser.trailing
    parser.reset()
    assert parser.head is None and not parser.trailing
    assert parser.feed(CHUNKED)
    assert parser.head == Head(200, True)
