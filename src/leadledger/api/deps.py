"""FastAPI dependencies: the engine, the acting user or key (401), permissions (403), rate limits (429)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

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
    cached = getattr(request.state, "actor", None)
    if isinstance(cached, Actor):
        return cached
    engine = get_engine(request)
    secret = credentials.credentials if credentials is not None else header_key
    actor: Actor | None
    if secret:
        actor = authenticate_key(engine, secret, utcnow())
        if actor is None:
            raise ApiError(401, "invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"})
        wait = request.app.state.rate_limiter.take(actor.label)
        if wait > 0:
            raise ApiError(
                429,
                f"rate limit exceeded for {actor.label}: "
                f"{request.app.state.rate_limiter.per_minute} requests per minute; retry in {wait:.1f} s",
                headers={"Retry-After": str(max(1, round(wait)))},
            )
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


def require(permission: Permission) -> Callable[..., Actor]:
    """A dependency: the current actor, or 403 if its role lacks `permission`."""

    def _check(actor: Actor = Depends(current_actor)) -> Actor:
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
