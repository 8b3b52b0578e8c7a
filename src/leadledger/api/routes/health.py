"""Liveness: the process answers and the database is reachable (no authentication)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import Engine, text

from leadledger.api.deps import get_engine
from leadledger.api.errors import ApiError

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """The server is up and can read its database."""

    status: str
    database: str


@router.get("/healthz", response_model=Health, responses={503: {"description": "database unreachable"}})
def healthz(engine: Engine = Depends(get_engine)) -> Health:
    """200 when the database answers."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as e:  # any driver error means "not healthy", never a 500
        raise ApiError(503, f"database unreachable: {type(e).__name__}", code="unavailable") from None
    return Health(status="ok", database=engine.dialect.name)
