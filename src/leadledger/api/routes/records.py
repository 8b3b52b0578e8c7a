"""Accounts, contacts, opportunities, evidence, events and stage changes: thin routes over the services."""

from __future__ import annotations

import asyncio
import importlib
from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt
from pydantic_core import to_json

from leadledger.api.deps import get_engine, require, writing
from leadledger.api.errors import ApiError
from leadledger.domain.permissions import Permission, can
from leadledger.services import browse
from leadledger.services.auth import Actor
from leadledger.services.ingest import IngestResult, ingest
from leadledger.store.db import utcnow

router = APIRouter()

MAX_BATCH = 5_000
Text = Annotated[str, Field(max_length=1000)]
Name = Annotated[str, Field(min_length=1, max_length=255)]
Number = StrictInt | StrictFloat
MAX_ID = 2_147_483_647  # ids are INTEGER columns (32-bit on PostgreSQL): larger numbers name nothing
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
After = Annotated[str | None, Query(description="Cursor: the `next` of the previous page.", max_length=20)]
Limit = Annotated[int, Query(ge=1, le=browse.MAX_PAGE, description="Page size.")]

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no or invalid API key / session"},
    403: {"description": "the role does not allow this"},
    404: {"description": "no such record"},
    422: {"description": "invalid request or refused"},
    429: {"description": "rate limit"},
}


class Strict(BaseModel):
    """Unknown fields are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class AccountIn(Strict):
    """An account, upserted by domain."""

    domain: Annotated[str, Field(min_length=1, max_length=255)]
    name: Name
    industry: Text | None = None
    employees: Annotated[StrictInt, Field(ge=0, le=10_000_000)] | None = None
    annual_revenue: Annotated[Number, Field(ge=0, le=1e15)] | None = None
    country: Text | None = None
    tech_stack: Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=100)] | None = None
    owner: Text | None = None
    churned_at: datetime | None = None


class ContactIn(Strict):
    """A contact, upserted by email (new contacts start in the policy's first stage)."""

    email: Annotated[str, Field(min_length=3, max_length=320)]
    first_name: Text | None = None
    last_name: Text | None = None
    company: Text | None = None
    title: Text | None = None
    seniority: Text | None = None
    role: Text | None = None
    account_domain: Text | None = None
    owner: Text | None = None
    source: Text | None = None
    opted_out: StrictBool | None = None
    created_at: datetime | None = None


class CommitteeMember(Strict):
    """A contact's role on an opportunity's buying committee."""

    email: Annotated[str, Field(min_length=3, max_length=320)]
    role: Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[^:;]+$")]


class OpportunityIn(Strict):
    """An opportunity, upserted by its source system's id, with its buying committee."""

    opportunity_id: Annotated[str, Field(min_length=1, max_length=200)]
    account_domain: Text | None = None
    account_name: Text | None = None
    name: Text | None = None
    type: Text | None = None
    stage: Text | None = None
    amount: Annotated[Number, Field(ge=0, le=1e15)] | None = None
    expected_close: datetime | None = None
    signed_at: datetime | None = None
    booked_at: datetime | None = None
    lost_reason: Text | None = None
    owner: Text | None = None
    committee: Annotated[list[CommitteeMember], Field(max_length=200)] | None = None


class EvidenceIn(Strict):
    """One qualification fact (its confirmer is the acting user or key)."""

    field: Annotated[str, Field(min_length=1, max_length=50)]
    value: Annotated[str, Field(min_length=1, max_length=10_000)]
    confirmed_at: datetime | None = None


class EventIn(Strict):
    """One engagement event, idempotent by event_id; the contact by email or id."""

    event_id: Annotated[str, Field(min_length=1, max_length=200)]
    email: Annotated[str, Field(min_length=3, max_length=320)] | None = None
    contact_id: Annotated[StrictInt, Field(ge=1, le=MAX_ID)] | None = None
    type: Annotated[str, Field(min_length=1, max_length=50)]
    occurred_at: datetime
    two_way: StrictBool | None = None
    properties: dict[str, Any] | None = None


class EventBatch(Strict):
    """Up to 5,000 events in one call."""

    events: Annotated[list[EventIn], Field(min_length=1, max_length=MAX_BATCH)]


class StageChangeIn(Strict):
    """A requested stage change, with any evidence supplied with it."""

    to_stage: Annotated[str, Field(min_length=1, max_length=50)]
    reason: Annotated[str, Field(max_length=2000)] = ""
    evidence: Annotated[dict[str, Annotated[str, Field(max_length=10_000)]], Field(max_length=20)] = {}


class ItemOut(BaseModel):
    """What happened to one item."""

    index: int
    status: str = Field(description="created, updated, duplicate, stored or rejected")
    key: str | None = None
    id: int | None = None
    errors: list[dict[str, str]] = []


class BatchOut(BaseModel):
    """Per-item results of a batch; sent only after the batch committed."""

    counts: dict[str, int]
    items: list[ItemOut]


class Page(BaseModel):
    """One page of records and the cursor of the next (null on the last page)."""

    items: list[dict[str, Any]]
    next: str | None


def _cursor(after: str | None) -> int | None:
    if after is None or after == "":
        return None
    if not after.isdigit():
        raise ApiError(422, f"invalid cursor {after!r}: pass the `next` value of the previous page",
                       [{"field": "after", "in": "query", "reason": "not a cursor"}])
    return min(int(after), MAX_ID)  # past the last possible id: an empty page, not an overflow


async def _ingest(request: Request, kind: str, items: list[dict[str, Any]], actor: Actor) -> IngestResult:
    engine = get_engine(request)

    if kind == "events":  # group commit with concurrent event requests (api/batcher.py)
        return await asyncio.wrap_future(request.app.state.event_batcher.submit(items))

    def run() -> IngestResult:
        with writing(request):
            return ingest(engine, kind, items, actor=actor, now=utcnow())

    return await anyio.to_thread.run_sync(run)


def _one(result: IngestResult, response: Response, what: str) -> dict[str, Any]:
    item = result.items[0]
    if item.status == "rejected":
        first = item.errors[0] if item.errors else {"field": "", "reason": "rejected"}
        raise ApiError(422, f"{what} rejected: {first['field']}: {first['reason']}", list(item.errors))
    response.status_code = 201 if item.status == "created" else 200
    return item.to_dict()


def _event_items(events: list[EventIn]) -> list[dict[str, Any]]:
    """Plain dicts for the writer (built by hand: model_dump costs more per item)."""
    return [{"event_id": e.event_id, "email": e.email, "contact_id": e.contact_id, "type": e.type,
             "occurred_at": e.occurred_at, "two_way": e.two_way, "properties": e.properties} for e in events]


# -- accounts ------------------------------------------------------------------------------------


@router.post("/accounts", tags=["accounts"], response_model=ItemOut, status_code=201, responses=ERRORS,
             summary="Create or update an account (by domain)")
async def upsert_account(body: AccountIn, request: Request, response: Response,
                         actor: Actor = Depends(require(Permission.WRITE_RECORDS))) -> dict[str, Any]:
    """Upsert by domain through the CSV import's checks; 201 created, 200 updated."""
    result = await _ingest(request, "accounts", [body.model_dump()], actor)
    return _one(result, response, "account")


@router.get("/accounts", tags=["accounts"], response_model=Page, responses=ERRORS)
def list_accounts(request: Request, industry: str | None = Query(None, max_length=100),
                  owner: str | None = Query(None, max_length=255),
                  domain: str | None = Query(None, max_length=255),
                  after: After = None, limit: Limit = 100,
                  _: Actor = Depends(require(Permission.READ_PERSONAL))) -> dict[str, Any]:
    """Accounts in id order; pass `next` as `after` for the following page."""
    return browse.account_page(get_engine(request), industry=industry, owner=owner, domain=domain,
                               after=_cursor(after), limit=limit)


@router.get("/accounts/{account_id}", tags=["accounts"], responses=ERRORS)
def get_account(account_id: Id, request: Request,
                _: Actor = Depends(require(Permission.READ_PERSONAL))) -> dict[str, Any]:
    """One account with its contact count."""
    return browse.account(get_engine(request), account_id)


# -- contacts ------------------------------------------------------------------------------------


@router.post("/contacts", tags=["contacts"], response_model=ItemOut, status_code=201, responses=ERRORS,
             summary="Create or update a contact (by email)")
async def upsert_contact(body: ContactIn, request: Request, response: Response,
                         actor: Actor = Depends(require(Permission.WRITE_RECORDS))) -> dict[str, Any]:
    """Upsert by email through the CSV import's checks; stages never change here (use stage-changes)."""
    result = await _ingest(request, "contacts", [body.model_dump()], actor)
    return _one(result, response, "contact")


@router.get("/contacts", tags=["contacts"], response_model=Page, responses=ERRORS)
def list_contacts(request: Request, stage: str | None = Query(None, max_length=50),
                  owner: str | None = Query(None, max_length=255), account_id: IdQuery = None,
                  source: str | None = Query(None, max_length=50),
                  email: str | None = Query(None, max_length=320),
                  after: After = None, limit: Limit = 100,
                  _: Actor = Depends(require(Permission.READ_PERSONAL))) -> dict[str, Any]:
    """Contacts in id order, filtered; pass `next` as `after` for the following page."""
    return browse.contact_page(get_engine(request), stage=stage, owner=owner, account_id=account_id,
                               source=source, email=email, after=_cursor(after), limit=limit)


@router.get("/contacts/{contact_id}", tags=["contacts"], responses=ERRORS)
def get_contact(contact_id: Id, request: Request,
                _: Actor = Depends(require(Permission.READ_PERSONAL))) -> dict[str, Any]:
    """One contact with its account and stored score."""
    return browse.contact(get_engine(request), contact_id)


@router.get("/contacts/{contact_id}/explain", tags=["contacts"], responses=ERRORS)
def explain_contact(contact_id: Id, request: Request,
                    _: Actor = Depends(require(Permission.READ_PERSONAL))) -> dict[str, Any]:
    """Score breakdown by rule, the four questions, evidence, ledger, what the next stage needs, and the
    predictive model's probability with its reasons when a model is active."""
    from leadledger.services.contacts import explain

    engine = get_engine(request)
    now = utcnow()
    d = explain(engine, browse.contact_email(engine, contact_id), now).to_dict()
    d["predictive"] = _predictive(engine, contact_id, now)
    return d


def _predictive(engine: Any, contact_id: int, now: datetime) -> dict[str, Any] | None:
    """The predictive part of an explanation, if the predictive service offers one."""
    try:  # built by the predictive work alongside the API: used when it is there
        predicting = importlib.import_module("leadledger.services.predicting")
    except ImportError:
        return None
    fn = getattr(predicting, "explain_contact", None) or getattr(predicting, "explain_prediction", None)
    if fn is None:
        return None
    try:
        result = fn(engine, contact_id, now)
    except Exception:  # a model problem must not break the rule-based explanation
        return {"available": False, "reason": "the predictive model could not explain this contact"}
    if result is None:
        return None
    to_dict = getattr(result, "to_dict", None)
    out = to_dict() if callable(to_dict) else result
    return out if isinstance(out, dict) else {"value": out}


@router.get("/contacts/{contact_id}/stage-changes", tags=["stage changes"], responses=ERRORS)
def contact_ledger(contact_id: Id, request: Request,
                   _: Actor = Depends(require(Permission.READ_PERSONAL))) -> list[dict[str, Any]]:
    """The contact's ledger, oldest first."""
    return browse.contact_ledger(get_engine(request), contact_id)


@router.post("/contacts/{contact_id}/stage-changes", tags=["stage changes"], status_code=201,
             responses={**ERRORS, 422: {"description": "the gate refused; details list what is missing"}})
async def change_stage(contact_id: Id, body: StageChangeIn, request: Request,
                       actor: Actor = Depends(require(Permission.MOVE_STAGE))) -> dict[str, Any]:
    """A gated move: 201 with the ledger entry; 403 if the role does not own the move; 422 listing
    the missing evidence."""
    from leadledger.services.contacts import move

    engine = get_engine(request)

    def run() -> dict[str, Any]:
        email = browse.contact_email(engine, contact_id)
        with writing(request):
            move(engine, email, body.to_stage, now=utcnow(), actor=actor.label, reason=body.reason,
                 evidence=body.evidence, role=actor.role)
        return browse.last_stage_change(engine, contact_id)

    return await anyio.to_thread.run_sync(run)


@router.get("/contacts/{contact_id}/evidence", tags=["evidence"], responses=ERRORS)
def contact_evidence(contact_id: Id, request: Request,
                     _: Actor = Depends(require(Permission.READ_PERSONAL))) -> list[dict[str, Any]]:
    """The contact's qualification evidence."""
    return browse.contact_evidence(get_engine(request), contact_id)


@router.post("/contacts/{contact_id}/evidence", tags=["evidence"], response_model=ItemOut, status_code=201,
             responses=ERRORS)
async def add_evidence(contact_id: Id, body: EvidenceIn, request: Request, response: Response,
                       actor: Actor = Depends(require(Permission.WRITE_EVIDENCE))) -> dict[str, Any]:
    """Record a qualification fact, confirmed by the acting user or key."""
    email = browse.contact_email(get_engine(request), contact_id)
    result = await _ingest(request, "evidence", [{**body.model_dump(), "email": email}], actor)
    out = _one(result, response, "evidence")
    response.status_code = 201
    return out


# -- opportunities -------------------------------------------------------------------------------


@router.post("/opportunities", tags=["opportunities"], response_model=ItemOut, status_code=201,
             responses=ERRORS, summary="Create or update an opportunity (by opportunity_id)")
async def upsert_opportunity(body: OpportunityIn, request: Request, response: Response,
                             actor: Actor = Depends(require(Permission.WRITE_RECORDS))) -> dict[str, Any]:
    """Upsert by opportunity_id; `committee` lists the buying committee (email and role)."""
    item = body.model_dump(exclude={"committee"})
    if body.committee is not None:
        item["contacts"] = "; ".join(f"{m.email}:{m.role}" for m in body.committee)
    result = await _ingest(request, "opportunities", [item], actor)
    return _one(result, response, "opportunity")


@router.get("/opportunities", tags=["opportunities"], response_model=Page, responses=ERRORS)
def list_opportunities(request: Request, account_id: IdQuery = None,
                       stage: str | None = Query(None, max_length=50), open: bool | None = None,
                       after: After = None, limit: Limit = 100,
                       _: Actor = Depends(require(Permission.READ_PERSONAL))) -> dict[str, Any]:
    """Opportunities in id order, filtered; `open` = neither lost nor signed-and-booked."""
    return browse.opportunity_page(get_engine(request), account_id=account_id, stage=stage, is_open=open,
                                   after=_cursor(after), limit=limit)


@router.get("/opportunities/{opportunity_id}", tags=["opportunities"], responses=ERRORS)
def get_opportunity(opportunity_id: Id, request: Request,
                    _: Actor = Depends(require(Permission.READ_PERSONAL))) -> dict[str, Any]:
    """One opportunity with its buying committee."""
    return browse.opportunity(get_engine(request), opportunity_id)


# -- events --------------------------------------------------------------------------------------


@router.post("/events", tags=["events"], response_model=ItemOut, status_code=201, responses=ERRORS,
             summary="Record one event (idempotent by event_id)")
async def post_event(body: EventIn, request: Request, response: Response,
                     actor: Actor = Depends(require(Permission.INGEST_EVENTS))) -> dict[str, Any]:
    """201 when stored, 200 `duplicate` when the id was already stored; answered after the commit."""
    if body.email is None and body.contact_id is None:
        raise ApiError(422, "an event needs its contact: email or contact_id",
                       [{"field": "email", "in": "body", "reason": "missing"}])
    items = _event_items([body])
    result = await _ingest(request, "events", items, actor)
    return _one(result, response, "event")


@router.post("/events:batch", tags=["events"], response_model=BatchOut, responses=ERRORS,
             summary="Record up to 5,000 events (idempotent by event_id), per-item results")
async def post_events(body: EventBatch, request: Request,
                      actor: Actor = Depends(require(Permission.INGEST_EVENTS))) -> Response:
    """One transaction: every item is created, duplicate or rejected (with why); answered after the commit."""
    items = _event_items(body.events)
    result = await _ingest(request, "events", items, actor)
    # Serialised directly, by pydantic-core's encoder: re-validating 5,000 items against the response
    # model cost more than storing them, and the json module's encoder ≈ 25 ms per 5,000 items.
    return Response(to_json({"counts": result.counts(), "items": [i.to_dict() for i in result.items]}),
                    media_type="application/json")


def personal(actor: Actor) -> bool:
    """Whether the actor may see personal data in responses."""
    return can(actor.role, Permission.READ_PERSONAL)
