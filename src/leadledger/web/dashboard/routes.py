"""The dashboard's pages and form actions. Each page has a JSON twin: the same URL with `?format=json`.

Routes are thin: check the role (the API's `current_actor`, `can` and `may_move`), call a service,
render a template or redirect after a POST (so a reload never repeats an action).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import Engine

from leadledger.api.deps import get_engine, writing
from leadledger.api.sessions import end_session
from leadledger.domain.permissions import Permission, can, may_move
from leadledger.errors import Forbidden, LeadledgerError, NotFound, TransitionRefused
from leadledger.services import queue as queue_service
from leadledger.services.auth import Actor
from leadledger.services.contacts import move
from leadledger.services.record_view import DEFAULT_TIMELINE, id_of, record_view
from leadledger.store.db import utcnow
from leadledger.store.policies import load_active_policy
from leadledger.web.dashboard import pages
from leadledger.web.dashboard.access import PageForbidden, allowed, page_requires, viewer, wants_json
from leadledger.web.templating import render, trusted

router = APIRouter(include_in_schema=False)

NAV = (("funnel", "Funnel", "/ui/funnel"), ("queue", "Queue", "/ui/queue"), ("audit", "Audit", "/ui/audit"),
       ("policy", "Policy", "/ui/policy"))


def _page(
    request: Request, template: str, actor: Actor | None, *, title: str, active: str = "",
    status: int = 200, **context: Any,
) -> HTMLResponse:
    html = render(
        f"dashboard/{template}",
        title=title,
        active=active,
        actor=actor,
        may=allowed(actor) if actor else {},
        nav=NAV,
        path=request.url.path,
        css=request.app.state.dashboard_css,
        **context,
    )
    return HTMLResponse(html, status_code=status)


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(jsonable_encoder(data), status_code=status)


def _now(request: Request) -> datetime:
    """The clock: `app.state.clock` when a test or a demo pins one, else the real time."""
    clock = getattr(request.app.state, "clock", None)
    return clock() if callable(clock) else utcnow()


# ------------------------------------------------------------------ login


@router.get("/", response_model=None)
def home() -> RedirectResponse:
    """The dashboard's first page."""
    return RedirectResponse("/ui/funnel", status_code=303)


@router.get("/login", response_model=None)
def login_page(request: Request, next: str = "/ui/funnel", error: str | None = None) -> HTMLResponse:
    """The login form; it posts to the API's `POST /auth/login`, which comes back to `next`."""
    status = 429 if error == "throttled" else 401 if error else 200
    return _page(request, "login.html.j2", None, title="Log in", next=next, error=error, status=status)


@router.post("/logout", response_model=None)
def logout() -> RedirectResponse:
    """End the session and go back to the login page."""
    response = RedirectResponse("/login", status_code=303)
    end_session(response)
    return response


# ------------------------------------------------------------------ funnel, audit, policy


@router.get("/ui/funnel", response_model=None)
def funnel(request: Request, actor: Actor = Depends(page_requires(Permission.READ_REPORTS)),
           engine: Engine = Depends(get_engine)) -> Response:
    """Stage counts and conversion, trend by month, time in stage, by source."""
    data, charts = pages.funnel_page(engine, _now(request))
    if wants_json(request):
        return _json(data)
    return _page(request, "funnel.html.j2", actor, title="Funnel", active="funnel", d=data,
                 charts={k: trusted(v) for k, v in charts.items()})


@router.get("/ui/audit", response_model=None)
def audit(request: Request, actor: Actor = Depends(page_requires(Permission.READ_PERSONAL)),
          engine: Engine = Depends(get_engine)) -> Response:
    """Audit findings grouped by rule, most severe first (kept for AUDIT_CACHE_SECONDS; ?refresh=1 reruns)."""
    data = _cached_audit(request, engine, refresh=request.query_params.get("refresh") == "1")
    if wants_json(request):
        return _json(data)
    return _page(request, "audit.html.j2", actor, title="Audit", active="audit", d=data)


# The audit reads the whole ledger (about 50 s at 1M contacts), so the page keeps its last result
# for a few minutes per app; the page says when it was computed and offers a rerun.
AUDIT_CACHE_SECONDS = 300.0
_audit_lock = threading.Lock()


def _cached_audit(request: Request, engine: Engine, *, refresh: bool) -> dict[str, Any]:
    state = request.app.state
    with _audit_lock:  # one audit at a time: concurrent viewers wait for it instead of each running one
        cached = getattr(state, "dashboard_audit", None)
        if not refresh and cached is not None and time.monotonic() - cached[0] < AUDIT_CACHE_SECONDS:
            return {**cached[1], "cached": True}
        data = pages.audit_page(engine, _now(request))
        state.dashboard_audit = (time.monotonic(), data)
    return {**data, "cached": False}


@router.get("/ui/policy", response_model=None)
def policy(request: Request, actor: Actor = Depends(page_requires(Permission.READ_REPORTS)),
           engine: Engine = Depends(get_engine)) -> Response:
    """The active policy, readable, and its version history."""
    data = pages.policy_page(engine)
    if wants_json(request):
        return _json(data)
    return _page(request, "policy.html.j2", actor, title="Policy", active="policy", d=data)


# ------------------------------------------------------------------ queue


def _queue_response(
    request: Request, actor: Actor, engine: Engine, *, status: int = 200, error: str | None = None,
    missing: list[dict[str, str]] | None = None, done: str | None = None,
) -> Response:
    q = queue_service.sales_queue(engine, _now(request))
    with engine.connect() as conn:
        policy_ = load_active_policy(conn)
    actions = {
        s.stage: {
            "accept": s.accept_to is not None and may_move(policy_, actor.role, s.stage, s.accept_to) is None,
            "reject": [t for t in s.reject_to if may_move(policy_, actor.role, s.stage, t) is None],
        }
        for s in q.sections
    }
    if wants_json(request):
        body: dict[str, Any] = {**q.to_dict(), "actions": actions}
        if error:
            body["error"] = {"message": error, "missing": missing or []}
        return _json(body, status)
    refusals = [may_move(policy_, actor.role, s.stage, s.accept_to) for s in q.sections if s.accept_to]
    note = next((f"You can see the queue but not accept from it: {r}." for r in refusals if r), None)
    unscored = sum(1 for s in q.sections for i in s.items if i.score is None)
    return _page(request, "queue.html.j2", actor, title="Queue", active="queue", q=q, actions=actions,
                 error=error, missing=missing or [], done=done, note=note, unscored=unscored, status=status)


@router.get("/ui/queue", response_model=None)
def queue(request: Request, accepted: int | None = None, rejected: int | None = None,
          actor: Actor = Depends(page_requires(Permission.READ_PERSONAL)),
          engine: Engine = Depends(get_engine)) -> Response:
    """MQLs awaiting acceptance and SALs awaiting first touch, highest score first, with SLA clocks."""
    done = None
    if accepted is not None or rejected is not None:
        done = _done_message(engine, accepted, rejected)
    return _queue_response(request, actor, engine, done=done)


def _done_message(engine: Engine, accepted: int | None, rejected: int | None) -> str | None:
    from leadledger.services.browse import contact_email

    try:
        if accepted is not None:
            return f"Accepted {contact_email(engine, accepted)}."
        if rejected is not None:
            return (f"Rejected {contact_email(engine, rejected)}; "
                    "the reason is counted in the rejected-MQL report.")
    except NotFound:
        return None
    return None


def _check_move(request: Request, engine: Engine, actor: Actor, contact_id: int, to_stage: str) -> str:
    """The contact's current stage, once the role may ask for the move; else a 403 refusal."""
    stage = _stage_of(engine, contact_id)
    with engine.connect() as conn:
        policy_ = load_active_policy(conn)
    refusal = may_move(policy_, actor.role, stage, to_stage)
    if refusal is not None:
        raise PageForbidden(f"Refused: {refusal}.", as_json=wants_json(request))
    return stage


@router.post("/ui/queue/{contact_id}/accept", response_model=None)
def accept(request: Request, contact_id: int, actor: Actor = Depends(viewer),
           engine: Engine = Depends(get_engine)) -> Response:
    """Accept an MQL: the next stage through its gate; the acceptor owns it if nobody did."""
    from leadledger.services.contacts import next_stage_for

    _require(request, actor, Permission.MOVE_STAGE)
    current = _stage_of(engine, contact_id)  # 404 before anything else
    with engine.connect() as conn:
        target = next_stage_for(current, load_active_policy(conn))
    if target is not None:  # without one, the queue service says why it cannot accept
        _check_move(request, engine, actor, contact_id, target)
    return _queue_action(request, actor, engine, f"accepted={contact_id}", lambda: queue_service.accept(
        engine, contact_id, now=_now(request), actor=actor.label, owner=actor.name, role=actor.role))


def _queue_action(
    request: Request, actor: Actor, engine: Engine, done: str, act: Callable[[], Any]
) -> Response:
    """Run a queue decision: 403 page if the role may not, the queue with the refusal (422), or back to it."""
    try:
        with writing(request):
            change = act()
    except Forbidden as e:
        raise PageForbidden(f"Refused: {e}.", as_json=wants_json(request)) from None
    except TransitionRefused as e:
        return _queue_response(request, actor, engine, status=422, error=str(e), missing=e.missing)
    except LeadledgerError as e:
        return _queue_response(request, actor, engine, status=422, error=str(e))
    if wants_json(request):
        return _json({"ok": True, "change": change}, 201)
    return RedirectResponse(f"/ui/queue?{done}", status_code=303)


@router.post("/ui/queue/{contact_id}/reject", response_model=None)
def reject(request: Request, contact_id: int, to_stage: str = Form(...), reason: str = Form(""),
           actor: Actor = Depends(viewer), engine: Engine = Depends(get_engine)) -> Response:
    """Reject a queued record to a side or earlier stage, with a reason (it feeds the lead-quality report)."""
    _require(request, actor, Permission.MOVE_STAGE)
    _check_move(request, engine, actor, contact_id, to_stage)
    return _queue_action(request, actor, engine, f"rejected={contact_id}", lambda: queue_service.reject(
        engine, contact_id, to_stage, reason, now=_now(request), actor=actor.label, role=actor.role))


def _stage_of(engine: Engine, contact_id: int) -> str:
    from sqlalchemy import select

    from leadledger.store.schema import contacts

    with engine.connect() as conn:
        stage = conn.execute(select(contacts.c.stage).where(contacts.c.id == contact_id)).scalar_one_or_none()
    if stage is None:
        raise NotFound(f"no contact with id {contact_id}")
    return str(stage)


def _require(request: Request, actor: Actor, permission: Permission) -> None:
    if not can(actor.role, permission):
        raise PageForbidden(
            f"Refused: your role ({actor.role}) does not have the {permission.value} permission.",
            as_json=wants_json(request),
        )


# ------------------------------------------------------------------ record


def _record_response(
    request: Request, actor: Actor, engine: Engine, contact_id: int, *, limit: int = DEFAULT_TIMELINE,
    why: bool = False, status: int = 200, refusal: str | None = None,
    missing: list[dict[str, str]] | None = None, form: dict[str, Any] | None = None, moved: bool = False,
) -> Response:
    view = record_view(engine, contact_id, _now(request), limit=limit, why=why)
    if wants_json(request):
        body = view.to_dict()
        if refusal:
            body["refusal"] = {"message": refusal, "missing": missing or []}
        return _json(body, status)
    with engine.connect() as conn:
        policy_ = load_active_policy(conn)
    stage = view.explanation.facts.contact.stage
    targets = [(n, label) for n, label in view.stages if n != stage]
    movable = [(n, label) for n, label in targets if may_move(policy_, actor.role, stage, n) is None]
    return _page(
        request, "record.html.j2", actor, title=view.explanation.facts.contact.name or "Record",
        v=view, x=view.explanation, d=view.explanation.to_dict(), targets=movable, limit=limit,
        refusal=refusal, missing=missing or [], form=form or {}, moved=moved, status=status,
        more_url=f"/ui/contacts/{contact_id}?events={min(limit * 4, 2000)}",
    )


@router.get("/ui/contacts", response_model=None)
def find_contact(email: str, actor: Actor = Depends(page_requires(Permission.READ_PERSONAL)),
                 engine: Engine = Depends(get_engine)) -> RedirectResponse:
    """The record page of the contact with this email (links from the audit page)."""
    return RedirectResponse(f"/ui/contacts/{id_of(engine, email)}", status_code=303)


@router.get("/ui/contacts/{contact_id}", response_model=None)
def record(request: Request, contact_id: int, events: int = DEFAULT_TIMELINE, moved: int = 0, why: int = 0,
           actor: Actor = Depends(page_requires(Permission.READ_PERSONAL)),
           engine: Engine = Depends(get_engine)) -> Response:
    """One contact: stage, score breakdown, evidence, what the next stage needs, timeline, move form."""
    if not wants_json(request):
        try:
            _stage_of(engine, contact_id)
        except NotFound as e:
            return _page(request, "refused.html.j2", actor, title="Not found", message=str(e), status=404)
    return _record_response(request, actor, engine, contact_id, limit=events, moved=bool(moved),
                            why=bool(why))


@router.post("/ui/contacts/{contact_id}/move", response_model=None)
async def move_contact(request: Request, contact_id: int, actor: Actor = Depends(viewer),
                       engine: Engine = Depends(get_engine)) -> Response:
    """A gated move with optional evidence; a refusal is shown inline on the record page (422)."""
    import anyio.to_thread

    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    to_stage = form.get("to_stage", "").strip()
    reason = form.get("reason", "").strip()
    evidence = {k[3:]: v.strip() for k, v in form.items() if k.startswith("ev_") and v.strip()}

    def run() -> Response:
        _require(request, actor, Permission.MOVE_STAGE)
        if evidence:
            _require(request, actor, Permission.WRITE_EVIDENCE)
        _check_move(request, engine, actor, contact_id, to_stage)
        from leadledger.services.browse import contact_email

        try:
            with writing(request):
                change = move(engine, contact_email(engine, contact_id), to_stage, now=_now(request),
                              actor=actor.label, reason=reason, evidence=evidence, role=actor.role)
        except Forbidden as e:
            raise PageForbidden(f"Refused: {e}.", as_json=wants_json(request)) from None
        except TransitionRefused as e:
            return _record_response(request, actor, engine, contact_id, status=422, refusal=str(e),
                                    missing=e.missing, form=form)
        if wants_json(request):
            return _json({"ok": True, "change": change}, 201)
        return RedirectResponse(f"/ui/contacts/{contact_id}?moved=1", status_code=303)

    return await anyio.to_thread.run_sync(run)
