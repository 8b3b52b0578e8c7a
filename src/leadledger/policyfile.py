"""YAML stage policies in and out: parse, validate with line numbers, build the domain Policy."""

from __future__ import annotations

import difflib
import hashlib
from importlib import resources
from io import StringIO
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from leadledger.domain import policy as P
from leadledger.domain.records import EventType
from leadledger.errors import PolicyError, PolicyProblem
from leadledger.yamlsource import line_of, plain

BUILTIN = {"lead-first": "lead-first.yaml", "prospect-first": "prospect-first.yaml"}
EVENT_TYPES = [e.value for e in EventType]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class GateIn(_Model):
    fields: list[str] = []
    icp_fit: bool = False
    score_threshold: bool = False
    owner: bool = False
    evidence: list[str] = []
    two_way_interaction: bool = False
    buying_signal: bool = False
    enterprise_evidence: list[str] = []
    open_opportunity: bool = False
    signed_and_booked: bool = False
    enter_from: list[str] = []
    reason: bool = False


class SlaIn(_Model):
    first_touch_hours: float = Field(gt=0)


class StageIn(_Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str | None = None
    owner: str
    means: Literal["lead", "prospect", "customer"] | None = None
    gate: GateIn = GateIn()
    sla: SlaIn | None = None


class BackwardIn(_Model):
    from_: str = Field(alias="from")
    to: str
    reason_required: bool = True


class PromoteIn(_Model):
    to: str
    from_: list[str] = Field(alias="from")


class AutomationIn(_Model):
    promote: PromoteIn | None = None


class DormancyIn(_Model):
    after_days: int = Field(gt=0)
    move_to: str
    applies_to: list[str]


class FitRuleIn(_Model):
    label: str | None = None
    field: str
    op: str
    value: str | float | list[str | float]
    points: float


class SignalIn(_Model):
    points: float
    cap: float | None = Field(default=None, gt=0)


class ScoringIn(_Model):
    mql_threshold: float = 100
    fit_minimum: float = 30
    # Below a week the incremental decay sums would overflow over a few years of history.
    decay_half_life_days: float = Field(default=30, ge=7)
    fit: list[FitRuleIn] = []
    behavior: dict[str, SignalIn] = {}
    negative: dict[str, SignalIn] = {}


class TrialIn(_Model):
    enabled: bool = True
    to: str
    min_usage_events: int = Field(default=5, ge=1)
    source: str = "free_trial"


class DirectPurchaseIn(_Model):
    enabled: bool = False
    max_amount: float = Field(default=1000, ge=0)


class EdgeCasesIn(_Model):
    product_led_trial: TrialIn | None = None
    direct_purchase: DirectPurchaseIn | None = None
    partner_sourced_needs_fit_and_signal: bool = True
    partner_source: str = "partner_referral"
    customer_contacts_route_to_owner: bool = True


class EnterpriseIn(_Model):
    min_employees: int = Field(gt=0)


class ForecastWeightIn(_Model):
    probability: float = Field(ge=0, le=1)
    category: Literal["pipeline", "best_case", "commit", "omitted"]


_DEFAULT_FORECAST = P.Forecast()


def _weight_in(w: P.ForecastWeight) -> ForecastWeightIn:
    return ForecastWeightIn(probability=w.probability, category=w.category.value)


class ForecastIn(_Model):
    stages: dict[str, ForecastWeightIn] = {k: _weight_in(w) for k, w in _DEFAULT_FORECAST.stages}
    signed_not_booked: ForecastWeightIn = _weight_in(_DEFAULT_FORECAST.signed_not_booked)
    other_stages: ForecastWeightIn = _weight_in(_DEFAULT_FORECAST.other_stages)


class BuyingCommitteeIn(_Model):
    required_roles: list[str] = list(P.BuyingCommittee().required_roles)
    enterprise_roles: list[str] = list(P.BuyingCommittee().enterprise_roles)


class EconomicsIn(_Model):
    gross_margin: float = Field(default=P.Economics().gross_margin, gt=0, le=1)
    annual_churn: float | None = Field(default=None, gt=0, le=1)


class PolicyIn(_Model):
    name: str
    version: str | int
    description: str | None = None
    framework: Literal["BANT", "MEDDIC"] = "BANT"
    enterprise: EnterpriseIn | None = None
    buying_signals: list[str] = ["demo_request", "reply", "meeting_scheduled", "meeting_held"]
    stages: list[StageIn] = Field(min_length=2)
    side_stages: list[StageIn] = []
    backward: list[BackwardIn] = []
    automation: AutomationIn = AutomationIn()
    dormancy: DormancyIn | None = None
    scoring: ScoringIn = ScoringIn()
    edge_cases: EdgeCasesIn = EdgeCasesIn()
    forecast: ForecastIn = ForecastIn()
    buying_committee: BuyingCommitteeIn = BuyingCommitteeIn()
    economics: EconomicsIn = EconomicsIn()


def _hint(bad: object, choices: list[str]) -> str:
    close = difflib.get_close_matches(str(bad), choices, n=1)
    return f"did you mean {close[0]!r}?" if close else f"expected one of: {', '.join(choices)}"


def _pydantic_problems(raw: Any, err: ValidationError) -> list[PolicyProblem]:
    problems = []
    for e in err.errors():
        loc = tuple(e["loc"])
        path = ".".join(str(p) for p in loc)
        hint = ""
        if e["type"] == "extra_forbidden":
            parent = _model_fields_at(loc[:-1])
            hint = _hint(loc[-1], parent) if parent else ""
            msg = f"unknown key {loc[-1]!r}"
        else:
            msg = e["msg"]
        problems.append(PolicyProblem(line=line_of(raw, loc), path=path, message=msg, hint=hint))
    return problems


def _model_fields_at(loc: tuple[Any, ...]) -> list[str]:
    """Allowed keys of the model found at `loc` (for 'did you mean' hints)."""
    model: Any = PolicyIn
    for key in loc:
        if isinstance(key, int):
            continue
        field = model.model_fields.get(key) or next(
            (f for f in model.model_fields.values() if f.alias == key), None
        )
        if field is None:
            return []
        ann = field.annotation
        inner = getattr(ann, "__args__", (ann,))
        model = next((a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if model is None:
            return []
    return [f.alias or n for n, f in model.model_fields.items()]


# ---------------------------------------------------------------- semantic checks


def _semantic_problems(raw: Any, p: PolicyIn) -> list[PolicyProblem]:
    out: list[PolicyProblem] = []

    def add(loc: tuple[str | int, ...], msg: str, hint: str = "") -> None:
        out.append(PolicyProblem(line_of(raw, loc), ".".join(map(str, loc)), msg, hint))

    all_stages = [s.name for s in p.stages] + [s.name for s in p.side_stages]
    seen: set[str] = set()
    for group in ("stages", "side_stages"):
        for i, s in enumerate(getattr(p, group)):
            if s.name in seen:
                add((group, i, "name"), f"stage {s.name!r} is defined twice")
            seen.add(s.name)

    def check_stage(loc: tuple[str | int, ...], name: str) -> None:
        if name not in all_stages:
            add(loc, f"unknown stage {name!r}", _hint(name, all_stages))

    evidence_ok = list(dict.fromkeys(P.FRAMEWORK_FIELDS[p.framework] + P.ENTERPRISE_FIELDS))
    for group in ("stages", "side_stages"):
        for i, s in enumerate(getattr(p, group)):
            for j, f in enumerate(s.gate.fields):
                if f not in P.CONTACT_FIELDS:
                    add(
                        (group, i, "gate", "fields", j),
                        f"unknown contact field {f!r}",
                        _hint(f, sorted(P.CONTACT_FIELDS)),
                    )
            for key in ("evidence", "enterprise_evidence"):
                for j, f in enumerate(getattr(s.gate, key)):
                    if f not in evidence_ok:
                        add(
                            (group, i, "gate", key, j),
                            f"{f!r} is not a {p.framework} or enterprise evidence field",
                            _hint(f, evidence_ok),
                        )
            for j, f in enumerate(s.gate.enter_from):
                check_stage((group, i, "gate", "enter_from", j), f)
            if s.gate.enterprise_evidence and p.enterprise is None:
                add(
                    (group, i, "gate", "enterprise_evidence"),
                    "enterprise evidence is required but the policy defines no enterprise tier",
                    "add `enterprise: {min_employees: 1000}`",
                )
    if sum(1 for s in p.stages if s.means == "customer") != 1:
        add(("stages",), "exactly one stage must have `means: customer`")
    for i, b in enumerate(p.backward):
        if b.from_ != "*":
            check_stage(("backward", i, "from"), b.from_)
        check_stage(("backward", i, "to"), b.to)
    if p.automation.promote:
        check_stage(("automation", "promote", "to"), p.automation.promote.to)
        for j, f in enumerate(p.automation.promote.from_):
            check_stage(("automation", "promote", "from", j), f)
    if p.dormancy:
        check_stage(("dormancy", "move_to"), p.dormancy.move_to)
        for j, f in enumerate(p.dormancy.applies_to):
            check_stage(("dormancy", "applies_to", j), f)
    if p.edge_cases.product_led_trial:
        check_stage(("edge_cases", "product_led_trial", "to"), p.edge_cases.product_led_trial.to)
    for j, ev in enumerate(p.buying_signals):
        if ev not in EVENT_TYPES:
            add(("buying_signals", j), f"unknown event type {ev!r}", _hint(ev, EVENT_TYPES))
    for key in ("behavior", "negative"):
        for ev, sig in getattr(p.scoring, key).items():
            if ev not in EVENT_TYPES:
                add(("scoring", key, ev), f"unknown event type {ev!r}", _hint(ev, EVENT_TYPES))
            if key == "negative" and sig.points > 0:
                add(("scoring", key, ev, "points"), "negative signals must have negative points")
    dup = set(p.scoring.behavior) & set(p.scoring.negative)
    for ev in sorted(dup):
        add(("scoring", "negative", ev), f"{ev!r} is weighted in both behavior and negative")
    for i, r in enumerate(p.scoring.fit):
        loc: tuple[str | int, ...] = ("scoring", "fit", i)
        if r.field not in P.FIT_FIELDS:
            add((*loc, "field"), f"unknown fit field {r.field!r}", _hint(r.field, sorted(P.FIT_FIELDS)))
            continue
        if r.op not in P.FIT_OPS:
            add((*loc, "op"), f"unknown operator {r.op!r}", _hint(r.op, sorted(P.FIT_OPS)))
        is_list = isinstance(r.value, list)
        if r.op in ("in", "not_in", "between") and not is_list:
            add((*loc, "value"), f"operator {r.op} needs a list of values")
        if r.op not in ("in", "not_in", "between") and is_list:
            add((*loc, "value"), f"operator {r.op} needs a single value, not a list")
        if r.op == "between" and is_list and len(r.value) != 2:  # type: ignore[arg-type]
            add((*loc, "value"), "between needs exactly two values: [low, high)")
        if r.field in P.NUMERIC_FIT_FIELDS:
            if r.op not in ("eq", "ne", "gte", "lte", "between"):
                add((*loc, "op"), f"{r.field} is numeric: use eq, ne, gte, lte or between")
            vals = r.value if isinstance(r.value, list) else [r.value]
            if any(isinstance(v, str) for v in vals):
                add((*loc, "value"), f"{r.field} is numeric: the value must be a number")
        elif r.op in ("gte", "lte", "between"):
            add((*loc, "op"), f"{r.field} is text: {r.op} only applies to employees and annual_revenue")
    return out


# ---------------------------------------------------------------- building the domain policy


def _stage(s: StageIn, side: bool) -> P.Stage:
    g = s.gate
    gate = P.Gate(
        fields=tuple(g.fields),
        icp_fit=g.icp_fit,
        score_threshold=g.score_threshold,
        owner=g.owner,
        evidence=tuple(g.evidence),
        two_way_interaction=g.two_way_interaction,
        buying_signal=g.buying_signal,
        enterprise_evidence=tuple(g.enterprise_evidence),
        open_opportunity=g.open_opportunity,
        signed_and_booked=g.signed_and_booked,
        enter_from=tuple(g.enter_from),
        reason=g.reason,
    )
    meaning = P.Meaning.SIDE if side else P.Meaning(s.means or "lead")
    return P.Stage(
        name=s.name,
        label=s.label or (s.name.upper() if len(s.name) <= 3 else s.name.title()),
        owner_team=s.owner,
        meaning=meaning,
        gate=gate,
        side=side,
        sla_first_touch_hours=s.sla.first_touch_hours if s.sla else None,
    )


def _fit_value(v: str | float | list[str | float]) -> str | float | tuple[str | float, ...]:
    return tuple(v) if isinstance(v, list) else v


def _weight(w: ForecastWeightIn) -> P.ForecastWeight:
    return P.ForecastWeight(probability=w.probability, category=P.ForecastCategory(w.category))


def to_domain(p: PolicyIn, digest: str) -> P.Policy:
    """Turn a validated policy model into the domain's frozen Policy."""
    sc = p.scoring
    signals = [P.Signal(event_type=k, points=v.points, cap=v.cap) for k, v in sc.behavior.items()]
    signals += [P.Signal(event_type=k, points=v.points, cap=v.cap) for k, v in sc.negative.items()]
    trial = p.edge_cases.product_led_trial
    direct = p.edge_cases.direct_purchase
    return P.Policy(
        name=p.name,
        version=f"{p.name}@{p.version}#{digest[:8]}",
        framework=p.framework,
        stages=tuple(_stage(s, False) for s in p.stages) + tuple(_stage(s, True) for s in p.side_stages),
        backward=tuple(
            P.BackwardMove(from_stage=b.from_, to_stage=b.to, reason_required=b.reason_required)
            for b in p.backward
        ),
        scoring=P.Scoring(
            fit_rules=tuple(
                P.FitRule(
                    field=r.field,
                    op=r.op,
                    value=_fit_value(r.value),
                    points=r.points,
                    label=r.label or f"{r.field} {r.op} {r.value}",
                )
                for r in sc.fit
            ),
            signals=tuple(signals),
            half_life_days=sc.decay_half_life_days,
            mql_threshold=sc.mql_threshold,
            fit_minimum=sc.fit_minimum,
        ),
        auto_promotion=(
            P.AutoPromotion(to_stage=p.automation.promote.to, from_stages=tuple(p.automation.promote.from_))
            if p.automation.promote
            else None
        ),
        dormancy=(
            P.Dormancy(
                after_days=p.dormancy.after_days,
                move_to=p.dormancy.move_to,
                applies_to=tuple(p.dormancy.applies_to),
            )
            if p.dormancy
            else None
        ),
        edge_cases=P.EdgeCases(
            trial=(
                P.TrialRule(to_stage=trial.to, min_usage_events=trial.min_usage_events, source=trial.source)
                if trial and trial.enabled
                else None
            ),
            direct_purchase=(
                P.DirectPurchase(max_amount=direct.max_amount) if direct and direct.enabled else None
            ),
            partner_source=(
                p.edge_cases.partner_source if p.edge_cases.partner_sourced_needs_fit_and_signal else None
            ),
            customer_contacts_route_to_owner=p.edge_cases.customer_contacts_route_to_owner,
        ),
        buying_signal_events=tuple(p.buying_signals),
        enterprise_min_employees=p.enterprise.min_employees if p.enterprise else None,
        forecast=P.Forecast(
            stages=tuple((k, _weight(w)) for k, w in p.forecast.stages.items()),
            signed_not_booked=_weight(p.forecast.signed_not_booked),
            other_stages=_weight(p.forecast.other_stages),
        ),
        buying_committee=P.BuyingCommittee(
            required_roles=tuple(p.buying_committee.required_roles),
            enterprise_roles=tuple(p.buying_committee.enterprise_roles),
        ),
        economics=P.Economics(
            gross_margin=p.economics.gross_margin, annual_churn=p.economics.annual_churn
        ),
    )


# ---------------------------------------------------------------- public entry points


def parse_policy(text: str, source: str = "<policy>") -> P.Policy:
    """Validate policy YAML text; raise PolicyError listing every problem with its line."""
    try:
        raw = YAML(typ="rt").load(StringIO(text))
    except MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else None
        raise PolicyError(
            source, [PolicyProblem(line, "", f"not valid YAML: {e.problem}", "check indentation and quoting")]
        ) from None
    if not isinstance(raw, dict):
        raise PolicyError(
            source,
            [
                PolicyProblem(
                    1, "", "a policy must be a YAML mapping", "start from `leadledger policy show lead-first`"
                )
            ],
        )
    try:
        model = PolicyIn.model_validate(plain(raw))
    except ValidationError as err:
        raise PolicyError(source, _pydantic_problems(raw, err)) from None
    problems = sorted(_semantic_problems(raw, model), key=lambda p: p.line or 0)
    if problems:
        raise PolicyError(source, problems)
    return to_domain(model, policy_digest(text))


def policy_digest(text: str) -> str:
    """Content hash that identifies a policy version."""
    return hashlib.sha256(text.encode()).hexdigest()


def builtin_policy_text(name: str) -> str:
    """The YAML text of a built-in policy (lead-first or prospect-first)."""
    if name not in BUILTIN:
        raise PolicyError(
            name, [PolicyProblem(None, "", f"no built-in policy {name!r}", _hint(name, list(BUILTIN)))]
        )
    return resources.files("leadledger.policies").joinpath(BUILTIN[name]).read_text()


def load_policy_file(path: Path) -> tuple[P.Policy, str]:
    """Read and validate a policy file; returns the policy and its text."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise PolicyError(str(path), [PolicyProblem(None, "", f"cannot read: {e.strerror}")]) from None
    return parse_policy(text, str(path)), text
