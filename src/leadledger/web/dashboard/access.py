"""Who is looking at a page, and what they may do: the API's own checks, with a login redirect for people.

The pages authenticate exactly as the API does (`current_actor`: an API key, else the session
cookie) and check the same permission matrix and stage ownership (`can`, `may_move`), so a page
can never do what the role could not do through the API. Where the API answers 401, a page asked
for HTML redirects to `/login?next=…` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from leadledger.api.deps import api_key_header, bearer, current_actor
from leadledger.api.errors import ApiError
from leadledger.domain.permissions import Permission, can
from leadledger.services.auth import Actor


class LoginRequired(Exception):
    """A page was asked for without a session: the handler redirects to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PageForbidden(Exception):
    """The role may not see this page or do this action: the handler renders a clear refusal (403)."""

    def __init__(self, message: str, *, as_json: bool) -> None:
        super().__init__(message)
        self.message = message
        self.as_json = as_json


def wants_json(request: Request) -> bool:
    """The JSON twin was asked for (`?format=json`, or a path ending in `.json`)."""
    return request.query_params.get("format") == "json" or request.url.path.endswith(".json")


def login_url(next_path: str) -> str:
    """The login page, coming back to `next_path` after."""
    return "/login?next=" + quote(next_path, safe="/")


def viewer(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    header_key: str | None = Depends(api_key_header),
) -> Actor:
    """The acting user or key; a person without a session is sent to the login page."""
    try:
        return current_actor(request, credentials, header_key)
    except ApiError as e:
        if e.status != 401 or wants_json(request) or credentials is not None or header_key:
            raise
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path) from None


def page_requires(permission: Permission) -> Callable[..., Actor]:
    """A dependency: the viewer, or a 403 page naming the role and the permission it lacks."""

    def _check(request: Request, actor: Actor = Depends(viewer)) -> Actor:
        if not can(actor.role, permission):
            raise PageForbidden(
                f"Your role ({actor.role}) does not have the {permission.value} permission this page needs.",
                as_json=wants_json(request),
            )
        return actor

    _check.__name__ = f"page_requires_{permission.name.lower()}"
    return _check


def allowed(actor: Actor) -> dict[str, bool]:
    """What the navigation and the pages may offer this actor."""
    return {
        "reports": can(actor.role, Permission.READ_REPORTS),
        "personal": can(actor.role, Permission.READ_PERSONAL),
        "move": can(actor.role, Permission.MOVE_STAGE),
        "evidence": can(actor.role, Permission.WRITE_EVIDENCE),
    }
