"""The stage policy as validated, immutable values (YAML parsing lives in `policyfile`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Meaning(StrEnum):
    """What a stage means in the universal four-question vocabulary."""

    LEAD = "lead"
    PROSPECT = "prospect"
    CUSTOMER = "customer"
    SIDE = "side"


FIT_FIELDS = frozenset(
    {
        "industry",
        "employees",
        "annual_revenue",
        "country",
        "tech_stack",
        "seniority",
        "role",
        "source",
        "email_domain",
    }
)
NUMERIC_FIT_FIELDS = frozenset({"employees", "annual_revenue"})
FIT_OPS = frozenset({"eq", "ne", "in", "not_in", "gte", "lte", "between", "contains", "ends_with"})
CONTACT_FIELDS = frozenset({"email", "name", "company", "source", "title", "owner", "account"})

FRAMEWORK_FIELDS: dict[str, tuple[str, ...]] = {
    "BANT": ("budget", "authority", "need", "timeline"),
    "MEDDIC": (
        "metrics",
        "economic_buyer",
        "decision_criteria",
        "decision_process",
        "identified_pain",
        "champion",
    ),
}
ENTERPRISE_FIELDS = ("champion", "initiative", "next_meeting")


@dataclass(frozen=True, slots=True, kw_only=True)
class FitRule:
    """Points for a firmographic or demographic match (negative points for bad fit)."""

    field: str
    op: str
    value: str | float | tuple[str | float, ...]
    points: float
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Signal:
    """Points per occurrence of an event type, decayed by age and capped."""

    event_type: str
    points: float
    cap: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Scoring:
    """How fit and behavior become one explainable number."""

    fit_rules: tuple[FitRule, ...]
    signals: tuple[Signal, ...]
    half_life_days: float
    mql_threshold: float = 100.0
    fit_minimum: float = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Gate:
    """What must be true before a record may enter a stage."""

    fields: tuple[str, ...] = ()
    icp_fit: bool = False
    score_threshold: bool = False
    owner: bool = False
    evidence: tuple[str, ...] = ()
    two_way_interaction: bool = False
    buying_signal: bool = False
    enterprise_evidence: tuple[str, ...] = ()
    open_opportunity: bool = False
    signed_and_booked: bool = False
    enter_from: tuple[str, ...] = ()
    reason: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Stage:
    """One stage of the lifecycle, in order, with its owner team, gate and SLA."""

    name: str
    label: str
    owner_team: str
    meaning: Meaning
    gate: Gate
    side: bool = False
    sla_first_touch_hours: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BackwardMove:
    """A permitted move to an earlier stage."""

    from_stage: str
    to_stage: str
    reason_required: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Dormancy:
    """No activity for `after_days` in one of `applies_to` moves a record to `move_to`."""

    after_days: int
    move_to: str
    applies_to: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class AutoPromotion:
    """The stage the score promotes to automatically, and from which stages."""

    to_stage: str
    from_stages: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class TrialRule:
    """Product-led trial: usage plus ICP fit qualifies a trial user for `to_stage`."""

    to_stage: str
    min_usage_events: int
    source: str = "free_trial"


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectPurchase:
    """Low-cost products: a lead may become a customer directly, up to `max_amount`."""

    max_amount: float


@dataclass(frozen=True, slots=True, kw_only=True)
class EdgeCases:
    """Which of the documented edge cases this policy turns on."""

    trial: TrialRule | None = None
    direct_purchase: DirectPurchase | None = None
    partner_source: str | None = "partner_referral"
    customer_contacts_route_to_owner: bool = True


class ForecastCategory(StrEnum):
    """Forecast categories of open deals; `closed` (won) is reserved for signed AND booked."""

    PIPELINE = "pipeline"
    BEST_CASE = "best_case"
    COMMIT = "commit"
    OMITTED = "omitted"


@dataclass(frozen=True, slots=True, kw_only=True)
class ForecastWeight:
    """The probability and forecast category given to an open deal."""

    probability: float
    category: ForecastCategory


@dataclass(frozen=True, slots=True, kw_only=True)
class Forecast:
    """How open opportunities are weighted: per opportunity stage, and for signed-not-booked deals."""

    stages: tuple[tuple[str, ForecastWeight], ...] = (
        ("discovery", ForecastWeight(probability=0.10, category=ForecastCategory.PIPELINE)),
        ("demo", ForecastWeight(probability=0.25, category=ForecastCategory.PIPELINE)),
        ("proposal", ForecastWeight(probability=0.50, category=ForecastCategory.BEST_CASE)),
        ("negotiation", ForecastWeight(probability=0.75, category=ForecastCategory.COMMIT)),
    )
    signed_not_booked: ForecastWeight = ForecastWeight(probability=0.90, category=ForecastCategory.COMMIT)
    other_stages: ForecastWeight = ForecastWeight(probability=0.10, category=ForecastCategory.PIPELINE)

    def weight(self, stage: str, *, signed: bool) -> ForecastWeight:
        """The weight of an open deal in `stage`; a signed contract outranks the stage label."""
        if signed:
            return self.signed_not_booked
        return dict(self.stages).get(stage, self.other_stages)


@dataclass(frozen=True, slots=True, kw_only=True)
class BuyingCommittee:
    """The committee roles an open opportunity should have on record."""

    required_roles: tuple[str, ...] = ("champion", "economic_buyer")
    enterprise_roles: tuple[str, ...] = ("champion", "economic_buyer", "finance", "it", "executive_sponsor")


@dataclass(frozen=True, slots=True, kw_only=True)
class Economics:
    """Inputs of customer lifetime value; None means measure it from the data."""

    gross_margin: float = 0.75
    annual_churn: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """A complete, validated stage policy."""

    name: str
    version: str
    framework: str
    stages: tuple[Stage, ...]
    backward: tuple[BackwardMove, ...]
    scoring: Scoring
    auto_promotion: AutoPromotion | None
    dormancy: Dormancy | None
    edge_cases: EdgeCases
    buying_signal_events: tuple[str, ...]
    enterprise_min_employees: int | None = None
    forecast: Forecast = Forecast()
    buying_committee: BuyingCommittee = BuyingCommittee()
    economics: Economics = Economics()

    def stage(self, name: str) -> Stage | None:
        """The stage called `name`, if the policy has one."""
        return next((s for s in self.stages if s.name == name), None)

    @property
    def main_stages(self) -> tuple[Stage, ...]:
        """The ordered stages, side states excluded."""
        return tuple(s for s in self.stages if not s.side)

    def order(self, name: str) -> int | None:
        """Position of a main stage in the lifecycle (None for side states)."""
        for i, s in enumerate(self.main_stages):
            if s.name == name:
                return i
        return None

    @property
    def first_stage(self) -> Stage:
        """Where new records start."""
        return self.main_stages[0]

    @property
    def customer_stage(self) -> Stage | None:
        """The stage that means customer."""
        return next((s for s in self.stages if s.meaning is Meaning.CUSTOMER), None)

    @property
    def need_fields(self) -> tuple[str, ...]:
        """Evidence fields that confirm a need (question 2)."""
        return ("need",) if self.framework == "BANT" else ("identified_pain", "metrics")

    @property
    def committee_fields(self) -> tuple[str, ...]:
        """Evidence fields that confirm buying-committee access (question 3)."""
        return ("authority",) if self.framework == "BANT" else ("economic_buyer", "champion")
