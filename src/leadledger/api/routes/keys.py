"""API keys over the API (admin): create (the secret is in this one response), list, revoke."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from leadledger.api.deps import get_engine, key_cache, require
from leadledger.api.routes.records import ERRORS
from leadledger.domain.permissions import Permission, Role
from leadledger.services.auth import Actor, create_api_key, list_keys, revoke_key
from leadledger.store.db import utcnow

router = APIRouter(tags=["keys"])


class KeyIn(BaseModel):
    """A key to create: what it is for and the role it acts with."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^\S+$")]
    role: Role


@router.post("/keys", status_code=201, responses={**ERRORS, 409: {"description": "two active keys already"}})
def create_key(body: KeyIn, request: Request, actor: Actor = Depends(require(Permission.MANAGE_AUTH))
               ) -> dict[str, Any]:
    """Create a key; `secret` is shown in this response only (only its SHA-256 is stored)."""
    row, secret = create_api_key(get_engine(request), body.name, body.role.value, actor.label, utcnow())
    return {**row, "secret": secret}


@router.get("/keys", responses=ERRORS)
def get_keys(request: Request, include_revoked: bool = False,
             _: Actor = Depends(require(Permission.MANAGE_AUTH))) -> list[dict[str, Any]]:
    """Keys with name, prefix, role and dates (never a secret)."""
    return list_keys(get_engine(request), include_revoked=include_revoked)


@router.delete("/keys/{prefix}", status_code=204, responses=ERRORS)
def delete_key(prefix: Annotated[str, Field(max_length=16)], request: Request,
               _: Actor = Depends(require(Permission.MANAGE_AUTH))) -> Response:
    """Revoke the key with this prefix."""
    revoke_key(get_engine(request), utcnow(), prefix=prefix)
    cache = key_cache(request)
    if cache is not None:  # the revoked key stops now, not when its cache entry expires
        cache.clear()
    return Response(status_code=204)
