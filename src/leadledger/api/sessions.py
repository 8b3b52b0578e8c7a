"""The dashboard's login session: a signed cookie (HttpOnly, SameSite=Lax) naming the user."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from leadledger.services.auth import Actor

COOKIE = "leadledger_session"
MAX_AGE_SECONDS = 12 * 3600  # a working day; the signature carries the time, so old cookies die


def serializer(secret_key: str) -> URLSafeTimedSerializer:
    """The signer for session cookies (salted so other signed values cannot pass as one)."""
    return URLSafeTimedSerializer(secret_key, salt="leadledger-session")


def _signer(request_or_app: Any) -> URLSafeTimedSerializer:
    app = getattr(request_or_app, "app", request_or_app)
    return serializer(app.state.secret_key)


def start_session(response: Response, actor: Actor, *, request: Request | None = None,
                  secret_key: str | None = None, secure: bool | None = None) -> None:
    """Set the signed session cookie for a logged-in user."""
    key = secret_key or (request.app.state.secret_key if request is not None else None)
    if key is None:
        raise ValueError("start_session needs the request (or the app's secret key)")
    if secure is None:
        secure = bool(request is not None and request.app.state.secure_cookies)
    token = serializer(key).dumps({"u": actor.name})
    response.set_cookie(
        COOKIE, token, max_age=MAX_AGE_SECONDS, httponly=True, samesite="lax", secure=secure, path="/"
    )


def end_session(response: Response) -> None:
    """Clear the session cookie."""
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")


def session_user(request: Request) -> str | None:
    """The username in a valid, unexpired session cookie, else None."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        data = _signer(request).loads(token, max_age=MAX_AGE_SECONDS)
    except BadSignature:
        return None
    user = data.get("u") if isinstance(data, dict) else None
    return user if isinstance(user, str) else None
