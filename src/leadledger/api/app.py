"""`create_app`: the FastAPI application over one database (SQLite file or PostgreSQL URL)."""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from leadledger import __version__
from leadledger.api import errors
from leadledger.api.batcher import EventBatcher
from leadledger.api.deps import KeyCache, RateLimiter
from leadledger.api.limits import BodyLimit, LoginThrottle
from leadledger.api.routes import auth, health, keys, records, reports
from leadledger.store.db import make_engine

MAX_BODY_BYTES = 8 * 1024 * 1024  # a 5,000-event batch is ≈ 1 MB
RATE_PER_MINUTE = 120_000  # per key; loopback load tests run at a few thousand requests per second
RATE_BURST = 2_000
KEY_CACHE_SECONDS = 5.0  # the bound on a key revoked elsewhere (CLI, another process) still working
SECRET_ENV = "LEADLEDGER_SECRET_KEY"


def _swagger_assets() -> Path | None:
    try:
        import swagger_ui_bundle  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    return Path(swagger_ui_bundle.swagger_ui_path)


def create_app(
    engine_or_url: Engine | str,
    *,
    secret_key: str | None = None,
    secure_cookies: bool = False,
    rate_limit_per_minute: int = RATE_PER_MINUTE,
    rate_burst: int = RATE_BURST,
    max_body_bytes: int = MAX_BODY_BYTES,
    key_cache_seconds: float = KEY_CACHE_SECONDS,
) -> FastAPI:
    """The API (and the dashboard, when installed) over `engine_or_url`.

    Session cookies are signed with `secret_key`, else $LEADLEDGER_SECRET_KEY, else a random key
    (sessions then end when the process restarts). A verified API key is trusted for
    `key_cache_seconds` (0: checked on every request); a key revoked through this app stops at once.
    """
    engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    app = FastAPI(
        title="leadledger",
        version=__version__,
        description="Leads, prospects and customers that follow documented rules. "
        "Authenticate with an API key (`Authorization: Bearer ll_…` or `X-API-Key`) or the "
        "dashboard's session cookie. Every error has the shape "
        '`{"error": {"status", "code", "message", "details"}}`.',
        docs_url=None,
        redoc_url=None,
    )
    app.state.engine = engine
    app.state.secret_key = secret_key or os.environ.get(SECRET_ENV) or secrets.token_urlsafe(32)
    app.state.secure_cookies = secure_cookies
    app.state.rate_limiter = RateLimiter(per_minute=rate_limit_per_minute, burst=rate_burst)
    app.state.key_cache = KeyCache(ttl=key_cache_seconds)
    app.state.write_lock = threading.Lock()
    app.state.event_batcher = EventBatcher(engine, app.state.write_lock)
    app.state.max_body_bytes = max_body_bytes
    app.state.login_throttle = LoginThrottle()
    errors.install(app)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)

    assets = _swagger_assets()
    if assets is not None:
        # Swagger UI from the swagger-ui-bundle wheel: the CDN FastAPI defaults to is unreachable offline.
        app.mount("/docs/assets", StaticFiles(directory=assets), name="docs-assets")

        @app.get("/docs", include_in_schema=False)
        def docs() -> HTMLResponse:
            return get_swagger_ui_html(
                openapi_url="/openapi.json",
                title="leadledger API",
                swagger_js_url="/docs/assets/swagger-ui-bundle.js",
                swagger_css_url="/docs/assets/swagger-ui.css",
                swagger_favicon_url="/docs/assets/favicon-32x32.png",
            )

    for module in (health, auth, records, reports, keys):
        app.include_router(module.router)

    try:
        from leadledger.web.dashboard import mount_dashboard  # type: ignore[attr-defined, unused-ignore]
    except ImportError:  # the dashboard package is optional while it is being built
        mount_dashboard = None  # type: ignore[assignment, unused-ignore]
    if mount_dashboard is not None:
        mount_dashboard(app)
    return app
