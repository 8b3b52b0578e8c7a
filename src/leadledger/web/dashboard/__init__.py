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

from leadledger.api.errors import error_response
from leadledger.web.dashboard.access import LoginRequired, PageForbidden, login_url
from leadledger.web.templating import render

STATIC = files("leadledger.web") / "static"
# Pages may load only this server's stylesheet; no script at all; forms post only here.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


def mount_dashboard(app: FastAPI) -> None:
    """Register the dashboard's routes, its stylesheet and its login/refusal handlers on `app`."""
    from leadledger.web.dashboard.routes import router

    css = (STATIC / "dashboard.css").read_bytes()
    # The stylesheet's URL names its content, so a browser never keeps an old one after an upgrade.
    app.state.dashboard_css = f"/ui/static/dashboard.css?v={hashlib.sha256(css).hexdigest()[:12]}"
    app.mount("/ui/static", StaticFiles(directory=str(STATIC)), name="dashboard-static")
    app.include_router(router)

    @app.middleware("http")
    async def _headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        path = request.url.path
        if path.startswith("/ui/") or path in ("/login", "/"):
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

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
