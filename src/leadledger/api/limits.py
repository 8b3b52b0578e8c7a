"""Request body limit (413 before the body is read into memory)."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadledger.api.errors import error_body


class BodyTooLarge(Exception):
    """The body grew past the limit while streaming in."""


class BodyLimit:
    """Refuse bodies over `max_bytes` with 413: by Content-Length, or while streaming a chunked body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_bytes
            except ValueError:
                too_big = False
            if too_big:
                await self._refuse(send)
                return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            error_body(413, f"request body larger than {self.max_bytes:,} bytes; "
                       "split it into smaller requests")
        ).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class LoginThrottle:
    """Failed logins per username and per client address: after `attempts` in `window` seconds, wait.

    Guessing passwords must not be free: argon2 slows each guess, this bounds how many. Successful
    logins clear the username's count. Kept in memory: a restart forgets (one process serves).
    """

    def __init__(
        self, attempts: int = 5, window: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.attempts = attempts
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def wait(self, username: str, client: str) -> float:
        """0 if a login for `username` from `client` may be tried now, else the seconds to wait."""
        now = self._clock()
        with self._lock:
            waits = [times[0] + self.window - now
                     for key in (f"user:{username.lower()}", f"client:{client}")
                     if len(times := self._recent(key, now)) >= self.attempts]
        return max(waits, default=0.0)

    def failed(self, username: str, client: str) -> None:
        """Count a failed login."""
        now = self._clock()
        with self._lock:
            for key in (f"user:{username.lower()}", f"client:{client}"):
                self._recent(key, now).append(now)

    def succeeded(self, username: str) -> None:
        """A right password clears the username's failures (not the client's)."""
        with self._lock:
            self._failures.pop(f"user:{username.lower()}", None)
