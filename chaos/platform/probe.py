"""Readiness probes of a cluster's node IPs, sent from the platform's client namespace."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Sequence

from chaos import netns as ns
from chaos.errors import PlatformError


def wait_http(
    urls: Sequence[str], *, timeout: float = 30.0, expect: str = "", netns: str | None = None
) -> dict[str, str]:
    """Poll until every URL answers 200 (with ``expect`` in the body); returns the bodies.
    The requests start in namespace ``netns`` (:mod:`chaos.netns`), never elsewhere."""
    return ns.call_in(netns, lambda: _poll(urls, timeout, expect))


def _poll(urls: Sequence[str], timeout: float, expect: str) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    bodies: dict[str, str] = {}
    last = ""
    # no proxy from the environment: the request goes to the node, not through a proxy
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while time.monotonic() < deadline:
        for url in urls:
            if url in bodies:
                continue
            try:
                with opener.open(url, timeout=2) as resp:
                    body = resp.read().decode(errors="replace")
                if expect in body:
                    bodies[url] = body
            except (urllib.error.URLError, OSError) as exc:
                last = f"{url}: {exc}"
        if len(bodies) == len(urls):
            return bodies
        time.sleep(0.2)
    raise PlatformError(f"not every URL answered within {timeout:.0f}s ({last})")
