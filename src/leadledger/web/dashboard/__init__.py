"""The web dashboard: server-rendered pages over the same services, roles and rules as the API.

`create_app` calls `mount_dashboard(app)`; it adds the page routes, the one stylesheet and the
handlers that turn "not logged in" into the login page and "not your role" into a readable refusal.
No script runs on any page: forms post and the server redirects (docs/dashboard.md).
"""

from __future__ import annotations

import hashlib
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadledger.api.errors import error_response
from leadledger.web.dashboard.access import LoginRequired, PageForbidden, login_url
from leadledger.web.templating import render

STATIC = files("leadledger.web") / "static"
# Pages may load only this server's stylesheet; no script at all; forms post only here.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


PAGE_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


def is_page(path: str) -> bool:
    """The dashboard's own paths (the API's JSON routes get no page headers)."""
    return path.startswith("/ui/") or path in ("/login", "/")


class PageHeaders:
    """Security headers on the dashboard's responses only.

    Plain ASGI rather than `@app.middleware("http")`: that wrapper costs every API request about
    0.65 ms (a third of a single event's CPU), and API requests pass straight through here.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http" or not is_page(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in PAGE_HEADERS if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


def mount_dashboard(app: FastAPI) -> None:
    """Register the dashboard's routes, its stylesheet and its login/refusal handlers on `app`."""
    from leadledger.web.dashboard.routes import router

    css = (STATIC / "dashboard.css").read_bytes()
    # The stylesheet's URL names its content, so a browser never keeps an old one after an upgrade.
    app.state.dashboard_css = f"/ui/static/dashboard.css?v={hashlib.sha256(css).hexdigest()[:12]}"
    app.mount("/ui/static", StaticFiles(directory=str(STATIC)), name="dashboard-static")
    app.include_router(router)

    app.add_middleware(PageHeaders)

    @app.exception_handler(LoginRequired)
    async def _login(_: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    @app.exception_handler(PageForbidden)
    async def _forbidden(request: Request, exc: PageForbidden) -> Response:
        if exc.as_json:
            return error_response(403, exc.message)
        actor = getattr(request.state, "actor", None)
        from leadledger.web.dashboard.access import allowed
        from leadledger.web.dashboard.routes import NAV

        html = render("dashboard/refused.html.j2", title="Refused", active="", actor=actor,
                      may=allowed(actor) if actor else {}, nav=NAV, path=request.url.path,
                      css=app.state.dashboard_css, message=exc.message)
        return HTMLResponse(html, status_code=403)


__all__ = ["mount_dashboard"]
