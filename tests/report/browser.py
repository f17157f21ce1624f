"""A real headless Chromium driven over the Chrome DevTools Protocol (aiohttp's websocket
client): open a page, collect console errors and failed requests, evaluate JavaScript and take
a full-page screenshot.

One browser process per test session (:class:`Chromium`); each :meth:`Chromium.inspect` opens
a fresh tab, so pages do not share state.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = Path("/usr/bin/chromium")
START_TIMEOUT_S = 30.0
LOAD_TIMEOUT_S = 30.0
READY = "document.readyState === 'complete' && (!document.getElementById('chart-data') || " \
    "(window.chaosReport && window.chaosReport.ready === true))"  # fmt: skip


@dataclass
class Inspection:
    """What one page did: ``errors`` console errors and uncaught exceptions; ``failed``
    failed or non-2xx requests; ``value`` the evaluated expression; ``screenshot`` a PNG."""

    url: str
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    value: Any = None
    screenshot: Path | None = None


class Chromium:
    """A headless Chromium with a DevTools endpoint on a free port."""

    def __init__(self, workdir: Path) -> None:
        self.profile = workdir / "profile"
        self.profile.mkdir(parents=True, exist_ok=True)
        self.log = workdir / "chromium.log"
        (self.profile / "DevToolsActivePort").unlink(missing_ok=True)  # a stale one lies
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    str(CHROMIUM),
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--hide-scrollbars",
                    f"--user-data-dir={self.profile}",
                    "--remote-debugging-port=0",
                    "about:blank",
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        self.ws_url = self._endpoint()

    def _endpoint(self) -> str:
        """The browser websocket URL, from the ``DevToolsActivePort`` file Chromium writes."""
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited: {self.log.read_text(errors='replace')}")
            with contextlib.suppress(OSError):
                lines = port_file.read_text().split()
                if len(lines) >= 2:
                    return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            time.sleep(0.05)
        raise RuntimeError("chromium did not open its DevTools port")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def inspect(
        self,
        url: str,
        expression: str = "null",
        screenshot: Path | None = None,
        width: int = 1280,
        slice_height: int | None = None,
        dark: bool = False,
    ) -> Inspection:
        """Open ``url``, wait until loaded (and charts mounted), evaluate ``expression``
        (returned by value), optionally save a full-page screenshot (and ``slice_height``
        slices of it); ``dark`` emulates ``prefers-color-scheme: dark``."""
        return asyncio.run(self._inspect(url, expression, screenshot, width, slice_height, dark))

    async def _inspect(
        self,
        url: str,
        expression: str,
        screenshot: Path | None,
        width: int,
        slice_height: int | None,
        dark: bool,
    ) -> Inspection:
        out = Inspection(url)
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(self.ws_url, max_msg_size=0) as ws,
        ):
            cdp = _Cdp(ws, out)
            reader = asyncio.create_task(cdp.read())
            try:
                target = await cdp.call("Target.createTarget", {"url": "about:blank"})
                attached = await cdp.call(
                    "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
                )
                s = attached["sessionId"]
                for domain in ("Runtime", "Log", "Network", "Page"):
                    await cdp.call(f"{domain}.enable", {}, s)
                await cdp.call(
                    "Emulation.setDeviceMetricsOverride",
                    {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                    s,
                )
                scheme = {"name": "prefers-color-scheme", "value": "dark" if dark else "light"}
                await cdp.call("Emulation.setEmulatedMedia", {"features": [scheme]}, s)
                await cdp.call("Page.navigate", {"url": url}, s)
                await cdp.wait_true(READY, s)
                out.value = await cdp.evaluate(expression, s)
                if screenshot is not None:
                    shot = await cdp.call(
                        "Page.captureScreenshot",
                        {"format": "png", "captureBeyondViewport": True},
                        s,
                    )
                    screenshot.write_bytes(base64.b64decode(shot["data"]))
                    out.screenshot = screenshot
                    if slice_height:
                        await self._slices(cdp, s, screenshot, width, slice_height)
                await asyncio.sleep(0.1)  # let late console messages arrive
                await cdp.call("Target.closeTarget", {"targetId": target["targetId"]})
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
        return out

    async def _slices(
        self, cdp: _Cdp, session: str, screenshot: Path, width: int, height: int
    ) -> None:
        """Also save the page in ``height``-pixel slices (``NAME-1.png``...), easier to read."""
        total = await cdp.evaluate("document.documentElement.scrollHeight", session)
        for i, y in enumerate(range(0, int(total), height), start=1):
            clip = {"x": 0, "y": y, "width": width, "height": min(height, total - y), "scale": 1}
            shot = await cdp.call(
                "Page.captureScreenshot",
                {"format": "png", "captureBeyondViewport": True, "clip": clip},
                session,
            )
            part = screenshot.with_name(f"{screenshot.stem}-{i}{screenshot.suffix}")
            part.write_bytes(base64.b64decode(shot["data"]))


class _Cdp:
    """Request/response matching and event collection on one DevTools websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, out: Inspection) -> None:
        self.ws = ws
        self.out = out
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}

    async def call(
        self, method: str, params: dict[str, Any], session: str | None = None
    ) -> dict[str, Any]:
        msg_id = next(self.ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[msg_id] = fut
        msg: dict[str, Any] = {"id": msg_id, "method": method, "params": params}
        if session is not None:
            msg["sessionId"] = session
        await self.ws.send_str(json.dumps(msg))
        return await asyncio.wait_for(fut, LOAD_TIMEOUT_S)

    async def evaluate(self, expression: str, session: str) -> Any:
        res = await self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session
        )
        if "exceptionDetails" in res:
            raise AssertionError(f"{expression!r} threw: {res['exceptionDetails']}")
        return res["result"].get("value")

    async def wait_true(self, expression: str, session: str) -> None:
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while time.monotonic() < deadline:
            if await self.evaluate(expression, session) is True:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"page never got ready: {self.out.url} ({self.out.errors})")

    async def read(self) -> None:
        async for raw in self.ws:
            if raw.type != aiohttp.WSMsgType.TEXT:
                continue
            msg = json.loads(raw.data)
            if "id" in msg:
                fut = self.pending.pop(msg["id"], None)
                if fut is not None and not fut.done():
                    if "error" in msg:
                        fut.set_exception(RuntimeError(f"CDP error: {msg['error']}"))
                    else:
                        fut.set_result(msg.get("result", {}))
                continue
            self.on_event(msg.get("method", ""), msg.get("params", {}))

    def on_event(self, method: str, p: dict[str, Any]) -> None:
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])
            self.out.errors.append(f"console.{p['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            self.out.errors.append(f"exception: {d.get('exception', {}).get('description', d)}")
        elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
            self.out.errors.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        elif method == "Network.loadingFailed":
            self.out.failed.append(f"{p.get('errorText')} ({p.get('requestId')})")
        elif method == "Network.responseReceived":
            status = p["response"].get("status", 200)
            if status >= 400:
                self.out.failed.append(f"HTTP {status} {p['response'].get('url')}")
