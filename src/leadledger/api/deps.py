"""FastAPI dependencies: the engine, the acting user or key (401), permissions (403), rate limits (429)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from leadledger.api.errors import ApiError
from leadledger.api.sessions import session_user
from leadledger.domain.permissions import Permission, can
from leadledger.services.auth import Actor, active_user, authenticate_key
from leadledger.store.db import utcnow

# Declared as security schemes so /openapi.json documents them (and fuzzers can send a key).
bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer ll_…`")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key (`ll_…`)")


@dataclass
class RateLimiter:
    """A token bucket per key: `per_minute` requests, bursts up to `burst`."""

    per_minute: int
    burst: int
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, who: str) -> float:
        """0 if `who` may go on, else the seconds to wait."""
        if self.per_minute <= 0:
            return 0.0
        rate = self.per_minute / 60.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(who, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[who] = (tokens, now)
                return (1.0 - tokens) / rate
            self._buckets[who] = (tokens - 1.0, now)
            return 0.0


@dataclass
class KeyCache:
    """API keys verified in the last `ttl` seconds: a request with one skips the database.

    Without it every request paid a key lookup (a connection, a query, a thread hop) — a large part
    of a single event's cost. A key revoked through this server (`DELETE /keys/…`) clears the cache
    at once; one revoked elsewhere (the CLI, another server process) stops working within `ttl`.
    Only successes are kept, under the key's SHA-256 (never the secret itself).
    """

    ttl: float = 5.0
    _entries: dict[str, tuple[Actor, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def _digest(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    def get(self, secret: str) -> Actor | None:
        """The cached actor of `secret`, if verified less than `ttl` seconds ago."""
        if self.ttl <= 0:
            return None
        hit = self._entries.get(self._digest(secret))
        if hit is None or hit[1] <= time.monotonic():
            return None
        return hit[0]

    def put(self, secret: str, actor: Actor) -> None:
        """Remember a verified key for `ttl` seconds."""
        if self.ttl <= 0:
            return
        now = time.monotonic()
        with self._lock:
            if len(self._entries) > 10_000:  # bounded: drop what has expired
                self._entries = {k: v for k, v in self._entries.items() if v[1] > now}
            self._entries[self._digest(secret)] = (actor, now + self.ttl)

    def clear(self) -> None:
        """Forget every key (after a revocation)."""
        with self._lock:
            self._entries.clear()


def key_cache(request: Request) -> KeyCache | None:
    """The app's cache of verified keys (None for an app built without one)."""
    cache = getattr(request.app.state, "key_cache", None)
    return cache if isinstance(cache, KeyCache) else None


def get_engine(request: Request) -> Engine:
    """The app's database engine."""
    engine: Engine = request.app.state.engine
    return engine


def current_actor(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    header_key: str | None = Depends(api_key_header),
) -> Actor:
    """The acting API key (Bearer or X-API-Key) or logged-in user; 401 otherwise, 429 over the rate."""
    secret = credentials.credentials if credentials is not None else header_key
    known = _known_actor(request, secret)
    if known is not None:
        return known
    engine = get_engine(request)
    actor: Actor | None
    if secret:
        actor = authenticate_key(engine, secret, utcnow())
        if actor is None:
            raise ApiError(401, "invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"})
        cache = key_cache(request)
        if cache is not None:
            cache.put(secret, actor)
        _limit(request, actor)
    else:
        user = session_user(request)
        actor = active_user(engine, user) if user else None
        if actor is None:
            raise ApiError(
                401,
                "authentication required: send an API key (Authorization: Bearer …) or log in",
                headers={"WWW-Authenticate": "Bearer"},
            )
    request.state.actor = actor
    return actor


def _limit(request: Request, actor: Actor) -> None:
    """429 when the key is over its rate."""
    wait = request.app.state.rate_limiter.take(actor.label)
    if wait > 0:
        raise ApiError(
            429,
            f"rate limit exceeded for {actor.label}: "
            f"{request.app.state.rate_limiter.per_minute} requests per minute; retry in {wait:.1f} s",
            headers={"Retry-After": str(max(1, round(wait)))},
        )


async def acting_actor(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    header_key: str | None = Depends(api_key_header),
) -> Actor:
    """`current_actor` without a thread hop when the key was verified recently (the common case)."""
    known = _known_actor(request, credentials.credentials if credentials is not None else header_key)
    if known is not None:
        return known
    # the database (and the session check) off the event loop
    return await anyio.to_thread.run_sync(current_actor, request, credentials, header_key)


def _known_actor(request: Request, secret: str | None) -> Actor | None:
    """The actor this request already has, or a key verified in the last seconds (rate-limited)."""
    cached = getattr(request.state, "actor", None)
    if isinstance(cached, Actor):
        return cached
    cache = key_cache(request)
    actor = cache.get(secret) if secret and cache is not None else None
    if actor is not None:
        _limit(request, actor)
        request.state.actor = actor
    return actor


def require(permission: Permission) -> Callable[..., Awaitable[Actor]]:
    """A dependency: the current actor, or 403 if its role lacks `permission`."""

    async def _check(actor: Actor = Depends(acting_actor)) -> Actor:
        if not can(actor.role, permission):
            raise ApiError(403, f"the {actor.role} role does not have the {permission.value} permission")
        return actor

    _check.__name__ = f"require_{permission.name.lower()}"
    return _check


@contextmanager
def writing(request: Request) -> Iterator[None]:
    """One writer at a time in this process (SQLite has one anyway; it spares busy-waiting)."""
    with request.app.state.write_lock:
        yield
