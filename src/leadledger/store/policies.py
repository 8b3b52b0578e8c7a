"""Stored policy versions: every version ever activated is kept; one is active."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Connection, select, update

from leadledger.domain import policy as P
from leadledger.domain.policy import Policy
from leadledger.errors import NotFound
from leadledger.store.db import to_db
from leadledger.store.schema import policies
from leadledger.yamlsource import NotPlain, plain_values

T = TypeVar("T")


def store_policy(conn: Connection, policy: Policy, text: str, now: datetime) -> bool:
    """Store `text` as a policy version and make it active; False if it already was active."""
    row = conn.execute(
        select(policies.c.id, policies.c.active).where(policies.c.version == policy.version)
    ).first()
    if row is not None and row.active:
        return False
    conn.execute(update(policies).values(active=False))
    if row is not None:
        conn.execute(update(policies).where(policies.c.id == row.id).values(active=True))
    else:
        conn.execute(
            policies.insert().values(
                name=policy.name,
                version=policy.version,
                digest=_digest(text),
                yaml=text,
                created_at=to_db(now),
                active=True,
            )
        )
    return True


def active_policy_text(conn: Connection) -> str:
    """The YAML of the active policy."""
    text = conn.execute(select(policies.c.yaml).where(policies.c.active)).scalar_one_or_none()
    if text is None:
        raise NotFound("no active policy: run `leadledger init` first")
    return str(text)


def load_active_policy(conn: Connection) -> Policy:
    """The active policy, parsed (it was validated before it was stored)."""
    return _parsed(active_policy_text(conn))


def stored_policy(conn: Connection, version: str) -> Policy | None:
    """A stored policy version, parsed (None if this database never stored it)."""
    text = conn.execute(select(policies.c.yaml).where(policies.c.version == version)).scalar_one_or_none()
    return None if text is None else _parsed(text)


@lru_cache(maxsize=8)
def _parsed(text: str) -> Policy:
    """A stored policy through the fast path, else through the policy file parser.

    A stored text was validated when it was stored, so the line numbers and the models that only
    serve error messages are not needed to read it again: `read_stored` builds the same Policy in
    a few milliseconds, where importing the parser (pydantic models, the round-trip YAML loader)
    and parsing take half a second in a fresh process. Whatever it cannot read exactly as the
    parser would, it leaves to the parser, which also reports a stored text that is not valid.
    """
    try:
        return read_stored(text)
    except (NotPlain, _Unexpected):
        pass
    except Exception as e:  # a YAML error: PyYAML is only imported by the fast path
        if type(e).__module__.split(".")[0] != "yaml":
            raise
    from leadledger.policyfile import parse_policy

    return parse_policy(text, "stored policy")


def _digest(text: str) -> str:
    """`policyfile.policy_digest`, which this module does not import (it would load the parser)."""
    return hashlib.sha256(text.encode()).hexdigest()


def policy_history(conn: Connection) -> list[dict[str, object]]:
    """Every stored version, oldest first."""
    rows = conn.execute(
        select(policies.c.version, policies.c.created_at, policies.c.active).order_by(policies.c.id)
    )
    return [dict(r._mapping) for r in rows]


# ---------------------------------------------------------------- the fast path for stored policies
#
# `read_stored` mirrors `policyfile.PolicyIn` (its keys, defaults and pydantic's conversions of
# them) and `policyfile.to_domain`: keep the three in step. tests/domain/test_stored_policy.py checks
# that both paths build identical policies (their repr included, so 100 and 100.0 differ) for the
# built-in and example policies, one of defaults only and one that sets every key. Anything off the
# plain path (an unknown or missing key, a value of another type than the model's plain one) raises
# _Unexpected and the parser decides. Value constraints (gt=0, the stage names a gate refers to)
# are not checked again: they were when the text was stored.

Convert = Callable[[Any], T]


class _Unexpected(ValueError):
    """The stored text has something `read_stored` leaves to the policy file parser."""


def _str(v: Any) -> str:
    if type(v) is not str:
        raise _Unexpected(f"{v!r} is not text")
    return v


def _int(v: Any) -> int:
    if type(v) is not int:
        raise _Unexpected(f"{v!r} is not an integer")
    return v


def _float(v: Any) -> float:
    if type(v) not in (int, float):  # pydantic makes an int a float; a bool or text is left to it
        raise _Unexpected(f"{v!r} is not a number")
    return float(v)


def _bool(v: Any) -> bool:
    if type(v) is not bool:
        raise _Unexpected(f"{v!r} is not true or false")
    return v


def _text_or_number(v: Any) -> str | float:
    """pydantic's `str | float`: text stays text, a number becomes a float."""
    return v if type(v) is str else _float(v)


def _list(v: Any) -> list[Any]:
    if type(v) is not list:
        raise _Unexpected(f"{v!r} is not a list")
    return v


def _strs(v: Any) -> list[str]:
    return [_str(x) for x in _list(v)]


def _named(v: Any) -> dict[str, Any]:
    """A mapping with text keys (a dict[str, …] field)."""
    if type(v) is not dict or not all(type(k) is str for k in v):
        raise _Unexpected(f"{v!r} is not a mapping")
    return v


def _model(keys: str, required: str = "") -> Convert[dict[str, Any]]:
    """A mapping with only the model's `keys` (space-separated), the `required` ones included."""
    allowed, needed = set(keys.split()), set(required.split())

    def convert(v: Any) -> dict[str, Any]:
        m = _named(v)
        if not m.keys() <= allowed or not needed <= m.keys():
            raise _Unexpected(f"keys {sorted(m)}, not within {sorted(allowed)} with {sorted(needed)}")
        return m

    return convert


def _optional(convert: Convert[T]) -> Convert[T | None]:
    return lambda v: None if v is None else convert(v)


def _choice(*allowed: str) -> Convert[str]:
    def convert(v: Any) -> str:
        if type(v) is not str or v not in allowed:
            raise _Unexpected(f"{v!r} is not one of {allowed}")
        return v

    return convert


def _get(raw: dict[str, Any], key: str, convert: Convert[T], default: Any) -> T:
    """`raw[key]` converted, else the model's default (a null is a value: only absent is default)."""
    return convert(raw[key]) if key in raw else default


_GATE_LISTS = ("fields", "evidence", "enterprise_evidence", "enter_from")
_GATE_FLAGS = (
    "icp_fit",
    "score_threshold",
    "owner",
    "two_way_interaction",
    "buying_signal",
    "open_opportunity",
    "signed_and_booked",
    "reason",
)
_gate_model = _model(" ".join(_GATE_LISTS + _GATE_FLAGS))


def _gate(raw: Any) -> P.Gate:
    g = _gate_model(raw)
    fields: dict[str, Any] = {k: tuple(_get(g, k, _strs, [])) for k in _GATE_LISTS}
    fields.update({k: _get(g, k, _bool, False) for k in _GATE_FLAGS})
    return P.Gate(**fields)


def _stage(raw: Any, side: bool) -> P.Stage:
    s = _model("name label owner means gate sla", "name owner")(raw)
    name = _str(s["name"])
    means = _get(s, "means", _optional(_choice("lead", "prospect", "customer")), None)
    sla = _get(s, "sla", _optional(_model("first_touch_hours", "first_touch_hours")), None)
    return P.Stage(
        name=name,
        label=_get(s, "label", _optional(_str), None) or (name.upper() if len(name) <= 3 else name.title()),
        owner_team=_str(s["owner"]),
        meaning=P.Meaning.SIDE if side else P.Meaning(means or "lead"),
        gate=_gate(s["gate"]) if "gate" in s else P.Gate(),
        side=side,
        sla_first_touch_hours=None if sla is None else _float(sla["first_touch_hours"]),
    )


def _signals(scoring: dict[str, Any], key: str) -> list[P.Signal]:
    out = []
    for event_type, raw in _get(scoring, key, _named, {}).items():
        s = _model("points cap", "points")(raw)
        cap = _get(s, "cap", _optional(_float), None)
        out.append(P.Signal(event_type=event_type, points=_float(s["points"]), cap=cap))
    return out


def _fit_rule(raw: Any) -> P.FitRule:
    r = _model("label field op value points", "field op value points")(raw)
    field, op, value = _str(r["field"]), _str(r["op"]), r["value"]
    value = [_text_or_number(x) for x in value] if type(value) is list else _text_or_number(value)
    return P.FitRule(
        field=field,
        op=op,
        value=tuple(value) if isinstance(value, list) else value,
        points=_float(r["points"]),
        label=_get(r, "label", _optional(_str), None) or f"{field} {op} {value}",  # a list prints as one
    )


def _scoring(raw: Any) -> P.Scoring:
    sc = _model("mql_threshold fit_minimum decay_half_life_days fit behavior negative")(raw)
    # The model's defaults are ints (pydantic does not convert a default), and so the Policy's.
    return P.Scoring(
        fit_rules=tuple(_fit_rule(r) for r in _get(sc, "fit", _list, [])),
        signals=tuple(_signals(sc, "behavior") + _signals(sc, "negative")),
        half_life_days=_get(sc, "decay_half_life_days", _float, 30),
        mql_threshold=_get(sc, "mql_threshold", _float, 100),
        fit_minimum=_get(sc, "fit_minimum", _float, 30),
    )


def _edge_cases(raw: Any) -> P.EdgeCases:
    e = _model(
        "product_led_trial direct_purchase partner_sourced_needs_fit_and_signal partner_source "
        "customer_contacts_route_to_owner"
    )(raw)
    trial = _get(e, "product_led_trial", _optional(_model("enabled to min_usage_events source", "to")), None)
    direct = _get(e, "direct_purchase", _optional(_model("enabled max_amount")), None)
    partner = _get(e, "partner_source", _str, "partner_referral")
    return P.EdgeCases(
        trial=(
            P.TrialRule(
                to_stage=_str(trial["to"]),
                min_usage_events=_get(trial, "min_usage_events", _int, 5),
                source=_get(trial, "source", _str, "free_trial"),
            )
            if trial is not None and _get(trial, "enabled", _bool, True)
            else None
        ),
        direct_purchase=(
            P.DirectPurchase(max_amount=_get(direct, "max_amount", _float, 1000))
            if direct is not None and _get(direct, "enabled", _bool, False)
            else None
        ),
        partner_source=partner if _get(e, "partner_sourced_needs_fit_and_signal", _bool, True) else None,
        customer_contacts_route_to_owner=_get(e, "customer_contacts_route_to_owner", _bool, True),
    )


def _weight(raw: Any) -> P.ForecastWeight:
    w = _model("probability category", "probability category")(raw)
    category = _choice(*(c.value for c in P.ForecastCategory))(w["category"])
    return P.ForecastWeight(probability=_float(w["probability"]), category=P.ForecastCategory(category))


def _forecast(raw: Any) -> P.Forecast:
    f, default = _model("stages signed_not_booked other_stages")(raw), P.Forecast()
    stages = _get(f, "stages", _named, None)
    return P.Forecast(
        stages=default.stages if stages is None else tuple((k, _weight(w)) for k, w in stages.items()),
        signed_not_booked=_get(f, "signed_not_booked", _weight, default.signed_not_booked),
        other_stages=_get(f, "other_stages", _weight, default.other_stages),
    )


def _committee(raw: Any) -> P.BuyingCommittee:
    c, default = _model("required_roles enterprise_roles")(raw), P.BuyingCommittee()
    return P.BuyingCommittee(
        required_roles=tuple(_get(c, "required_roles", _strs, list(default.required_roles))),
        enterprise_roles=tuple(_get(c, "enterprise_roles", _strs, list(default.enterprise_roles))),
    )


def _economics(raw: Any) -> P.Economics:
    e = _model("gross_margin annual_churn")(raw)
    return P.Economics(
        gross_margin=_get(e, "gross_margin", _float, P.Economics().gross_margin),
        annual_churn=_get(e, "annual_churn", _optional(_float), None),
    )


_policy_model = _model(
    "name version description framework enterprise buying_signals stages side_stages backward "
    "automation dormancy scoring edge_cases forecast buying_committee economics",
    "name version stages",
)
_BUYING_SIGNALS = ["demo_request", "reply", "meeting_scheduled", "meeting_held"]


def read_stored(text: str) -> Policy:
    """A stored (already validated) policy text as the Policy `parse_policy` builds, in milliseconds."""
    p = _policy_model(plain_values(text))
    name, version = _str(p["name"]), p["version"]
    if type(version) is not int:
        _str(version)
    _get(p, "description", _optional(_str), None)
    enterprise = _get(p, "enterprise", _optional(_model("min_employees", "min_employees")), None)
    automation = _get(p, "automation", _model("promote"), {})
    promote = _get(automation, "promote", _optional(_model("to from", "to from")), None)
    dormancy_keys = "after_days move_to applies_to"
    dormancy = _get(p, "dormancy", _optional(_model(dormancy_keys, dormancy_keys)), None)
    backward = [_model("from to reason_required", "from to")(b) for b in _get(p, "backward", _list, [])]
    stages = [_stage(s, False) for s in _list(p["stages"])]
    stages += [_stage(s, True) for s in _get(p, "side_stages", _list, [])]
    return P.Policy(
        name=name,
        version=f"{name}@{version}#{_digest(text)[:8]}",
        framework=_get(p, "framework", _choice("BANT", "MEDDIC"), "BANT"),
        stages=tuple(stages),
        backward=tuple(
            P.BackwardMove(
                from_stage=_str(b["from"]),
                to_stage=_str(b["to"]),
                reason_required=_get(b, "reason_required", _bool, True),
            )
            for b in backward
        ),
        scoring=_scoring(p.get("scoring", {})),
        auto_promotion=(
            None
            if promote is None
            else P.AutoPromotion(to_stage=_str(promote["to"]), from_stages=tuple(_strs(promote["from"])))
        ),
        dormancy=(
            None
            if dormancy is None
            else P.Dormancy(
                after_days=_int(dormancy["after_days"]),
                move_to=_str(dormancy["move_to"]),
                applies_to=tuple(_strs(dormancy["applies_to"])),
            )
        ),
        edge_cases=_edge_cases(p.get("edge_cases", {})),
        buying_signal_events=tuple(_get(p, "buying_signals", _strs, _BUYING_SIGNALS)),
        enterprise_min_employees=None if enterprise is None else _int(enterprise["min_employees"]),
        forecast=_forecast(p.get("forecast", {})),
        buying_committee=_committee(p.get("buying_committee", {})),
        economics=_economics(p.get("economics", {})),
    )
