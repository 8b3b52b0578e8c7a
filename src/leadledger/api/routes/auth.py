"""Log in and out of the dashboard (session cookie), and who am I."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from leadledger.api.deps import current_actor, get_engine
from leadledger.api.errors import ApiError
from leadledger.api.limits import LoginThrottle
from leadledger.api.sessions import end_session, start_session
from leadledger.services.auth import Actor, authenticate_user
from leadledger.store.db import utcnow

router = APIRouter(tags=["auth"])


class Login(BaseModel):
    """Credentials for the dashboard."""

    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)
    next: str | None = Field(default=None, max_length=2000)


class Me(BaseModel):
    """The acting user or key."""

    kind: str
    name: str
    role: str
    label: str


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect would let a phishing link bounce through the login."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _login_again(error: str, target: str | None) -> str:
    """The login page again, saying why, and still going to `target` afterwards."""
    from urllib.parse import quote

    return f"/login?error={error}" + (f"&next={quote(_safe_next(target))}" if target else "")


@router.post(
    "/auth/login",
    response_model=Me,
    responses={401: {"description": "wrong username or password"},
               429: {"description": "too many failed logins for the user or address"},
               303: {"description": "form post: redirect"}},
    summary="Log in (JSON or an HTML form); sets the session cookie",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": Login.model_json_schema()},
        "application/x-www-form-urlencoded": {"schema": Login.model_json_schema()},
    }}},
)
async def login(request: Request) -> Response:
    """JSON {username, password} → 200 with the user; a form post → 303 to `next` (or /)."""
    ctype = request.headers.get("content-type", "")
    is_form = ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))
    if is_form:
        form = await request.form()
        data: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    else:
        try:
            data = await request.json()
        except ValueError:
            raise ApiError(422, "send JSON {\"username\": …, \"password\": …} or an HTML form") from None
    try:
        creds = Login.model_validate(data)
    except ValueError:
        raise ApiError(422, "username and password are required") from None
    engine = get_engine(request)
    throttle: LoginThrottle = request.app.state.login_throttle
    client = request.client.host if request.client else "unknown"
    wait = throttle.wait(creds.username, client)
    if wait > 0:
        if is_form:
            return RedirectResponse(_login_again("throttled", creds.next), status_code=303)
        raise ApiError(429, f"too many failed logins for this user or address; try again in {wait:.0f} s",
                       headers={"Retry-After": str(max(1, round(wait)))})
    import anyio.to_thread

    actor = await anyio.to_thread.run_sync(
        lambda: authenticate_user(engine, creds.username, creds.password, utcnow())
    )
    if actor is None:
        throttle.failed(creds.username, client)
        if is_form:
            return RedirectResponse(_login_again("1", creds.next), status_code=303)
        raise ApiError(401, "wrong username or password")
    throttle.succeeded(creds.username)
    response: Response
    if is_form:
        response = RedirectResponse(_safe_next(creds.next), status_code=303)
    else:
        me_ = Me(kind=actor.kind, name=actor.name, role=actor.role, label=actor.label)
        response = JSONResponse(me_.model_dump())
    start_session(response, actor, request=request)
    return response


@router.post("/auth/logout", status_code=204, summary="Log out (clears the session cookie)")
def logout(_: Actor = Depends(current_actor)) -> Response:
    """Clear the session cookie."""
    response = Response(status_code=204)
    end_session(response)
    return response


@router.get("/auth/me", response_model=Me, summary="The acting user or key")
def me(actor: Actor = Depends(current_actor)) -> Me:
    """Who is acting, with which role."""
    return Me(kind=actor.kind, name=actor.name, role=actor.role, label=actor.label)
