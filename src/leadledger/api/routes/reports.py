"""Reports and the audit: aggregate reads over the existing services."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from leadledger.api.deps import get_engine, require
from leadledger.api.routes.records import ERRORS
from leadledger.domain.permissions import Permission
from leadledger.services.auth import Actor
from leadledger.store.db import utcnow

router = APIRouter(tags=["reports"])


def _at(d: date | None) -> datetime | None:
    return datetime(d.year, d.month, d.day, tzinfo=UTC) if d else None


@router.get("/reports/funnel", responses=ERRORS)
def funnel(request: Request, start: date | None = Query(None, alias="from", description="Window start"),
           end: date | None = Query(None, alias="to", description="Window end (exclusive)"),
           _: Actor = Depends(require(Permission.READ_REPORTS))) -> dict[str, Any]:
    """Stage-to-stage conversion by cohort and period, time in stage, SLA, pipeline, sources, CAC and CLV."""
    from leadledger.services.funnel import funnel_report

    return funnel_report(get_engine(request), utcnow(), start=_at(start), end=_at(end)).to_dict()


@router.get("/reports/forecast", responses=ERRORS)
def forecast(request: Request, won_since: date | None = Query(None, description="Count bookings from"),
             _: Actor = Depends(require(Permission.READ_REPORTS))) -> dict[str, Any]:
    """Open pipeline weighted by stage and forecast category; won = signed AND booked."""
    from leadledger.services.funnel import forecast_report

    return forecast_report(get_engine(request), utcnow(), won_since=_at(won_since)).to_dict()


@router.get("/reports/monthly", responses=ERRORS)
def monthly(request: Request,
            month: str = Query(..., pattern=r"^\d{4}-\d{2}$", description="YYYY-MM"),
            _: Actor = Depends(require(Permission.READ_REPORTS))) -> dict[str, Any]:
    """The monthly report's figures (headlines, trend, audit summary)."""
    from leadledger.services.monthly_report import monthly_report

    return monthly_report(get_engine(request), month, utcnow()).to_dict()


@router.get("/audit", responses=ERRORS)
def audit(request: Request, stale_days: int = Query(60, ge=1, le=3650),
          _: Actor = Depends(require(Permission.READ_PERSONAL))) -> dict[str, Any]:
    """Records whose label the evidence does not support (names people: personal data)."""
    from leadledger.domain.audit import AuditSettings
    from leadledger.services.audit.ledger import audit_ledger

    return audit_ledger(get_engine(request), utcnow(), AuditSettings(stale_days=stale_days)).to_dict()


@router.get("/policy", responses=ERRORS)
def policy(request: Request, _: Actor = Depends(require(Permission.READ_REPORTS))) -> dict[str, Any]:
    """The active policy: name, version, stages with owner role, gate and SLA."""
    from dataclasses import asdict

    from leadledger.domain.permissions import team_role
    from leadledger.services.setup import active_policy

    p = active_policy(get_engine(request))
    return {
        "name": p.name,
        "version": p.version,
        "framework": p.framework,
        "stages": [
            {"name": s.name, "label": s.label, "owner_role": team_role(s.owner_team), "side": s.side,
             "means": s.meaning.value, "gate": asdict(s.gate),
             "sla_first_touch_hours": s.sla_first_touch_hours}
            for s in p.stages
        ],
        "backward": [asdict(b) for b in p.backward],
    }
